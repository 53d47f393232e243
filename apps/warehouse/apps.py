from django.apps import AppConfig
from django.db.models.signals import post_migrate

PARTITIONS_TASK_NAME = "warehouse: ensure monthly partitions"


def _after_migrate(sender, using="default", **kwargs) -> None:
    """Create this and the next months' partitions, and schedule doing so daily."""
    from apps.warehouse import partitions, services, tasks

    if not partitions.tables_exist():
        return  # migrated backwards past the warehouse tables
    services.partitions_ensure(
        start=partitions.today_pkt(), months_ahead=partitions.AUTO_CREATE_MONTHS_AHEAD
    )
    tasks.periodic_task_register()


class WarehouseConfig(AppConfig):
    name = "apps.warehouse"
    verbose_name = "Warehouse"
    nav_items = [
        ("Load profile", "warehouse:load-profile-list", "warehouse.view_loadprofilereading"),
        ("Events", "warehouse:event-list", "warehouse.view_meterevent"),
        ("Instantaneous", "warehouse:instantaneous-list", "warehouse.view_instantaneousreading"),
        ("Billing", "warehouse:billing-list", "warehouse.view_billingreading"),
        (
            "Monthly billing",
            "warehouse:monthly-billing-list",
            "warehouse.view_monthlybillingreading",
        ),
        ("Meter visuals", "warehouse:meter-visuals-list", "warehouse.view_metervisuals"),
        (
            "Communication history",
            "warehouse:device-comm-history-list",
            "warehouse.view_devicecommunicationhistory",
        ),
        ("Quarantine", "warehouse:quarantine-list", "warehouse.view_quarantinedrow"),
    ]

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="warehouse.partitions")
        _meter_sections_register()


def _meter_sections_register() -> None:
    """The meter page's data sections (the registry page does not import the warehouse)."""
    from apps.core.panels import Section, section_register
    from apps.warehouse.meter_charts import meter_charts_context
    from apps.warehouse.meter_data import meter_data_context

    section_register(
        "registry.meter",
        Section(
            name="warehouse-data",
            template="warehouse/_meter_data.html",
            context=lambda request, meter: meter_data_context(meter, request),
            order=10,
        ),
    )
    section_register(
        "registry.meter",
        Section(
            name="warehouse-grid-charts",
            template="warehouse/_meter_charts.html",
            context=meter_charts_context,
            order=20,
        ),
    )
