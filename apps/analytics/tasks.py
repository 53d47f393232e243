"""Celery tasks of analytics: ids in, one service call. Safe to run twice: a refresh replaces
the meter-days it computes."""

from __future__ import annotations

from celery import shared_task

from apps.analytics.services.rollups import rollup_after_ingestion


@shared_task(name="analytics.rollup_ingested", acks_late=True)
def rollup_ingested(ingestion_run_id: int) -> int:
    """Refresh the roll-ups of the rows one ingestion run loaded; returns the meter-days."""
    result = rollup_after_ingestion(ingestion_run_id=ingestion_run_id)
    return result.meter_days + result.event_days if result else 0
