"""Each CP end to end against the simulator: commands to level 5, readings, registry effects,
approvals by the right role only, refused and timed-out commands stopping the order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.commands.models import CommandDevice, CommandTransaction
from apps.workflows.choices import StepState, WorkOrderState
from apps.workflows.services import (
    work_order_start,
    work_order_step_approve,
    work_order_step_perform,
)
from apps.workflows.tests.conftest import drive

pytestmark = pytest.mark.django_db(transaction=True)


def states(order) -> dict[str, str]:
    return dict(order.steps.order_by("position").values_list("key", "state"))


def test_cp3_then_cp5_end_to_end(wf_env, make_user):
    env = wf_env(code="wf3", meters=2)
    operator = make_user("Operator")
    consumer, meter = env.consumers[0], env.meters[0]
    with pytest.raises(ValidationError) as refused:  # nothing to reconnect yet
        work_order_start(actor=operator, procedure="cp5", consumer=consumer)
    assert "starts from a consumer disconnected" in str(refused.value)
    order = work_order_start(actor=operator, procedure="cp3", consumer=consumer)
    assert order.state == WorkOrderState.WAITING
    assert order.current_step == "disconnect"
    assert order.subdivision.code == "SD1"
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason
    assert set(states(order).values()) == {StepState.DONE}
    disconnect, reading = order.steps.get(key="disconnect"), order.steps.get(key="reading")
    assert CommandDevice.objects.get(request=disconnect.command_request).status_level == 5
    assert disconnect.command_request.requested_by == operator
    assert reading.result["active_energy_pos_tl"]  # the reading at disconnection, shown
    assert Decimal(reading.result["active_energy_pos_tl"]) > 0
    assert reading.result["meter_datetime"].endswith("+05:00")
    meter.refresh_from_db()
    consumer.refresh_from_db()
    assert (meter.relay_state, consumer.connection_status) == ("disconnected", "disconnected")
    assert env.sim_meter(meter).relay_state == 0
    # The other consumer's meter was never touched.
    assert env.sim_meter(env.meters[1]).relay_state == 1
    actions = set(
        AuditEntry.objects.filter(target_id=str(order.pk)).values_list("action", flat=True)
    )
    assert {"workflows.order.start", "workflows.order.complete"} <= actions

    again = work_order_start(actor=operator, procedure="cp5", consumer=consumer, note="paid")
    drive(again)
    assert again.state == WorkOrderState.COMPLETED, again.reason
    meter.refresh_from_db()
    consumer.refresh_from_db()
    assert (meter.relay_state, consumer.connection_status) == ("connected", "active")
    assert env.sim_meter(meter).relay_state == 1


def test_cp13_needs_the_sdo_and_only_the_sdo_and_cp15_the_arrears_paid(wf_env, make_user):
    env = wf_env(code="wf13", meters=1)
    revenue = make_user("Revenue Officer")
    with pytest.raises(PermissionDenied):  # Operators start subdivision CPs, not CP13
        work_order_start(actor=make_user("Operator"), procedure="cp13", consumer=env.consumers[0])
    order = work_order_start(actor=revenue, procedure="cp13", consumer=env.consumers[0])
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "sdo_execute")
    assert not CommandTransaction.objects.exists()  # nothing sent before the SDO's order
    for role in ("Viewer", "Operator", "Revenue Officer", "Billing Control Section"):
        with pytest.raises(PermissionDenied):
            work_order_step_approve(actor=make_user(role), order=order)
    sdo = make_user("SDO")
    order = work_order_step_approve(actor=sdo, order=order, note="field team sent")
    assert order.state == WorkOrderState.WAITING
    step = order.steps.get(key="sdo_execute")
    assert (step.performed_by, step.reason) == (sdo, "field team sent")
    # The commands go with the SDO's authority (two-person rule counts against the SDO).
    assert order.steps.get(key="disconnect").command_request.requested_by == sdo
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason
    env.consumers[0].refresh_from_db()
    assert env.consumers[0].connection_status == "disconnected"
    # (in the same test: one live server and database flush fewer)
    _cp15_checks_the_mirror_arrears(wf_env, make_user)


def test_refused_or_timed_out_command_stops_the_order(wf_env, make_user, monkeypatch):
    from apps.simulator.models import SimMeter

    env = wf_env(code="wfr", meters=1)
    SimMeter.objects.filter(mdc=env.sim).update(has_relay=False)
    order = work_order_start(
        actor=make_user("Operator"), procedure="cp3", consumer=env.consumers[0]
    )
    drive(order)
    assert order.state == WorkOrderState.STOPPED
    assert "Relay disconnect: command #" in order.reason
    assert "has no relay connected to it" in order.reason
    assert states(order)["disconnect"] == StepState.FAILED
    assert states(order)["reading"] == StepState.PENDING
    env.consumers[0].refresh_from_db()
    assert env.consumers[0].connection_status == "active"  # nothing claimed that did not happen
    # Running the engine again changes nothing (safe to run twice).
    drive(order)
    assert order.state == WorkOrderState.STOPPED
    # Once the meter has its relay back, a person tries again and the order finishes.
    SimMeter.objects.filter(mdc=env.sim).update(has_relay=True)
    with pytest.raises(PermissionDenied):
        work_order_step_perform(actor=make_user("Viewer"), order=order)
    order = work_order_step_perform(actor=make_user("SDO"), order=order)
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason
    assert order.steps.get(key="disconnect").attempts == 2
    # (in the same test: one live server and database flush fewer)
    _timed_out_command_stops_the_order(wf_env, make_user, monkeypatch)


def _timed_out_command_stops_the_order(wf_env, make_user, monkeypatch):
    monkeypatch.setattr(settings, "COMMAND_TIMEOUT_MINUTES", 5)
    env = wf_env(code="wft", meters=1, command_pace_seconds=3600)
    order = work_order_start(
        actor=make_user("Operator"), procedure="cp6", consumer=env.consumers[0]
    )
    drive(order)
    assert order.state == WorkOrderState.WAITING  # the MDC has not finished: still waiting
    CommandTransaction.objects.update(sent_at=timezone.now() - dt.timedelta(minutes=6))
    drive(order)
    assert order.state == WorkOrderState.STOPPED
    assert "timed out: No final status from the MDC within 5 minutes." in order.reason


def test_cp6_reading_for_several_mdcs_in_bulk(wf_env, make_user):
    from apps.workflows.models import WorkOrder
    from apps.workflows.services import work_orders_bulk_start

    a = wf_env(code="wf6a", meters=2, subdivision="SD6")
    b = wf_env(code="wf6b", meters=1, subdivision="SD6")
    operator = make_user("Operator")
    result = work_orders_bulk_start(
        actor=operator, procedure="cp6", consumers=[*a.consumers, *b.consumers]
    )
    assert len(result["started"]) == 3 and result["refused"] == []
    # Started twice: each consumer already has its order open, nothing is started again.
    again = work_orders_bulk_start(actor=operator, procedure="cp6", consumers=a.consumers)
    assert again["started"] == [] and len(again["refused"]) == 2
    orders = list(WorkOrder.objects.filter(pk__in=result["started"]).order_by("pk"))
    drive(*orders)
    for order in orders:
        assert order.state == WorkOrderState.COMPLETED, order.reason
        assert order.steps.get(key="reading").result["active_energy_pos_tl"]


def test_cp4_permanent_disconnection(wf_env, make_user):
    from apps.billing.choices import RunKind, RunStatus
    from apps.billing.models import BillingAccount, ReadingCycle
    from apps.warehouse.models import BillingReading

    env = wf_env(code="wf4", meters=1, days=3)
    consumer, meter = env.consumers[0], env.meters[0]
    order = work_order_start(actor=make_user("Operator"), procedure="cp4", consumer=consumer)
    with pytest.raises(PermissionDenied):
        work_order_step_approve(actor=make_user("Operator"), order=order)
    order = work_order_step_approve(actor=make_user("SDO"), order=order)
    drive(order)
    # The final determinant is computed from the final reading: without a billing account
    # there is nothing to bill into, and the order says so.
    assert (order.state, order.current_step) == (WorkOrderState.STOPPED, "final_determinant")
    assert "has no billing account (reading batch)" in order.reason
    final = order.steps.get(key="final_reading").result
    at = dt.datetime.fromisoformat(final["meter_datetime"])
    earlier = (
        BillingReading.objects.filter(
            global_device_id=meter.global_device_id, meter_datetime__lt=at
        )
        .order_by("-meter_datetime")
        .first()
    )
    assert earlier is not None  # the final read's window brought the day before too
    BillingAccount.objects.create(consumer=consumer, reading_batch="04")
    ReadingCycle.objects.create(
        batch="04", reading_date=timezone.localtime(at).date(), cutoff=at - dt.timedelta(hours=1)
    )
    with pytest.raises(PermissionDenied):  # the order's step is the subdivision's to retry
        work_order_step_perform(actor=make_user("Viewer"), order=order)
    order = work_order_step_perform(actor=make_user("SDO"), order=order, note="account added")
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason
    run = order.billing_run
    assert (run.kind, run.status, run.consumer_id, run.cutoff) == (
        RunKind.FINAL,
        RunStatus.READY,
        consumer.pk,
        at,
    )
    det = run.determinants.get()
    assert det.present_datetime == at
    assert det.present_total == Decimal(final["active_energy_pos_tl"])
    assert det.previous_datetime == earlier.meter_datetime
    assert det.units_total == det.present_total - earlier.active_energy_pos_tl > 0
    result = order.steps.get(key="final_determinant").result
    assert (result["billing_run"], result["units_total"]) == (run.pk, str(det.units_total))
    meter.refresh_from_db()
    consumer.refresh_from_db()
    assert (meter.relay_state, meter.activation_status, meter.consumer_id) == (
        "disconnected",
        0,
        None,
    )
    assert consumer.connection_status == "closed"
    assert env.sim_meter(meter).activation_status == 0


def _cp15_checks_the_mirror_arrears(wf_env, make_user):
    from apps.billing.models import MirrorBill
    from apps.registry.models import Consumer

    env = wf_env(code="wf15", meters=1)
    consumer = env.consumers[0]
    Consumer.objects.filter(pk=consumer.pk).update(connection_status="disconnected")
    consumer.refresh_from_db()
    bill = MirrorBill.objects.create(
        consumer=consumer,
        month=dt.date(2026, 10, 1),
        billed_units=Decimal("120.000"),
        bill_amount=Decimal("4000.00"),
        due_date=dt.date(2026, 10, 20),
        arrears=Decimal("6500.00"),
    )
    revenue = make_user("Revenue Officer")
    order = work_order_start(actor=revenue, procedure="cp15", consumer=consumer)
    assert order.state == WorkOrderState.STOPPED
    assert "Arrears of Rs 6500.00 outstanding on the 2026-10 bill" in order.reason
    bill.arrears = Decimal(0)
    bill.save()
    order = work_order_step_perform(actor=revenue, order=order, note="paid at the bank")
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "sdo_execute")
    order = work_order_step_approve(actor=make_user("SDO"), order=order)
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason


def _cp2_new_connection_end_to_end(wf_env, make_user):
    from apps.billing.models import BillingAccount, ReadingCycle
    from apps.registry.models import Consumer, Meter
    from apps.simulator.models import SimMeter

    env = wf_env(code="wf2", meters=1)
    consumer = Consumer.objects.create(
        reference_no="NEW-1", name="New house", connection_status="pending"
    )
    meter = Meter.objects.create(
        global_device_id="m77000001", msn=4077000001, mdc=env.mdc, consumer=consumer
    )
    operator = make_user("Operator")
    order = work_order_start(actor=operator, procedure="cp2", consumer=consumer)
    drive(order)
    # The first reading cycle is its neighbours' batch: a meter placed nowhere has none.
    assert (order.state, order.current_step) == (WorkOrderState.STOPPED, "first_cycle")
    assert "No reading batch for NEW-1" in order.reason
    created = SimMeter.objects.get(mdc=env.sim, global_device_id="m77000001")
    assert (created.msn, created.activation_status, created.relay_state) == (4077000001, 1, 1)
    consumer.refresh_from_db()
    meter.refresh_from_db()
    assert consumer.connection_status == "active"
    assert (meter.activation_status, meter.relay_state) == (1, "connected")
    assert meter.device_settings["mdc_registration"]["value"]
    # Placed on the transformer of a consumer read in batch 07, it is read in batch 07 too.
    Meter.objects.filter(pk=meter.pk).update(transformer=env.meters[0].transformer)
    BillingAccount.objects.create(consumer=env.consumers[0], reading_batch="07")
    upcoming = ReadingCycle.objects.create(
        batch="07",
        reading_date=timezone.localdate() + dt.timedelta(days=5),
        cutoff=timezone.now() + dt.timedelta(days=5),
    )
    with pytest.raises(PermissionDenied):
        work_order_step_perform(actor=make_user("Viewer"), order=order)
    order = work_order_step_perform(actor=operator, order=order, note="placed on T")
    assert order.state == WorkOrderState.COMPLETED, order.reason
    assert order.steps.get(key="first_cycle").result == {
        "batch": "07",
        "first_cycle": upcoming.reading_date.isoformat(),
    }
    assert BillingAccount.objects.get(consumer=consumer).reading_batch == "07"


def test_cp9_meter_change_and_cp2_new_connection(wf_env, make_user):
    from apps.registry.models import Meter
    from apps.simulator.models import SimMeter

    env = wf_env(code="wf9", meters=1, days=3)
    consumer, old = env.consumers[0], env.meters[0]
    new = Meter.objects.create(global_device_id="m77000009", msn=4077000009, mdc=env.mdc)
    operator = make_user("Operator")
    with pytest.raises(ValidationError):  # a meter change names the new meter
        work_order_start(actor=operator, procedure="cp9", consumer=consumer)
    order = work_order_start(actor=operator, procedure="cp9", consumer=consumer, new_meter=new)
    drive(order)
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "bcs_approve"), order.reason
    final = order.steps.get(key="final_reading").result
    assert final["meter"] == old.global_device_id and final["active_energy_pos_tl"]
    assert order.steps.get(key="initial_reading").result["meter"] == new.global_device_id
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.consumer_id, old.activation_status) == (None, 0)
    assert (new.consumer_id, new.activation_status, new.transformer_id) == (
        consumer.pk,
        1,
        old.transformer_id,
    )
    assert SimMeter.objects.get(mdc=env.sim, global_device_id=new.global_device_id).msn == (
        4077000009
    )
    for role in ("SDO", "Revenue Officer", "Operator"):
        with pytest.raises(PermissionDenied):
            work_order_step_approve(actor=make_user(role), order=order)
    order = work_order_step_approve(actor=make_user("Billing Control Section"), order=order)
    assert order.state == WorkOrderState.COMPLETED
    _billing_continuity_across_both_meters(order, old, new)
    # (in the same test: one live server and database flush fewer)
    _cp2_new_connection_end_to_end(wf_env, make_user)


def _billing_continuity_across_both_meters(order, old, new):
    """The cycle spanning the change bills the old meter up to its final reading and the new
    one from its initial reading, for the same consumer."""
    import time

    from apps.billing.models import BillingAccount, MeterChange, ReadingCycle
    from apps.billing.services.runs import run_compute
    from apps.billing.tests.conftest import reading
    from apps.warehouse.models import BillingReading

    change = MeterChange.objects.get(consumer=order.consumer)
    assert (change.old_meter_id, change.new_meter_id, change.work_order_id) == (
        old.pk,
        new.pk,
        order.pk,
    )
    final_at = dt.datetime.fromisoformat(
        order.steps.get(key="final_reading").result["meter_datetime"]
    )
    assert change.final_reading_at == final_at
    old_rows = list(
        BillingReading.objects.filter(global_device_id=old.global_device_id).order_by(
            "meter_datetime"
        )
    )
    last = old_rows[-1]
    assert len(old_rows) >= 2 and last.meter_datetime == final_at
    # The new meter's readings after its initial one (what later pulls bring).
    first_new = change.initial_reading_at.replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep(max(0.0, (first_new + dt.timedelta(seconds=1) - timezone.now()).total_seconds()))
    # (a new meter the simulator had read at its initial reading starts from that reading)
    initial = (
        BillingReading.objects.filter(global_device_id=new.global_device_id)
        .order_by("-meter_datetime")
        .values_list("active_energy_pos_tl", flat=True)
        .first()
    )
    base = initial if initial is not None else Decimal(0)
    reading(new, first_new, tl=base + 100)
    reading(new, first_new + dt.timedelta(seconds=1), tl=base + Decimal("112.5"))
    new_units = Decimal("12.5") if initial is None else Decimal("112.5")
    BillingAccount.objects.create(consumer=order.consumer, reading_batch="09")
    ReadingCycle.objects.create(
        batch="09",
        reading_date=timezone.localdate() - dt.timedelta(days=40),
        cutoff=old_rows[0].meter_datetime - dt.timedelta(days=40),
    )
    spanning = ReadingCycle.objects.create(
        batch="09",
        reading_date=timezone.localdate(),
        cutoff=timezone.now() + dt.timedelta(minutes=5),
    )
    from apps.billing.models import BillingRun

    run = run_compute(run_id=BillingRun.objects.create(cycle=spanning).pk)
    det = run.determinants.get(consumer=order.consumer)
    old_units = last.active_energy_pos_tl - old_rows[0].active_energy_pos_tl
    assert det.units_total == old_units + new_units, (det.units_total, old_units, new_units)
    assert (det.global_device_id, det.old_global_device_id) == (
        new.global_device_id,
        old.global_device_id,
    )
    assert det.present_total == base + Decimal("112.5")
    assert det.previous_total == old_rows[0].active_energy_pos_tl
    assert "METER_CHANGED" in det.discrepancies
