"""Billing: tariffs as data, the billing attributes of registry consumers and meters, reading
cycles, determinant runs (one row per consumer per run), exports, and the billing mirror.

The registry owns consumers and meters; what only billing needs lives here, one to one with them
(``BillingAccount`` per consumer, ``MeterFactor`` per meter), managed from the billing pages.
A run's determinants are written by one set-based statement (``services/determinants.py``);
an approved run is locked: nothing writes to it or its determinants again.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from apps.billing.choices import (
    AccountStatus,
    Band,
    CycleSource,
    ExportFormat,
    ReadingMode,
    RunKind,
    RunStatus,
    TariffCategory,
    VeeFlag,
)
from apps.registry.models import Consumer, Meter

MONTH = [MinValueValidator(1), MaxValueValidator(12)]
REGISTERS = ("t1", "t2", "t3", "t4")


def _energy(**extra) -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True, **extra)


class Tariff(models.Model):
    code = models.CharField(max_length=20, unique=True, help_text="e.g. A-1(b) TOU")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=5, choices=TariffCategory.choices)
    time_of_use = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class TariffBandMap(models.Model):
    """Which registers (T1..T4) are peak and off-peak in a season, valid between two dates.
    A season runs from ``start_month`` to ``end_month`` inclusive (it may wrap the year)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="band_maps")
    season = models.CharField(max_length=30, help_text="e.g. Summer, Winter")
    start_month = models.PositiveSmallIntegerField(validators=MONTH)
    end_month = models.PositiveSmallIntegerField(validators=MONTH)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Inclusive; empty: open.")
    t1_band = models.CharField(max_length=10, choices=Band.choices, default=Band.OFF_PEAK)
    t2_band = models.CharField(max_length=10, choices=Band.choices, default=Band.PEAK)
    t3_band = models.CharField(max_length=10, choices=Band.choices, default=Band.OFF_PEAK)
    t4_band = models.CharField(max_length=10, choices=Band.choices, default=Band.OFF_PEAK)

    class Meta:
        ordering = ["tariff__code", "valid_from", "start_month"]

    def __str__(self) -> str:
        return f"{self.tariff} · {self.season} from {self.valid_from}"

    def clean(self) -> None:
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "Ends before it starts."})


class BillingAccount(models.Model):
    """What billing needs of a registry consumer."""

    consumer = models.OneToOneField(
        Consumer, on_delete=models.CASCADE, related_name="billing_account"
    )
    tariff = models.ForeignKey(Tariff, null=True, blank=True, on_delete=models.PROTECT)
    sanctioned_load_kw = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    reading_batch = models.CharField(max_length=10, db_index=True, help_text="e.g. 05")
    status = models.CharField(
        max_length=20, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["consumer__reference_no"]

    def __str__(self) -> str:
        return f"{self.consumer.reference_no} (batch {self.reading_batch})"


class MeterFactor(models.Model):
    """The multiplying factor (CT/PT ratio) of a meter; 1 where no row exists."""

    meter = models.OneToOneField(Meter, on_delete=models.CASCADE, related_name="billing_factor")
    multiplying_factor = models.DecimalField(
        max_digits=10, decimal_places=3, default=Decimal(1), validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["meter__global_device_id"]

    def __str__(self) -> str:
        return f"{self.meter.global_device_id} x {self.multiplying_factor}"


class ReadingCycle(models.Model):
    """A batch's reading: its consumers are read at ``cutoff`` (the reading date's end of
    reading); the previous cycle of the same batch gives the previous reading."""

    batch = models.CharField(max_length=10)
    reading_date = models.DateField()
    cutoff = models.DateTimeField(help_text="Readings at or before this time count.")
    source = models.CharField(max_length=10, choices=CycleSource.choices, default="daily")

    class Meta:
        ordering = ["-reading_date", "batch"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "reading_date"], name="billing_cycle_uniq")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch} · {self.reading_date}"

    def previous(self) -> ReadingCycle | None:
        return (
            ReadingCycle.objects.filter(batch=self.batch, reading_date__lt=self.reading_date)
            .order_by("-reading_date")
            .first()
        )


class BillingRun(models.Model):
    cycle = models.ForeignKey(ReadingCycle, on_delete=models.PROTECT, related_name="runs")
    kind = models.CharField(max_length=15, choices=RunKind.choices, default=RunKind.REGULAR)
    supplements = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supplementary_runs",
        help_text="The locked run a supplementary run corrects.",
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default="queued")
    # A final run: its one consumer, read up to its own cut-off (the final reading); the cycle
    # is the batch's last one before it (the previous reading).
    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cutoff = models.DateTimeField(null=True, blank=True, help_text="A final run's cut-off.")
    consumers_total = models.PositiveIntegerField(default=0)
    consumers_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The heartbeat: set when the run is queued, taken by a worker and at each committed chunk.
    # A queued or running run whose heartbeat is old lost its worker (runs.billing_run_fail_stale).
    progressed_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("run_billingrun", "Can start and re-run billing runs"),
            ("approve_billingrun", "Can approve and lock billing runs"),
        ]

    def __str__(self) -> str:
        return f"run #{self.pk} ({self.cycle})"

    def get_absolute_url(self) -> str:
        return reverse("billing:run-detail", args=[self.pk])

    @property
    def locked(self) -> bool:
        return self.status == RunStatus.APPROVED

    @property
    def progress_percent(self) -> int:
        if not self.consumers_total:
            return 100 if self.status in (RunStatus.READY, RunStatus.APPROVED) else 0
        return int(100 * self.consumers_done / self.consumers_total)


