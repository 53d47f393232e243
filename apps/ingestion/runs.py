"""A pull's bookkeeping: its run row, counts and watermark, committed with the rows they count.

Shared by every transport (``apps.ingestion.transports``): a transport reads, these record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from apps.ingestion import fingerprints
from apps.ingestion.choices import RunOutcome
from apps.ingestion.fetch import FetchedBody, MalformedPayload
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.windows import request_bounds
from apps.registry.models import Mdc
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.services import payload_quarantine, rows_load_split


@dataclass
class Tally:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    payloads: int = 0
    requests: int = 0
    windows: int = 0
    refill_requests: int = 0
    refills_filled: int = 0
    refills_open: int = 0

    def add(self, result) -> None:
        self.received += result.received
        self.inserted += result.inserted
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.quarantined += result.quarantined


def abandoned_runs_close(*, mdc: Mdc, dataset_code: str) -> int:
    """Runs of this MDC and data set still marked running belong to a dead worker (the caller
    holds the lock): close them as failed."""
    now = timezone.now()
    return IngestionRun.objects.filter(
        mdc=mdc, dataset=dataset_code, outcome=RunOutcome.RUNNING
    ).update(
        outcome=RunOutcome.FAILED,
        error_type="Abandoned",
        error="The worker stopped before the run finished; the next pull redid its window.",
        finished_at=now,
    )


def watermark_get(mdc: Mdc, dataset_code: str) -> dt.datetime | None:
    position = (
        Watermark.objects.filter(mdc=mdc, dataset=dataset_code)
        .values_list("position", flat=True)
        .first()
    )
    return timezone.localtime(position) if position is not None else None


COUNT_FIELDS = [
    "rows_received",
    "rows_inserted",
    "rows_updated",
    "rows_unchanged",
    "rows_quarantined",
    "payloads_quarantined",
    "requests",
    "windows_loaded",
    "retries",
    "refill_requests",
    "refills_filled",
    "refills_open",
]


def counts_save(run: IngestionRun, tally: Tally) -> None:
    """Save the run's counts (in the caller's transaction: the one that wrote the rows)."""
    run.rows_received = tally.received
    run.rows_inserted = tally.inserted
    run.rows_updated = tally.updated
    run.rows_unchanged = tally.unchanged
    run.rows_quarantined = tally.quarantined
    run.payloads_quarantined = tally.payloads
    run.requests = tally.requests
    run.windows_loaded = tally.windows
    run.refill_requests = tally.refill_requests
    run.refills_filled = tally.refills_filled
    run.refills_open = tally.refills_open
    run.save(update_fields=COUNT_FIELDS)


def progress_commit(
    run: IngestionRun,
    tally: Tally,
    *,
    watermark: dt.datetime | None = None,
    cursor_id: int | None = None,
) -> None:
    """Save the run's counts and, in the same transaction, move the watermark forward (and the
    id cursor of a table pulled by id)."""
    with transaction.atomic():
        if watermark is not None:
            defaults: dict = {"position": watermark}
            if cursor_id is not None:
                defaults["cursor_id"] = cursor_id
            Watermark.objects.update_or_create(
                mdc_id=run.mdc_id, dataset=run.dataset, defaults=defaults
            )
            run.watermark_after = watermark
            run.save(update_fields=["watermark_after"])
        counts_save(run, tally)


def cursor_get(mdc: Mdc, dataset_code: str) -> int | None:
    """The id cursor of a table pulled by id (UDIL 3.3), None before its first such pull."""
    return (
        Watermark.objects.filter(mdc=mdc, dataset=dataset_code)
        .values_list("cursor_id", flat=True)
        .first()
    )


def answer_load(
    run: IngestionRun,
    tally: Tally,
    fetched: FetchedBody,
    *,
    source: str,
    known: dict | None = None,
) -> QuarantinedRow | None:
    """Load one answer, or quarantine its body (returned), with the run's counts in the same
    transaction as the rows: a worker killed at any point leaves counts that add up to the
    rows stored (the next run sees the rest as unchanged, never as inserted twice).

    ``known``: the remembered answers of the pull's windows (``fingerprints``): an answer
    identical to the one last loaded, still all stored, is counted unchanged without a merge."""
    counted = replace(tally)
    counted.requests += 1
    entry = None
    where = {"mdc_id": run.mdc_id, "dataset_code": run.dataset, "fetched": fetched}
    with transaction.atomic():
        if known is not None and fingerprints.answer_unchanged(known, **where):
            rows = len(fetched.result.good)
            counted.received += rows
            counted.unchanged += rows
        elif isinstance(fetched.result, MalformedPayload):
            start, end = request_bounds(fetched.window)
            entry = payload_quarantine(
                dataset_code=run.dataset,
                mdc_id=run.mdc_id,
                body=fetched.result.body,
                reason=fetched.result.reason,
                source=source,
                window_start=start,
                window_end=end,
                device_ids=fetched.device_ids,
            )
            counted.payloads += 1
        else:
            result = rows_load_split(
                dataset_code=run.dataset,
                mdc_id=run.mdc_id,
                good=fetched.result.good,
                rejects=fetched.result.rejects,
                source=source,
            )
            counted.add(result)
            if known is not None:
                fingerprints.fingerprint_record(known, **where)
        counts_save(run, counted)
    tally.__dict__.update(counted.__dict__)
    return entry


def run_finish(run: IngestionRun, tally: Tally, error: BaseException | None) -> None:
    finished = timezone.now()
    run.finished_at = finished
    run.duration_seconds = (finished - run.started_at).total_seconds()
    progressed = tally.windows > 0 or tally.inserted + tally.updated > 0
    if error is not None:
        run.outcome = RunOutcome.PARTIAL if progressed else RunOutcome.FAILED
        run.error_type = type(error).__name__
        run.error = str(error)[:4000] or type(error).__name__
    elif tally.quarantined or tally.payloads:
        run.outcome = RunOutcome.PARTIAL
        run.error = (
            f"{tally.quarantined} rows and {tally.payloads} bodies quarantined "
            "(see the warehouse quarantine)."
        )
    else:
        run.outcome = RunOutcome.SUCCEEDED
    progress_commit(run, tally)
    run.save(update_fields=["outcome", "error", "error_type", "finished_at", "duration_seconds"])


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return timezone.localtime(value)
