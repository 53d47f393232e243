"""``/sim/``: the simulated MDCs (mounted only when settings.SIMULATOR_ENABLED).

- ``/sim/`` list of simulated MDCs; ``/sim/manage/<code>/faults/`` edit faults (Administrators)
- ``POST /sim/<code>/<service>`` a UDIL service of that MDC (base URL ``/sim/<code>/``)
"""

from django.urls import path

from apps.simulator import views

app_name = "simulator"
urlpatterns = [
    path("", views.SimMdcListView.as_view(), name="mdc-list"),
    path("manage/<slug:code>/faults/", views.FaultsView.as_view(), name="mdc-edit"),
    path("<slug:code>/<str:service>", views.service_view, name="service"),
]
