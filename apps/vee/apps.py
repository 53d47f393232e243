from django.apps import AppConfig


class VeeConfig(AppConfig):
    name = "apps.vee"
    label = "vee"
    verbose_name = "VEE"
    nav_items = [
        ("Exceptions", "vee:exception-list", "vee.view_validationexception"),
        ("Rules", "vee:rule-list", "vee.view_rule"),
    ]

    def ready(self) -> None:
        from apps.vee import signals  # noqa: F401 - connects the receivers
