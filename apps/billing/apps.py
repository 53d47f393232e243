from django.apps import AppConfig


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