class Determinant(models.Model):
    """Billing determinants of one consumer in one run. Readings are register values (kWh,
    kvarh) before the multiplying factor; units are consumed energy after it."""

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="determinants")
    consumer = models.ForeignKey(Consumer, on_delete=models.PROTECT, related_name="+")
    reference_no = models.CharField(max_length=50)
    batch = models.CharField(max_length=10)
    meter = models.ForeignKey(Meter, null=True, on_delete=models.SET_NULL, related_name="+")
    global_device_id = models.CharField(max_length=50, blank=True)
    msn = models.BigIntegerField(null=True)
    old_global_device_id = models.CharField(max_length=50, blank=True)
    subdivision_id = models.IntegerField(null=True, db_index=True)
    feeder_id = models.IntegerField(null=True, db_index=True)
    tariff_code = models.CharField(max_length=20, blank=True)
    multiplying_factor = models.DecimalField(max_digits=10, decimal_places=3)
    previous_datetime = models.DateTimeField(null=True)
    present_datetime = models.DateTimeField(null=True)
    previous_off_peak = _energy()
    present_off_peak = _energy()
    previous_peak = _energy()
    present_peak = _energy()
    previous_total = _energy()
    present_total = _energy()
    previous_export = _energy()
    present_export = _energy()
    previous_kvarh = _energy()
    present_kvarh = _energy()
    units_off_peak = _energy()
    units_peak = _energy()
    units_total = _energy()
    units_export = _energy()
    units_kvarh = _energy()
    power_factor = models.DecimalField(max_digits=5, decimal_places=3, null=True)
    mdi_off_peak = _energy()
    mdi_peak = _energy()
    mdi_total = _energy()
    mdi_reset_datetime = models.DateTimeField(null=True)
    sanctioned_load_kw = models.DecimalField(max_digits=12, decimal_places=3, null=True)
    days = models.IntegerField(null=True)
    reading_mode = models.CharField(max_length=10, choices=ReadingMode.choices)
    vee_flag = models.CharField(max_length=10, choices=VeeFlag.choices)
    discrepancies = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        ordering = ["run", "reference_no"]
        constraints = [
            models.UniqueConstraint(fields=["run", "consumer"], name="billing_determinant_uniq")
        ]
        # exports and the API's keyset pages read a run in this order: no sort of the run
        indexes = [
            models.Index(fields=["run", "reference_no", "id"], name="billing_det_run_ref_idx")
        ]

    def __str__(self) -> str:
        return f"{self.reference_no} in run {self.run_id}"


class RunExport(models.Model):
    """One export of a locked run: who, when, which format, its SHA-256 (same bytes each time)."""

    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="exports")
    export_format = models.CharField(max_length=10, choices=ExportFormat.choices)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    rows = models.PositiveIntegerField()
    path = models.CharField(max_length=500, blank=True, help_text="File in the drop directory.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, default="system")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_export_format_display()} of run {self.run_id}"


class MirrorBill(models.Model):
    """What the billing system billed a consumer for a month (mirrored into the MDM)."""

    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="mirror_bills")
    month = models.DateField(help_text="First day of the billing month.")
    billed_units = models.DecimalField(max_digits=18, decimal_places=3)
    bill_amount = models.DecimalField(max_digits=14, decimal_places=2)
    due_date = models.DateField()
    arrears = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    defaulter = models.BooleanField(default=False)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "consumer__reference_no"]
        constraints = [
            models.UniqueConstraint(fields=["consumer", "month"], name="billing_mirror_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.consumer.reference_no} {self.month:%Y-%m}"


class MirrorPayment(models.Model):
    bill = models.ForeignKey(MirrorBill, on_delete=models.CASCADE, related_name="payments")
    paid_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["bill", "paid_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill", "paid_on", "amount"], name="billing_payment_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_on}"


class MeterChange(models.Model):
    """A consumer's meter replaced (CP7/CP9): the old meter's readings up to its final reading
    and the new meter's from its initial reading are both the consumer's, so the determinant
    of the cycle spanning the change sums both."""

    consumer = models.ForeignKey(Consumer, on_delete=models.PROTECT, related_name="+")
    old_meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    new_meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    final_reading_at = models.DateTimeField(help_text="The old meter's last reading counted.")
    initial_reading_at = models.DateTimeField(help_text="The new meter's first reading counted.")
    work_order_id = models.IntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-final_reading_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "old_meter", "new_meter"], name="billing_meterchange_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer.reference_no}: {self.old_meter} -> {self.new_meter}"


class CycleReading(models.Model):
    """A reading chosen as a consumer's meter's reading of a cycle (CP6 "use as the cycle's
    reading"): the cycle's determinant takes it as the present reading, and the next cycle's
    as its previous one."""

    cycle = models.ForeignKey(ReadingCycle, on_delete=models.CASCADE, related_name="readings")
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    meter_datetime = models.DateTimeField()
    work_order_id = models.IntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle", "meter_id"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "meter"], name="billing_cyclereading_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.meter} at {self.meter_datetime} for {self.cycle}"
