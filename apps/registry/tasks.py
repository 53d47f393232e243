"""Celery tasks of the registry: the periodic probe of every enabled MDC.

A probe is the same connection test as the "Test connection" button (``mdc_test_connection``);
its audit entry is what MDC health reads, so an MDC that stops answering turns unhealthy even
when it has no meters to pull. One task per MDC: an MDC that hangs until its timeout holds only
its own worker slot. Running either task twice only probes again.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from apps.registry.models import Mdc
from apps.registry.services import mdc_test_connection

PROBE_ALL_TASK_NAME = "registry.mdcs_probe"


@shared_task(name="registry.mdc_probe", acks_late=True)
def mdc_probe(mdc_id: int) -> bool | None:
    """Probe one MDC; True/False as it answered, None when it is gone or disabled."""
    mdc = Mdc.objects.filter(pk=mdc_id, enabled=True).first()
    if mdc is None:
        return None
    return mdc_test_connection(actor=None, mdc=mdc).ok


@shared_task(name=PROBE_ALL_TASK_NAME)
def mdcs_probe() -> int:
    """Queue a probe of every enabled MDC; returns how many were queued."""
    ids = list(Mdc.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))
    for mdc_id in ids:
        transaction.on_commit(lambda mdc_id=mdc_id: mdc_probe.delay(mdc_id))
    return len(ids)
