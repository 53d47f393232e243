"""Writes of ingestion: pulls, flat-file deliveries, watermarks, runs and pull schedules.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.ingestion.choices import DeliverySource, RunTrigger
from apps.ingestion.flatfiles import DeliveryRejected, delivery_name_parse
from apps.ingestion.models import FileDelivery, IngestionRun, Watermark
from apps.ingestion.runs import Tally, abandoned_runs_close, aware, run_finish, watermark_get
from apps.ingestion.transports import FileTransport, transport_for
from apps.registry.choices import Dataset
from apps.registry.models import Mdc
from apps.udil.profiles import get_profile

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


# --- the pull ----------------------------------------------------------------------------------


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
    if dataset_code not in Dataset.values:  # the one enum, derived from apps.udil
        raise PullRefused(f"Unknown data set {dataset_code!r}.")
    mdc = Mdc.objects.get(pk=mdc_id)
    if dataset_code not in get_profile(mdc.udil_profile).datasets:
        raise PullRefused(f"UDIL {mdc.udil_profile} has no data set {dataset_code!r}.")
    until = aware(until) or timezone.localtime().replace(microsecond=0)
    transport = transport_for(mdc)

    def read(run: IngestionRun, watermark: dt.datetime | None, tally: Tally) -> None:
        transport.pull(
            run, dataset_code, watermark=watermark, since=since, until=until, tally=tally
        )

    return _locked_run(mdc=mdc, dataset_code=dataset_code, trigger=trigger, read=read)


def _locked_run(
    *,
    mdc: Mdc,
    dataset_code: str,
    trigger: str,
    read: Callable[[IngestionRun, dt.datetime | None, Tally], None],
) -> IngestionRun:
    """One run of ``read`` under the MDC and data set's lock, recorded (see :func:`pull_run`)."""
    if not mdc.enabled:
        raise PullRefused(f"MDC {mdc.code} is disabled.")
    with _pull_lock(mdc.pk, dataset_code) as acquired:
        if not acquired:
            raise PullAlreadyRunning(f"A pull of {mdc.code}/{dataset_code} is already running.")
        abandoned_runs_close(mdc=mdc, dataset_code=dataset_code)
        watermark = watermark_get(mdc, dataset_code)
        run = IngestionRun.objects.create(
            mdc=mdc,
            dataset=dataset_code,
            transport=mdc.transport,
            trigger=trigger,
            started_at=timezone.now(),
            watermark_before=watermark,
            watermark_after=watermark,
        )
        tally = Tally()
        clock = time.perf_counter()
        try:
            read(run, watermark, tally)
        except Exception as exc:  # any failure ends the run and is recorded on it
            log.warning(
                "pull %s/%s run %s stopped: %s: %s",
                mdc.code,
                dataset_code,
                run.pk,
                type(exc).__name__,
                exc,
            )
            run_finish(run, tally, exc)
        else:
            run_finish(run, tally, None)
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


# --- flat files --------------------------------------------------------------------------------


def delivery_upload(*, actor, mdc: Mdc, name: str, content: bytes) -> FileDelivery:
    """Load one uploaded flat-file delivery of an MDC now, as the watched directory would
    (same loader, same sha256 record: a file loaded before is recorded as a duplicate and not
    loaded again). Raises :class:`PullRefused` for an MDC that does not deliver files, a name
    that states no data set, or a load of the same data set already running."""
    if mdc.transport != FileTransport.name:
        raise PullRefused(f"MDC {mdc.code} does not deliver flat files.")
    try:
        stated = delivery_name_parse(name)
    except DeliveryRejected as exc:
        raise PullRefused(str(exc)) from None
    transport = FileTransport(mdc)
    loaded: list[FileDelivery] = []

    def read(run: IngestionRun, watermark: dt.datetime | None, tally: Tally) -> None:
        loaded.append(
            transport.load(
                run,
                name=name,
                content=content,
                tally=tally,
                watermark=watermark,
                source=DeliverySource.UPLOAD,
                actor=actor,
            )
        )

    run = _locked_run(mdc=mdc, dataset_code=stated.dataset, trigger=RunTrigger.UPLOAD, read=read)
    if not loaded:
        raise PullRefused(f"The delivery could not be loaded: {run.error or run.outcome}.")
    delivery = loaded[0]
    audit_record(
        actor=actor,
        action="ingestion.delivery.upload",
        target=mdc,
        summary=f"Uploaded {name} to {mdc.code}: {delivery.state}, {delivery.rows_received} rows",
        detail={"name": name, "sha256": delivery.sha256, "state": delivery.state, "run": run.pk},
    )
    return delivery


def deliveries_scan(*, mdc_id: int) -> list[IngestionRun]:
    """Load the complete files waiting in a flat-file MDC's directory: one run per data set
    with files (skipped while one runs); files whose name states no data set are recorded as
    failed and moved aside. Safe to run twice (the lock, the sha256 record)."""
    mdc = Mdc.objects.get(pk=mdc_id)
    if mdc.transport != FileTransport.name or not mdc.enabled:
        return []
    transport = FileTransport(mdc)
    runs = []
    waiting = transport.waiting()
    for path, code in waiting:
        if code is None:
            transport.unnamed_record(path)
    for code in sorted({code for _, code in waiting if code is not None}):
        try:
            runs.append(pull_run(mdc_id=mdc.pk, dataset_code=code))
        except PullAlreadyRunning:
            continue
    return runs


# --- Pull now ----------------------------------------------------------------------------------


def pull_request(*, actor, mdc: Mdc, dataset_code: str | None = None) -> list[str]:
    """Queue pulls of one data set (or every data set) of an MDC now; return the data sets.

    The pulls run on a worker like scheduled ones (same task, same lock)."""
    from apps.ingestion.tasks import pull

    if not mdc.enabled:
        raise PullRefused(f"MDC {mdc.code} is disabled.")
    profile = get_profile(mdc.udil_profile)
    codes = [dataset_code] if dataset_code else [c for c in Dataset.values if c in profile.datasets]
    unknown = [code for code in codes if code not in Dataset.values]
    if unknown:
        raise PullRefused(f"Unknown data set {unknown[0]!r}.")
    codes = transport_for(mdc).datasets(codes) or codes
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
    served = set(transport_for(mdc).datasets(list(intervals)))
    intervals = {code: minutes for code, minutes in intervals.items() if code in served}
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
            mdc=mdc, dataset=dataset_code, defaults={"position": aware(position)}
        )
    audit_record(
        actor=actor,
        action="ingestion.watermark.set",
        target=mdc,
        summary=f"Watermark of {mdc.code}/{dataset_code} set to {position or 'none'}",
        detail={"dataset": dataset_code, "position": str(position) if position else None},
    )
