from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _beat_schedule_ensure(sender, **kwargs) -> None:
    from apps.billing.schedule import beat_schedule_ensure

    beat_schedule_ensure()


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"
    nav_items = [
        ("Billing runs", "billing:run-list", "billing.view_billingrun"),
        ("Reading cycles", "billing:cycle-list", "billing.view_readingcycle"),
        ("Billing accounts", "billing:account-list", "billing.view_billingaccount"),
        ("Tariffs", "billing:tariff-list", "billing.view_tariff"),
        ("Billing mirror", "billing:comparison", "billing.view_mirrorbill"),
        ("Defaulters", "billing:defaulters", "billing.view_mirrorbill"),
    ]

    def ready(self) -> None:
        post_migrate.connect(_beat_schedule_ensure, sender=self, dispatch_uid="billing.beat")
