from rest_framework.routers import DefaultRouter

from apps.vee import api

app_name = "vee-api"
router = DefaultRouter()
router.register("exceptions", api.ValidationExceptionViewSet, basename="exception")
router.register("rules", api.RuleViewSet, basename="rule")
router.register("versions", api.ValueVersionViewSet, basename="version")
router.register("validations", api.ValidationRunViewSet, basename="validation")
urlpatterns = router.urls
