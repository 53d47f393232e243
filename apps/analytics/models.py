"""Roll-ups of the warehouse (kept current after each ingestion run, never by a full rescan) and
the input meters of feeders and transformers (energy accounting).

Every dashboard and analytics API reads these tables, never the raw warehouse partitions. The
hierarchy of a meter is copied into its day rows when they are computed, so the per-node day
rows are a plain GROUP BY of the meter days, and a meter moved to another transformer counts
there from its next refreshed day on.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.analytics.choices import NodeLevel, ReportKind, ReportState
from apps.registry.models import Feeder, Meter, Transformer

_KWH = {"max_digits": 18, "decimal_places": 3, "default": 0}


class MeterHour(models.Model):
    """Consumption of one meter in one hour (the hour the readings' intervals close in)."""

    global_device_id = models.CharField(max_length=50)
    hour = models.DateTimeField()
    mdc_id = models.IntegerField(null=True)
    active_kwh = models.DecimalField(**_KWH)
    reactive_kvarh = models.DecimalField(**_KWH)
    readings = models.PositiveIntegerField(default=0)
    estimated = models.PositiveIntegerField(
        default=0, help_text="Readings resting on VEE-estimated or edited intervals."
    )
    # What the meter's day is grouped from besides the sums (the days of a refresh are
    # regrouped from their hours, so a refresh derives only the hours new readings touch).
    estimated_kwh = models.DecimalField(**_KWH)
    faults = models.PositiveIntegerField(default=0)
    max_interval = models.PositiveIntegerField(null=True, help_text="Longest interval (minutes).")
    max_demand_kw = models.DecimalField(max_digits=18, decimal_places=3, null=True)
    max_voltage = models.DecimalField(max_digits=12, decimal_places=3, null=True)
    last_reading_at = models.DateTimeField(null=True)
    # Where the hour was counted in the tariff roll-up (the consumer's tariff and the meter's
    # feeder when it was derived), so a replaced hour is taken out of the bucket it went into.
    tariff = models.CharField(max_length=20, blank=True, default="")
    feeder_id = models.IntegerField(null=True)

    class Meta:
        ordering = ["global_device_id", "hour"]
        constraints = [
            models.UniqueConstraint(fields=["global_device_id", "hour"], name="analytics_mh_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.global_device_id} {self.hour:%Y-%m-%d %H:00}"


class TariffHour(models.Model):
    """Consumption of the consumers on one tariff under one feeder in one hour: the tariff load
    curves read it instead of every consumer's hours (#13). Kept by difference, as node days."""

    tariff = models.CharField(max_length=20)
    feeder_id = models.IntegerField(default=0, help_text="0: a meter on no feeder.")
    hour = models.DateTimeField()
    active_kwh = models.DecimalField(**_KWH)
    meters = models.IntegerField(default=0, help_text="Meter-hours summed.")

    class Meta:
        ordering = ["tariff", "feeder_id", "hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "feeder_id", "hour"], name="analytics_th_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tariff} feeder {self.feeder_id} {self.hour:%Y-%m-%d %H:00}"


class MeterDay(models.Model):
    """Consumption, completeness and the figures suspects are scored on, of one meter and one
    Pakistan day."""

    global_device_id = models.CharField(max_length=50)
    day = models.DateField()
    mdc_id = models.IntegerField(null=True)
    meter_id = models.IntegerField(null=True, help_text="registry meter (none: unregistered)")
    transformer_id = models.IntegerField(null=True)
    feeder_id = models.IntegerField(null=True)
    subdivision_id = models.IntegerField(null=True)
    is_input = models.BooleanField(
        default=False, help_text="An input meter of a feeder or transformer, not a consumer."
    )
    active_kwh = models.DecimalField(**_KWH)
    reactive_kvarh = models.DecimalField(**_KWH)
    readings = models.PositiveIntegerField(default=0)
    expected = models.PositiveIntegerField(default=0, help_text="Readings a full day has.")
    faults = models.PositiveIntegerField(default=0)
    estimated = models.PositiveIntegerField(default=0)
    estimated_kwh = models.DecimalField(**_KWH)
    max_demand_kw = models.DecimalField(max_digits=18, decimal_places=3, null=True)
    max_voltage = models.DecimalField(max_digits=12, decimal_places=3, null=True)
    last_reading_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["global_device_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["global_device_id", "day"], name="analytics_md_uniq")
        ]
        indexes = [
            models.Index(fields=["day", "feeder_id"], name="analytics_md_feeder"),
            models.Index(fields=["day", "transformer_id"], name="analytics_md_transformer"),
        ]

    def __str__(self) -> str:
        return f"{self.global_device_id} {self.day}"


class NodeDay(models.Model):
    """Consumers' consumption and completeness of one feeder, transformer, subdivision or MDC
    and one day (input meters left out: they are what the consumers are balanced against)."""

    level = models.CharField(max_length=12, choices=NodeLevel.choices)
    node_id = models.IntegerField()
    day = models.DateField()
    meters = models.PositiveIntegerField(default=0)
    active_kwh = models.DecimalField(**_KWH)
    estimated_kwh = models.DecimalField(**_KWH)
    readings = models.PositiveIntegerField(default=0)
    expected = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["level", "node_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["level", "node_id", "day"], name="analytics_nd_uniq")
        ]
        indexes = [models.Index(fields=["level", "day"], name="analytics_nd_level_day")]

    def __str__(self) -> str:
        return f"{self.level} {self.node_id} {self.day}"


class EventDay(models.Model):
    """Events of one meter, code and day."""

    global_device_id = models.CharField(max_length=50)
    day = models.DateField()
    event_code = models.IntegerField()
    mdc_id = models.IntegerField(null=True)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["global_device_id", "day", "event_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["global_device_id", "day", "event_code"], name="analytics_ed_uniq"
            )
        ]
        indexes = [models.Index(fields=["day", "event_code"], name="analytics_ed_day_code")]

    def __str__(self) -> str:
        return f"{self.global_device_id} {self.day} {self.event_code}"


class InputMeter(models.Model):
    """A meter that measures the energy going into a feeder or a transformer."""

    meter = models.OneToOneField(Meter, on_delete=models.CASCADE, related_name="input_of")
    feeder = models.ForeignKey(
        Feeder, null=True, blank=True, on_delete=models.CASCADE, related_name="input_meters"
    )
    transformer = models.ForeignKey(
        Transformer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="input_meters",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meter__global_device_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(feeder__isnull=True, transformer__isnull=False)
                | Q(feeder__isnull=False, transformer__isnull=True),
                name="analytics_input_one_node",
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter} → {self.feeder or self.transformer}"

    def clean(self) -> None:
        if (self.feeder_id is None) == (self.transformer_id is None):
            raise ValidationError("An input meter feeds exactly one feeder or one transformer.")


class EventAcknowledgement(models.Model):
    """Who acknowledged one warehouse event (keyed as the event table is), and when."""

    global_device_id = models.CharField(max_length=50)
    event_datetime = models.DateTimeField()
    event_code = models.IntegerField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-event_datetime"]
        constraints = [
            models.UniqueConstraint(
                fields=["global_device_id", "event_datetime", "event_code"],
                name="analytics_ack_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.global_device_id} {self.event_code} {self.event_datetime:%Y-%m-%d %H:%M}"


class Report(models.Model):
    """A report run on demand or by beat: its CSV and PDF kept for download, with who ran it
    (no one: a scheduled run) and its progress."""

    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    start = models.DateField()
    end = models.DateField()
    level = models.CharField(max_length=12, choices=NodeLevel.choices, default=NodeLevel.FEEDER)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="analytics_reports",
    )  # fmt: skip
    scheduled = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=ReportState.choices, default="queued")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    csv_data = models.BinaryField(default=bytes, editable=False)
    pdf_data = models.BinaryField(default=bytes, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="analytics_report_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start} to {self.end} (#{self.pk})"

    def get_absolute_url(self) -> str:
        return reverse("analytics:reports") + f"#report-{self.pk}"

    def file_name(self, fmt: str) -> str:
        return f"{self.kind}_{self.start:%Y%m%d}_{self.end:%Y%m%d}_{self.pk}.{fmt}"
