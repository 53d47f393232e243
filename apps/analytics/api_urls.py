from django.urls import path

from apps.analytics import api, report_api

urlpatterns = [
    path("balance/", api.BalanceApi.as_view(), name="analytics-api-balance"),
    path("suspects/", api.SuspectsApi.as_view(), name="analytics-api-suspects"),
    path("health/", api.HealthApi.as_view(), name="analytics-api-health"),
    path("completeness/", api.CompletenessApi.as_view(), name="analytics-api-completeness"),
    path("load/", api.LoadApi.as_view(), name="analytics-api-load"),
    path("reports/", report_api.ReportListApi.as_view(), name="analytics-api-report-list"),
    path("reports/<str:pk>/", report_api.ReportDetailApi.as_view(),
         name="analytics-api-report-detail"),
    path("reports/<str:pk>/<str:fmt>/", report_api.ReportDownloadApi.as_view(),
         name="analytics-api-report-download"),
]
