"""Billing runs: start, compute (in chunks of consumers, progress in the database), re-run,
approve and lock, supplementary runs after lock. Each write is audited.

A locked (approved) run never changes: computing refuses it, and corrections after the lock
are a supplementary run that references the locked one.

A run's worker can be lost (killed by the hard time limit, the OOM killer, a restart) with the
run still queued or running: its heartbeat (``progressed_at``, moved at each committed chunk)
then stops, and beat's ``billing_run_fail_stale`` fails it as a failing computation would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import audit_record
from apps.billing.choices import CYCLE_RUN_KINDS, AccountStatus, RunKind, RunStatus
from apps.billing.models import BillingAccount, BillingRun, ReadingCycle
from apps.billing.services import BillingRefused
from apps.billing.services.determinants import determinants_insert

#: A run is computed in about this many statements, each over a range of consumers, committed
#: on its own and moving the progress bar. Each statement scans the cycle's readings once (hash
#: joined to its consumers' meters), so more steps cost more scans: ten is a fair bar.
PROGRESS_STEPS = 10
MIN_CHUNK_CONSUMERS = 20_000
BUSY = (RunStatus.QUEUED, RunStatus.RUNNING)


class _RunTakenAway(Exception):
    """The run stopped being this computation's (failed as stale meanwhile): stop, write nothing."""


def _enqueue(run: BillingRun) -> None:
    from apps.billing.tasks import compute_run

    transaction.on_commit(lambda: compute_run.delay(run.pk))


@transaction.atomic
def run_start(*, cycle: ReadingCycle, actor) -> BillingRun:
    """A regular run of a cycle. Once a cycle has a locked run, corrections are supplementary."""
    cycle_runs = BillingRun.objects.filter(cycle=cycle, kind__in=CYCLE_RUN_KINDS)
    if cycle_runs.filter(status=RunStatus.APPROVED).exists():
        raise BillingRefused(
            f"Cycle {cycle} already has an approved run: start a supplementary run of it."
        )
    if cycle_runs.filter(status__in=BUSY).exists():
        raise BillingRefused(f"Cycle {cycle} already has a run in progress.")
    run = BillingRun.objects.create(cycle=cycle, started_by=actor, progressed_at=timezone.now())
    audit_record(actor=actor, action="billing.run_start", target=run, summary=f"{run} started")
    _enqueue(run)
    return run


@transaction.atomic
def run_rerun(*, run: BillingRun, actor) -> BillingRun:
    run = BillingRun.objects.select_for_update().get(pk=run.pk)
    if run.locked:
        raise BillingRefused(f"{run} is approved and locked: start a supplementary run.")
    if run.status in BUSY:
        raise BillingRefused(f"{run} is still being computed.")
    run.status, run.consumers_done, run.error = RunStatus.QUEUED, 0, ""
    run.progressed_at = timezone.now()
    run.save(update_fields=["status", "consumers_done", "error", "progressed_at"])
    audit_record(actor=actor, action="billing.run_rerun", target=run, summary=f"{run} re-run")
    _enqueue(run)
    return run


@transaction.atomic
def run_supplementary_start(*, run: BillingRun, actor) -> BillingRun:
    if not run.locked:
        raise BillingRefused(f"{run} is not locked: re-run it instead.")
    supplementary = BillingRun.objects.create(
        cycle=run.cycle,
        kind=RunKind.SUPPLEMENTARY,
        supplements=run,
        started_by=actor,
        progressed_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="billing.run_supplementary_start",
        target=supplementary,
        summary=f"{supplementary} supplements {run}",
        detail={"supplements": run.pk},
    )
    _enqueue(supplementary)
    return supplementary


