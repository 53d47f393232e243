from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender, **kwargs) -> None:
    if sender.name != "apps.analytics":
        return
    from apps.analytics.schedule import beat_schedule_ensure

    beat_schedule_ensure()


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"
    label = "analytics"
    verbose_name = "Analytics"
    nav_items = [
        ("Energy balance", "analytics:balance", "analytics.view_nodeday"),
        ("Theft suspects", "analytics:suspects", "analytics.view_meterday"),
        ("Communication health", "analytics:health", "analytics.view_meterday"),
        ("Completeness", "analytics:completeness", "analytics.view_nodeday"),
        ("Reports", "analytics:reports", "analytics.view_report"),
    ]

    def ready(self) -> None:
        from apps.analytics import signals  # noqa: F401 - connects the receivers

        post_migrate.connect(_after_migrate, dispatch_uid="analytics.after_migrate")
