"""Billing runs: start, compute (in chunks of consumers, progress in the database), re-run,
approve and lock, supplementary runs after lock. Each write is audited.

A locked (approved) run never changes: computing refuses it, and corrections after the lock
are a supplementary run that references the locked one.
"""

from __future__ import annotations

import itertools
import time

from django.conf import settings
from django.db import connection, transaction
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
    run = BillingRun.objects.create(cycle=cycle, started_by=actor)
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
    run.save(update_fields=["status", "consumers_done", "error"])
    audit_record(actor=actor, action="billing.run_rerun", target=run, summary=f"{run} re-run")
    _enqueue(run)
    return run


@transaction.atomic
def run_supplementary_start(*, run: BillingRun, actor) -> BillingRun:
    if not run.locked:
        raise BillingRefused(f"{run} is not locked: re-run it instead.")
    supplementary = BillingRun.objects.create(
        cycle=run.cycle, kind=RunKind.SUPPLEMENTARY, supplements=run, started_by=actor
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
    replaces its rows). A locked run is left as it is. A computation that fails leaves the run
    failed with none of its determinants (``_run_fail``), and raises."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().select_related("cycle").get(pk=run_id)
        if run.locked:
            return run
        run.status, run.consumers_done = RunStatus.RUNNING, 0
        run.save(update_fields=["status", "consumers_done"])
    began = time.monotonic()
    done = 0
    try:
        total, starts = _chunk_starts(run)
        BillingRun.objects.filter(pk=run.pk).update(consumers_total=total)
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
                BillingRun.objects.filter(pk=run.pk).update(consumers_done=done)
    except Exception as exc:
        _run_fail(run_id=run.pk, error=exc, done=done)
        raise
    BillingRun.objects.filter(pk=run.pk).update(
        status=RunStatus.READY,
        consumers_done=done,
        computed_at=timezone.now(),
        duration_seconds=time.monotonic() - began,
    )
    run.refresh_from_db()
    audit_record(
        actor=None,
        action="billing.run_compute",
        target=run,
        summary=f"{run}: {done} determinants",
        detail={"consumers": done, "seconds": run.duration_seconds},
    )
    return run


@transaction.atomic
def _run_fail(*, run_id: int, error: BaseException, done: int) -> None:
    """The run failed, with the error, and none of its determinants: the chunks before the
    failing one were committed (and a re-run's older rows stay until their chunk is replaced),
    and kept they would pass for part of a computed run."""
    run = BillingRun.objects.select_for_update().get(pk=run_id)
    if run.locked:  # approval needs a computed run, so not while computing: left as it is
        return
    message = str(error)[:2000] or type(error).__name__
    run.determinants.all().delete()
    run.status, run.error, run.consumers_done = RunStatus.FAILED, message, 0
    run.save(update_fields=["status", "error", "consumers_done"])
    audit_record(
        actor=None,
        action="billing.run_fail",
        target=run,
        summary=f"{run} failed: {message}"[:500],
        detail={"error": message, "consumers_computed": done},
    )


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
