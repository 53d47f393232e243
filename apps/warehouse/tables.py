"""Tables of the list pages (a few telling columns each; the API and CSV give every field)."""

import django_tables2 as tables

from apps.core.tables import BadgeColumn, DeviceIdColumn, MdmTable
from apps.registry.choices import ActivationStatus
from apps.warehouse.choices import DataSetCode, QuarantineKind, QuarantineState
from apps.warehouse.models import (
    BillingReading,
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)

ATTRS = {"class": "table table-sm table-hover"}


class InstantaneousReadingTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = InstantaneousReading
        fields = (
            "global_device_id", "meter_datetime", "msn", "voltage_phase_a", "voltage_phase_b",
            "voltage_phase_c", "current_phase_a", "current_phase_b", "current_phase_c",
            "aggregate_active_pwr_pos", "average_pf", "signal_strength", "mdc_id", "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class BillingReadingTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = BillingReading
        fields = (
            "global_device_id", "meter_datetime", "msn", "active_energy_pos_tl",
            "active_energy_neg_tl", "reactive_energy_pos_tl", "active_mdi_pos_tl", "mdc_id",
            "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class MonthlyBillingReadingTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = MonthlyBillingReading
        fields = (
            "global_device_id", "meter_datetime", "msn", "active_energy_pos_tl",
            "active_energy_neg_tl", "active_mdi_pos_tl", "reset_count", "mdi_reset_datetime",
            "mdc_id", "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class LoadProfileReadingTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = LoadProfileReading
        fields = (
            "global_device_id", "meter_datetime", "channel_id", "interval", "active_energy_tl",
            "reactive_energy_tl", "active_mdi_tl", "aggregate_active_pwr_pos", "voltage_phase_a",
            "current_phase_a", "average_pf", "mdc_id", "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class MeterEventTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = MeterEvent
        fields = (
            "global_device_id", "event_datetime", "event_code", "event_description", "msn",
            "mdc_read_datetime", "mdc_id", "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class DeviceCommunicationHistoryTable(MdmTable):
    global_device_id = DeviceIdColumn()

    class Meta:
        model = DeviceCommunicationHistory
        fields = (
            "global_device_id", "meter_datetime", "communication_status", "bytes_sent",
            "bytes_received", "connection_duration", "sim_id", "mdc_id", "db_datetime",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False


class MeterVisualsTable(MdmTable):
    global_device_id = DeviceIdColumn()
    meter_activation_status = BadgeColumn(ActivationStatus, verbose_name="Activation status")
    details = tables.LinkColumn(
        "warehouse:meter-visuals-detail",
        args=[tables.A("global_device_id")],
        text="Details",
        verbose_name="",
        orderable=False,
        empty_values=(),
        exclude_from_export=True,
    )

    class Meta:
        model = MeterVisuals
        fields = (
            "global_device_id", "msn", "last_communication_datetime", "last_active_energy_pos_tl",
            "last_signal_strength", "meter_activation_status", "last_command",
            "last_command_resp", "mdc_id", "ingested_at",
        )  # fmt: skip
        attrs = ATTRS


class QuarantinedRowTable(MdmTable):
    at = tables.DateTimeColumn(linkify=True)
    dataset_code = BadgeColumn(DataSetCode, verbose_name="Data set")
    kind = BadgeColumn(QuarantineKind)
    state = BadgeColumn(QuarantineState, accessor="state", orderable=False)

    class Meta:
        model = QuarantinedRow
        fields = (
            "at", "last_seen_at", "count", "mdc_id", "dataset_code", "kind", "reason", "source",
            "state",
        )  # fmt: skip
        attrs = ATTRS
