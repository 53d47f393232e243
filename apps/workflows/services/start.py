"""Starting work orders: a CP for a consumer (and its meter), CP10 for a reading cycle, or a
bulk procedure for many consumers; the order's steps from the procedure table, then advanced."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.workflows.choices import FINAL_ORDER_STATES, WorkOrderState
from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.procedures import PROCEDURES
from apps.workflows.services.base import _name, _require
from apps.workflows.services.engine import _advance


def _subdivision_of(meter):
    transformer = getattr(meter, "transformer", None) if meter else None
    return transformer.feeder.subdivision if transformer else None


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
    return _order_open(
        actor, defn, f"Started {defn.label} for cycle {cycle}", note, options, cycle=cycle
    )


def _order_open(actor, defn, summary: str, note: str, options, **target) -> WorkOrder:
    """A new open work order of ``defn`` on ``target`` (its cycle, or consumer and meters),
    with its steps, audited."""
    now = timezone.now()
    order = WorkOrder.objects.create(
        procedure=defn.code,
        state=WorkOrderState.OPEN,
        note=note[:500],
        options=options,
        started_by=actor,
        started_by_name=_name(actor),
        acting_user=actor,
        step_since=now,
        **target,
    )
    return _steps_create(actor, order, defn, summary, now)


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
    return _order_open(
        actor,
        defn,
        f"Started {defn.label} for {consumer.reference_no}",
        note,
        options,
        consumer=consumer,
        meter=meter,
        new_meter=new_meter,
        subdivision=_subdivision_of(meter),
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
