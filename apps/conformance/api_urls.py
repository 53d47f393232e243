from rest_framework.routers import DefaultRouter

from apps.conformance.api import RunViewSet

app_name = "conformance-api"
router = DefaultRouter()
router.register("runs", RunViewSet, basename="run")
urlpatterns = router.urls
