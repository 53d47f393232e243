"""What every move of the work-order engine shares: who acts and may act, the order's
current step and its definition, stopping an order at a step, finishing a step, the locked
order, and advances enqueued when the transaction commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.audit.services import audit_record
from apps.workflows.choices import FINAL_ORDER_STATES, StepState, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.procedures import StepDef


def _name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else "system"


def _require(actor, permission: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(permission)):
        raise PermissionDenied(f"You need the permission {permission}.")


def _enqueue_advance(order_ids: Iterable[int]) -> None:
    ids = list(order_ids)
    if not ids:
        return

    def send() -> None:
        from apps.workflows.tasks import work_order_advance_task

        for order_id in ids:
            work_order_advance_task.delay(order_id)

    transaction.on_commit(send)


def _defn(order: WorkOrder, step: WorkOrderStep) -> StepDef:
    return order.procedure_def.step(step.key)


def _current(order: WorkOrder) -> WorkOrderStep | None:
    return (
        order.steps.exclude(state__in=[StepState.DONE, StepState.SKIPPED]).order_by("position")
    ).first()


def _stop(order: WorkOrder, step: WorkOrderStep, reason: str, now: dt.datetime) -> None:
    step.state, step.reason, step.finished_at = StepState.FAILED, reason[:500], now
    step.save()
    order.state, order.reason = WorkOrderState.STOPPED, f"{step.label}: {reason}"[:500]
    order.save()
    audit_record(
        actor=None,
        action="workflows.order.stop",
        target=order,
        summary=f"Work order #{order.pk} stopped at {step.label}: {reason}",
        detail={"step": step.key, "reason": reason},
    )


def _done(step: WorkOrderStep, now: dt.datetime, result: dict | None = None) -> None:
    step.state, step.finished_at = StepState.DONE, now
    if result is not None:
        step.result = result
    step.save()


def _locked(order: WorkOrder | int) -> WorkOrder:
    pk = order if isinstance(order, int) else order.pk
    return (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("consumer", "meter", "new_meter", "cycle", "billing_run")
        .get(pk=pk)
    )


def _ensure_open(order: WorkOrder) -> None:
    if order.state in FINAL_ORDER_STATES:
        raise ValidationError(f"Work order #{order.pk} is {order.get_state_display().lower()}.")
