"""Work orders: one WAPDA commercial procedure (see ``procedures.py``) run for one consumer, and
its steps with who did what, when, and how it ended. All state is here, so a restarted worker or
web server picks every order up where it was."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.workflows.choices import StepKind, StepState, WorkOrderState
from apps.workflows.procedures import PROCEDURES, ProcedureCode


class WorkOrder(models.Model):
    procedure = models.CharField(max_length=10, choices=ProcedureCode.choices, db_index=True)
    # Every CP is for a consumer but CP10 (billing), which is for a reading cycle.
    consumer = models.ForeignKey(
        "registry.Consumer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    cycle = models.ForeignKey(
        "billing.ReadingCycle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The reading cycle billed (CP10).",
    )
    billing_run = models.ForeignKey(
        "billing.BillingRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The billing run the order started (CP10) or computed (CP4/CP14 final).",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text='What the starter asked, e.g. {"cycle_reading": true}.'
    )
    meter = models.ForeignKey(
        "registry.Meter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_meter = models.ForeignKey(
        "registry.Meter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The meter replacing it (meter change).",
    )
    # Where the meter was placed when the order started (for the subdivision filter).
    subdivision = models.ForeignKey(
        "registry.Subdivision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=WorkOrderState.choices, default=WorkOrderState.OPEN, db_index=True
    )
    current_step = models.CharField(max_length=40, blank=True, db_index=True)
    step_since = models.DateTimeField(null=True, blank=True, help_text="Current step since.")
    reason = models.CharField(max_length=500, blank=True, help_text="Why it stopped or ended.")
    note = models.CharField(max_length=500, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_name = models.CharField(max_length=150, blank=True)
    # Whose authority the order's commands are sent with: the starter, then each approver.
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("start_field_order", "Can start subdivision work orders (CP2-CP7, CP9)"),
            ("start_revenue_order", "Can start Revenue Office work orders (CP8, CP13-CP15)"),
            ("approve_sdo", "Can approve work orders as the SDO"),
            ("approve_billing_control", "Can approve work orders for billing (BCS)"),
            ("record_billing_step", "Can record billing steps of work orders"),
        ]
        indexes = [models.Index(fields=["state", "current_step"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.procedure_def.label}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:order-detail", args=[self.pk])

    @property
    def subject(self) -> str:
        """Whom or what the order is for: the consumer, or the reading cycle (CP10)."""
        if self.consumer_id:
            return self.consumer.reference_no
        return f"cycle {self.cycle}" if self.cycle_id else ""

    @property
    def procedure_def(self):
        return PROCEDURES[self.procedure]


class WorkOrderStep(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    state = models.CharField(
        max_length=10, choices=StepState.choices, default=StepState.PENDING, db_index=True
    )
    command_request = models.ForeignKey(
        "commands.CommandRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    performed_by_name = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Note, or why it failed.")
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="workflows_step_uniq")
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.label}"
