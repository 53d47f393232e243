from django.urls import path

from apps.commands import views

app_name = "commands"
urlpatterns = [
    path("", views.CommandRequestListView.as_view(), name="request-list"),
    path("new/", views.CommandNewView.as_view(), name="request-new"),
    path("<int:pk>/", views.CommandRequestDetailView.as_view(), name="request-detail"),
    path("<int:pk>/progress.json", views.CommandProgressJsonView.as_view(), name="progress"),
    path("<int:pk>/cancel/", views.CommandCancelView.as_view(), name="request-cancel"),
    path("<int:pk>/retry/", views.CommandRetryView.as_view(), name="request-retry"),
    path("<int:pk>/approve/", views.CommandApproveView.as_view(), name="request-approve"),
]
