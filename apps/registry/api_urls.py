from rest_framework.routers import DefaultRouter

from apps.registry import api

app_name = "registry-api"
router = DefaultRouter()
router.register("mdcs", api.MdcViewSet)
router.register("meters", api.MeterViewSet)
router.register("consumers", api.ConsumerViewSet)
router.register("discos", api.DiscoViewSet)
router.register("circles", api.CircleViewSet)
router.register("divisions", api.DivisionViewSet)
router.register("subdivisions", api.SubdivisionViewSet)
router.register("feeders", api.FeederViewSet)
router.register("transformers", api.TransformerViewSet)
urlpatterns = router.urls
