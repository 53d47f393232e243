from django.urls import path

from apps.analytics import load_views, report_views, views

app_name = "analytics"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("balance/", views.BalanceView.as_view(), name="balance"),
    path("suspects/", views.SuspectsView.as_view(), name="suspects"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("health/silent/", views.SilentMetersView.as_view(), name="silent"),
    path("completeness/", views.CompletenessView.as_view(), name="completeness"),
    path("load/", views.LoadView.as_view(), name="load"),
    path("events/", views.EventsView.as_view(), name="events"),
    path("commands/", views.CommandsView.as_view(), name="commands"),
    path("consumers/", load_views.ConsumersView.as_view(), name="consumers"),
    path("transformers/", load_views.TransformersView.as_view(), name="transformers"),
    path("events/list/", load_views.EventsListView.as_view(), name="events-list"),
    path("reports/", report_views.ReportsView.as_view(), name="reports"),
    path(
        "reports/<int:pk>/<str:fmt>/",
        report_views.ReportDownloadView.as_view(),
        name="report-download",
    ),
]