def _chunk_starts(run: BillingRun) -> tuple[int, list[int]]:
    """(consumers, the first consumer id of each chunk), without loading every id."""
    if run.kind == RunKind.FINAL:
        return 1, [run.consumer_id]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM billing_billingaccount WHERE reading_batch = %s "
            "AND status <> 'closed'",
            [run.cycle.batch],
        )
        (total,) = cursor.fetchone()
        chunk = max(MIN_CHUNK_CONSUMERS, -(-total // PROGRESS_STEPS))
        cursor.execute(
            """SELECT consumer_id FROM (
                 SELECT consumer_id, row_number() OVER (ORDER BY consumer_id) AS n
                 FROM billing_billingaccount WHERE reading_batch = %s AND status <> 'closed'
               ) t WHERE (n - 1) %% %s = 0 ORDER BY consumer_id""",
            [run.cycle.batch, chunk],
        )
        return total, [row[0] for row in cursor.fetchall()]


def run_compute(*, run_id: int) -> BillingRun:
    """Compute (or recompute) every determinant of a run; safe to run twice (each chunk
    replaces its rows). A locked run is left as it is, and so is a failed one (a stray or
    redelivered task: a re-run queues it first). A computation that fails leaves the run failed
    with none of its determinants (``_run_fail``), and raises. Every write after the start is
    made only while the run is still running, so a run failed as stale meanwhile (its worker
    thought lost) stays failed: this computation stops with nothing more written."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().select_related("cycle").get(pk=run_id)
        if run.locked or run.status == RunStatus.FAILED:
            return run
        run.status, run.consumers_done, run.progressed_at = RunStatus.RUNNING, 0, timezone.now()
        run.save(update_fields=["status", "consumers_done", "progressed_at"])
    began = time.monotonic()
    done = 0
    try:
        total, starts = _chunk_starts(run)
        _run_progress(run, consumers_total=total)
        # consumers no longer in the batch (or closed) since the last computation
        billed = BillingAccount.objects.filter(reading_batch=run.cycle.batch).exclude(
            status=AccountStatus.CLOSED
        )
        run.determinants.exclude(consumer_id__in=billed.values("consumer_id")).delete()
        last = run.consumer_id + 1 if run.kind == RunKind.FINAL else 2**62
        bounds = [*starts, last]
        for lo, hi in itertools.pairwise(bounds):
            with transaction.atomic():
                done += determinants_insert(run=run, lo=lo, hi=hi)
                _run_progress(run, consumers_done=done)
        _run_progress(
            run,
            status=RunStatus.READY,
            consumers_done=done,
            computed_at=timezone.now(),
            duration_seconds=time.monotonic() - began,
        )
    except _RunTakenAway:
        run.refresh_from_db()
        return run
    except Exception as exc:
        _run_fail(run_id=run.pk, error=exc, done=done)
        raise
    run.refresh_from_db()
    audit_record(
        actor=None,
        action="billing.run_compute",
        target=run,
        summary=f"{run}: {done} determinants",
        detail={"consumers": done, "seconds": run.duration_seconds},
    )
    return run


def _run_progress(run: BillingRun, **fields) -> None:
    """Write the run's progress and move its heartbeat, only while it is running (the row lock
    this takes waits for a stale sweep deciding on the run, and then sees its verdict)."""
    moved = BillingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        progressed_at=timezone.now(), **fields
    )
    if not moved:
        raise _RunTakenAway(run.pk)


@transaction.atomic
def _run_fail(*, run_id: int, error: BaseException, done: int) -> None:
    """The computation raised: the run failed with the error (``_run_failed``)."""
    run = BillingRun.objects.select_for_update().get(pk=run_id)
    if run.status != RunStatus.RUNNING:  # approved, or already failed as stale: as it is
        return
    _run_failed(run, str(error)[:2000] or type(error).__name__, consumers_computed=done)


def _run_failed(run: BillingRun, message: str, **detail) -> None:
    """The run (locked by the caller) failed, with the reason, and none of its determinants:
    the chunks before the failing one were committed (and a re-run's older rows stay until
    their chunk is replaced), and kept they would pass for part of a computed run."""
    run.determinants.all().delete()
    run.status, run.error, run.consumers_done = RunStatus.FAILED, message, 0
    run.save(update_fields=["status", "error", "consumers_done"])
    audit_record(
        actor=None,
        action="billing.run_fail",
        target=run,
        summary=f"{run} failed: {message}"[:500],
        detail={"error": message, **detail},
    )


def billing_run_fail_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every run queued or running whose heartbeat is older than
    ``BILLING_RUN_STALE_MINUTES``: its worker was lost, and nothing else would ever finish it.
    Like a failing computation: none of its determinants kept, the reason in its error, audited
    (``billing.run_fail``); its CP10 order then stops on it and offers to try again. Safe to run
    twice (a failed run is no longer busy); a run still progressing is never touched (its
    heartbeat is read again under the row's lock). Returns the ids of the runs failed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.BILLING_RUN_STALE_MINUTES)
    # runs from before the heartbeat existed count from their creation
    stale = Q(progressed_at__lt=cutoff) | Q(progressed_at__isnull=True, created_at__lt=cutoff)
    listed = BillingRun.objects.filter(stale, status__in=BUSY).order_by("pk")
    return [
        run_id
        for run_id in listed.values_list("pk", flat=True)
        if _run_stale_fail(run_id=run_id, stale=stale, now=now)
    ]


@transaction.atomic
def _run_stale_fail(*, run_id: int, stale: Q, now: dt.datetime) -> bool:
    # Under the lock the row is read again: a chunk committing meanwhile moved its heartbeat.
    run = BillingRun.objects.select_for_update().filter(stale, pk=run_id, status__in=BUSY).first()
    if run is None:
        return False
    since = timezone.localtime(run.progressed_at or run.created_at)
    message = (
        f"no progress since {since:%Y-%m-%d %H:%M:%S %Z} (worker lost); "
        f"{run.get_status_display().lower()}, {run.consumers_done} of "
        f"{run.consumers_total} consumers computed"
    )
    _run_failed(
        run,
        message,
        consumers_computed=run.consumers_done,
        stale_since=since.isoformat(),
        stale_minutes=settings.BILLING_RUN_STALE_MINUTES,
        swept_at=now.isoformat(),
    )
    return True


@transaction.atomic
def run_approve(*, run: BillingRun, actor) -> BillingRun:
    """Approve and lock a computed run, and write it to the drop directory (when set)."""
    from apps.billing.services.exports import run_drop_write

    run = BillingRun.objects.select_for_update().select_related("cycle").get(pk=run.pk)
    if run.status != RunStatus.READY:
        raise BillingRefused(f"{run} is {run.get_status_display().lower()}: nothing to approve.")
    if settings.BILLING_SECOND_APPROVER and run.started_by_id == getattr(actor, "pk", None):
        raise BillingRefused("A second person must approve the run (not the one who started it).")
    run.status, run.approved_by, run.approved_at = RunStatus.APPROVED, actor, timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(actor=actor, action="billing.run_approve", target=run, summary=f"{run} locked")
    run_drop_write(run=run, actor=actor)
    return run
