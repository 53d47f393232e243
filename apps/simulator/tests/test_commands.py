"""Commands: status levels, cancel, idempotent resends, failures, and their effects on data."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.simulator import generator as gen
from apps.simulator.models import SimCommand, SimMeter, SimTransaction
from apps.simulator.services import (
    SimError,
    sim_command_submit,
    sim_read,
    sim_transaction_cancel,
    sim_transaction_status,
)
from apps.udil.catalog import get_service
from apps.udil.timefmt import PKT

from .conftest import NOW

T = dt.datetime(2025, 3, 5, 10, 7, 0, tzinfo=PKT)


def at(day, hh=0, mm=0, ss=0):
    return dt.datetime(2025, 3, day, hh, mm, ss, tzinfo=PKT)


def submit(mdc, service, tid, now, **params):
    typed = get_service(service).validate(params)
    return sim_command_submit(mdc=mdc, service=service, params=typed, transactionid=tid, now=now)


def read(mdc, dataset, gdi, start, end, now=NOW):
    fields, rows, message = sim_read(
        mdc=mdc, dataset=dataset, global_device_ids=[gdi], start=start, end=end, now=now
    )
    return [dict(zip(fields, r, strict=True)) for r in rows], message


def status(mdc, tid, now):
    return sim_transaction_status(mdc=mdc, transactionids=[tid], now=now)["data"]


def pick(meters, **attrs):
    return next(m for m in meters if all(getattr(m, k) == v for k, v in attrs.items()))


@pytest.fixture
def fleet(make_mdc):
    # Effects on consumption read best as per-interval energy (the register MDC's rows are
    # these values accumulated; test_generator checks both modes agree).
    mdc, meters = make_mdc(meters=12, lp_interval=15, lp_energy_mode="interval")
    meter = pick(meters, has_relay=True, phase=1, activation_status=1, tamper="none")
    return mdc, meters, meter


def test_levels_advance_with_the_pace_and_stamp_each_step(fleet):
    mdc, _, meter = fleet
    mdc.command_pace_seconds = 10
    mdc.save()
    gdi = meter.global_device_id
    response = submit(
        mdc,
        "time_synchronization",
        "TS1",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
    )
    assert response["data"] == [
        {"global_device_id": gdi, "msn": str(meter.msn), "indv_status": "1"}
    ]
    row = status(mdc, "TS1", T + dt.timedelta(seconds=25))[0]
    assert (
        row["status_level"],
        row["status_1_datetime"],
        row["status_2_datetime"],
        row["status_3_datetime"],
        row["type"],
    ) == ("2", "2025-03-05 10:07:10", "2025-03-05 10:07:20", "", "TIME_SYNCHRONIZATION")
    assert row["command_receiving_datetime"] == "2025-03-05 10:07:00"
    row = status(mdc, "TS1", T + dt.timedelta(minutes=5))[0]
    assert (row["status_level"], row["status_5_datetime"], row["indv_status"]) == (
        "5",
        "2025-03-05 10:07:50",
        "1",
    )


def test_cancel_only_at_levels_0_1_2(fleet):
    mdc, _, meter = fleet
    mdc.command_pace_seconds = 10
    mdc.save()
    gdi = meter.global_device_id
    form = {
        "global_device_id": [gdi],
        "request_datetime": "2025-03-05 10:07:00",
        "relay_operate": "0",
    }
    submit(mdc, "aux_relay_operations", "CAN1", T, **form)
    submit(mdc, "aux_relay_operations", "CAN2", T, **form)
    ok = sim_transaction_cancel(
        mdc=mdc, transactionid="CAN1", global_device_ids=[gdi], now=T + dt.timedelta(seconds=25)
    )
    assert ok["data"][0]["indv_status"] == "1"
    late = sim_transaction_cancel(
        mdc=mdc, transactionid="CAN2", global_device_ids=[gdi], now=T + dt.timedelta(seconds=35)
    )
    assert late["data"][0]["indv_status"] == "0"
    assert "status_level 3" in late["message"]
    again = sim_transaction_cancel(
        mdc=mdc, transactionid="CAN1", global_device_ids=[gdi], now=T + dt.timedelta(seconds=36)
    )
    assert again["data"][0]["indv_status"] == "0"
    assert "already cancelled" in again["message"]
    later = T + dt.timedelta(minutes=5)
    one, two = status(mdc, "CAN1", later)[0], status(mdc, "CAN2", later)[0]
    assert (
        one["status_level"],
        one["request_cancelled"],
        one["request_cancel_datetime"],
        one["request_cancel_reason"],
    ) == ("2", "1", "2025-03-05 10:07:25", "Cancelled on MDM request")
    assert (two["status_level"], two["request_cancelled"]) == ("5", "0")
    meter.refresh_from_db()
    relay_changes = [h for h in meter.history if h[1] == "relay"]
    assert relay_changes[1:] == [[gen.epoch_of(T + dt.timedelta(seconds=50)), "relay", 0]]


def test_a_resend_never_acts_twice(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    base = {"global_device_id": [gdi], "request_datetime": "2025-03-05 10:07:00"}
    first = submit(mdc, "aux_relay_operations", "R-OFF", T, relay_operate="0", **base)
    submit(
        mdc, "aux_relay_operations", "R-ON", T + dt.timedelta(hours=1), relay_operate="1", **base
    )
    resent = submit(
        mdc, "aux_relay_operations", "R-OFF", T + dt.timedelta(hours=2), relay_operate="0", **base
    )
    assert resent == first
    meter.refresh_from_db()
    assert meter.relay_state == 1
    assert [h[2] for h in meter.history if h[1] == "relay"] == [1, 0, 1]
    assert SimCommand.objects.filter(mdc=mdc).count() == 2
    assert SimTransaction.objects.filter(mdc=mdc).count() == 2
    with pytest.raises(SimError) as exc:
        submit(mdc, "time_synchronization", "R-OFF", T, **base)
    assert exc.value.http_status == 400
    assert exc.value.message.startswith("transactionid: R-OFF was already used")


def test_some_devices_fail_unreachable_at_the_failure_rate(fleet):
    mdc, _, meter = fleet
    mdc.failure_rate = 1.0
    mdc.command_pace_seconds = 10
    mdc.save()
    gdi = meter.global_device_id
    accepted = submit(
        mdc,
        "aux_relay_operations",
        "F1",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        relay_operate="0",
    )
    assert accepted["data"][0]["indv_status"] == "1"
    payload = sim_transaction_status(
        mdc=mdc, transactionids=["F1"], now=T + dt.timedelta(minutes=5)
    )
    row = payload["data"][0]
    assert (row["status_level"], row["indv_status"], row["status_3_datetime"]) == ("2", "0", "")
    assert payload["message"] == f"{gdi}: meter unreachable: no connection could be established"
    meter.refresh_from_db()
    assert meter.relay_state == 1 and meter.last_command_resp == "failed"


def test_refused_devices_say_why(fleet):
    mdc, meters, meter = fleet
    no_relay = pick(meters, has_relay=False)
    inactive = meters[-1]
    SimMeter.objects.filter(pk=inactive.pk).update(
        history=[*inactive.history, [gen.epoch_of(at(1)), "active", 0]]
    )
    ids = [
        meter.global_device_id,
        no_relay.global_device_id,
        inactive.global_device_id,
        "m00000001",
    ]
    response = submit(
        mdc,
        "aux_relay_operations",
        "REF",
        T,
        global_device_id=ids,
        request_datetime="2025-03-05 10:07:00",
        relay_operate="0",
    )
    assert [d["indv_status"] for d in response["data"]] == ["1", "0", "0", "0"]
    msg = response["message"]
    assert (
        f"global_device_id:{no_relay.global_device_id} cannot be entertained as the meter "
        "has no relay connected to it" in msg
    )
    assert f"{inactive.global_device_id} cannot be entertained as the meter is inactive" in msg
    assert "m00000001 cannot be entertained as the meter is not known to this MDC" in msg
    rows = status(mdc, "REF", T)
    assert [(r["global_device_id"], r["indv_status"]) for r in rows] == [
        (meter.global_device_id, "1"),
        (no_relay.global_device_id, "0"),
        (inactive.global_device_id, "0"),
    ]


def test_relay_disconnect_stops_consumption_and_shows_in_visuals(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "aux_relay_operations",
        "OFF",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        relay_operate="0",
    )
    rows, _ = read(mdc, "load_profile", gdi, at(5, 9), at(5, 13))
    by_time = {r["meter_datetime"]: r for r in rows}
    assert Decimal(by_time["2025-03-05 10:00:00"]["active_energy_tl"]) > 0
    assert Decimal(by_time["2025-03-05 10:15:00"]["active_energy_tl"]) > 0  # 7 of 15 minutes
    after = [r for r in rows if r["meter_datetime"] >= "2025-03-05 10:30:00"]
    assert len(after) == 11
    assert {
        (r["active_energy_tl"], r["aggregate_active_pwr_pos"], r["current_phase_a"]) for r in after
    } == {("0.000", "0.000", "0.000")}
    inst, _ = read(mdc, "instantaneous", gdi, at(5, 11), at(5, 11))
    assert inst[0]["aggregate_active_pwr_pos"] == "0.000"
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert visuals[0]["last_contactor_off_datetime"] == "2025-03-05 10:07:00"
    assert visuals[0]["last_contactor_on_datetime"] == "2025-02-20 00:00:00"
    assert (visuals[0]["last_command"], visuals[0]["last_command_resp"]) == (
        "aux_relay_operations",
        "executed",
    )
    # reconnect: consumption resumes
    submit(
        mdc,
        "aux_relay_operations",
        "ON",
        at(5, 12),
        global_device_id=[gdi],
        request_datetime="2025-03-05 12:00:00",
        relay_operate="1",
    )
    rows, _ = read(mdc, "load_profile", gdi, at(5, 12, 15), at(5, 14))
    assert all(
        Decimal(r["active_energy_tl"]) > 0 for r in rows if Decimal(r["voltage_phase_a"]) > 0
    )
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert visuals[0]["last_contactor_on_datetime"] == "2025-03-05 12:00:00"


def test_inactive_meter_is_not_read_until_reactivated(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "meter_status_update",
        "MS0",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        meter_activation_status="0",
    )
    rows, message = read(mdc, "load_profile", gdi, at(5, 9), at(6, 0))
    assert rows[-1]["meter_datetime"] == "2025-03-05 10:00:00"
    assert message == f"inactive, not read: {gdi}"
    refused = submit(
        mdc,
        "time_synchronization",
        "TS-IN",
        at(6, 1),
        global_device_id=[gdi],
        request_datetime="2025-03-06 01:00:00",
    )
    assert refused["data"][0]["indv_status"] == "0"
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert visuals[0]["meter_activation_status"] == "0"
    assert visuals[0]["last_communication_datetime"] == "2025-03-05 10:00:00"
    submit(
        mdc,
        "meter_status_update",
        "MS1",
        at(7, 6),
        global_device_id=[gdi],
        request_datetime="2025-03-07 06:00:00",
        meter_activation_status="1",
    )
    rows, message = read(mdc, "load_profile", gdi, at(5, 9), at(7, 7))
    times = [r["meter_datetime"] for r in rows]
    assert times[4:] == [
        "2025-03-05 10:00:00",
        "2025-03-07 06:00:00",
        "2025-03-07 06:15:00",
        "2025-03-07 06:30:00",
        "2025-03-07 06:45:00",
        "2025-03-07 07:00:00",
    ]
    assert message == "10 rows"


def test_device_creation_makes_a_new_meter_produce_data(fleet):
    mdc, _, _ = fleet
    submit(
        mdc,
        "device_creation",
        "DC1",
        T,
        device_identity=[{"dsn": "4099999999", "global_device_id": "m99999999"}],
        device_type="1",
        request_datetime="2025-03-05 10:07:00",
        communication_mode="1",
        phase="1",
        meter_type="1",
        mdi_reset_date="1",
        mdi_reset_time="00:00:00",
    )
    new = SimMeter.objects.get(mdc=mdc, global_device_id="m99999999")
    assert new.data_start == at(5, 10, 15)
    rows, message = read(mdc, "load_profile", "m99999999", at(5), at(6))
    assert message == "55 rows"
    assert rows[0]["meter_datetime"] == "2025-03-05 10:30:00"
    assert rows[0]["msn"] == "4099999999"
    before, message = read(mdc, "load_profile", "m99999999", at(5), at(6), now=at(5, 10))
    assert (before, message) == ([], "unknown global_device_id: m99999999")
    again = submit(
        mdc,
        "device_creation",
        "DC2",
        at(6),
        device_identity=[{"dsn": "4099999999", "global_device_id": "m99999999"}],
        device_type="1",
        request_datetime="2025-03-06 00:00:00",
        communication_mode="1",
        phase="1",
        meter_type="1",
    )
    assert again["data"][0]["indv_status"] == "0"
    assert "already exists" in again["message"]


def test_sanctioned_load_limit_caps_demand_and_logs_116(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    day_before, _ = read(mdc, "load_profile", gdi, at(4), at(5))
    peak = max(Decimal(r["aggregate_active_pwr_pos"]) for r in day_before)
    limit = (peak / 2).quantize(Decimal("0.001"))
    submit(
        mdc,
        "sanctioned_load_control",
        "SLC",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        load_limit=str(limit),
        maximum_retries="3",
        retry_interval="60",
        threshold_duration="30",
        retry_clear_interval="3600",
    )
    rows, _ = read(mdc, "load_profile", gdi, at(5, 10, 15), at(7))
    assert max(Decimal(r["aggregate_active_pwr_pos"]) for r in rows) <= limit
    events, _ = read(mdc, "events", gdi, at(5, 10, 7), at(7))
    codes = [e["event_code"] for e in events]
    assert codes[0] == "102" and events[0]["event_datetime"] == "2025-03-05 10:07:00"
    assert "116" in codes
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert visuals[0]["meter_load_limit_set"] == str(limit)


def test_load_shedding_schedule_cuts_supply_in_its_slabs(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "load_shedding_scheduling",
        "LS1",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        start_datetime="2025-03-06 00:00:00",
        end_datetime="2025-03-08 00:00:00",
        load_shedding_slabs=[
            {"action_time": "03:00:00", "relay_operate": "0"},
            {"action_time": "06:00:00", "relay_operate": "1"},
        ],
    )
    rows, _ = read(mdc, "load_profile", gdi, at(6, 3, 15), at(6, 6))
    assert len(rows) == 12
    assert {r["active_energy_tl"] for r in rows} == {"0.000"}
    before, _ = read(mdc, "load_profile", gdi, at(5, 3, 15), at(5, 6))
    assert sum(Decimal(r["active_energy_tl"]) for r in before) > 0
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert (
        visuals[0]["meter_ls_schedule_startdatetime"],
        visuals[0]["meter_ls_schedule_slabs"],
    ) == (
        "2025-03-06 00:00:00",
        '[{"action_time":"03:00:00","relay_operate":"0"},'
        '{"action_time":"06:00:00","relay_operate":"1"}]',
    )


def test_time_of_use_change_moves_energy_to_the_new_tariff(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "time_of_use_change",
        "TOU",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        activation_datetime="2025-03-06 00:00:00",
        season="1",
        days="1",
        time_slab=["08:00", "17:00"],
        tariff_identification="3",
    )
    rows, _ = read(mdc, "load_profile", gdi, at(6, 8, 15), at(6, 17))
    assert all(
        r["active_energy_t3"] == r["active_energy_tl"] and r["active_energy_t1"] == "0.000"
        for r in rows
    )
    before, _ = read(mdc, "load_profile", gdi, at(5, 8, 15), at(5, 17))
    assert {r["active_energy_t3"] for r in before} == {"0.000"}
    bills, _ = read(mdc, "billing", gdi, at(6), at(8))
    assert bills[0]["active_energy_pos_t3"] == "0.000"
    assert Decimal(bills[1]["active_energy_pos_t3"]) == sum(
        Decimal(r["active_energy_tl"]) for r in rows
    )


def test_sampling_interval_change_gives_30_minute_profile(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "meter_data_sampling",
        "SMP",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        activation_datetime="2025-03-06 00:00:00",
        data_type="LPRO",
        sampling_interval="30",
        sampling_initial_time="0",
    )
    rows, _ = read(mdc, "load_profile", gdi, at(5, 23), at(6, 2))
    assert [(r["meter_datetime"][11:16], r["interval"]) for r in rows] == [
        ("23:00", "15"),
        ("23:15", "15"),
        ("23:30", "15"),
        ("23:45", "15"),
        ("00:00", "15"),
        ("00:30", "30"),
        ("01:00", "30"),
        ("01:30", "30"),
        ("02:00", "30"),
    ]
    bills, _ = read(mdc, "billing", gdi, at(6), at(7))
    daily = sum(
        Decimal(r["active_energy_tl"])
        for r in read(mdc, "load_profile", gdi, at(6, 0, 1), at(7))[0]
    )
    assert (
        Decimal(bills[1]["active_energy_pos_tl"]) - Decimal(bills[0]["active_energy_pos_tl"])
        == daily
    )
    refused = submit(
        mdc,
        "meter_data_sampling",
        "SMP7",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
        activation_datetime="2025-03-06 00:00:00",
        data_type="LPRO",
        sampling_interval="7",
        sampling_initial_time="0",
    )
    assert refused["data"][0]["indv_status"] == "0"
    assert "load profile interval of 7 minutes" in refused["message"]


def test_time_synchronization_removes_the_clock_offset(make_mdc):
    mdc, meters = make_mdc(meters=40, lp_interval=15)
    meter = next(
        m
        for m in meters
        if dict((h[1], h[2]) for h in m.history)["clock"] != 0 and m.activation_status == 1
    )
    offset = dict((h[1], h[2]) for h in meter.history)["clock"]
    gdi = meter.global_device_id
    inst, _ = read(mdc, "instantaneous", gdi, at(5, 9), at(5, 9))
    shifted = gen.dt_text(gen.epoch_of(at(5, 9)) + offset)
    assert inst[0]["meter_datetime"] == shifted
    submit(
        mdc,
        "time_synchronization",
        "SYNC",
        T,
        global_device_id=[gdi],
        request_datetime="2025-03-05 10:07:00",
    )
    inst, _ = read(mdc, "instantaneous", gdi, at(5, 11), at(5, 11))
    assert inst[0]["meter_datetime"] == "2025-03-05 11:00:00"


def test_settings_commands_update_the_meter_and_log_parameterization(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    base = {"global_device_id": [gdi], "request_datetime": "2025-03-05 10:07:00"}
    submit(
        mdc,
        "update_ip_port",
        "IP",
        T,
        primary_ip_address="192.168.100.120",
        secondary_ip_address="192.168.100.121",
        primary_port="8080",
        secondary_port="8081",
        **base,
    )
    submit(
        mdc,
        "wake_up_sim_number_update",
        "WK",
        T + dt.timedelta(minutes=1),
        wakeup_number_1="01234567890",
        wakeup_number_2="01234567891",
        **base,
    )
    submit(
        mdc,
        "activate_meter_optical_port",
        "OPT",
        T + dt.timedelta(minutes=2),
        optical_port_on_datetime="2025-03-05 11:00:00",
        optical_port_off_datetime="2025-03-05 12:00:00",
        **base,
    )
    meter.refresh_from_db()
    assert (meter.primary_ip, meter.secondary_ip, meter.primary_port, meter.secondary_port) == (
        "192.168.100.120",
        "192.168.100.121",
        8080,
        8081,
    )
    assert meter.wakeup_numbers == ["01234567890", "01234567891", ""]
    assert (meter.optical_port_on, meter.optical_port_off) == (at(5, 11), at(5, 12))
    events, _ = read(mdc, "events", gdi, T, T + dt.timedelta(minutes=2))
    assert [(e["event_datetime"], e["event_code"], e["event_description"]) for e in events] == [
        ("2025-03-05 10:07:00", "102", "Parameterization"),
        ("2025-03-05 10:08:00", "102", "Parameterization"),
        ("2025-03-05 10:09:00", "102", "Parameterization"),
    ]
    visuals, _ = read(mdc, "meter_visuals", gdi, None, None)
    assert [
        visuals[0][k]
        for k in (
            "last_command",
            "last_command_datetime",
            "last_command_resp",
            "last_command_resp_datetime",
        )
    ] == ["activate_meter_optical_port", "2025-03-05 10:09:00", "executed", "2025-03-05 10:09:00"]


def test_on_demand_rows_arrive_in_response_data(fleet):
    mdc, _, meter = fleet
    gdi = meter.global_device_id
    submit(
        mdc,
        "on_demand_request",
        "OD-LP",
        T,
        global_device_id=[gdi],
        type="LPRO",
        start_datetime="2025-03-05 06:00:00",
        end_datetime="2025-03-05 08:00:00",
    )
    row = status(mdc, "OD-LP", T)[0]
    read_rows, _ = read(mdc, "load_profile", gdi, at(5, 6), at(5, 8))
    strip = ("mdc_read_datetime", "db_datetime")
    assert [{k: v for k, v in r.items() if k not in strip} for r in row["response_data"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in read_rows
    ]
    assert len(read_rows) == 9
    assert {r["db_datetime"] for r in row["response_data"]} == {"2025-03-05 10:07:00"}
    submit(mdc, "on_demand_request", "OD-I", T, global_device_id=[gdi], type="INST")
    inst = status(mdc, "OD-I", T)[0]["response_data"]
    expected, _ = read(mdc, "instantaneous", gdi, at(5, 10), at(5, 10))
    assert len(inst) == 1
    assert inst[0]["aggregate_active_pwr_pos"] == expected[0]["aggregate_active_pwr_pos"]
    assert inst[0]["meter_datetime"] == expected[0]["meter_datetime"]
    with pytest.raises(SimError) as exc:
        submit(
            mdc,
            "on_demand_request",
            "OD-BIG",
            T,
            global_device_id=[gdi],
            type="LPRO",
            start_datetime="2025-01-01 00:00:00",
            end_datetime="2025-03-05 00:00:00",
        )
    assert exc.value.message == "end_datetime: the window may span at most 31 days"
