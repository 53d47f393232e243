"""Celery task of the conformance bench: takes the run's id; safe twice (only a queued run, or one
whose worker was lost, is executed, see services.conformance_run_execute)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.conformance import services


# Its own limits: a run waits for up to 20 commands at the MDC's pace (minutes each).
@shared_task(
    acks_late=True,
    time_limit=settings.CONFORMANCE_TASK_TIME_LIMIT,
    soft_time_limit=max(1, settings.CONFORMANCE_TASK_TIME_LIMIT - 60),
)
def conformance_run_task(run_id: int) -> str:
    return services.conformance_run_execute(run_id=run_id).state
