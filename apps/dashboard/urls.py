from django.urls import path

from apps.dashboard.views import HomeView

urlpatterns = [path("", HomeView.as_view(), name="home")]
