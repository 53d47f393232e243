from django.urls import path

from apps.conformance import views

app_name = "conformance"
urlpatterns = [
    path("", views.RunListView.as_view(), name="run-list"),
    path("mdc/<int:mdc_pk>/run/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/print/", views.RunPrintView.as_view(), name="run-print"),
    path("runs/<int:pk>/pdf/", views.RunPdfView.as_view(), name="run-pdf"),
    path("diff/", views.RunDiffView.as_view(), name="run-diff"),
]
