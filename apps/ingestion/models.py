"""Ingestion state: one watermark per MDC and data set, one run per pull."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from apps.ingestion.choices import RunOutcome, RunTrigger
from apps.registry.choices import Dataset, Transport
from apps.registry.models import Mdc


class Watermark(models.Model):
    """How far one MDC's data set is loaded.

    Tabular MDCs: the latest ``db_datetime`` such that every row up to it is committed.
    API MDCs: the end of the last time window whose rows (all device batches) are committed.
    It only moves after the rows are committed, so a killed pull is simply redone.
    """

    mdc = models.ForeignKey(Mdc, on_delete=models.CASCADE, related_name="watermarks")
    dataset = models.CharField(max_length=20, choices=Dataset.choices)
    position = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

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
    dataset = models.CharField(max_length=20, choices=Dataset.choices)
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

    @property
    def rows_per_second(self) -> float | None:
        if not self.duration_seconds:
            return None
        return self.rows_received / self.duration_seconds
