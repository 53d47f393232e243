from rest_framework.routers import DefaultRouter

from apps.commands.api import CommandRequestViewSet

app_name = "commands-api"
router = DefaultRouter()
router.register("requests", CommandRequestViewSet, basename="request")
urlpatterns = router.urls
