from django.urls import path

from apps.ingestion import views

app_name = "ingestion"
urlpatterns = [
    path("", views.RunListView.as_view(), name="run-list"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("completeness/", views.CompletenessView.as_view(), name="completeness"),
    path("mdcs/<int:pk>/", views.MdcHealthView.as_view(), name="mdc-health"),
    path("mdcs/<int:pk>/pull/", views.PullNowView.as_view(), name="pull-now"),
    path("mdcs/<int:pk>/schedule/", views.ScheduleUpdateView.as_view(), name="schedule-update"),
    path("deliveries/", views.DeliveryListView.as_view(), name="delivery-list"),
    path("deliveries/import/", views.DeliveryImportView.as_view(), name="delivery-import"),
]
