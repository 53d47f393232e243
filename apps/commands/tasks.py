"""Celery tasks of the commands app: thin, take ids, call a service, own retries.

Every task is safe to run twice: dispatch skips a transaction already sent and resends the same
transactionid otherwise; polling works from the database's state. Nothing lives in a worker's
memory, so restarting workers or beat loses nothing (the tick finds what is due again).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from apps.commands import services
from apps.commands.selectors import mdcs_with_polls_due

log = logging.getLogger(__name__)

POLL_LOCK_SECONDS = 300


@shared_task(bind=True, max_retries=None, acks_late=True)
def command_dispatch_task(self, transaction_id: int) -> str:
    result = services.command_dispatch(transaction_id=transaction_id)
    if result.status == "retry":
        log.warning(
            "dispatch of transaction %s: %s; retry in %ss",
            transaction_id,
            result.detail,
            result.retry_in,
        )
        raise self.retry(countdown=result.retry_in)
    return result.status


@shared_task(acks_late=True)
def transactions_poll_task(mdc_id: int) -> dict:
    """One poll cycle of one MDC; a second copy running at the same time steps aside."""
    lock = f"commands:poll:{mdc_id}"
    if not cache.add(lock, 1, timeout=POLL_LOCK_SECONDS):
        return {"skipped": True}
    try:
        result = services.transactions_poll(mdc_id=mdc_id)
    finally:
        cache.delete(lock)
    return {
        "http_requests": result.http_requests,
        "transactions": result.transactions,
        "devices_changed": result.devices_changed,
        "timed_out": result.timed_out,
        "errors": result.errors[:5],
    }


@shared_task
def commands_tick() -> dict:
    """Beat, every few seconds: release scheduled requests, enqueue lost dispatches again, close
    requests with nothing pending (a sweep), and enqueue a poll of every MDC with open
    transactions due."""
    released = services.command_requests_release_due()
    lost = services.transactions_lost()
    if lost:
        services.transactions_redispatch(transaction_ids=lost)
    closed = services.command_requests_close_finished()
    mdc_ids = mdcs_with_polls_due()
    for mdc_id in mdc_ids:
        transactions_poll_task.delay(mdc_id)
    return {
        "released": released,
        "redispatched": len(lost),
        "swept": closed,
        "polls": len(mdc_ids),
    }
