"""Ingestion state: one watermark per MDC and data set, one run per pull."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.ingestion.choices import (
    DeliverySource,
    DeliveryState,
    RefillReason,
    RefillState,
    RunOutcome,
    RunTrigger,
)
from apps.registry.choices import Transport, dataset_choices
from apps.registry.models import Mdc


class Watermark(models.Model):
    """How far one MDC's data set is loaded.

    Tabular MDCs: the latest ``db_datetime`` such that every row up to it is committed.
    API MDCs: the end of the last time window whose rows (all device batches) are committed.
    It only moves after the rows are committed, so a killed pull is simply redone.
    """

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="watermarks")
    dataset = models.CharField(max_length=20, choices=dataset_choices)
    position = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    # UDIL 3.3 tabular tables have an auto-increment ``id``: where the view has one, the pull
    # reads ``id > cursor_id`` (rows committed late with an older ``db_datetime`` are not lost).
    cursor_id = models.BigIntegerField(null=True, blank=True)
    # When the warehouse was last searched for missing intervals of this data set (the search
    # reads days of rows, so it runs at most every ``INGESTION_GAP_SCAN_MINUTES``).
    gaps_scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mdc", "dataset"]
        constraints = [
            models.UniqueConstraint(fields=["mdc", "dataset"], name="ingestion_watermark_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.mdc.code}/{self.dataset} @ {self.position:%Y-%m-%d %H:%M:%S}"


class IngestionRun(models.Model):
    """One pull of one data set from one MDC, with exact row counts and how it ended."""

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="ingestion_runs")
    dataset = models.CharField(max_length=20, choices=dataset_choices)
    transport = models.CharField(max_length=10, choices=Transport.choices)
    trigger = models.CharField(
        max_length=10, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE
    )
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    watermark_before = models.DateTimeField(null=True, blank=True)
    watermark_after = models.DateTimeField(null=True, blank=True)
    devices = models.PositiveIntegerField(default=0, help_text="Active meters requested.")
    requests = models.PositiveIntegerField(default=0, help_text="Requests (or chunks) read.")
    windows_loaded = models.PositiveIntegerField(default=0)
    rows_received = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_quarantined = models.PositiveIntegerField(default=0)
    payloads_quarantined = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0, help_text="Requests retried in the run.")
    refill_requests = models.PositiveIntegerField(
        default=0, help_text="Requests for windows asked for again (quarantined bodies, gaps)."
    )
    refills_filled = models.PositiveIntegerField(default=0)
    refills_open = models.PositiveIntegerField(
        default=0, help_text="Windows still waiting to be asked for again after the run."
    )
    outcome = models.CharField(
        max_length=10, choices=RunOutcome.choices, default=RunOutcome.RUNNING, db_index=True
    )
    error_type = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["mdc", "dataset", "-started_at"])]
        permissions = [
            ("pull_now", "Can start a pull now"),
            ("edit_schedule", "Can edit pull schedules"),
        ]

    def __str__(self) -> str:
        return f"{self.mdc.code}/{self.dataset} {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

    def get_absolute_url(self) -> str:
        return reverse("ingestion:run-detail", args=[self.pk])

    def finished_with_rows(self, *, datasets: frozenset[str], update_fields=None) -> bool:
        """Whether this save is a run of one of ``datasets`` finishing with rows inserted or
        changed: what the apps that follow ingestion (VEE, roll-ups) react to in ``post_save``.
        A save whose ``update_fields`` leave out the outcome is progress, not the finish."""
        if update_fields is not None and "outcome" not in update_fields:
            return False
        return (
            self.dataset in datasets
            and self.outcome in (RunOutcome.SUCCEEDED, RunOutcome.PARTIAL)
            and bool(self.rows_inserted or self.rows_updated)
        )

    @property
    def rows_per_second(self) -> float | None:
        if not self.duration_seconds:
            return None
        return self.rows_received / self.duration_seconds


class RefillWindow(models.Model):
    """A bounded request for one device that must be made again at later pulls.

    ``body``: the MDC's answer for the window was quarantined, so its rows are not loaded yet
    (the watermark moved on; this entry is what keeps the window from counting as loaded).
    ``gap``: load-profile intervals the meter should have recorded are missing from the
    warehouse although the window was read (the MDC stored them late: a meter offline).
    Open entries are asked for again at pulls once ``next_attempt_at`` has passed, backing off
    with the age of the window, until they fill, are released, or are older than the refill age.
    """

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="refill_windows")
    dataset = models.CharField(max_length=20, choices=dataset_choices)
    global_device_id = models.CharField(max_length=50)
    start = models.DateTimeField()
    end = models.DateTimeField(help_text="Exclusive.")
    reason = models.CharField(max_length=10, choices=RefillReason.choices)
    state = models.CharField(
        max_length=10, choices=RefillState.choices, default=RefillState.OPEN, db_index=True
    )
    missing = models.PositiveIntegerField(
        default=0, help_text="Intervals missing when last looked at (gaps)."
    )
    quarantined_row_id = models.IntegerField(
        null=True, blank=True, help_text="The quarantined body of the window (bodies)."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mdc", "dataset", "start", "global_device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mdc", "dataset", "global_device_id", "start", "end", "reason"],
                condition=models.Q(state="open"),
                name="ingestion_refill_open_uniq",
            )
        ]
        indexes = [models.Index(fields=["mdc", "dataset", "state", "next_attempt_at"])]

    def __str__(self) -> str:
        return (
            f"{self.mdc.code}/{self.dataset} {self.global_device_id} "
            f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} {self.state}"
        )


class AnswerFingerprint(models.Model):
    """What the last clean answer to one request (window x device batch) was, once loaded.

    Pulls re-read windows already loaded (the lookback, a forgotten watermark, refills). An
    answer identical to the last one for the same request, while the warehouse still holds as
    many rows of that MDC for those devices in its span, cannot change a row: its merge is
    skipped (counted unchanged), so a re-pull costs a hash and one index count per answer.
    """

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="+")
    dataset = models.CharField(max_length=20, choices=dataset_choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    devices = models.CharField(max_length=40, help_text="Digest of the requested device ids.")
    digest = models.CharField(max_length=40)
    rows = models.PositiveIntegerField()
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mdc", "dataset", "start", "end", "devices"],
                name="ingestion_answer_fingerprint_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mdc_id}/{self.dataset} {self.start} .. {self.end} {self.digest[:8]}"


class FileDelivery(models.Model):
    """One CSV file a flat-file MDC delivered (watched directory or upload), by its sha256: the
    same bytes delivered twice load once (the second is recorded as a duplicate)."""

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="file_deliveries")
    dataset = models.CharField(max_length=20, choices=dataset_choices, blank=True)
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    source = models.CharField(
        max_length=10, choices=DeliverySource.choices, default=DeliverySource.DIRECTORY
    )
    state = models.CharField(max_length=10, choices=DeliveryState.choices, db_index=True)
    run = models.ForeignKey(
        IngestionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_received = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_quarantined = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mdc", "sha256"],
                condition=models.Q(state="loaded"),
                name="ingestion_file_delivery_loaded_once",
            )
        ]
        verbose_name_plural = "file deliveries"
        permissions = [("upload_delivery", "Can upload flat-file deliveries")]

    def __str__(self) -> str:
        return f"{self.mdc.code}/{self.name} {self.state}"
