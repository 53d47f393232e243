"""A conformance run of one registered MDC and its checks, each with its evidence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.conformance.choices import CheckOutcome, RunState


class ConformanceRun(models.Model):
    mdc = models.ForeignKey(
        "registry.Mdc", on_delete=models.PROTECT, related_name="conformance_runs"
    )
    profile = models.CharField("UDIL profile", max_length=10)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    #: the meters the suite may read and command (the administrator's pick)
    device_ids = models.JSONField(default=list)
    #: write commands the administrator chose to send (the others are "not applicable")
    commands = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "conformance run"

    def __str__(self) -> str:
        return f"Conformance run {self.pk} of {self.mdc.code}"

    def get_absolute_url(self) -> str:
        return reverse("conformance:run-detail", args=[self.pk])

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class ConformanceCheck(models.Model):
    run = models.ForeignKey(ConformanceRun, on_delete=models.CASCADE, related_name="checks")
    position = models.PositiveIntegerField()
    code = models.CharField(max_length=100)
    group = models.CharField(max_length=30)
    title = models.CharField(max_length=300)
    outcome = models.CharField(
        max_length=16, choices=CheckOutcome.choices, default=CheckOutcome.PENDING
    )
    summary = models.TextField(blank=True)
    #: {"notes": [...], "exchanges": [{"request": {...}, "response": {...}}]}, secrets redacted
    evidence = models.JSONField(default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "code"], name="conformance_check_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.outcome}"
