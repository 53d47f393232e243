from django.urls import path

from apps.workflows import views

app_name = "workflows"
urlpatterns = [
    path("", views.WorkOrderListView.as_view(), name="order-list"),
    path("bulk/", views.WorkOrderBulkStartView.as_view(), name="order-bulk"),
    path("cycle/", views.WorkOrderCycleStartView.as_view(), name="order-cycle"),
    path("<int:pk>/", views.WorkOrderDetailView.as_view(), name="order-detail"),
    path(
        "<int:pk>/<str:action>/",
        views.WorkOrderActionView.as_view(),
        name="order-action",
    ),
    path("consumers/<int:pk>/", views.ConsumerView.as_view(), name="consumer"),
]
