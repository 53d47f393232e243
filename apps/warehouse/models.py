"""Warehouse models.

The data set tables (``managed = False``) are created by migrations as RANGE-partitioned
PostgreSQL tables (see ``schema.py``) and written only by the loader (``loader.py``) with COPY
and one set-based merge; the models exist for reading: ORM queries, the API and the pages.
Fields follow UDIL section 3.1 and ``apps.udil.datasets`` (a test checks they agree).

``QuarantinedRow`` is an ordinary table: every row or body the loader could not accept.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse

from apps.warehouse.choices import DataSetCode, QuarantineKind, QuarantineState


class WarehouseRow(models.Model):
    """Common base of the data set tables (read-only from Django)."""

    dataset_code: str = ""
    time_field_name: str = ""  # the meter time the table is partitioned on

    class Meta:
        abstract = True


class InstantaneousReading(WarehouseRow):
    """Instantaneous data (3.1.1): grid and meter values at a moment.

    Stored in ``warehouse_instantaneous``."""

    dataset_code = "instantaneous"
    time_field_name = "meter_datetime"
    pk = models.CompositePrimaryKey("global_device_id", "meter_datetime")
    current_tariff_register = models.IntegerField(
        null=True,
        blank=True,
        help_text="Current Tariff Register",
    )
    signal_strength = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Signal Strength",
    )
    msn = models.BigIntegerField(null=True, blank=True, help_text="Meter Serial Number")
    global_device_id = models.CharField(max_length=50, help_text="Unique ID for each device by MDM")
    meter_datetime = models.DateTimeField(help_text="Meter Date & Time")
    current_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase A",
    )
    current_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase B",
    )
    current_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase C",
    )
    voltage_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase A",
    )
    voltage_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase B",
    )
    voltage_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase C",
    )
    aggregate_active_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Import",
    )
    aggregate_active_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Export",
    )
    aggregate_reactive_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Import",
    )
    aggregate_reactive_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Export",
    )
    average_pf = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Average Power Factor",
    )
    mdc_read_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Reading Date & Time of MDC",
    )
    db_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Record Entry Date & Time in Database",
    )
    mdc_id = models.IntegerField(db_index=True)
    ingested_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "warehouse_instantaneous"
        verbose_name = "instantaneous reading"

    def __str__(self) -> str:
        return f"{self.global_device_id} @ {self.meter_datetime:%Y-%m-%d %H:%M:%S}"


class BillingRegisters(WarehouseRow):
    """The fields billing (3.1.2) and monthly billing (3.1.3) share: the 40 tariff registers."""

    time_field_name = "meter_datetime"
    pk = models.CompositePrimaryKey("global_device_id", "meter_datetime")
    msn = models.BigIntegerField(null=True, blank=True, help_text="Meter Serial Number")
    global_device_id = models.CharField(max_length=50, help_text="Unique ID for each device by MDM")
    meter_datetime = models.DateTimeField(help_text="Meter Date & Time")
    active_energy_pos_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active kWh (Import)",
    )
    active_energy_pos_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active kWh (Import)",
    )
    active_energy_pos_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active kWh (Import)",
    )
    active_energy_pos_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active kWh (Import)",
    )
    active_energy_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active kWh (Import)",
    )
    active_energy_neg_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active kWh (Export)",
    )
    active_energy_neg_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active kWh (Export)",
    )
    active_energy_neg_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active kWh (Export)",
    )
    active_energy_neg_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active kWh (Export)",
    )
    active_energy_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active kWh (Export)",
    )
    reactive_energy_pos_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Reactive kVARh (Import)",
    )
    reactive_energy_pos_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Reactive kVARh (Import)",
    )
    reactive_energy_pos_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Reactive kVARh (Import)",
    )
    reactive_energy_pos_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Reactive kVARh (Import)",
    )
    reactive_energy_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Reactive kVARh (Import)",
    )
    reactive_energy_neg_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Reactive kVARh (Export)",
    )
    reactive_energy_neg_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Reactive kVARh (Export)",
    )
    reactive_energy_neg_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Reactive kVARh (Export)",
    )
    reactive_energy_neg_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Reactive kVARh (Export)",
    )
    reactive_energy_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Reactive kVARh (Export)",
    )
    active_mdi_pos_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active MDI kW (Import)",
    )
    active_mdi_pos_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active MDI kW (Import)",
    )
    active_mdi_pos_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active MDI kW (Import)",
    )
    active_mdi_pos_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active MDI kW (Import)",
    )
    active_mdi_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active MDI kW (Import)",
    )
    active_mdi_neg_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active MDI kW (Export)",
    )
    active_mdi_neg_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active MDI kW (Export)",
    )
    active_mdi_neg_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active MDI kW (Export)",
    )
    active_mdi_neg_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active MDI kW (Export)",
    )
    active_mdi_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active MDI kW (Export)",
    )
    cumulative_mdi_pos_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Cumulative Active MDI kW (Import)",
    )
    cumulative_mdi_pos_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Cumulative Active MDI kW (Import)",
    )
    cumulative_mdi_pos_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Cumulative Active MDI kW (Import)",
    )
    cumulative_mdi_pos_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Cumulative Active MDI kW (Import)",
    )
    cumulative_mdi_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Cumulative Active MDI kW (Import)",
    )
    cumulative_mdi_neg_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Cumulative Active MDI kW (Export)",
    )
    cumulative_mdi_neg_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Cumulative Active MDI kW (Export)",
    )
    cumulative_mdi_neg_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Cumulative Active MDI kW (Export)",
    )
    cumulative_mdi_neg_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Cumulative Active MDI kW (Export)",
    )
    cumulative_mdi_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Cumulative Active MDI kW (Export)",
    )
    mdc_read_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Reading Date & Time of MDC",
    )
    db_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Record Entry Date & Time in Database",
    )
    mdc_id = models.IntegerField(db_index=True)
    ingested_at = models.DateTimeField()

    class Meta:
        abstract = True


class BillingReading(BillingRegisters):
    """Billing data (3.1.2): tariff registers at defined intervals.

    Stored in ``warehouse_billing``."""

    dataset_code = "billing"

    class Meta:
        managed = False
        db_table = "warehouse_billing"
        verbose_name = "billing reading"

    def __str__(self) -> str:
        return f"{self.global_device_id} @ {self.meter_datetime:%Y-%m-%d %H:%M:%S}"


class MonthlyBillingReading(BillingRegisters):
    """Monthly billing data (3.1.3): monthly registers and MDI reset count.

    Stored in ``warehouse_monthly_billing``."""

    dataset_code = "monthly_billing"
    mdi_reset_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="MDI Reset Date & Time",
    )
    reset_count = models.IntegerField(null=True, blank=True, help_text="MDI Reset Count Number")

    class Meta:
        managed = False
        db_table = "warehouse_monthly_billing"
        verbose_name = "monthly billing reading"

    def __str__(self) -> str:
        return f"{self.global_device_id} @ {self.meter_datetime:%Y-%m-%d %H:%M:%S}"


class LoadProfileReading(WarehouseRow):
    """Load profile data (3.1.4): meter and grid profile at intervals.

    Stored in ``warehouse_load_profile``."""

    dataset_code = "load_profile"
    time_field_name = "meter_datetime"
    pk = models.CompositePrimaryKey("global_device_id", "meter_datetime", "channel_id")
    msn = models.BigIntegerField(null=True, blank=True, help_text="Meter Serial Number")
    global_device_id = models.CharField(max_length=50, help_text="Unique ID for each device by MDM")
    meter_datetime = models.DateTimeField(help_text="Meter Date & Time")
    channel_id = models.IntegerField(
        default=0,
        help_text="Load Profile Channel ID where applicable",
    )
    interval = models.IntegerField(null=True, blank=True, help_text="Interval of Profile")
    active_energy_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active kWh",
    )
    active_energy_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active kWh",
    )
    active_energy_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active kWh",
    )
    active_energy_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active kWh",
    )
    active_energy_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active kWh",
    )
    reactive_energy_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Reactive kVARh",
    )
    reactive_energy_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Reactive kVARh",
    )
    reactive_energy_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Reactive kVARh",
    )
    reactive_energy_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Reactive kVARh",
    )
    reactive_energy_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Reactive kVARh",
    )
    active_mdi_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Active MDI",
    )
    active_mdi_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Active MDI",
    )
    active_mdi_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Active MDI",
    )
    active_mdi_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Active MDI",
    )
    active_mdi_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Active MDI",
    )
    cumulative_mdi_t1 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T1 Cumulative Active MDI",
    )
    cumulative_mdi_t2 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T2 Cumulative Active MDI",
    )
    cumulative_mdi_t3 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T3 Cumulative Active MDI",
    )
    cumulative_mdi_t4 = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="T4 Cumulative Active MDI",
    )
    cumulative_mdi_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Total Cumulative Active MDI",
    )
    current_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase A",
    )
    current_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase B",
    )
    current_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Current Phase C",
    )
    voltage_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase A",
    )
    voltage_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase B",
    )
    voltage_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Voltage Phase C",
    )
    active_pwr_pos_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Import Phase A",
    )
    active_pwr_pos_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Import Phase B",
    )
    active_pwr_pos_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Import Phase C",
    )
    aggregate_active_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Import",
    )
    active_pwr_neg_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Export Phase A",
    )
    active_pwr_neg_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Export Phase B",
    )
    active_pwr_neg_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Active Power Export Phase C",
    )
    aggregate_active_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Export",
    )
    reactive_pwr_pos_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Import Phase A",
    )
    reactive_pwr_pos_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Import Phase B",
    )
    reactive_pwr_pos_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Import Phase C",
    )
    aggregate_reactive_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Import",
    )
    reactive_pwr_neg_phase_a = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Export Phase A",
    )
    reactive_pwr_neg_phase_b = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Export Phase B",
    )
    reactive_pwr_neg_phase_c = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reactive Power Export Phase C",
    )
    aggregate_reactive_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Export",
    )
    average_pf = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Average Power Factor",
    )
    mdc_read_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Reading Date & Time of MDC",
    )
    db_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Record Entry Date & Time in Database",
    )
    mdc_id = models.IntegerField(db_index=True)
    ingested_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "warehouse_load_profile"
        verbose_name = "load profile reading"

    def __str__(self) -> str:
        return f"{self.global_device_id} @ {self.meter_datetime:%Y-%m-%d %H:%M:%S}"


class MeterEvent(WarehouseRow):
    """Events (3.1.5): alerts and alarms generated by the meter.

    Stored in ``warehouse_event``."""

    dataset_code = "events"
    time_field_name = "event_datetime"
    pk = models.CompositePrimaryKey("global_device_id", "event_datetime", "event_code")
    msn = models.BigIntegerField(null=True, blank=True, help_text="Meter Serial Number")
    global_device_id = models.CharField(max_length=50, help_text="Unique ID for each device by MDM")
    event_datetime = models.DateTimeField(help_text="Meter Date & Time when event occurred")
    event_code = models.IntegerField(help_text="Event Code")
    event_description = models.CharField(  # noqa: DJ001 - NULL is 'absent' on the wire
        max_length=50,
        null=True,
        blank=True,
        help_text="Event Name/Description",
    )
    mdc_read_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Reading Date & Time of MDC",
    )
    db_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Record Entry Date & Time in Database",
    )
    mdc_id = models.IntegerField(db_index=True)
    ingested_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "warehouse_event"
        verbose_name = "meter event"

    def __str__(self) -> str:
        return f"{self.global_device_id} @ {self.event_datetime:%Y-%m-%d %H:%M:%S}"


class MeterVisuals(WarehouseRow):
    """Meter visuals (3.1.6): latest known state, one row per device.

    Stored in ``warehouse_meter_visuals``."""

    dataset_code = "meter_visuals"
    msn = models.BigIntegerField(null=True, blank=True, help_text="Meter Serial Number")
    global_device_id = models.CharField(
        max_length=50,
        primary_key=True,
        help_text="Unique ID for each device by MDM",
    )
    last_command = models.CharField(  # noqa: DJ001 - NULL is 'absent' on the wire
        max_length=50,
        null=True,
        blank=True,
        help_text="Last Command Sent to Meter",
    )
    last_command_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Date & Time of Last Command",
    )
    last_command_resp = models.CharField(  # noqa: DJ001 - NULL is 'absent' on the wire
        max_length=50,
        null=True,
        blank=True,
        help_text="Response of Last Command",
    )
    last_command_resp_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Response Date & Time of Last Command",
    )
    last_active_energy_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Last Value of Positive Absolute kWh",
    )
    last_active_energy_pos_tl_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Reporting Time for kWh",
    )
    last_active_energy_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Last Value of Negative Absolute kWh",
    )
    last_active_energy_neg_tl_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Reporting Time for kWh",
    )
    last_reactive_energy_pos_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Last Value of Positive Absolute kVARh",
    )
    last_reactive_energy_pos_tl_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Reporting Time for kVARh",
    )
    last_reactive_energy_neg_tl = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Last Value of Negative Absolute kVARh",
    )
    last_reactive_energy_neg_tl_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Reporting Time for kVARh",
    )
    aggregate_active_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Import",
    )
    aggregate_active_pwr_pos_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Time for positive kW",
    )
    aggregate_active_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Active Power Export",
    )
    aggregate_active_pwr_neg_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Time for negative kW",
    )
    aggregate_reactive_pwr_pos = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Import",
    )
    aggregate_reactive_pwr_pos_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Time for positive kVAR",
    )
    aggregate_reactive_pwr_neg = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Aggregate Reactive Power Export",
    )
    aggregate_reactive_pwr_neg_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest Time for negative kVAR",
    )
    last_contactor_on_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last Contactor On Date & Time",
    )
    last_contactor_off_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last Contactor Off Date & Time",
    )
    last_communication_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last Communication Date & Time",
    )
    last_signal_strength = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Latest Signal Strength",
    )
    meter_load_limit_set = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Latest Sanctioned Load Limit set in the meter",
    )
    meter_ls_schedule_startdatetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start Date time for Load Shedding",
    )
    meter_ls_schedule_enddatetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="End Date time for Load Shedding",
    )
    meter_ls_schedule_slabs = models.TextField(  # noqa: DJ001 - NULL is 'absent' on the wire
        null=True,
        blank=True,
        help_text="Array containing action time & relay operate",
    )
    meter_last_comm_datetime = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Meter Date & Time of last communication",
    )
    meter_tariff_identification = models.TextField(  # noqa: DJ001 - NULL is 'absent' on the wire
        null=True,
        blank=True,
        help_text="Array containing tariff identification & time slabs",
    )
    meter_activation_status = models.IntegerField(
        null=True,
        blank=True,
        help_text="1 for Active, 0 for Inactive",
    )
    mdc_id = models.IntegerField(db_index=True)
    ingested_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "warehouse_meter_visuals"
        verbose_name = "meter visuals"
        verbose_name_plural = "meter visuals"

    def __str__(self) -> str:
        return f"{self.global_device_id} (latest visuals)"


class QuarantinedRow(models.Model):
    """A row (or a whole response body) the loader refused, kept with the reason and the raw
    payload so nothing is dropped silently. ``source`` says where it came from: an ingestion run
    (``ingestion_run:42``), an on-demand transaction (``on_demand:<txid>``), a file."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    mdc_id = models.IntegerField(null=True, blank=True, db_index=True)
    dataset_code = models.CharField(max_length=30, choices=DataSetCode.choices, db_index=True)
    kind = models.CharField(max_length=10, choices=QuarantineKind.choices, default="row")
    reason = models.TextField()
    raw_payload = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, help_text="The refused row as received."
    )
    raw_text = models.TextField(blank=True, help_text="A refused body as received.")
    source = models.CharField(max_length=200, blank=True, db_index=True)
    resolved = models.BooleanField(default=False, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.CharField(max_length=500, blank=True)
    # The same bad row (or body) delivered again is one entry seen ``count`` times, not a new
    # entry per window: ``fingerprint`` identifies MDC, data set, kind, reason and content.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    count = models.PositiveIntegerField(default=1, help_text="Times it was delivered.")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # What a quarantined body answered (the request), so it can be re-processed with the same
    # checks: the requested span (inclusive) and devices.
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    device_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["resolved", "-at"], name="warehouse_quarantine_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_dataset_code_display()} {self.get_kind_display().lower()}: {self.reason}"

    def get_absolute_url(self) -> str:
        return reverse("warehouse:quarantine-detail", args=[self.pk])

    @property
    def state(self) -> str:
        return QuarantineState.RESOLVED if self.resolved else QuarantineState.OPEN
