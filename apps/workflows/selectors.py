"""Reading work orders for pages, the API and the consumer page."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from apps.workflows.choices import FINAL_ORDER_STATES
from apps.workflows.models import WorkOrder, WorkOrderStep


def work_orders() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.select_related(
        "consumer", "meter", "subdivision", "cycle", "billing_run"
    ).order_by("-created_at", "-id")


def order_steps(order: WorkOrder) -> QuerySet[WorkOrderStep]:
    return order.steps.select_related("command_request").order_by("position")


def step_due_hours(procedure: str, step_key: str) -> int:
    """Hours a step may stay current (``MDM_WORKFLOW_STEP_DUE_OVERRIDES``, else the default)."""
    return settings.WORKFLOW_STEP_DUE_OVERRIDES.get(
        f"{procedure}.{step_key}", settings.WORKFLOW_STEP_DUE_HOURS
    )


def is_overdue(order: WorkOrder, now: dt.datetime | None = None) -> bool:
    if order.state in FINAL_ORDER_STATES or order.step_since is None:
        return False
    now = now or timezone.now()
    limit = dt.timedelta(hours=step_due_hours(order.procedure, order.current_step))
    return now - order.step_since > limit


def consumer_history(consumer) -> dict:
    """What the consumer page shows: meters (now and those that served it in work orders),
    work orders with their steps, readings and events of its meters, the billing mirror."""
    from apps.billing.models import CycleReading, Determinant, MeterChange, MirrorBill
    from apps.registry.models import Meter
    from apps.warehouse.models import BillingReading, MeterEvent

    orders = list(work_orders().filter(consumer=consumer).prefetch_related("steps"))
    meter_ids = {o.meter_id for o in orders if o.meter_id} | {
        o.new_meter_id for o in orders if o.new_meter_id
    }
    meters = list(
        Meter.objects.filter(consumer=consumer).union(Meter.objects.filter(pk__in=meter_ids))
    )
    meters.sort(key=lambda m: m.global_device_id)
    gdids = [m.global_device_id for m in meters]
    return {
        "meters": meters,
        "orders": orders,
        "readings": list(
            BillingReading.objects.filter(global_device_id__in=gdids).order_by(
                "-meter_datetime", "global_device_id"
            )[:20]
        ),
        "events": list(
            MeterEvent.objects.filter(global_device_id__in=gdids).order_by(
                "-event_datetime", "global_device_id", "event_code"
            )[:20]
        ),
        "bills": list(MirrorBill.objects.filter(consumer=consumer).order_by("-month", "-id")[:12]),
        "determinants": list(
            Determinant.objects.filter(consumer=consumer)
            .select_related("run__cycle")
            .order_by("-run__created_at", "-id")[:12]
        ),
        "meter_changes": list(
            MeterChange.objects.filter(consumer=consumer).select_related("old_meter", "new_meter")
        ),
        "cycle_readings": list(
            CycleReading.objects.filter(consumer=consumer)
            .select_related("cycle", "meter")
            .order_by("-cycle__reading_date")[:12]
        ),
    }


def billable_cycles(limit: int = 50) -> list:
    """Reading cycles a CP10 order may bill: those without an approved run, newest first."""
    from apps.billing.choices import CYCLE_RUN_KINDS, RunStatus
    from apps.billing.models import BillingRun, ReadingCycle

    locked = BillingRun.objects.filter(status=RunStatus.APPROVED, kind__in=CYCLE_RUN_KINDS)
    return list(
        ReadingCycle.objects.exclude(pk__in=locked.values("cycle_id")).order_by(
            "-reading_date", "batch"
        )[:limit]
    )


def consumers_for_bulk(
    *,
    references: list[str] | None = None,
    defaulters_as_of: dt.date | None = None,
    subdivision_code: str = "",
) -> tuple[list, list[str]]:
    """(consumers, unknown references) a bulk start names: reference numbers, the billing
    mirror's defaulters as of a day (CP13, billing's selector), or every consumer with a meter
    in a subdivision (CP6). Several given: consumers in all of them."""
    from apps.registry.models import Consumer

    qs = Consumer.objects.all()
    missing: list[str] = []
    if references:
        refs = list(dict.fromkeys(r.strip() for r in references if r.strip()))
        qs = qs.filter(reference_no__in=refs)
        found = set(qs.values_list("reference_no", flat=True))
        missing = [r for r in refs if r not in found]
    if defaulters_as_of:
        from apps.billing.selectors import defaulters

        qs = qs.filter(pk__in=defaulters(as_of=defaulters_as_of).values("consumer_id"))
    if subdivision_code:
        qs = qs.filter(
            meters__transformer__feeder__subdivision__code__iexact=subdivision_code
        ).distinct()
    return list(qs.order_by("reference_no")), missing
