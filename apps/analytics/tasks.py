"""Celery tasks of analytics: ids in, one service call. Safe to run twice: a refresh replaces
the meter-days it computes, a report is built once."""

from __future__ import annotations

from celery import shared_task

from apps.analytics.services.reports import report_build as build_report
from apps.analytics.services.reports import reports_scheduled
from apps.analytics.services.rollups import rollup_after_ingestion


@shared_task(name="analytics.rollup_ingested", acks_late=True)
def rollup_ingested(ingestion_run_id: int) -> int:
    """Refresh the roll-ups of the rows one ingestion run loaded; returns the meter-days."""
    result = rollup_after_ingestion(ingestion_run_id=ingestion_run_id)
    return result.meter_days + result.event_days if result else 0


@shared_task(name="analytics.report_build", acks_late=True)
def report_build(report_id: int) -> str:
    """Build one requested report's CSV and PDF; returns its state."""
    return build_report(report_id=report_id).state


@shared_task(name="analytics.reports_daily")
def reports_daily() -> int:
    """Beat, once a day: yesterday's reports (and last month's feeder loss on the first)."""
    return len(reports_scheduled())
