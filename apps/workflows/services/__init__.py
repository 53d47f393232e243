"""Writes of the workflows app: the work-order engine. Keyword-only, atomic, audited.

::

    work_order_start         -> a WorkOrder (for a consumer, or CP10 for a reading cycle) and its
                                steps from the procedure table, then advance
    work_order_step_approve  -> an approval step by a person holding its permission
    work_order_step_perform  -> a manual step recorded by a person holding its permission, or a
                                stopped order's failed step tried again
    work_order_advance       -> (worker, beat tick) moves an order on from the database's state:
                                effects applied, commands sent, finished commands judged
    work_order_cancel        -> ends an order that is not finished

The engine never keeps anything in memory: ``work_order_advance`` looks at the current step's
state and its command request, so running it twice, or in another process after a restart,
does the same thing once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.workflows.choices import FINAL_ORDER_STATES, StepKind, StepState, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.procedures import PROCEDURES, StepDef
from apps.workflows.services.billing import billing_run_judge, billing_run_send
from apps.workflows.services.effects import EFFECTS, StepStopped


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


def _subdivision_of(meter):
    transformer = getattr(meter, "transformer", None) if meter else None
    return transformer.feeder.subdivision if transformer else None


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


def _reading_params(now: dt.datetime) -> dict:
    from apps.udil.timefmt import format_datetime

    start = now - dt.timedelta(hours=settings.WORKFLOW_READING_WINDOW_HOURS)
    return {"start_datetime": format_datetime(start), "end_datetime": format_datetime(now)}


def _target(order: WorkOrder, defn: StepDef):
    return order.new_meter if defn.target == "new_meter" else order.meter


def _command_send(order: WorkOrder, step: WorkOrderStep, defn: StepDef, now: dt.datetime) -> bool:
    """Send the step's command with the acting user's authority. False if it could not be."""
    from apps.commands.registration import device_creation_send
    from apps.commands.services import command_request_create

    params = dict(defn.params)
    if defn.reading:
        params |= _reading_params(now)
    actor, meter = order.acting_user, _target(order, defn)
    try:
        if actor is None:
            raise PermissionDenied("Nobody authorised this order's commands.")
        if defn.from_registration:
            # device_creation's parameters are the meter's registration (the commands app
            # builds them, as on registration).
            request = device_creation_send(actor=actor, meters=[meter.pk])[0]
        else:
            request = command_request_create(
                actor=actor,
                command=defn.command,
                params=params,
                meters=[meter.pk],
                note=f"Work order #{order.pk}: {step.label}",
            )
    except (PermissionDenied, ValidationError) as exc:
        reason = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        _stop(order, step, f"the command could not be sent as {_name(actor)}: {reason}", now)
        return False
    step.command_request, step.state = request, StepState.WAITING
    step.attempts += 1
    step.started_at = step.started_at or now
    step.result = {"meter": meter.global_device_id}
    step.save()
    order.state = WorkOrderState.WAITING
    order.save()
    return True


def _reading_result(meter) -> dict:
    """The newest billing registers of the order's meter in the warehouse (the on-demand read
    loaded them there, where billing reads them too)."""
    from apps.warehouse.models import BillingReading

    row = (
        BillingReading.objects.filter(global_device_id=meter.global_device_id)
        .order_by("-meter_datetime")
        .values("meter_datetime", "active_energy_pos_tl", "reactive_energy_pos_tl")
        .first()
    )
    if row is None:
        return {"reading": None}
    return {
        "meter_datetime": timezone.localtime(row["meter_datetime"]).isoformat(),
        "active_energy_pos_tl": str(row["active_energy_pos_tl"]),
        "reactive_energy_pos_tl": str(row["reactive_energy_pos_tl"]),
    }


def _command_judge(order: WorkOrder, step: WorkOrderStep, defn: StepDef, now) -> bool | None:
    """None while the command request is open; True when the meter executed it."""
    from apps.commands.choices import FINAL_REQUEST_STATES, Outcome, RequestState
    from apps.commands.models import CommandDevice

    request = step.command_request
    if request.state not in FINAL_REQUEST_STATES:
        return None
    meter = _target(order, defn)
    device = (
        CommandDevice.objects.filter(request=request, meter_id=meter.pk).order_by("-pk").first()
    )
    if device is not None and device.outcome == Outcome.EXECUTED:
        result = {
            "meter": meter.global_device_id,
            "command_request": request.pk,
            "status_level": device.status_level,
        }
        if defn.reading:
            result |= _reading_result(meter)
        _done(step, now, result)
        return True
    if device is None:
        reason = f"command #{request.pk} {request.get_state_display().lower()}"
    else:
        reason = f"command #{request.pk} {device.get_outcome_display().lower()}"
        if device.message:
            reason += f": {device.message}"
    if request.decision_note and request.state == RequestState.REJECTED:
        reason += f" ({request.decision_note})"
    _stop(order, step, reason, now)
    return False


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


# --- starting ----------------------------------------------------------------------------------


def _new_meter_check(defn, meter, new_meter):
    from apps.registry.models import Meter

    if not defn.needs_new_meter:
        if new_meter is not None:
            raise ValidationError({"new_meter": f"{defn.label} does not change the meter."})
        return None
    if new_meter is None:
        raise ValidationError({"new_meter": "Name the registered meter that replaces it."})
    new_meter = Meter.objects.get(pk=getattr(new_meter, "pk", new_meter))
    if new_meter.pk == meter.pk:
        raise ValidationError({"new_meter": "The new meter must be another meter."})
    if new_meter.consumer_id is not None:
        raise ValidationError({"new_meter": f"{new_meter} already serves a consumer."})
    return new_meter


def _options_check(defn, options: dict | None) -> dict:
    allowed = dict(defn.options)
    unknown = sorted(set(options or {}) - set(allowed))
    if unknown:
        offered = ", ".join(allowed) or "none"
        raise ValidationError(
            {"options": f"{defn.label} has no option {', '.join(unknown)} (options: {offered})."}
        )
    return {k: bool(v) for k, v in (options or {}).items()}


def _cycle_order_start(*, actor, defn, cycle, note: str, options: dict) -> WorkOrder:
    """CP10: an order for a reading cycle (one unfinished order per cycle)."""
    from apps.billing.models import ReadingCycle

    if cycle is None:
        raise ValidationError({"cycle": f"{defn.label} is for a reading cycle: name one."})
    cycle = ReadingCycle.objects.select_for_update().get(pk=getattr(cycle, "pk", cycle))
    open_order = (
        WorkOrder.objects.filter(cycle=cycle, procedure=defn.code)
        .exclude(state__in=FINAL_ORDER_STATES)
        .first()
    )
    if open_order is not None:
        raise ValidationError({"cycle": f"Cycle {cycle} already has work order #{open_order.pk}."})
    now = timezone.now()
    order = WorkOrder.objects.create(
        procedure=defn.code,
        cycle=cycle,
        state=WorkOrderState.OPEN,
        note=note[:500],
        options=options,
        started_by=actor,
        started_by_name=_name(actor),
        acting_user=actor,
        step_since=now,
    )
    return _steps_create(actor, order, defn, f"Started {defn.label} for cycle {cycle}", now)


def _steps_create(actor, order: WorkOrder, defn, summary: str, now) -> WorkOrder:
    WorkOrderStep.objects.bulk_create(
        WorkOrderStep(order=order, position=i, key=s.key, label=s.label, kind=s.kind)
        for i, s in enumerate(defn.steps)
    )
    audit_record(
        actor=actor,
        action="workflows.order.start",
        target=order,
        summary=summary,
        detail={
            "procedure": defn.code,
            "meter": order.meter.global_device_id if order.meter else None,
            "new_meter": order.new_meter.global_device_id if order.new_meter else None,
            "cycle": order.cycle_id,
            "options": order.options,
        },
    )
    return _advance(order, now)


@transaction.atomic
def work_order_start(
    *,
    actor,
    procedure: str,
    consumer=None,
    meter=None,
    new_meter=None,
    cycle=None,
    options: dict | None = None,
    note: str = "",
) -> WorkOrder:
    """Start a CP for a consumer (and its meter: the one given, else its only meter; a meter
    change names the registered meter replacing it), or CP10 for a reading cycle. A consumer
    (a cycle) has at most one unfinished work order, so starting twice starts once."""
    from apps.registry.models import Consumer, Meter

    if procedure not in PROCEDURES:
        raise ValidationError({"procedure": f"Unknown procedure {procedure!r}."})
    defn = PROCEDURES[procedure]
    _require(actor, defn.start_permission)
    options = _options_check(defn, options)
    if defn.needs_cycle:
        if consumer is not None:
            raise ValidationError({"consumer": f"{defn.label} is for a cycle, not a consumer."})
        return _cycle_order_start(actor=actor, defn=defn, cycle=cycle, note=note, options=options)
    if consumer is None:
        raise ValidationError({"consumer": f"{defn.label} is for a consumer: name one."})
    if cycle is not None:
        raise ValidationError({"cycle": f"{defn.label} is for a consumer, not a cycle."})
    consumer = Consumer.objects.select_for_update().get(pk=getattr(consumer, "pk", consumer))
    if consumer.connection_status not in defn.consumer_statuses:
        raise ValidationError(
            {
                "consumer": f"{defn.label} starts from a consumer "
                f"{' or '.join(defn.consumer_statuses)}; {consumer.reference_no} is "
                f"{consumer.connection_status}."
            }
        )
    open_order = (
        WorkOrder.objects.filter(consumer=consumer)
        .exclude(state__in=FINAL_ORDER_STATES)
        .order_by("pk")
        .first()
    )
    if open_order is not None:
        raise ValidationError(
            {"consumer": f"{consumer.reference_no} already has work order #{open_order.pk} open."}
        )
    if meter is None and defn.needs_meter:
        meters = list(Meter.objects.filter(consumer=consumer).order_by("pk")[:2])
        if len(meters) != 1:
            raise ValidationError(
                {"meter": f"{consumer.reference_no} has {len(meters)} meters: choose one."}
            )
        meter = meters[0]
    if meter is not None:
        meter = Meter.objects.select_related("transformer__feeder__subdivision").get(
            pk=getattr(meter, "pk", meter)
        )
        if meter.consumer_id != consumer.pk:
            raise ValidationError({"meter": f"{meter} is not {consumer.reference_no}'s meter."})
    new_meter = _new_meter_check(defn, meter, new_meter)
    now = timezone.now()
    order = WorkOrder.objects.create(
        procedure=procedure,
        consumer=consumer,
        meter=meter,
        new_meter=new_meter,
        subdivision=_subdivision_of(meter),
        state=WorkOrderState.OPEN,
        note=note[:500],
        options=options,
        started_by=actor,
        started_by_name=_name(actor),
        acting_user=actor,
        step_since=now,
    )
    return _steps_create(
        actor, order, defn, f"Started {defn.label} for {consumer.reference_no}", now
    )


def work_orders_bulk_start(
    *, actor, procedure: str, consumers, note: str = "", options: dict | None = None
) -> dict:
    """Start a bulk procedure (CP6, CP13) for each consumer; each is its own order (and its own
    transaction), so one consumer that cannot start never stops the others. A disconnect's
    two-person rule applies through the command service (the requester's rolling window)."""
    from apps.workflows.procedures import BULK_PROCEDURES

    if procedure not in BULK_PROCEDURES:
        raise ValidationError({"procedure": f"{procedure} cannot be started in bulk."})
    _require(actor, PROCEDURES[procedure].start_permission)
    started, refused = [], []
    for consumer in consumers:
        try:
            started.append(
                work_order_start(
                    actor=actor,
                    procedure=procedure,
                    consumer=consumer,
                    note=note,
                    options=options,
                ).pk
            )
        except ValidationError as exc:
            refused.append(
                (str(getattr(consumer, "reference_no", consumer)), "; ".join(exc.messages))
            )
    audit_record(
        actor=actor,
        action="workflows.order.bulk_start",
        summary=f"Bulk {procedure}: {len(started)} started, {len(refused)} refused",
        detail={"procedure": procedure, "started": started, "refused": refused[:100]},
    )
    return {"started": started, "refused": refused}


# --- people's steps ----------------------------------------------------------------------------


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


# --- the engine's own moves ----------------------------------------------------------------------


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
