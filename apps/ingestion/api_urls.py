from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.ingestion.api import (
    DeliveryImportView,
    FileDeliveryViewSet,
    IngestionRunViewSet,
    MdcHealthView,
    PullNowView,
    WatermarkViewSet,
)

app_name = "ingestion-api"
router = DefaultRouter()
router.register("runs", IngestionRunViewSet)
router.register("watermarks", WatermarkViewSet)
router.register("deliveries", FileDeliveryViewSet)
urlpatterns = [
    path("health/", MdcHealthView.as_view(), name="health"),
    path("pulls/", PullNowView.as_view(), name="pull-now"),
    path("deliveries/import/", DeliveryImportView.as_view(), name="delivery-import"),
    *router.urls,
]
