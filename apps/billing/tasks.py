"""Celery tasks of billing: ids in, one service call. Safe to run twice: computing a run
replaces its determinants chunk by chunk, and a locked run is never touched."""

from __future__ import annotations

from celery import shared_task

from apps.billing.services.runs import billing_run_fail_stale, run_compute


@shared_task(name="billing.compute_run", acks_late=True)
def compute_run(run_id: int) -> int:
    return run_compute(run_id=run_id).consumers_done


@shared_task(name="billing.runs_fail_stale")
def runs_fail_stale() -> dict:
    """Beat: fail the runs whose worker was lost (no progress for BILLING_RUN_STALE_MINUTES)."""
    return {"failed": billing_run_fail_stale()}
