"""CP10 when the worker computing its billing run is killed (SIGKILL: the hard time limit, the
OOM killer, a restart): beat's stale sweep fails the run, none of its determinants stay, the
order stops on it showing why and offers to try again, and the retry bills as by hand.

The worker is another process, computing a consumer per chunk. Once it has committed a chunk,
the test takes the run's row lock: the worker's next chunk writes its determinants, then waits
for the lock to record its progress, and is killed there, inside the chunk's transaction (Django
defers foreign key checks to the commit, so a lock on a consumer would stop it too late)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.billing.choices import RunStatus
from apps.billing.models import BillingAccount, ReadingCycle
from apps.billing.services.runs import billing_run_fail_stale
from apps.billing.tasks import compute_run
from apps.registry.tests.factories import (
    ConsumerFactory,
    MdcFactory,
    MeterFactory,
    TransformerFactory,
)
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load
from apps.workflows.choices import StepState, WorkOrderState
from apps.workflows.services import work_order_start
from apps.workflows.tests.test_billing_procedures import _tick
from apps.workflows.tests.test_restart import _database_url

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMERS = 120  # as many chunks: the first commits long before the last

# A worker process computing one consumer per chunk (as a large batch's run, only sooner).
SLOW_WORKER = """
import sys
import django
django.setup()
from apps.billing.services import runs
runs.MIN_CHUNK_CONSUMERS, runs.PROGRESS_STEPS = 1, 10**6
from apps.billing.tasks import compute_run
print(compute_run.apply(args=[int(sys.argv[1])]).get())
"""


def _batch(batch: str) -> tuple[ReadingCycle, dict[str, Decimal]]:
    """Consumers of ``batch`` read at the previous and the present cycle; their hand units."""
    mdc = MdcFactory(energy_register_max=Decimal("100000"))
    now = timezone.now()
    units = {}
    transformer = TransformerFactory()
    rows = []
    for n in range(CONSUMERS):
        consumer = ConsumerFactory()
        meter = MeterFactory(mdc=mdc, consumer=consumer, transformer=transformer)
        BillingAccount.objects.create(consumer=consumer, reading_batch=batch)
        previous, present = Decimal("1000.000") + n, Decimal("1000.000") + n + Decimal(n * 7 + 1)
        rows += [
            _billing_row(meter, now - dt.timedelta(days=31), previous),
            _billing_row(meter, now - dt.timedelta(hours=2), present),
        ]
        units[consumer.reference_no] = present - previous  # multiplying factor 1
    result = rows_load(dataset_code="billing", mdc_id=mdc.pk, raw_rows=rows, source="test")
    assert not getattr(result, "quarantined", 0), result
    ReadingCycle.objects.create(
        batch=batch,
        reading_date=timezone.localdate() - dt.timedelta(days=30),
        cutoff=now - dt.timedelta(days=30),
    )
    cycle = ReadingCycle.objects.create(
        batch=batch, reading_date=timezone.localdate(), cutoff=now - dt.timedelta(hours=1)
    )
    return cycle, units


def _billing_row(meter, when: dt.datetime, kwh: Decimal) -> dict:
    """A BILLING_DATA row of total imported kWh ``kwh`` (as apps.billing.tests.conftest's)."""
    text = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S")
    row = DATASETS["billing"].encode_row({})
    row.update(
        msn=str(meter.msn),
        global_device_id=meter.global_device_id,
        meter_datetime=text,
        mdc_read_datetime=text,
        db_datetime=text,
        active_energy_pos_tl=f"{kwh:.3f}",
    )
    return row


def _until(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _progress_locked(run_id: int) -> tuple[str, int]:
    """The run's status and chunks' progress, its row locked until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, consumers_done FROM billing_billingrun WHERE id = %s FOR UPDATE",
            [run_id],
        )
        return cursor.fetchone()


@contextmanager
def _locked_once_a_chunk_is_committed(run_id: int, worker: subprocess.Popen):
    """(status, consumers computed), the run's row locked until the block ends: the worker
    cannot record another chunk meanwhile."""
    deadline = time.monotonic() + 120
    while True:
        with transaction.atomic():
            status, committed = _progress_locked(run_id)
            if committed:
                yield status, committed
                return
        assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()
        time.sleep(0.01)


def _worker_waits_for_the_run() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else frozen for the transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE \"billing\\_billingrun\"%%'"
        )
        return cursor.fetchone()[0] == 1


def test_cp10_run_whose_worker_is_killed_fails_as_stale_and_is_tried_again(
    make_user, settings, client
):
    from mdm.celery import app

    settings.BILLING_RUN_STALE_MINUTES = 1
    cycle, units = _batch("14")
    revenue = make_user("Revenue Officer")
    order = work_order_start(actor=revenue, procedure="cp10", cycle=cycle)
    assert order.state == WorkOrderState.WAITING
    run = order.billing_run
    worker = subprocess.Popen(
        [sys.executable, "-c", SLOW_WORKER, str(run.pk)],
        cwd=Path(__file__).resolve().parents[3],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mdm.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": django_settings.REDIS_URL,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with _locked_once_a_chunk_is_committed(run.pk, worker) as (status, committed):
            assert (status, 0 < committed < CONSUMERS) == (RunStatus.RUNNING, True)
            _until(_worker_waits_for_the_run, "the worker's next chunk to wait for the lock")
            assert worker.poll() is None, worker.communicate()
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL

    # killed mid-run: its committed chunks stay, and nothing will ever move it on
    run.refresh_from_db()
    assert (run.status, run.consumers_done) == (RunStatus.RUNNING, committed)
    assert run.determinants.count() == committed  # the killed chunk's rows rolled back
    assert billing_run_fail_stale() == []  # its heartbeat is not a minute old yet
    assert _tick() == []
    stale_at = run.progressed_at + dt.timedelta(minutes=1, seconds=1)
    assert billing_run_fail_stale(now=stale_at) == [run.pk]
    assert billing_run_fail_stale(now=stale_at) == []  # a second sweep: nothing more

    run.refresh_from_db()
    since = timezone.localtime(run.progressed_at)
    assert run.status == RunStatus.FAILED
    assert run.error == (
        f"no progress since {since:%Y-%m-%d %H:%M:%S} PKT (worker lost); running, {committed} "
        f"of {CONSUMERS} consumers computed"
    )
    assert (run.determinants.count(), run.consumers_done) == (0, 0)
    assert AuditEntry.objects.filter(action="billing.run_fail", target_id=str(run.pk)).count() == 1

    # the order stops on the run, says why, and offers to try again
    assert _tick() == [order.pk]
    order.refresh_from_db()
    assert (order.state, order.current_step) == (WorkOrderState.STOPPED, "run_determinants")
    assert order.reason.endswith(f"billing run #{run.pk} failed: {run.error}")
    step = order.steps.get(key="run_determinants")
    assert (step.state, step.performed_by) == (StepState.FAILED, revenue)
    client.force_login(revenue)
    page = client.get(reverse("workflows:order-detail", args=[order.pk])).content.decode()
    assert "(worker lost)" in page and f"billing run #{run.pk} failed" in page
    assert "Try again: " in page

    # tried again from the page: a new run, computed by a worker, billed as by hand
    retry = client.post(
        reverse("workflows:order-action", args=[order.pk, "perform"]), {"note": "worker back"}
    )
    assert retry.status_code == 302
    app.control.purge()  # the new run's task, enqueued on commit: computed here instead
    order.refresh_from_db()
    assert order.state == WorkOrderState.WAITING, order.reason
    retried = order.billing_run
    assert retried.pk != run.pk and retried.status == RunStatus.QUEUED
    assert compute_run.apply(args=[retried.pk]).get() == CONSUMERS
    assert _tick() == [order.pk]
    order.refresh_from_db()
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "review_exceptions")
    step = order.steps.get(key="run_determinants")
    assert (step.state, step.attempts, step.reason) == (StepState.DONE, 2, "")
    assert dict(retried.determinants.values_list("reference_no", "units_total")) == units
    run.refresh_from_db()
    assert (run.status, run.determinants.count()) == (RunStatus.FAILED, 0)
