"""Commands to many devices cost a bounded number of queries, whatever the number of devices."""

import datetime as dt

import pytest

from apps.simulator import generator as gen
from apps.simulator.models import SimMeter, SimTransaction
from apps.simulator.services import (
    sim_command_submit,
    sim_transaction_cancel,
    sim_transaction_status,
    sim_transactions_advance,
)
from apps.udil.catalog import get_service
from apps.udil.timefmt import PKT

T = dt.datetime(2025, 3, 5, 10, 7, 0, tzinfo=PKT)
DEVICES = 500
#: Queries allowed for a command to DEVICES devices (savepoints included); they were about
#: 4 x DEVICES when the simulator acted per device.
SUBMIT_QUERIES = 20
ADVANCE_QUERIES = 12


def submit(mdc, service, tid, now, gdis, **params):
    typed = get_service(service).validate(
        {"global_device_id": gdis, "request_datetime": "2025-03-05 10:07:00", **params}
    )
    return sim_command_submit(mdc=mdc, service=service, params=typed, transactionid=tid, now=now)


@pytest.fixture
def big(make_mdc):
    mdc, meters = make_mdc(code="big", meters=DEVICES, failure_rate=0.1)
    active = [m for m in meters if m.activation_status == 1]
    return mdc, meters, active


def test_a_command_to_500_devices_is_set_based(big, django_assert_max_num_queries):
    mdc, meters, active = big
    gdis = [m.global_device_id for m in meters]
    with django_assert_max_num_queries(SUBMIT_QUERIES):
        response = submit(mdc, "time_synchronization", "BIG-TS", T, gdis)  # pace 0: executes
    accepted = [d for d in response["data"] if d["indv_status"] == "1"]
    assert len(accepted) == len(active)
    with django_assert_max_num_queries(4):
        payload = sim_transaction_status(mdc=mdc, transactionids=["BIG-TS"], now=T)
    levels = {(r["status_level"], r["indv_status"]) for r in payload["data"]}
    assert levels <= {("5", "1"), ("2", "0"), ("0", "0")}
    failed = [r for r in payload["data"] if (r["status_level"], r["indv_status"]) == ("2", "0")]
    assert 10 < len(failed) < 100  # failure_rate 0.1, deterministic
    executed = {r["global_device_id"] for r in payload["data"] if r["status_level"] == "5"}
    clocks = {
        m.global_device_id: [h for h in m.history if h[1] == "clock"]
        for m in SimMeter.objects.filter(mdc=mdc)
    }
    for gdi in executed:
        assert clocks[gdi][-1] == [gen.epoch_of(T), "clock", 0]
    assert all(len(clocks[r["global_device_id"]]) == 1 for r in failed)
    # the resend answers as before and acts on nothing
    with django_assert_max_num_queries(4):
        again = submit(mdc, "time_synchronization", "BIG-TS", T + dt.timedelta(hours=1), gdis)
    assert again == response
    assert SimTransaction.objects.filter(mdc=mdc, effects_applied=True).count() == len(executed)


def test_levels_of_500_devices_advance_with_bounded_queries(big, django_assert_max_num_queries):
    mdc, _, active = big
    mdc.command_pace_seconds = 10
    mdc.failure_rate = 0
    mdc.save()
    relay = [m.global_device_id for m in active if m.has_relay]
    with django_assert_max_num_queries(SUBMIT_QUERIES):
        submit(mdc, "aux_relay_operations", "BIG-OFF", T, relay, relay_operate="0")
    with django_assert_max_num_queries(ADVANCE_QUERIES):
        moved = sim_transactions_advance(mdc=mdc, now=T + dt.timedelta(seconds=15))
    assert moved == len(relay)
    with django_assert_max_num_queries(2):  # nothing due: one grouped query
        assert sim_transactions_advance(mdc=mdc, now=T + dt.timedelta(seconds=16)) == 0
    half = relay[: len(relay) // 2]
    with django_assert_max_num_queries(ADVANCE_QUERIES):
        cancelled = sim_transaction_cancel(
            mdc=mdc,
            transactionid="BIG-OFF",
            global_device_ids=half,
            now=T + dt.timedelta(seconds=25),
        )
    assert {d["indv_status"] for d in cancelled["data"]} == {"1"}
    with django_assert_max_num_queries(ADVANCE_QUERIES):
        rows = sim_transaction_status(
            mdc=mdc, transactionids=["BIG-OFF"], now=T + dt.timedelta(minutes=5)
        )["data"]
    by_level = {}
    for r in rows:
        by_level.setdefault((r["status_level"], r["request_cancelled"]), set()).add(
            r["global_device_id"]
        )
    assert by_level == {("2", "1"): set(half), ("5", "0"): set(relay) - set(half)}
    states = dict(
        SimMeter.objects.filter(mdc=mdc, global_device_id__in=relay).values_list(
            "global_device_id", "relay_state"
        )
    )
    assert {g for g, s in states.items() if s == 0} == set(relay) - set(half)
    # later effects on the same meters keep each meter's dated history in order
    rest = sorted(set(relay) - set(half))
    with django_assert_max_num_queries(SUBMIT_QUERIES + ADVANCE_QUERIES):
        submit(
            mdc,
            "aux_relay_operations",
            "BIG-ON",
            T + dt.timedelta(hours=1),
            rest,
            relay_operate="1",
        )
        sim_transactions_advance(mdc=mdc, now=T + dt.timedelta(hours=2))
    t5_off = gen.epoch_of(T + dt.timedelta(seconds=50))
    t5_on = gen.epoch_of(T + dt.timedelta(hours=1, seconds=50))
    for meter in SimMeter.objects.filter(mdc=mdc, global_device_id__in=rest):
        relay_history = [h for h in meter.history if h[1] == "relay"]
        assert relay_history[1:] == [[t5_off, "relay", 0], [t5_on, "relay", 1]]
        assert meter.relay_state == 1 and meter.last_command_resp == "executed"
