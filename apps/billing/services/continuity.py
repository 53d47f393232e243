"""Billing's part of the commercial procedures (apps.workflows calls these; each is audited):

::

    final_run_compute     -> CP4/CP14: a final run of one consumer up to its final reading
    first_cycle_assign    -> CP2/CP8: a new consumer's billing account in a reading batch, and
                             the first cycle it will be read in
    meter_change_record   -> CP7/CP9: the old meter's readings up to its final reading and the
                             new meter's from its initial reading are both the consumer's
    cycle_reading_set     -> CP6: an on-demand reading becomes the consumer's cycle reading
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.billing.choices import CYCLE_RUN_KINDS, AccountStatus, RunKind, RunStatus
from apps.billing.models import (
    BillingAccount,
    BillingRun,
    CycleReading,
    MeterChange,
    ReadingCycle,
    Tariff,
)
from apps.billing.services import BillingRefused


def _account(consumer) -> BillingAccount:
    account = BillingAccount.objects.filter(consumer=consumer).first()
    if account is None:
        raise BillingRefused(
            f"{consumer.reference_no} has no billing account (reading batch): add one on the "
            "billing pages, then try again."
        )
    return account


@transaction.atomic
def final_run_compute(*, actor, consumer, at: dt.datetime) -> BillingRun:
    """Compute the final determinant of a consumer whose last reading is at ``at``: a run of
    kind final, from the batch's last cycle before it to ``at``. It is left ready for review
    (approved and exported from the billing pages like any run)."""
    from apps.billing.services.runs import run_compute

    account = _account(consumer)
    cycle = (
        ReadingCycle.objects.filter(batch=account.reading_batch, cutoff__lt=at)
        .order_by("-cutoff")
        .first()
    )
    if cycle is None:
        raise BillingRefused(
            f"Batch {account.reading_batch} has no reading cycle before the final reading "
            f"({timezone.localtime(at):%Y-%m-%d %H:%M %z}): nothing to bill from."
        )
    user = actor if getattr(actor, "is_authenticated", False) else None
    run = BillingRun.objects.create(
        cycle=cycle, kind=RunKind.FINAL, consumer=consumer, cutoff=at, started_by=user
    )
    audit_record(
        actor=actor,
        action="billing.run_final_start",
        target=run,
        summary=f"final run of {consumer.reference_no} up to {timezone.localtime(at)}",
        detail={"consumer": consumer.reference_no, "cutoff": at.isoformat()},
    )
    return run_compute(run_id=run.pk)


def _batch_of_neighbours(transformer) -> str:
    """The reading batch most consumers on the same transformer (else feeder) are read in."""
    if transformer is None:
        return ""
    near = (("transformer", transformer.pk), ("transformer__feeder", transformer.feeder_id))
    for field, value in near:
        batches = Counter(
            BillingAccount.objects.filter(**{f"consumer__meters__{field}": value})
            .exclude(status=AccountStatus.CLOSED)
            .values_list("reading_batch", flat=True)
        )
        if batches:
            return min(batches.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return ""


@transaction.atomic
def first_cycle_assign(*, actor, consumer, meter) -> dict:
    """A new connection's reading batch: its billing account's when it has one, else its
    neighbours' (same transformer, else feeder); the account is created with the consumer's
    tariff. Returns the batch and the first cycle it is read in (None until one is set up)."""
    account = BillingAccount.objects.filter(consumer=consumer).first()
    if account is None:
        batch = _batch_of_neighbours(getattr(meter, "transformer", None))
        if not batch:
            raise BillingRefused(
                f"No reading batch for {consumer.reference_no}: no consumer on its transformer "
                "or feeder has one. Give it a billing account on the billing pages, then try "
                "again."
            )
        account = BillingAccount.objects.create(
            consumer=consumer,
            reading_batch=batch,
            tariff=Tariff.objects.filter(code=consumer.tariff).first() if consumer.tariff else None,
            sanctioned_load_kw=consumer.sanctioned_load_kw,
        )
        audit_record(
            actor=actor,
            action="billing.account_create",
            target=account,
            summary=f"billing account of {consumer.reference_no} in batch {batch} (new connection)",
            detail={"batch": batch},
        )
    elif account.status != AccountStatus.ACTIVE:
        account.status = AccountStatus.ACTIVE
        account.save(update_fields=["status", "updated_at"])
    first = (
        ReadingCycle.objects.filter(batch=account.reading_batch, cutoff__gt=timezone.now())
        .order_by("cutoff")
        .first()
    )
    return {
        "batch": account.reading_batch,
        "first_cycle": first.reading_date.isoformat() if first else None,
    }


@transaction.atomic
def meter_change_record(
    *,
    actor,
    consumer,
    old_meter,
    new_meter,
    final_reading_at: dt.datetime,
    initial_reading_at: dt.datetime,
    work_order_id: int | None = None,
) -> MeterChange:
    change, _ = MeterChange.objects.update_or_create(
        consumer=consumer,
        old_meter=old_meter,
        new_meter=new_meter,
        defaults={
            "final_reading_at": final_reading_at,
            "initial_reading_at": initial_reading_at,
            "work_order_id": work_order_id,
        },
    )
    audit_record(
        actor=actor,
        action="billing.meter_change",
        target=change,
        summary=f"{change}: billed across both meters",
        detail={
            "old": old_meter.global_device_id,
            "new": new_meter.global_device_id,
            "final_reading_at": final_reading_at.isoformat(),
            "initial_reading_at": initial_reading_at.isoformat(),
        },
    )
    return change


@transaction.atomic
def cycle_reading_set(
    *, actor, consumer, meter, meter_datetime: dt.datetime, work_order_id: int | None = None
) -> CycleReading:
    """The reading at ``meter_datetime`` becomes the meter's reading of the consumer's batch's
    open cycle (no approved run) whose cut-off is nearest to it."""
    account = _account(consumer)
    locked = BillingRun.objects.filter(status=RunStatus.APPROVED, kind__in=CYCLE_RUN_KINDS)
    open_cycles = ReadingCycle.objects.filter(batch=account.reading_batch).exclude(
        pk__in=locked.values("cycle_id")
    )
    cycle = min(open_cycles, key=lambda c: abs(c.cutoff - meter_datetime), default=None)
    if cycle is None:
        raise BillingRefused(
            f"Batch {account.reading_batch} has no open reading cycle (every cycle is "
            "approved): the reading cannot be the cycle's."
        )
    chosen, _ = CycleReading.objects.update_or_create(
        cycle=cycle,
        meter=meter,
        defaults={
            "consumer": consumer,
            "meter_datetime": meter_datetime,
            "work_order_id": work_order_id,
        },
    )
    audit_record(
        actor=actor,
        action="billing.cycle_reading",
        target=chosen,
        summary=f"{chosen}: the cycle's reading of {consumer.reference_no}",
        detail={"cycle": cycle.pk, "meter_datetime": meter_datetime.isoformat()},
    )
    return chosen
