from rest_framework.routers import DefaultRouter

from apps.workflows.api import WorkOrderViewSet

app_name = "workflows-api"
router = DefaultRouter()
router.register("orders", WorkOrderViewSet, basename="order")
urlpatterns = router.urls
