from rest_framework.routers import DefaultRouter

from apps.audit.api import AuditEntryViewSet

app_name = "audit-api"
router = DefaultRouter()
router.register("entries", AuditEntryViewSet)
urlpatterns = router.urls
