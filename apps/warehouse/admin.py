"""Admin: the quarantine and meter visuals, read-only (loads and services write them). The other
data set models have composite primary keys, which the Django admin does not support: browse
them under /warehouse/."""

from django.contrib import admin

from apps.warehouse.models import MeterVisuals, QuarantinedRow


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(ReadOnlyAdmin):
    list_display = ("at", "mdc_id", "dataset_code", "kind", "reason", "source", "resolved")
    list_filter = ("dataset_code", "kind", "resolved")
    search_fields = ("reason", "source")


@admin.register(MeterVisuals)
class MeterVisualsAdmin(ReadOnlyAdmin):
    list_display = ("global_device_id", "msn", "last_communication_datetime", "mdc_id")
    search_fields = ("global_device_id",)
