from django.urls import path

from apps.audit.views import AuditEntryListView

app_name = "audit"
urlpatterns = [path("", AuditEntryListView.as_view(), name="entry-list")]
