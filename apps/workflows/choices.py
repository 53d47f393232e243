"""Choices of the workflows app (WAPDA commercial procedures as work orders), with colours."""

from __future__ import annotations

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(
    open="primary",
    waiting="info",
    stopped="danger",
    completed="success",
    cancelled="secondary",
)
class WorkOrderState(BadgeChoices):
    OPEN = "open", "Waiting for a person"
    WAITING = "waiting", "Waiting for a command"
    STOPPED = "stopped", "Stopped (needs a person)"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


#: States in which nothing more happens to a work order.
FINAL_ORDER_STATES = frozenset({WorkOrderState.COMPLETED, WorkOrderState.CANCELLED})


@badge_colours(
    pending="light",
    ready="warning",
    waiting="info",
    done="success",
    failed="danger",
    skipped="secondary",
)
class StepState(BadgeChoices):
    PENDING = "pending", "Not reached"
    READY = "ready", "Waiting for a person"
    WAITING = "waiting", "Waiting for its command"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class StepKind(BadgeChoices):
    APPROVAL = "approval", "Approval"
    MANUAL = "manual", "Manual step (recorded)"
    COMMAND = "command", "UDIL command"
    EFFECT = "effect", "Effect in the registry"
    BILLING = "billing", "Billing run (background)"
