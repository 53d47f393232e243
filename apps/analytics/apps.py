from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"
    label = "analytics"
    verbose_name = "Analytics"
    nav_items = [
        ("Energy balance", "analytics:balance", "analytics.view_nodeday"),
        ("Theft suspects", "analytics:suspects", "analytics.view_meterday"),
        ("Communication health", "analytics:health", "analytics.view_meterday"),
        ("Completeness", "analytics:completeness", "analytics.view_nodeday"),
    ]

    def ready(self) -> None:
        from apps.analytics import signals  # noqa: F401 - connects the receivers
