from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.ingestion.api import IngestionRunViewSet, MdcHealthView, PullNowView, WatermarkViewSet

app_name = "ingestion-api"
router = DefaultRouter()
router.register("runs", IngestionRunViewSet)
router.register("watermarks", WatermarkViewSet)
urlpatterns = [
    path("health/", MdcHealthView.as_view(), name="health"),
    path("pulls/", PullNowView.as_view(), name="pull-now"),
    *router.urls,
]
