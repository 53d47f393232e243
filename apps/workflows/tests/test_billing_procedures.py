"""CP10 billing as a work order (start by the Revenue Office, determinants computed by a worker,
exceptions reviewed, approval by the Billing Control Section only, lock, export), and CP6's
reading used as the consumer's cycle reading, end to end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.billing.choices import RunStatus
from apps.billing.models import BillingAccount, CycleReading, ReadingCycle
from apps.billing.tasks import compute_run
from apps.billing.tests.conftest import reading
from apps.workflows.choices import StepState, WorkOrderState
from apps.workflows.services import (
    work_order_start,
    work_order_step_approve,
    work_order_step_perform,
    work_orders_due_enqueue,
)
from apps.workflows.tasks import work_order_advance_task
from apps.workflows.tests.conftest import drive

pytestmark = pytest.mark.django_db(transaction=True)


def _tick() -> list[int]:
    due = work_orders_due_enqueue()
    for order_id in due:
        work_order_advance_task.apply(args=[order_id]).get()
    return due


def _cycle_with_readings(env, batch: str = "10") -> ReadingCycle:
    """Batch ``batch``: the first consumer read twice inside the cycle, the second never."""
    now = timezone.now()
    for consumer in env.consumers:
        BillingAccount.objects.create(consumer=consumer, reading_batch=batch)
    ReadingCycle.objects.create(
        batch=batch,
        reading_date=timezone.localdate() - dt.timedelta(days=30),
        cutoff=now - dt.timedelta(days=30),
    )
    reading(env.meters[0], now - dt.timedelta(days=31), tl="1000.000")
    reading(env.meters[0], now - dt.timedelta(hours=2), tl="1250.500")
    return ReadingCycle.objects.create(
        batch=batch, reading_date=timezone.localdate(), cutoff=now - dt.timedelta(hours=1)
    )


def test_cp10_billing_run_as_a_work_order(wf_env, make_user, settings, tmp_path, client):
    settings.BILLING_DROP_DIR = str(tmp_path / "drop")
    env = wf_env(code="wf10", meters=2)
    cycle = _cycle_with_readings(env)
    with pytest.raises(PermissionDenied):  # CP10 is the Revenue Office's
        work_order_start(actor=make_user("Operator"), procedure="cp10", cycle=cycle)
    with pytest.raises(ValidationError):  # for a cycle, not a consumer
        work_order_start(
            actor=make_user("Revenue Officer"), procedure="cp10", consumer=env.consumers[0]
        )
    revenue = make_user("Revenue Officer")
    order = work_order_start(actor=revenue, procedure="cp10", cycle=cycle, note="December")
    assert (order.state, order.current_step) == (WorkOrderState.WAITING, "run_determinants")
    run = order.billing_run
    assert (run.cycle_id, run.status, run.started_by) == (cycle.pk, RunStatus.QUEUED, revenue)
    assert _tick() == []  # nothing moves while the run is computed
    compute_run.apply(args=[run.pk]).get()  # a worker computes the run
    assert _tick() == [order.pk]
    order.refresh_from_db()
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "review_exceptions")
    computed = order.steps.get(key="run_determinants").result
    assert computed["determinants"] == 2
    assert computed["exceptions"]["NO_READING"] == 1  # the consumer never read
    # exceptions reviewed by the Revenue Office; approval by the Billing Control Section only
    with pytest.raises(PermissionDenied):
        work_order_step_perform(actor=make_user("Operator"), order=order)
    order = work_order_step_perform(actor=revenue, order=order, note="1 unread: estimate")
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "bcs_approve")
    for role in ("Revenue Officer", "SDO", "Operator", "Viewer"):
        with pytest.raises(PermissionDenied):
            work_order_step_approve(actor=make_user(role), order=order)
    bcs = make_user("Billing Control Section")
    order = work_order_step_approve(actor=bcs, order=order, note="checked")
    assert order.state == WorkOrderState.COMPLETED, order.reason
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.APPROVED, bcs)
    det = run.determinants.get(consumer=env.consumers[0])
    assert det.units_total == Decimal("250.500")
    exported = order.steps.get(key="export").result["exports"]
    assert {e["format"] for e in exported} == {"csv", "fixed"}
    for e in exported:
        assert (tmp_path / "drop" / e["path"].rsplit("/", 1)[-1]).exists()
        assert len(e["sha256"]) == 64 and e["rows"] == 2
    # The list and the order's page show it; a second CP10 of the approved cycle is refused
    # by billing and stops with billing's reason.
    client.force_login(revenue)
    page = client.get(order.get_absolute_url()).content.decode()
    assert f"run #{run.pk}" in page and "Reading cycle" in page
    assert client.get("/workflows/").status_code == 200
    again = work_order_start(actor=revenue, procedure="cp10", cycle=cycle)
    assert again.state == WorkOrderState.STOPPED
    assert "already has an approved run" in again.reason


def test_cp10_started_through_the_api(wf_env, make_user, client):
    env = wf_env(code="wf10a", meters=1)
    cycle = _cycle_with_readings(env, batch="11")
    client.force_login(make_user("Revenue Officer"))
    response = client.post(
        "/api/workflows/orders/",
        {"procedure": "cp10", "cycle": cycle.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["consumer"], body["cycle"], body["state"]) == (None, cycle.pk, "waiting")
    assert body["billing_run"]
    missing = client.post(
        "/api/workflows/orders/",
        {"procedure": "cp10", "cycle": 99999},
        content_type="application/json",
    )
    assert missing.status_code == 400 and "No reading cycle" in missing.content.decode()
    no_cycle = client.post(
        "/api/workflows/orders/", {"procedure": "cp10"}, content_type="application/json"
    )
    assert no_cycle.status_code == 400 and "reading cycle" in no_cycle.content.decode()


def test_cp6_reading_used_as_the_cycle_reading(wf_env, make_user):
    from apps.billing.models import BillingRun
    from apps.billing.services.runs import run_compute
    from apps.warehouse.models import BillingReading

    env = wf_env(code="wf6c", meters=2, days=3)
    operator = make_user("Operator")
    with pytest.raises(ValidationError) as unknown:
        work_order_start(
            actor=operator, procedure="cp6", consumer=env.consumers[0], options={"bogus": True}
        )
    assert "has no option bogus" in str(unknown.value)
    for consumer in env.consumers:
        BillingAccount.objects.create(consumer=consumer, reading_batch="06")
    # The cycle's cut-off was before the newest reading: billing would take an older one.
    cycle = ReadingCycle.objects.create(
        batch="06",
        reading_date=timezone.localdate(),
        cutoff=timezone.now() - dt.timedelta(hours=20),
    )
    asked = work_order_start(
        actor=operator,
        procedure="cp6",
        consumer=env.consumers[0],
        options={"cycle_reading": True},
    )
    plain = work_order_start(actor=operator, procedure="cp6", consumer=env.consumers[1])
    drive(asked, plain)
    assert asked.state == plain.state == WorkOrderState.COMPLETED, (asked.reason, plain.reason)
    read = asked.steps.get(key="reading").result
    at = dt.datetime.fromisoformat(read["meter_datetime"])
    assert asked.steps.get(key="cycle_reading").result["cycle_id"] == cycle.pk
    assert plain.steps.get(key="cycle_reading").result == {"asked": False}
    chosen = CycleReading.objects.get()
    assert (chosen.cycle, chosen.meter, chosen.meter_datetime) == (cycle, env.meters[0], at)
    run = run_compute(run_id=BillingRun.objects.create(cycle=cycle).pk)
    det = run.determinants.get(consumer=env.consumers[0])
    assert (det.present_datetime, det.present_total) == (at, Decimal(read["active_energy_pos_tl"]))
    other = run.determinants.get(consumer=env.consumers[1])
    newest_before_cutoff = (
        BillingReading.objects.filter(
            global_device_id=env.meters[1].global_device_id, meter_datetime__lte=cycle.cutoff
        )
        .order_by("-meter_datetime")
        .values_list("meter_datetime", flat=True)
        .first()
    )
    assert other.present_datetime == newest_before_cutoff  # not asked: the cut-off rules
    assert asked.steps.get(key="cycle_reading").state == StepState.DONE


def test_cp10_failed_run_stops_the_order_until_tried_again(wf_env, make_user, monkeypatch):
    """A run whose determinants cannot be computed (a CT ratio typed with too many digits
    overflows the units) fails in the worker: the order stops at the billing step saying why,
    whose run it was and when, goes no further, keeps none of the run's determinants (the
    chunk computed before the failing one included), and runs anew once the cause is fixed."""
    from apps.audit.models import AuditEntry
    from apps.billing.models import MeterFactor
    from apps.billing.services import runs

    monkeypatch.setattr(runs, "MIN_CHUNK_CONSUMERS", 1)  # a chunk a consumer: the first commits
    env = wf_env(code="wf10f", meters=2)
    cycle = _cycle_with_readings(env, batch="12")
    now = timezone.now()
    reading(env.meters[1], now - dt.timedelta(days=31), tl="1.000")
    reading(env.meters[1], now - dt.timedelta(hours=2), tl="900000000.000")
    MeterFactor.objects.create(meter=env.meters[1], multiplying_factor=Decimal("9999999.999"))
    assert env.consumers[0].pk < env.consumers[1].pk  # the failing consumer's chunk is second
    revenue = make_user("Revenue Officer")
    order = work_order_start(actor=revenue, procedure="cp10", cycle=cycle)
    failed = order.billing_run
    assert compute_run.apply(args=[failed.pk]).failed()  # the worker's task raises
    failed.refresh_from_db()
    assert failed.status == RunStatus.FAILED and "overflow" in failed.error
    assert (failed.determinants.count(), failed.consumers_done) == (0, 0)  # nothing half-written
    assert AuditEntry.objects.filter(action="billing.run_fail", target_id=str(failed.pk)).exists()
    assert _tick() == [order.pk]
    order.refresh_from_db()
    step = order.steps.get(key="run_determinants")
    assert (order.state, order.current_step) == (WorkOrderState.STOPPED, "run_determinants")
    assert f"billing run #{failed.pk} failed" in order.reason and "overflow" in order.reason
    assert step.state == StepState.FAILED and "overflow" in step.reason
    assert (step.performed_by, step.performed_by_name) == (revenue, revenue.get_username())
    assert step.finished_at is not None
    assert AuditEntry.objects.filter(
        action="workflows.order.stop", target_id=str(order.pk)
    ).exists()
    # it goes no further: no review, no approval, and the beat leaves a stopped order alone
    assert order.steps.get(key="review_exceptions").state == StepState.PENDING
    with pytest.raises(ValidationError):
        work_order_step_approve(actor=make_user("Billing Control Section"), order=order)
    assert _tick() == []
    # the cause fixed, another Revenue Officer tries again: a new run, started as them
    MeterFactor.objects.filter(meter=env.meters[1]).update(multiplying_factor=Decimal(1))
    other = make_user("Revenue Officer")
    order = work_order_step_perform(actor=other, order=order, note="CT ratio corrected")
    assert order.state == WorkOrderState.WAITING, order.reason
    retried = order.billing_run
    assert retried.pk != failed.pk and retried.started_by == other
    compute_run.apply(args=[retried.pk]).get()
    assert _tick() == [order.pk]
    order.refresh_from_db()
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "review_exceptions")
    step = order.steps.get(key="run_determinants")
    assert (step.state, step.attempts, step.reason) == (StepState.DONE, 2, "")
    assert step.performed_by == other
    assert retried.determinants.get(consumer=env.consumers[1]).units_total == Decimal(
        "899999999.000"
    )
    failed.refresh_from_db()
    assert (failed.status, failed.determinants.count()) == (RunStatus.FAILED, 0)
