"""Billing attributes of registry consumers and meters, and reading cycles (audited)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.billing.models import BillingAccount, MeterFactor, ReadingCycle, Tariff
from apps.billing.services import BillingRefused
from apps.registry.models import Consumer

#: How far a cycle's cut-off may be from its reading date.
CUTOFF_DAYS = 3


@transaction.atomic
def account_save(
    *,
    consumer: Consumer,
    actor,
    reading_batch: str,
    tariff: Tariff | None = None,
    sanctioned_load_kw: Decimal | None = None,
    status: str = "active",
    multiplying_factor: Decimal | None = None,
) -> BillingAccount:
    """Create or change a consumer's billing account; a multiplying factor given applies to
    every meter of the consumer."""
    account, created = BillingAccount.objects.update_or_create(
        consumer=consumer,
        defaults={
            "reading_batch": reading_batch,
            "tariff": tariff,
            "sanctioned_load_kw": sanctioned_load_kw,
            "status": status,
        },
    )
    if multiplying_factor is not None:
        for meter_id in consumer.meters.values_list("id", flat=True):
            MeterFactor.objects.update_or_create(
                meter_id=meter_id, defaults={"multiplying_factor": multiplying_factor}
            )
    audit_record(
        actor=actor,
        action="billing.account_create" if created else "billing.account_change",
        target=account,
        summary=f"billing account of {consumer.reference_no}",
        detail={
            "batch": reading_batch,
            "tariff": tariff.code if tariff else None,
            "sanctioned_load_kw": str(sanctioned_load_kw),
            "status": status,
            "multiplying_factor": str(multiplying_factor),
        },
    )
    return account


@transaction.atomic
def cycle_create(
    *, batch: str, reading_date: dt.date, cutoff: dt.datetime, actor, source: str = "daily"
) -> ReadingCycle:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,10}", batch or ""):
        raise BillingRefused("A batch is 1 to 10 letters, digits, '_' or '-' (e.g. 05).")
    if not 2000 <= reading_date.year <= 2099:
        raise BillingRefused(f"The reading date {reading_date} is outside 2000-2099.")
    # the cut-off closes the reading day: it must be near it (and in Pakistan time's range)
    if abs(timezone.localtime(cutoff).date() - reading_date) > dt.timedelta(days=CUTOFF_DAYS):
        raise BillingRefused(
            f"The cut-off must be within {CUTOFF_DAYS} days of the reading date {reading_date}."
        )
    if ReadingCycle.objects.filter(batch=batch, reading_date=reading_date).exists():
        raise BillingRefused(f"Batch {batch} already has a cycle on {reading_date}.")
    cycle = ReadingCycle.objects.create(
        batch=batch, reading_date=reading_date, cutoff=cutoff, source=source
    )
    audit_record(actor=actor, action="billing.cycle_create", target=cycle, summary=str(cycle))
    return cycle
