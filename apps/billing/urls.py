from django.urls import path

from apps.billing import views

app_name = "billing"
urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunStartView.as_view(), name="run-new"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="run-progress"),
    path(
        "runs/<int:pk>/determinants/",
        views.RunDeterminantsView.as_view(),
        name="run-determinants",
    ),
    path("runs/<int:pk>/rerun/", views.RunRerunView.as_view(), name="run-rerun"),
    path("runs/<int:pk>/approve/", views.RunApproveView.as_view(), name="run-approve"),
    path(
        "runs/<int:pk>/supplementary/",
        views.RunSupplementaryView.as_view(),
        name="run-supplementary",
    ),
    path(
        "runs/<int:pk>/export/<slug:export_format>/",
        views.RunExportView.as_view(),
        name="run-export",
    ),
    path("cycles/", views.CycleListView.as_view(), name="cycle-list"),
    path("cycles/new/", views.CycleNewView.as_view(), name="cycle-new"),
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/new/", views.AccountEditView.as_view(), name="account-new"),
    path("accounts/<int:pk>/edit/", views.AccountEditView.as_view(), name="account-edit"),
    path("tariffs/", views.TariffListView.as_view(), name="tariff-list"),
    path("mirror/import/", views.MirrorImportView.as_view(), name="mirror-import"),
    path("mirror/comparison/", views.ComparisonView.as_view(), name="comparison"),
    path("mirror/defaulters/", views.DefaultersView.as_view(), name="defaulters"),
]
