from django.contrib import admin

from apps.ingestion.models import FileDelivery, IngestionRun, RefillWindow, Watermark


@admin.register(IngestionRun)
class IngestionRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "mdc",
        "dataset",
        "outcome",
        "rows_received",
        "rows_inserted",
        "rows_updated",
        "rows_quarantined",
        "duration_seconds",
    )
    list_filter = ("outcome", "dataset", "mdc")
    date_hierarchy = "started_at"
    search_fields = ("error",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Watermark)
class WatermarkAdmin(admin.ModelAdmin):
    """Moving a watermark back re-pulls from there (the load is idempotent)."""

    list_display = ("mdc", "dataset", "position", "updated_at")
    list_filter = ("dataset", "mdc")


@admin.register(RefillWindow)
class RefillWindowAdmin(admin.ModelAdmin):
    """Windows asked for again: quarantined bodies and missing intervals (open gaps stay
    listed, expired ones too)."""

    list_display = (
        "mdc", "dataset", "global_device_id", "start", "end", "reason", "state", "missing",
        "attempts", "next_attempt_at",
    )  # fmt: skip
    list_filter = ("state", "reason", "dataset", "mdc")
    search_fields = ("global_device_id",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FileDelivery)
class FileDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "mdc", "name", "dataset", "state", "rows_received", "run")
    list_filter = ("state", "source", "dataset")
    search_fields = ("name", "sha256", "mdc__code")
    readonly_fields = [field.name for field in FileDelivery._meta.fields]
