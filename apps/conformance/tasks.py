"""Celery task of the conformance bench: takes the run's id; safe twice (only a queued run is
executed, see services.conformance_run_execute)."""

from __future__ import annotations

from celery import shared_task

from apps.conformance import services


@shared_task(acks_late=True)
def conformance_run_task(run_id: int) -> str:
    return services.conformance_run_execute(run_id=run_id).state
