from rest_framework.routers import DefaultRouter

from apps.warehouse import api

app_name = "warehouse-api"
router = DefaultRouter()
router.register("instantaneous", api.InstantaneousReadingViewSet, basename="instantaneous")
router.register("billing", api.BillingReadingViewSet, basename="billing")
router.register("monthly-billing", api.MonthlyBillingReadingViewSet, basename="monthly-billing")
router.register("load-profile", api.LoadProfileReadingViewSet, basename="load-profile")
router.register("events", api.MeterEventViewSet, basename="event")
router.register("meter-visuals", api.MeterVisualsViewSet, basename="meter-visuals")
router.register(
    "device-communication-history",
    api.DeviceCommunicationHistoryViewSet,
    basename="device-comm-history",
)
router.register("quarantine", api.QuarantinedRowViewSet, basename="quarantine")
urlpatterns = router.urls
