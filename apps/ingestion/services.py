"""Writes of ingestion: pulls, watermarks, runs and pull schedules.

A pull reads one data set from one MDC and streams it, one bounded request (or chunk) at a time,
into the warehouse loader. The watermark only moves after the rows before it are committed, so a
pull that dies is simply redone: the loader is idempotent, so nothing is duplicated, and nothing
after the watermark was skipped, so nothing is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.ingestion import fingerprints, refill
from apps.ingestion.choices import RunOutcome, RunTrigger
from apps.ingestion.fetch import FetchedBody, MalformedPayload, answer_source, api_fetcher
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.tabular import TabularChunk, tabular_chunks
from apps.ingestion.windows import (
    backfill_start,
    lookback,
    request_bounds,
    window_length,
    windows_count,
    windows_plan,
)
from apps.registry.choices import Dataset, Transport
from apps.registry.models import Mdc
from apps.registry.selectors import mdc_client, meter_batches, meters_for_pull
from apps.udil.datasets import DATASETS
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.services import payload_quarantine, rows_load, rows_load_split

log = logging.getLogger(__name__)

PULL_TASK_NAME = "apps.ingestion.tasks.pull"
SCHEDULE_PREFIX = "ingestion.pull"


class PullRefused(Exception):
    """A pull that must not start: unknown data set, disabled MDC, or one already running."""


class PullAlreadyRunning(PullRefused):
    """Another worker holds this MDC and data set; the caller may simply skip."""


# --- locking -----------------------------------------------------------------------------------


@contextmanager
def _pull_lock(mdc_id: int, dataset_code: str) -> Iterator[bool]:
    """A PostgreSQL session advisory lock per MDC and data set.

    Held for the whole pull; released when the pull ends or, if the worker dies, when its
    database connection closes, so a killed worker never blocks the next pull.
    """
    key = f"{mdc_id}:{dataset_code}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(hashtext('ingestion.pull'), hashtext(%s))", [key]
        )
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(hashtext('ingestion.pull'), hashtext(%s))", [key]
                )


# --- runs and watermarks -----------------------------------------------------------------------


@dataclass
class _Tally:
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


def _abandoned_runs_close(*, mdc: Mdc, dataset_code: str) -> int:
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


def runs_abandoned_close(*, older_than: dt.timedelta) -> int:
    """Close runs marked running for longer than any task may run (a worker was killed)."""
    cutoff = timezone.now() - older_than
    return IngestionRun.objects.filter(outcome=RunOutcome.RUNNING, started_at__lt=cutoff).update(
        outcome=RunOutcome.FAILED,
        error_type="Abandoned",
        error="The worker stopped before the run finished.",
        finished_at=timezone.now(),
    )


def _watermark_get(mdc: Mdc, dataset_code: str) -> dt.datetime | None:
    position = (
        Watermark.objects.filter(mdc=mdc, dataset=dataset_code)
        .values_list("position", flat=True)
        .first()
    )
    return timezone.localtime(position) if position is not None else None


_COUNT_FIELDS = [
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


def _counts_save(run: IngestionRun, tally: _Tally) -> None:
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
    run.save(update_fields=_COUNT_FIELDS)


def _progress_commit(
    run: IngestionRun, tally: _Tally, *, watermark: dt.datetime | None = None
) -> None:
    """Save the run's counts and, in the same transaction, move the watermark forward."""
    with transaction.atomic():
        if watermark is not None:
            Watermark.objects.update_or_create(
                mdc_id=run.mdc_id, dataset=run.dataset, defaults={"position": watermark}
            )
            run.watermark_after = watermark
            run.save(update_fields=["watermark_after"])
        _counts_save(run, tally)


