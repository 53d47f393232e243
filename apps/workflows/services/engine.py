"""The engine's own moves: an order moved on as far as it can go without a person or a
command (effects applied, commands and billing runs sent and judged), from what the database
says, so running it twice, or in another process after a restart, does the same thing once."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.workflows.choices import FINAL_ORDER_STATES, StepKind, StepState, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.services.base import _current, _defn, _done, _enqueue_advance, _locked, _stop
from apps.workflows.services.billing import billing_run_judge, billing_run_send
from apps.workflows.services.commands import _command_judge, _command_send
from apps.workflows.services.effects import EFFECTS, StepStopped


def _advance(order: WorkOrder, now: dt.datetime) -> WorkOrder:
    """Move the (locked) order on as far as it can go without a person or a command."""
    while order.state not in FINAL_ORDER_STATES and order.state != WorkOrderState.STOPPED:
        step = _current(order)
        if step is None:
            order.state, order.current_step, order.finished_at = (
                WorkOrderState.COMPLETED,
                "",
                now,
            )
            order.save()
            audit_record(
                actor=None,
                action="workflows.order.complete",
                target=order,
                summary=f"Work order #{order.pk} {order.procedure_def.label} completed",
            )
            break
        if order.current_step != step.key:
            order.current_step, order.step_since = step.key, now
            order.save()
        defn = _defn(order, step)
        if step.kind in (StepKind.APPROVAL, StepKind.MANUAL):
            if step.state != StepState.READY:
                step.state, step.started_at = StepState.READY, now
                step.save()
            order.state = WorkOrderState.OPEN
            order.save()
            break
        if step.kind == StepKind.EFFECT:
            try:
                result = EFFECTS[defn.effect](order, **defn.effect_args)
            except StepStopped as exc:
                _stop(order, step, str(exc), now)
                break
            step.started_at = step.started_at or now
            _done(step, now, result)
            continue
        if step.kind == StepKind.BILLING:
            sendable = step.state in (StepState.PENDING, StepState.READY)
            if sendable and not billing_run_send(order, step, now, _stop):
                break
            if billing_run_judge(order, step, now, _stop, _done) is not True:
                break
            continue
        # A command step: send it once, then wait for its request to be final.
        sendable = step.state in (StepState.PENDING, StepState.READY)
        if sendable and not _command_send(order, step, defn, now):
            break
        if _command_judge(order, step, defn, now) is not True:
            break
    return order


@transaction.atomic
def work_order_advance(*, order_id: int) -> WorkOrder:
    """Move an order on from what the database says (worker; safe to run twice)."""
    order = _locked(order_id)
    return _advance(order, timezone.now())


@transaction.atomic
def work_orders_due_enqueue() -> list[int]:
    """Orders waiting on a command request that is now final: enqueue their advance when this
    transaction commits (the beat tick). Returns their ids."""
    from apps.commands.choices import FINAL_REQUEST_STATES

    ids = list(
        WorkOrderStep.objects.filter(
            state=StepState.WAITING,
            order__state=WorkOrderState.WAITING,
            command_request__state__in=FINAL_REQUEST_STATES,
        )
        .order_by("order_id")
        .values_list("order_id", flat=True)
        .distinct()[:1000]
    )
    billed = WorkOrderStep.objects.filter(
        state=StepState.WAITING,
        kind=StepKind.BILLING,
        order__state=WorkOrderState.WAITING,
        order__billing_run__status__in=["ready", "failed", "approved"],
    ).values_list("order_id", flat=True)
    ids = sorted({*ids, *billed[:1000]})
    _enqueue_advance(ids)
    return ids
