from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "apps.warehouse"
    verbose_name = "Warehouse"
