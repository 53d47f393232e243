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
        assert order.steps.get().result["active_energy_pos_tl"]


def test_cp4_permanent_disconnection(wf_env, make_user):
    env = wf_env(code="wf4", meters=1)
    consumer, meter = env.consumers[0], env.meters[0]
    order = work_order_start(actor=make_user("Operator"), procedure="cp4", consumer=consumer)
    with pytest.raises(PermissionDenied):
        work_order_step_approve(actor=make_user("Operator"), order=order)
    order = work_order_step_approve(actor=make_user("SDO"), order=order)
    drive(order)
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "final_determinant")
    with pytest.raises(PermissionDenied):  # the billing step is the Revenue Office's
        work_order_step_perform(actor=make_user("SDO"), order=order)
    order = work_order_step_perform(
        actor=make_user("Revenue Officer"), order=order, note="final bill 4411"
    )
    drive(order)
    assert order.state == WorkOrderState.COMPLETED, order.reason
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
    from apps.registry.models import Consumer, Meter
    from apps.simulator.models import SimMeter

    env = wf_env(code="wf2", meters=1)
    consumer = Consumer.objects.create(
        reference_no="NEW-1", name="New house", connection_status="pending"
    )
    meter = Meter.objects.create(
        global_device_id="m77000001", msn=4077000001, mdc=env.mdc, consumer=consumer
    )
    order = work_order_start(actor=make_user("Operator"), procedure="cp2", consumer=consumer)
    drive(order)
    assert (order.state, order.current_step) == (WorkOrderState.OPEN, "first_cycle"), order.reason
    created = SimMeter.objects.get(mdc=env.sim, global_device_id="m77000001")
    assert (created.msn, created.activation_status, created.relay_state) == (4077000001, 1, 1)
    consumer.refresh_from_db()
    meter.refresh_from_db()
    assert consumer.connection_status == "active"
    assert (meter.activation_status, meter.relay_state) == (1, "connected")
    assert meter.device_settings["mdc_registration"]["value"]
    with pytest.raises(PermissionDenied):
        work_order_step_perform(actor=make_user("Operator"), order=order)
    order = work_order_step_perform(actor=make_user("Revenue Officer"), order=order, note="B07")
    assert order.state == WorkOrderState.COMPLETED


def test_cp9_meter_change_and_cp2_new_connection(wf_env, make_user):
    from apps.registry.models import Meter
    from apps.simulator.models import SimMeter

    env = wf_env(code="wf9", meters=1)
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
    # (in the same test: one live server and database flush fewer)
    _cp2_new_connection_end_to_end(wf_env, make_user)
