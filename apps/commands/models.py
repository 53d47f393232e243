"""Commands to meters: a request fans out into one UDIL transaction per MDC and batch, and one
row per device that follows the device through the six status levels to a final outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.commands.choices import (
    CANCEL,
    ON_DEMAND_COMMANDS,
    Command,
    OnDemandType,
    Outcome,
    RequestState,
    TransactionState,
)


class CommandRequest(models.Model):
    """What someone asked for: one command with its parameters, to a set of meters."""

    command = models.CharField(max_length=40, choices=Command.choices, db_index=True)
    on_demand_type = models.CharField(
        max_length=4,
        choices=OnDemandType.choices,
        blank=True,
        help_text="On-demand reads only: the data or parameter type read.",
    )
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="Validated parameters as wire text (without devices and request_datetime).",
    )
    state = models.CharField(
        max_length=30, choices=RequestState.choices, default=RequestState.DISPATCHING, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="Send at this time.")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Two-person rule.
    approval_required = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    # A retry of failed devices, or the cancel of another request.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    device_count = models.PositiveIntegerField(default=0)
    mdc_count = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("send_commandrequest", "Can send commands to meters"),
            ("approve_commandrequest", "Can approve commands (two-person rule)"),
            ("cancel_commandrequest", "Can cancel commands"),
        ]
        indexes = [models.Index(fields=["state", "scheduled_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.command_label}"

    def get_absolute_url(self) -> str:
        return reverse("commands:request-detail", args=[self.pk])

    @property
    def command_label(self) -> str:
        label = Command(self.command).label
        if self.command in ON_DEMAND_COMMANDS and self.on_demand_type:
            return f"{label} {self.on_demand_type}"
        return label

    @property
    def is_cancel(self) -> bool:
        return self.command == CANCEL


class CommandTransaction(models.Model):
    """One UDIL request: one MDC, at most ``mdc.batch_size`` devices, one MDM transactionid.

    A retry resends the same transactionid. For a cancel, ``target`` is the transaction being
    cancelled and the cancel travels with the target's transactionid.
    """

    request = models.ForeignKey(
        CommandRequest, on_delete=models.CASCADE, related_name="transactions"
    )
    mdc = models.ForeignKey("registry.Mdc", on_delete=models.PROTECT, related_name="+")
    batch_index = models.PositiveIntegerField(default=0)
    transactionid = models.CharField(max_length=32, unique=True)
    target = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="cancels"
    )
    state = models.CharField(
        max_length=10,
        choices=TransactionState.choices,
        default=TransactionState.PENDING,
        db_index=True,
    )
    device_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_status = models.SmallIntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_interval_seconds = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request_id", "mdc_id", "batch_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "mdc", "batch_index"], name="commands_tx_batch_uniq"
            )
        ]
        indexes = [models.Index(fields=["mdc", "state", "next_poll_at"])]

    def __str__(self) -> str:
        return self.transactionid

    @property
    def wire_transactionid(self) -> str:
        return self.target.transactionid if self.target_id else self.transactionid


class CommandDevice(models.Model):
    """One device of one transaction, as the MDC last reported it."""

    request = models.ForeignKey(CommandRequest, on_delete=models.CASCADE, related_name="devices")
    transaction = models.ForeignKey(
        CommandTransaction, on_delete=models.CASCADE, related_name="devices"
    )
    meter = models.ForeignKey(
        "registry.Meter", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    global_device_id = models.CharField(max_length=50)
    msn = models.BigIntegerField(null=True, blank=True)
    target_device = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="cancel_attempts"
    )
    status_level = models.SmallIntegerField(null=True, blank=True)
    command_receiving_datetime = models.DateTimeField(null=True, blank=True)
    status_1_datetime = models.DateTimeField(null=True, blank=True)
    status_2_datetime = models.DateTimeField(null=True, blank=True)
    status_3_datetime = models.DateTimeField(null=True, blank=True)
    status_4_datetime = models.DateTimeField(null=True, blank=True)
    status_5_datetime = models.DateTimeField(null=True, blank=True)
    indv_status = models.SmallIntegerField(null=True, blank=True)
    request_cancelled = models.BooleanField(default=False)
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancel_datetime = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True, help_text="The MDC's message about this device.")
    last_polled_at = models.DateTimeField(
        null=True, blank=True, help_text="Last poll that changed what we know of this device."
    )
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    response_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="On-demand rows loaded into the warehouse."
    )

    class Meta:
        ordering = ["transaction_id", "global_device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "global_device_id"], name="commands_device_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["request", "outcome"]),
            models.Index(fields=["request", "global_device_id"]),
            models.Index(fields=["transaction", "outcome"]),
        ]

    def __str__(self) -> str:
        return f"{self.global_device_id} in {self.transaction_id}"
