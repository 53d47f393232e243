"""The engine's command steps: the step's UDIL command sent with the acting user's authority
(``apps.commands``), and judged once its request is final (a reading step's result is the
meter's newest billing registers in the warehouse)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.workflows.choices import StepState, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.procedures import StepDef
from apps.workflows.services.base import _done, _name, _stop


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
