from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    verbose_name = "Registry"
    nav_items = [
        ("Meters", "registry:meter-list", "registry.view_meter"),
        ("Import meters", "registry:meter-import", "registry.add_meter"),
        ("MDCs", "registry:mdc-list", "registry.view_mdc"),
        ("Network hierarchy", "registry:hierarchy", "registry.view_disco"),
        ("Consumers", "registry:consumer-list", "registry.view_consumer"),
    ]
