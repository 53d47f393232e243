from rest_framework.routers import DefaultRouter

from apps.accounts.api import ApiTokenViewSet

app_name = "accounts-api"
router = DefaultRouter()
router.register("tokens", ApiTokenViewSet, basename="token")
urlpatterns = router.urls
