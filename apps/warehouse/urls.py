from django.urls import path

from apps.warehouse import views

app_name = "warehouse"
urlpatterns = [
    path("load-profile/", views.LoadProfileListView.as_view(), name="load-profile-list"),
    path("events/", views.MeterEventListView.as_view(), name="event-list"),
    path("instantaneous/", views.InstantaneousListView.as_view(), name="instantaneous-list"),
    path("billing/", views.BillingListView.as_view(), name="billing-list"),
    path("monthly-billing/", views.MonthlyBillingListView.as_view(), name="monthly-billing-list"),
    path("meter-visuals/", views.MeterVisualsListView.as_view(), name="meter-visuals-list"),
    path(
        "meter-visuals/<str:global_device_id>/",
        views.MeterVisualsDetailView.as_view(),
        name="meter-visuals-detail",
    ),
    path(
        "device-communication-history/",
        views.DeviceCommunicationHistoryListView.as_view(),
        name="device-comm-history-list",
    ),
    path("quarantine/", views.QuarantineListView.as_view(), name="quarantine-list"),
    path("quarantine/<int:pk>/", views.QuarantineDetailView.as_view(), name="quarantine-detail"),
    path(
        "quarantine/<int:pk>/resolve/",
        views.QuarantineResolveView.as_view(),
        name="quarantine-resolve",
    ),
    path(
        "quarantine/<int:pk>/reload/",
        views.QuarantineReloadView.as_view(),
        name="quarantine-reload",
    ),
]
