from django.urls import path

from apps.vee import views

app_name = "vee"
urlpatterns = [
    path("exceptions/", views.ExceptionListView.as_view(), name="exception-list"),
    path("exceptions/bulk/", views.ExceptionBulkView.as_view(), name="exception-bulk"),
    path("exceptions/<int:pk>/", views.ExceptionDetailView.as_view(), name="exception-detail"),
    path(
        "exceptions/<int:pk>/action/",
        views.ExceptionActionView.as_view(),
        name="exception-action",
    ),
    path("rules/", views.RuleListView.as_view(), name="rule-list"),
]
