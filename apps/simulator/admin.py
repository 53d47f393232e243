from django.contrib import admin

from apps.simulator.models import SimCommand, SimMdc, SimMeter, SimTransaction


@admin.register(SimMdc)
class SimMdcAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "fmt",
        "transport",
        "command_pace_seconds",
        "failure_rate",
        "latency_ms",
        "error_500_rate",
        "malformed_rate",
        "truncated_rate",
    )
    search_fields = ("code", "name")


@admin.register(SimMeter)
class SimMeterAdmin(admin.ModelAdmin):
    list_display = (
        "global_device_id",
        "msn",
        "mdc",
        "profile",
        "phase",
        "meter_type",
        "has_relay",
        "activation_status",
        "relay_state",
        "tamper",
    )
    list_filter = ("mdc", "profile", "tamper", "activation_status")
    search_fields = ("global_device_id", "msn")


@admin.register(SimCommand)
class SimCommandAdmin(admin.ModelAdmin):
    list_display = ("transactionid", "mdc", "service", "received_at")
    search_fields = ("transactionid",)


@admin.register(SimTransaction)
class SimTransactionAdmin(admin.ModelAdmin):
    list_display = (
        "transactionid",
        "global_device_id",
        "type",
        "status_level",
        "indv_status",
        "request_cancelled",
        "done",
    )
    list_filter = ("mdc", "type", "status_level", "done")
    search_fields = ("transactionid", "global_device_id")
