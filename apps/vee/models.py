"""VEE models: rules in rule sets, validation runs, exceptions and value versions.

The warehouse's received rows are never written by VEE. What VEE decides about an interval is a
*version* beside the row (``ValueVersion``): the original value (copied when the first change is
made), then each estimate or edit with who, when, why and the method and its inputs. Exactly
one version of an interval is current; downstream figures use it (``selectors.interval_series``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.registry.models import Mdc, Meter
from apps.vee.choices import (
    ExceptionStatus,
    Explanation,
    Method,
    Quantity,
    RuleType,
    RunTrigger,
    ScopeLevel,
    Severity,
    VersionKind,
)
from apps.vee.rule_types import parameters_check


class RuleSet(models.Model):
    """Rules that apply to a group of meters: every condition given must hold (an empty rule
    set applies to every meter)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    mdc = models.ForeignKey(
        Mdc, null=True, blank=True, on_delete=models.CASCADE, related_name="vee_rule_sets"
    )
    tariff = models.CharField(max_length=20, blank=True, help_text="Consumer tariff, e.g. A-1")
    hierarchy_level = models.CharField(max_length=20, choices=ScopeLevel.choices, blank=True)
    hierarchy_node_id = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.hierarchy_level) != (self.hierarchy_node_id is not None):
            raise ValidationError(
                {"hierarchy_node_id": "Give both a hierarchy level and a node, or neither."}
            )

    def meters(self) -> models.QuerySet[Meter]:
        """The meters this rule set applies to (one query, however many meters)."""
        meters = Meter.objects.all()
        if self.mdc_id is not None:
            meters = meters.filter(mdc_id=self.mdc_id)
        if self.tariff:
            meters = meters.filter(consumer__tariff=self.tariff)
        if self.hierarchy_level:
            meters = meters.in_hierarchy(**{self.hierarchy_level: self.hierarchy_node_id})
        return meters


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    rule_type = models.CharField(max_length=30, choices=RuleType.choices)
    name = models.CharField(max_length=100)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Overrides of the rule type's defaults."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule_set__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "name"], name="vee_rule_name_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.rule_set} · {self.name}"

    def clean(self) -> None:
        self.parameters = parameters_check(self.rule_type, self.parameters)


class ValidationRun(models.Model):
    """One validation of a set of meters over a time range (after ingestion or on demand)."""

    trigger = models.CharField(max_length=20, choices=RunTrigger.choices)
    mdc = models.ForeignKey(Mdc, null=True, blank=True, on_delete=models.SET_NULL)
    ingestion_run_id = models.PositiveIntegerField(null=True, blank=True)
    range_start = models.DateTimeField()
    range_end = models.DateTimeField()
    meters = models.PositiveIntegerField(default=0)
    intervals = models.PositiveIntegerField(default=0, help_text="Load-profile rows examined.")
    found = models.PositiveIntegerField(default=0, help_text="Exceptions new in this run.")
    cleared = models.PositiveIntegerField(default=0)
    estimated = models.PositiveIntegerField(default=0, help_text="Intervals estimated.")
    actualised = models.PositiveIntegerField(
        default=0, help_text="Estimates replaced by actual readings that arrived later."
    )
    started_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"validation #{self.pk} ({self.get_trigger_display()})"


class ValidationException(models.Model):
    """One failure of one rule for one meter over one period."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="exceptions")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="vee_exceptions")
    channel_id = models.IntegerField(default=0)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Inclusive: the last interval concerned.")
    values = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(
        max_length=20, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN
    )
    explanation = models.CharField(max_length=20, choices=Explanation.choices, blank=True)
    note = models.TextField(blank=True)
    first_run = models.ForeignKey(
        ValidationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.ForeignKey(
        ValidationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "meter", "channel_id", "period_start"],
                name="vee_exception_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["meter", "period_start"]),
            models.Index(fields=["status", "severity"]),
        ]
        permissions = [("edit_data", "Can act on VEE exceptions and edit meter data")]

    def __str__(self) -> str:
        return f"{self.rule.get_rule_type_display()} · {self.meter.global_device_id}"

    def get_absolute_url(self) -> str:
        return reverse("vee:exception-detail", args=[self.pk])


class ValueVersion(models.Model):
    """One version of one interval's value. ``version`` counts from 1 per interval."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="vee_versions")
    channel_id = models.IntegerField(default=0)
    meter_datetime = models.DateTimeField(help_text="End of the interval (as the load profile).")
    quantity = models.CharField(
        max_length=20, choices=Quantity.choices, default=Quantity.ACTIVE_KWH
    )
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=VersionKind.choices)
    value = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    inputs = models.JSONField(default=dict, blank=True, help_text="What the method used.")
    reason = models.TextField(blank=True)
    exception = models.ForeignKey(
        ValidationException,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, default="system")
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["meter_id", "channel_id", "meter_datetime", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "channel_id", "meter_datetime", "quantity", "version"],
                name="vee_version_uniq",
            ),
            models.UniqueConstraint(
                fields=["meter", "channel_id", "meter_datetime", "quantity"],
                condition=Q(is_current=True),
                name="vee_version_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} @ {self.meter_datetime} v{self.version} ({self.kind})"
