"""Celery tasks of VEE: ids in, one service call. Safe to run twice: validation merges its
findings by key, so a second run finds the same exceptions and changes nothing."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from apps.vee.choices import RunTrigger
from apps.vee.services.validation import validation_after_ingestion, validation_run


@shared_task(name="vee.validate_ingested", acks_late=True)
def validate_ingested(ingestion_run_id: int) -> int | None:
    """Validate the rows one ingestion run loaded; returns the validation run id."""
    run = validation_after_ingestion(ingestion_run_id=ingestion_run_id)
    return run.pk if run else None


@shared_task(name="vee.validate_range", acks_late=True)
def validate_range(start: str, end: str, mdc_id: int | None = None) -> int:
    """Validate every meter (or one MDC's) over ``[start, end)`` (ISO datetimes)."""
    from apps.registry.models import Mdc

    mdc = Mdc.objects.get(pk=mdc_id) if mdc_id is not None else None
    run = validation_run(
        start=dt.datetime.fromisoformat(start),
        end=dt.datetime.fromisoformat(end),
        mdc=mdc,
        trigger=RunTrigger.ON_DEMAND,
    )
    return run.pk
