"""People's moves on a work order: an approval, a manual step recorded, a stopped order's
failed step tried again, an order cancelled. Each checks the step's permission."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.workflows.choices import StepKind, StepState, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.services.base import _current, _defn, _ensure_open, _locked, _name, _require
from apps.workflows.services.engine import _advance


def _ready_step(order: WorkOrder, kinds: tuple[str, ...]) -> WorkOrderStep:
    step = _current(order)
    if step is None or step.kind not in kinds or step.state != StepState.READY:
        wanted = " or ".join(StepKind(k).label.lower() for k in kinds)
        raise ValidationError(f"Work order #{order.pk} is not waiting for an {wanted}.")
    return step


def _person_done(order, step, actor, note: str, now) -> None:
    step.state, step.finished_at = StepState.DONE, now
    step.performed_by, step.performed_by_name = actor, _name(actor)
    step.reason = note[:500]
    step.save()


@transaction.atomic
def work_order_step_approve(*, actor, order: WorkOrder, note: str = "") -> WorkOrder:
    """Approve the order's current approval step; later commands go with the approver's
    authority."""
    order = _locked(order)
    _ensure_open(order)
    step = _ready_step(order, (StepKind.APPROVAL,))
    _require(actor, _defn(order, step).permission)
    now = timezone.now()
    _person_done(order, step, actor, note, now)
    order.acting_user = actor
    order.save()
    audit_record(
        actor=actor,
        action="workflows.step.approve",
        target=order,
        summary=f"Approved {step.label} of work order #{order.pk}",
        detail={"step": step.key, "note": note},
    )
    return _advance(order, now)


@transaction.atomic
def work_order_step_perform(*, actor, order: WorkOrder, note: str = "") -> WorkOrder:
    """Record the current manual step as done, or try a stopped order's failed step again
    (a command is sent anew with the actor's authority; a check is looked at again)."""
    order = _locked(order)
    _ensure_open(order)
    now = timezone.now()
    if order.state == WorkOrderState.STOPPED:
        step = _current(order)
        defn = _defn(order, step)
        if step.kind == StepKind.COMMAND:
            # Whoever tries again must be allowed to send commands; the order's later commands
            # go with their authority (the command service checks the permission).
            from apps.commands.services import SEND_PERMISSION

            _require(actor, SEND_PERMISSION)
            order.acting_user = actor
        else:
            _require(actor, defn.permission or order.procedure_def.start_permission)
            if step.kind == StepKind.BILLING:
                # a new run, started with the authority of whoever tries again (billing checks
                # they may run billing)
                order.acting_user = actor
        step.state, step.reason, step.command_request = StepState.PENDING, "", None
        step.save()
        order.state, order.reason = WorkOrderState.OPEN, ""
        order.save()
        action, summary = "workflows.step.retry", f"Tried {step.label} of #{order.pk} again"
    else:
        step = _ready_step(order, (StepKind.MANUAL,))
        _require(actor, _defn(order, step).permission)
        _person_done(order, step, actor, note, now)
        action, summary = "workflows.step.perform", f"Recorded {step.label} of #{order.pk}"
    audit_record(
        actor=actor,
        action=action,
        target=order,
        summary=summary,
        detail={"step": step.key, "note": note},
    )
    return _advance(order, now)


@transaction.atomic
def work_order_cancel(*, actor, order: WorkOrder, reason: str) -> WorkOrder:
    """End an unfinished order (its starter's permission, or an SDO's). Commands already sent
    are not undone: cancel them from the command's page."""
    order = _locked(order)
    _ensure_open(order)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the order is cancelled."})
    if not (
        getattr(actor, "is_authenticated", False)
        and (
            actor.has_perm(order.procedure_def.start_permission)
            or actor.has_perm("workflows.approve_sdo")
        )
    ):
        raise PermissionDenied("You may not cancel this work order.")
    now = timezone.now()
    order.steps.filter(state__in=[StepState.PENDING, StepState.READY]).update(
        state=StepState.SKIPPED
    )
    order.state, order.reason, order.finished_at = WorkOrderState.CANCELLED, reason[:500], now
    order.save()
    audit_record(
        actor=actor,
        action="workflows.order.cancel",
        target=order,
        summary=f"Cancelled work order #{order.pk}: {reason}",
        detail={"reason": reason},
    )
    return order
