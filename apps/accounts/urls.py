from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts import preference_views, saved_filter_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/"),
        name="password_change",
    ),
    path("tokens/", views.ApiTokenListView.as_view(), name="api-token-list"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
    path("exports/", views.ExportJobListView.as_view(), name="export-list"),
    path(
        "exports/<int:pk>/download/", views.ExportJobDownloadView.as_view(), name="export-download"
    ),
    path("tables/", preference_views.TableConfigView.as_view(), name="table-config"),
    path("filters/", preference_views.SavedFilterCreateView.as_view(), name="saved-filter-create"),
    path(
        "filters/<int:pk>/delete/",
        preference_views.SavedFilterDeleteView.as_view(),
        name="saved-filter-delete",
    ),
    path(
        "filters/saved/", saved_filter_views.SavedFilterListView.as_view(), name="saved-filter-list"
    ),
    path(
        "filters/<int:pk>/",
        saved_filter_views.SavedFilterEditView.as_view(),
        name="saved-filter-edit",
    ),
    path(
        "filters/<int:pk>/default/",
        saved_filter_views.SavedFilterDefaultView.as_view(),
        name="saved-filter-default",
    ),
]
