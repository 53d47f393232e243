from django.urls import path

from apps.registry import detail, views

app_name = "registry"
urlpatterns = [
    path("", views.MeterListView.as_view(), name="index"),
    path("meters/", views.MeterListView.as_view(), name="meter-list"),
    path("meters/add/", views.MeterCreateView.as_view(), name="meter-create"),
    path("meters/import/", views.MeterImportView.as_view(), name="meter-import"),
    path("meters/<int:pk>/", views.MeterDetailView.as_view(), name="meter-detail"),
    path("meters/<int:pk>/edit/", views.MeterUpdateView.as_view(), name="meter-edit"),
    path("mdcs/", views.MdcListView.as_view(), name="mdc-list"),
    path("mdcs/add/", views.MdcCreateView.as_view(), name="mdc-create"),
    path("mdcs/<int:pk>/", views.MdcDetailView.as_view(), name="mdc-detail"),
    path("mdcs/<int:pk>/edit/", views.MdcUpdateView.as_view(), name="mdc-edit"),
    path("mdcs/<int:pk>/test/", views.MdcTestConnectionView.as_view(), name="mdc-test"),
    path("hierarchy/", views.HierarchyView.as_view(), name="hierarchy"),
    path("hierarchy/<str:level>/", views.NodeListView.as_view(), name="node-list"),
    path("hierarchy/<str:level>/add/", views.NodeCreateView.as_view(), name="node-create"),
    path(
        "hierarchy/<str:level>/<int:pk>/", detail.NodeDetailView.as_view(), name="node-detail"
    ),
    path("consumers/", views.ConsumerListView.as_view(), name="consumer-list"),
    path("consumers/add/", views.ConsumerCreateView.as_view(), name="consumer-create"),
    path("consumers/<int:pk>/edit/", views.ConsumerUpdateView.as_view(), name="consumer-edit"),
]