def _answer_load(
    run: IngestionRun,
    tally: _Tally,
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
        _counts_save(run, counted)
    tally.__dict__.update(counted.__dict__)
    return entry


def _run_finish(run: IngestionRun, tally: _Tally, error: BaseException | None) -> None:
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
    _progress_commit(run, tally)
    run.save(update_fields=["outcome", "error", "error_type", "finished_at", "duration_seconds"])


# --- the pull ----------------------------------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return timezone.localtime(value)


def pull_run(
    *,
    mdc_id: int,
    dataset_code: str,
    until: dt.datetime | None = None,
    since: dt.datetime | None = None,
    trigger: str = RunTrigger.SCHEDULE,
) -> IngestionRun:
    """Pull one data set from one MDC, from its watermark up to ``until`` (default now).

    ``since`` is where to start when there is no watermark yet (default: the data set's
    backfill, see ``windows.backfill_start``). Errors end the run and are recorded on it
    (outcome failed, or partial when windows were committed first); they are not raised.
    Raises :class:`PullRefused` for an unknown data set or a disabled MDC and
    :class:`PullAlreadyRunning` when another pull of the same MDC and data set holds the lock.
    """
    if dataset_code not in DATASETS or dataset_code not in Dataset.values:
        raise PullRefused(f"Unknown data set {dataset_code!r}.")
    mdc = Mdc.objects.get(pk=mdc_id)
    if not mdc.enabled:
        raise PullRefused(f"MDC {mdc.code} is disabled.")
    until = _aware(until) or timezone.localtime().replace(microsecond=0)
    with _pull_lock(mdc.pk, dataset_code) as acquired:
        if not acquired:
            raise PullAlreadyRunning(f"A pull of {mdc.code}/{dataset_code} is already running.")
        _abandoned_runs_close(mdc=mdc, dataset_code=dataset_code)
        watermark = _watermark_get(mdc, dataset_code)
        run = IngestionRun.objects.create(
            mdc=mdc,
            dataset=dataset_code,
            transport=mdc.transport,
            trigger=trigger,
            started_at=timezone.now(),
            watermark_before=watermark,
            watermark_after=watermark,
        )
        tally = _Tally()
        clock = time.perf_counter()
        try:
            if mdc.transport == Transport.TABULAR:
                _tabular_pull(run, mdc, dataset_code, watermark, tally)
            else:
                _api_pull(run, mdc, dataset_code, watermark, since, until, tally)
        except Exception as exc:  # any failure ends the run and is recorded on it
            log.warning(
                "pull %s/%s run %s stopped: %s: %s",
                mdc.code,
                dataset_code,
                run.pk,
                type(exc).__name__,
                exc,
            )
            _run_finish(run, tally, exc)
        else:
            _run_finish(run, tally, None)
        log.info(
            "pull %s/%s run %s %s: %d rows in %.2fs",
            mdc.code,
            dataset_code,
            run.pk,
            run.outcome,
            tally.received,
            time.perf_counter() - clock,
        )
    return run


def _api_pull(
    run: IngestionRun,
    mdc: Mdc,
    dataset_code: str,
    watermark: dt.datetime | None,
    since: dt.datetime | None,
    until: dt.datetime,
    tally: _Tally,
) -> None:
    if watermark is not None:
        start = watermark - lookback(dataset_code)
    else:
        start = _aware(since) or backfill_start(dataset_code, until)
    length = window_length(dataset_code, mdc.window_minutes)
    batches = meter_batches(mdc)
    run.devices = sum(len(batch) for batch in batches)
    run.window_start = start
    run.window_end = max(start, until)
    run.save(update_fields=["devices", "window_start", "window_end"])
    if not batches:
        return
    source_prefix = f"{mdc.code}/{dataset_code} run {run.pk}"
    if until > start:
        windows = windows_plan(dataset_code=dataset_code, start=start, until=until, length=length)
        jobs = ((window, batch) for window in windows for batch in batches)
        total = windows_count(dataset_code=dataset_code, start=start, until=until, length=length)
        known = fingerprints.fingerprints_for(
            mdc_id=mdc.pk, dataset_code=dataset_code, start=start, until=until
        )
        with mdc_client(mdc) as client, api_fetcher(client, mdc, dataset_code, jobs) as fetcher:
            for _ in range(total):
                window, complete = None, True
                for _batch in batches:
                    fetched: FetchedBody = fetcher.next()
                    window = fetched.window
                    run.retries = fetcher.retries
                    entry = _answer_load(
                        run,
                        tally,
                        fetched,
                        source=answer_source(source_prefix, fetched),
                        known=known,
                    )
                    if entry is not None:
                        # the window is not loaded for these devices (nor counted as loaded)
                        # until it is asked again and loads, or the body is released
                        complete = False
                        refill.body_refills_open(
                            mdc=mdc,
                            dataset_code=dataset_code,
                            window=fetched.window,
                            device_ids=fetched.device_ids,
                            quarantined_row_id=entry.pk,
                            now=until,
                        )
                    del fetched
                tally.windows += complete
                _progress_commit(run, tally, watermark=window.end)
        fingerprints.fingerprints_prune(mdc_id=mdc.pk, dataset_code=dataset_code, now=until)
    # windows loaded earlier whose body was quarantined, and intervals still missing
    refill.refills_run(
        run=run,
        mdc=mdc,
        dataset_code=dataset_code,
        horizon=min(start, until),
        until=until,
        tally=tally,
        load=lambda fetched: _answer_load(
            run, tally, fetched, source=answer_source(f"{source_prefix} refill", fetched)
        ),
        fetcher_for=lambda client, jobs: api_fetcher(client, mdc, dataset_code, jobs),
    )
    _counts_save(run, tally)


def _tabular_pull(
    run: IngestionRun,
    mdc: Mdc,
    dataset_code: str,
    watermark: dt.datetime | None,
    tally: _Tally,
) -> None:
    device_ids = list(meters_for_pull(mdc).values_list("global_device_id", flat=True))
    run.devices = len(device_ids)
    run.window_start = watermark
    run.save(update_fields=["devices", "window_start"])
    if not device_ids:
        return
    chunk_rows = int(settings.INGESTION_TABULAR_CHUNK_ROWS)
    # a vendor's view may hold other head ends' meters: only this MDC's own are stored
    guard = RowGuard(dataset_code, owned_device_ids(mdc_id=mdc.pk))
    source_prefix = f"{mdc.code}/{dataset_code} run {run.pk}"
    chunk: TabularChunk
    for chunk in tabular_chunks(
        mdc, dataset_code, after=watermark, device_ids=device_ids, chunk_rows=chunk_rows
    ):
        if chunk.rows:
            counted = replace(tally)
            counted.requests += 1
            with transaction.atomic():  # rows and the run's counts together (see _answer_load)
                result = rows_load(
                    dataset_code=dataset_code,
                    mdc_id=mdc.pk,
                    raw_rows=chunk.rows,
                    source=f"{source_prefix} chunk {counted.requests}",
                    guard=guard,
                )
                counted.add(result)
                _counts_save(run, counted)
            tally.__dict__.update(counted.__dict__)
        if chunk.complete_through is not None:
            tally.windows += 1
            run.window_end = chunk.complete_through
            _progress_commit(run, tally, watermark=chunk.complete_through)
        else:
            _progress_commit(run, tally)
    run.save(update_fields=["window_end"])


# --- Pull now ----------------------------------------------------------------------------------


def pull_request(*, actor, mdc: Mdc, dataset_code: str | None = None) -> list[str]:
    """Queue pulls of one data set (or every data set) of an MDC now; return the data sets.

    The pulls run on a worker like scheduled ones (same task, same lock)."""
    from apps.ingestion.tasks import pull

    if not mdc.enabled:
        raise PullRefused(f"MDC {mdc.code} is disabled.")
    codes = [dataset_code] if dataset_code else list(Dataset.values)
    unknown = [code for code in codes if code not in Dataset.values]
    if unknown:
        raise PullRefused(f"Unknown data set {unknown[0]!r}.")
    if mdc.transport == Transport.TABULAR:
        codes = [
            code for code in codes if DATASETS[code].table in (mdc.tabular_views or {})
        ] or codes
    for code in codes:
        pull.apply_async(
            kwargs={"mdc_id": mdc.pk, "dataset_code": code, "trigger": RunTrigger.MANUAL}
        )
    audit_record(
        actor=actor,
        action="ingestion.pull.request",
        target=mdc,
        summary=f"Pull now: {mdc.code} {', '.join(codes)}",
        detail={"datasets": codes},
    )
    return codes


# --- schedules ---------------------------------------------------------------------------------


def schedule_task_name(mdc_id: int, dataset_code: str) -> str:
    """Beat task names use the MDC's id, so renaming its code keeps its schedule."""
    return f"{SCHEDULE_PREFIX}:{mdc_id}:{dataset_code}"


@transaction.atomic
def schedules_sync(*, mdc: Mdc) -> list:
    """Make django-celery-beat's periodic tasks of an MDC match ``mdc.pull_intervals``.

    One task per data set with a positive interval (minutes), enabled while the MDC is; data sets
    without one lose their task. Returns the MDC's periodic tasks.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    intervals = {
        code: int(minutes)
        for code, minutes in (mdc.pull_intervals or {}).items()
        if code in Dataset.values and minutes and int(minutes) > 0
    }
    if mdc.transport == Transport.TABULAR and mdc.tabular_views:
        intervals = {
            code: minutes
            for code, minutes in intervals.items()
            if DATASETS[code].table in mdc.tabular_views
        }
    prefix = f"{SCHEDULE_PREFIX}:{mdc.pk}:"
    wanted = {schedule_task_name(mdc.pk, code) for code in intervals}
    stale = PeriodicTask.objects.filter(name__startswith=prefix).exclude(name__in=wanted)
    for task in stale:
        task.delete()
    tasks = []
    for code, minutes in sorted(intervals.items()):
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=minutes, period=IntervalSchedule.MINUTES
        )
        kwargs = json.dumps(
            {"mdc_id": mdc.pk, "dataset_code": code, "trigger": str(RunTrigger.SCHEDULE)}
        )
        wanted_fields = {
            "task": PULL_TASK_NAME,
            "interval": interval,
            "kwargs": kwargs,
            "enabled": mdc.enabled,
            # a pull queued while workers were down is dropped once the next one is due
            "expire_seconds": minutes * 60,
            "description": f"Pull {code} from MDC {mdc.code} every {minutes} minutes.",
        }
        task, created = PeriodicTask.objects.get_or_create(
            name=schedule_task_name(mdc.pk, code), defaults=wanted_fields
        )
        if not created and any(
            getattr(task, name) != value for name, value in wanted_fields.items()
        ):
            for name, value in wanted_fields.items():
                setattr(task, name, value)
            task.save()
        tasks.append(task)
    return tasks


@transaction.atomic
def schedules_remove(*, mdc_id: int) -> int:
    """Delete the periodic pull tasks of an MDC (when it is deleted)."""
    from django_celery_beat.models import PeriodicTask

    removed = 0
    for task in PeriodicTask.objects.filter(name__startswith=f"{SCHEDULE_PREFIX}:{mdc_id}:"):
        task.delete()
        removed += 1
    return removed


def mdc_schedule_update(*, actor, mdc: Mdc, pull_intervals: dict[str, int]) -> Mdc:
    """Set how often each data set of an MDC is pulled (minutes; 0 = not scheduled).

    Goes through the registry's ``mdc_update`` (validated, audited); its post-save hook then
    syncs beat."""
    from apps.registry.services import mdc_update

    unknown = sorted(set(pull_intervals) - set(Dataset.values))
    if unknown:
        raise PullRefused(f"Unknown data sets: {', '.join(unknown)}.")
    intervals = dict(mdc.pull_intervals or {})
    for code, minutes in pull_intervals.items():
        if minutes and int(minutes) > 0:
            intervals[code] = int(minutes)
        else:
            intervals.pop(code, None)
    return mdc_update(actor=actor, mdc=mdc, pull_intervals=intervals)


@transaction.atomic
def watermark_set(*, actor, mdc: Mdc, dataset_code: str, position: dt.datetime | None) -> None:
    """Move a watermark (back, to re-pull; None forgets it, so the next pull backfills)."""
    if position is None:
        Watermark.objects.filter(mdc=mdc, dataset=dataset_code).delete()
    else:
        Watermark.objects.update_or_create(
            mdc=mdc, dataset=dataset_code, defaults={"position": _aware(position)}
        )
    audit_record(
        actor=actor,
        action="ingestion.watermark.set",
        target=mdc,
        summary=f"Watermark of {mdc.code}/{dataset_code} set to {position or 'none'}",
        detail={"dataset": dataset_code, "position": str(position) if position else None},
    )
