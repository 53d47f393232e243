"""UDIL MDC simulator."""

from django.apps import AppConfig
from django.conf import settings


class SimulatorConfig(AppConfig):
    name = "apps.simulator"
    verbose_name = "UDIL MDC simulator"

    @property
    def nav_items(self):
        if not settings.SIMULATOR_ENABLED:
            return []
        return [("Simulated MDCs", "simulator:mdc-list", "simulator.view_simmdc")]
