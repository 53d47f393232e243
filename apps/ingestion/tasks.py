"""Celery tasks of ingestion: ids in, a service call, retries. One task per MDC and data set, so
a slow or failing MDC only ever holds its own worker slot, for at most the task time limit."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.conf import settings

from apps.ingestion.choices import RunOutcome, RunTrigger
from apps.ingestion.services import (
    PULL_TASK_NAME,
    PullAlreadyRunning,
    PullRefused,
    pull_run,
)
from apps.ingestion.services import deliveries_scan as deliveries_scan_service
from apps.registry.choices import Transport
from apps.registry.models import Mdc
from apps.udil.errors import MdcUnavailable

log = logging.getLogger(__name__)

# Errors after which the pull is tried again later (the MDC may come back); others need a person.
RETRYABLE_ERRORS = frozenset({"MdcUnavailable", "SoftTimeLimitExceeded"})
MAX_RETRIES = 4


def retry_countdown(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: 30 s, 60 s, 120 s ... at most 10 min, with
    jitter so that MDCs failing together do not come back together."""
    base = float(settings.INGESTION_TASK_RETRY_SECONDS)
    delay = min(600.0, base * (2**retries))
    return int(delay * random.uniform(0.8, 1.2))


@shared_task(bind=True, name=PULL_TASK_NAME, max_retries=MAX_RETRIES, acks_late=True)
def pull(self, mdc_id: int, dataset_code: str, trigger: str = RunTrigger.SCHEDULE) -> int | None:
    """Pull one data set of one MDC; returns the run id (None when skipped)."""
    if self.request.retries:
        trigger = RunTrigger.RETRY
    try:
        run = pull_run(mdc_id=mdc_id, dataset_code=dataset_code, trigger=trigger)
    except PullAlreadyRunning as exc:
        log.info("skipped: %s", exc)
        return None
    except (PullRefused, Mdc.DoesNotExist) as exc:
        log.warning("pull of MDC %s/%s refused: %s", mdc_id, dataset_code, exc)
        return None
    if run.outcome in (RunOutcome.FAILED, RunOutcome.PARTIAL) and (
        run.error_type in RETRYABLE_ERRORS
    ):
        raise self.retry(
            exc=MdcUnavailable(run.error), countdown=retry_countdown(self.request.retries)
        )
    return run.pk


@shared_task(name="ingestion.deliveries_scan", acks_late=True)
def deliveries_scan(mdc_id: int | None = None) -> int:
    """Load the complete files waiting in flat-file MDCs' directories (one MDC, or every
    enabled one: what beat runs); returns the runs made. Safe to run twice."""
    ids = (
        [mdc_id]
        if mdc_id is not None
        else list(
            Mdc.objects.filter(transport=Transport.FILE, enabled=True).values_list("pk", flat=True)
        )
    )
    runs = 0
    for pk in ids:
        try:
            runs += len(deliveries_scan_service(mdc_id=pk))
        except Mdc.DoesNotExist:
            continue
    return runs
