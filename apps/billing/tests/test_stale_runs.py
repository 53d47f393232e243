"""Runs whose worker was lost (issue #12 follow-up): beat's sweep fails a queued or running run
whose heartbeat is older than BILLING_RUN_STALE_MINUTES, as a failing computation would (none
of its determinants, the reason, audited); a run still progressing is never touched, a second
sweep changes nothing, and a worker that comes back to a run failed meanwhile writes nothing.
The worker killed for real (SIGKILL of another process) is in apps/workflows/tests."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.billing.choices import RunStatus
from apps.billing.models import BillingRun
from apps.billing.services import runs
from apps.billing.services.runs import billing_run_fail_stale, run_compute, run_start
from apps.billing.tests.conftest import at, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(account, cycles):
    """Three consumers of batch 05 read before and at the November cycle (units 1, 2, 3)."""
    for units in (1, 2, 3):
        _, meter = account()
        reading(meter, at("2026-10-05"), t1=100)
        reading(meter, at("2026-11-05"), t1=100 + units)
    return cycles


def _fails() -> int:
    return AuditEntry.objects.filter(action="billing.run_fail").count()


def test_a_lost_run_fails_a_progressing_one_is_untouched_and_twice_changes_nothing(
    batch, make_user, settings
):
    settings.BILLING_RUN_STALE_MINUTES = 30
    october, november = batch
    now = timezone.now()
    # lost: its worker committed determinants, then nothing for 31 minutes
    lost = run_compute(run_id=BillingRun.objects.create(cycle=november).pk)
    assert lost.determinants.count() == 3
    BillingRun.objects.filter(pk=lost.pk).update(
        status=RunStatus.RUNNING, consumers_done=2, progressed_at=now - dt.timedelta(minutes=31)
    )
    # progressing: queued (by the service: its heartbeat starts) 29 minutes ago
    progressing = run_start(cycle=october, actor=make_user("Revenue Officer"))
    BillingRun.objects.filter(pk=progressing.pk).update(
        progressed_at=now - dt.timedelta(minutes=29)
    )
    # from before the heartbeat: queued an hour ago, never taken
    legacy = BillingRun.objects.create(cycle=october)
    BillingRun.objects.filter(pk=legacy.pk).update(
        progressed_at=None, created_at=now - dt.timedelta(hours=1)
    )
    # computed long ago: not busy, so never stale
    ready = run_compute(run_id=BillingRun.objects.create(cycle=november).pk)
    BillingRun.objects.filter(pk=ready.pk).update(progressed_at=now - dt.timedelta(days=3))
    before = _fails()

    assert billing_run_fail_stale(now=now) == [lost.pk, legacy.pk]
    lost.refresh_from_db()
    since = timezone.localtime(now - dt.timedelta(minutes=31))
    assert lost.status == RunStatus.FAILED
    assert lost.error == (
        f"no progress since {since:%Y-%m-%d %H:%M:%S} PKT (worker lost); running, 2 of 3 "
        "consumers computed"
    )
    assert (lost.determinants.count(), lost.consumers_done) == (0, 0)
    entry = AuditEntry.objects.get(action="billing.run_fail", target_id=str(lost.pk))
    assert entry.actor_name == "system" and entry.detail["consumers_computed"] == 2
    legacy.refresh_from_db()
    assert legacy.status == RunStatus.FAILED and "queued, 0 of 0" in legacy.error
    progressing.refresh_from_db()
    assert (progressing.status, progressing.error) == (RunStatus.QUEUED, "")
    assert progressing.progressed_at == now - dt.timedelta(minutes=29)
    ready.refresh_from_db()
    assert (ready.status, ready.determinants.count()) == (RunStatus.READY, 3)
    assert _fails() == before + 2

    # twice: nothing more (and a minute later the progressing one is still inside the limit)
    errors = dict(BillingRun.objects.values_list("pk", "error"))
    assert billing_run_fail_stale(now=now + dt.timedelta(seconds=59)) == []
    assert dict(BillingRun.objects.values_list("pk", "error")) == errors
    assert _fails() == before + 2
    # past the limit, the queued run that no worker ever took fails too
    assert billing_run_fail_stale(now=now + dt.timedelta(minutes=2)) == [progressing.pk]


def test_a_stray_task_of_a_failed_run_leaves_it_failed(batch, settings):
    settings.BILLING_RUN_STALE_MINUTES = 30
    run = BillingRun.objects.create(cycle=batch[1], progressed_at=timezone.now())
    assert billing_run_fail_stale(now=timezone.now() + dt.timedelta(minutes=31)) == [run.pk]
    run = run_compute(run_id=run.pk)  # the lost task redelivered after the sweep
    assert (run.status, run.determinants.count()) == (RunStatus.FAILED, 0)
    assert "worker lost" in run.error


@pytest.mark.django_db(transaction=True)
def test_a_worker_back_on_a_run_failed_meanwhile_writes_nothing_more(batch, settings, monkeypatch):
    """The worker was only slow: while its first chunk commits, the sweep (another connection)
    fails the run. Its next chunk sees the run no longer running, is rolled back, and the
    computation stops there: nothing of it stays, and it is not reported computed."""
    settings.BILLING_RUN_STALE_MINUTES = 30
    monkeypatch.setattr(runs, "MIN_CHUNK_CONSUMERS", 1)
    monkeypatch.setattr(runs, "PROGRESS_STEPS", 3)  # a chunk a consumer
    real_insert = runs.determinants_insert
    swept: list[int] = []

    def sweep() -> None:
        try:
            swept.extend(billing_run_fail_stale(now=timezone.now() + dt.timedelta(minutes=31)))
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep)

    def insert(**kwargs):
        if sweeper.ident is None:  # first chunk: the sweep waits for its row lock, or not
            sweeper.start()
        else:  # second chunk: the sweep has decided
            sweeper.join(timeout=60)
        return real_insert(**kwargs)

    monkeypatch.setattr(runs, "determinants_insert", insert)
    run = BillingRun.objects.create(cycle=batch[1], progressed_at=timezone.now())
    computed = AuditEntry.objects.filter(action="billing.run_compute").count()
    run = run_compute(run_id=run.pk)
    assert swept == [run.pk]
    assert (run.status, run.determinants.count(), run.consumers_done) == (RunStatus.FAILED, 0, 0)
    assert "worker lost" in run.error
    assert AuditEntry.objects.filter(action="billing.run_fail", target_id=str(run.pk)).count() == 1
    assert AuditEntry.objects.filter(action="billing.run_compute").count() == computed


def test_beat_sweeps_for_lost_runs(batch, settings):
    from django_celery_beat.models import PeriodicTask

    from apps.billing.schedule import STALE_TASK, beat_schedule_ensure
    from apps.billing.tasks import runs_fail_stale

    settings.BILLING_RUN_STALE_MINUTES = 20
    beat_schedule_ensure()
    entry = PeriodicTask.objects.get(task=STALE_TASK)
    assert (entry.enabled, entry.interval.every, entry.interval.period) == (True, 300, "seconds")
    run = BillingRun.objects.create(
        cycle=batch[1], progressed_at=timezone.now() - dt.timedelta(minutes=21)
    )
    assert runs_fail_stale.apply().get() == {"failed": [run.pk]}
    assert runs_fail_stale.apply().get() == {"failed": []}
