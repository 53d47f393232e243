from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.billing import api

app_name = "billing-api"
router = DefaultRouter()
router.register("tariffs", api.TariffViewSet, basename="tariff")
router.register("accounts", api.BillingAccountViewSet, basename="account")
router.register("cycles", api.ReadingCycleViewSet, basename="cycle")
router.register("runs", api.BillingRunViewSet, basename="run")
router.register("mirror", api.MirrorBillViewSet, basename="mirror")
urlpatterns = [
    path(
        "runs/<int:run_pk>/determinants/",
        api.DeterminantViewSet.as_view({"get": "list"}),
        name="run-determinants",
    ),
    *router.urls,
]
