"""Work orders survive restarts: a new process (a worker started after the one that sent the
first command) picks the order up from the database and carries it on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from apps.workflows.choices import WorkOrderState
from apps.workflows.services import work_order_start
from apps.workflows.tests.conftest import drive, run_commands

pytestmark = pytest.mark.django_db(transaction=True)

NEW_WORKER = """
import django
django.setup()
from apps.workflows.services import work_orders_due_enqueue
from apps.workflows.tasks import work_order_advance_task
for order_id in work_orders_due_enqueue():
    print(order_id, work_order_advance_task.apply(args=[order_id]).get())
"""


def _database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or "localhost"
    query = f"?host={quote(host)}" if host.startswith("/") else ""
    netloc_host = "localhost" if host.startswith("/") else host
    return (
        f"postgresql://{quote(db['USER'])}:{quote(db['PASSWORD'])}@{netloc_host}:"
        f"{db['PORT'] or 5432}/{quote(db['NAME'])}{query}"
    )


def test_a_new_worker_process_carries_the_order_on(wf_env, make_user):
    env = wf_env(code="wfx", meters=1)
    order = work_order_start(
        actor=make_user("Operator"), procedure="cp3", consumer=env.consumers[0]
    )
    run_commands([env.mdc.pk])  # the disconnect reaches level 5; this process then "stops"
    assert order.steps.get(key="reading").command_request is None
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", NEW_WORKER],
        cwd=root,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mdm.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(order.pk), WorkOrderState.WAITING]
    # The new process judged the disconnect and sent the reading with the starter's authority.
    order.refresh_from_db()
    assert order.current_step == "reading"
    reading = order.steps.get(key="reading")
    assert reading.command_request.requested_by == order.started_by
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason


BILLING_WORKER = """
import sys
import django
django.setup()
from apps.billing.tasks import compute_run
from apps.workflows.services import work_orders_due_enqueue
from apps.workflows.tasks import work_order_advance_task
print(compute_run.apply(args=[int(sys.argv[1])]).get())
for order_id in work_orders_due_enqueue():
    print(order_id, work_order_advance_task.apply(args=[order_id]).get())
"""


def test_a_billing_order_waits_across_a_restart_for_its_run(wf_env, make_user):
    """CP10: the web process that started the order "stops" before any worker ran; a new
    process computes the run from its id and moves the order on from the database."""
    import datetime as dt

    from django.utils import timezone

    from apps.billing.models import BillingAccount, ReadingCycle
    from apps.workflows.tests.test_billing_procedures import _cycle_with_readings

    env = wf_env(code="wfxb", meters=1)
    cycle = _cycle_with_readings(env, batch="12")
    assert BillingAccount.objects.filter(reading_batch="12").count() == 1
    assert ReadingCycle.objects.filter(cutoff__lt=timezone.now() - dt.timedelta(days=1))
    order = work_order_start(actor=make_user("Revenue Officer"), procedure="cp10", cycle=cycle)
    assert order.state == WorkOrderState.WAITING
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", BILLING_WORKER, str(order.billing_run_id)],
        cwd=root,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mdm.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", str(order.pk), WorkOrderState.OPEN]
    order.refresh_from_db()
    assert order.current_step == "review_exceptions"
    assert order.steps.get(key="run_determinants").result["determinants"] == 1
