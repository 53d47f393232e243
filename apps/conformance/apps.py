from django.apps import AppConfig


class ConformanceConfig(AppConfig):
    name = "apps.conformance"
    verbose_name = "Conformance bench"
    nav_items = [("Conformance", "conformance:run-list", "conformance.view_conformancerun")]
