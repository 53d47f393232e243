"""A simulated UDIL 3.3 MDC fills every field of every 3.3 data set (``apps.udil.datasets_v33``)
with values consistent with each other; null stays only where the meter cannot have a value
(the exceptions below, each with its reason)."""

import base64
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import orjson
import pytest

from apps.simulator.models import SimMeter
from apps.simulator.services import sim_command_submit, sim_read
from apps.simulator.services.effects import parameter_rows
from apps.udil.catalog_v33 import (
    BIDIRECTIONAL_CHOICES,
    COMMUNICATION_TYPE_CHOICES_3_3,
    METER_TYPE_CHOICES_3_3,
    PHASE_CHOICES_3_3,
)
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.udil.profiles import PROFILE_3_3
from apps.udil.timefmt import PKT

from .conftest import NOW, START

D = Decimal
T = NOW - dt.timedelta(days=2)
#: Phase fields a single-phase meter does not have.
SINGLE_PHASE_NULL = {"pf_phase_b", "pf_phase_c"}
#: Visuals of a meter nothing was ever programmed on: no command, relay never opened, no
#: limit, load-shedding schedule, optical-port window or wake-up number (v33_visuals).
NEVER_PROGRAMMED_NULL = {
    "last_command",
    "last_command_datetime",
    "last_command_resp",
    "last_command_resp_datetime",
    "last_contactor_off_datetime",
    *(
        f.name
        for f in DATASETS_3_3["meter_visuals"].fields
        if f.name.startswith(("sanc_", "lsch_", "oppo_", "wsim_"))
    ),
}
QUANTITIES = ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi")
TARIFFS = ("t1", "t2", "t3", "t4", "tl")
TOU = {
    "day_profile": [{"name": "d1", "tariff_slabs": ["00:00", "07:00", "17:00", "21:00"]}],
    "week_profile": [{"name": "w1", "weekly_day_profile": ["d1"] * 7}],
    "season_profile": [{"name": "s1", "week_profile_name": "w1", "start_date": "01-01"}],
    "holiday_profile": [{"name": "h1", "date": "23-03", "day_profile_name": "d1"}],
}


def text(when: dt.datetime) -> str:
    return when.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def v33(make_mdc, frozen):
    mdc, meters = make_mdc(code="full33", meters=12, seed=5, udil_profile="3.3")
    # one meter exports (reverse energy from day 2): its export registers move
    exporter = meters[0]
    exporter.tamper, exporter.tamper_start = "reverse_energy", START + dt.timedelta(days=1)
    exporter.save(update_fields=["tamper", "tamper_start"])
    target = next(m for m in meters if m.phase == 3 and m.has_relay and m.activation_status)
    _program(mdc, target)
    return mdc, list(SimMeter.objects.filter(mdc=mdc)), exporter.pk, target.pk


def _program(mdc, meter):
    """Every settings command 3.3 has, applied to ``meter`` (the commands execute at once)."""
    gdi, phase, meter_type = [meter.global_device_id], str(meter.phase), str(meter.meter_type)
    commands = [
        ("aux_relay_operations", {"relay_operate": "0"}),
        ("aux_relay_operations", {"relay_operate": "1"}),
        (
            "sanctioned_load_control",
            {
                "load_limit": "7.5",
                "maximum_retries": "3",
                "retry_interval": "60",
                "threshold_duration": "30",
                "retry_clear_interval": "600",
            },
        ),
        (
            "load_shedding_scheduling",
            {
                "start_datetime": text(T),
                "end_datetime": text(T + dt.timedelta(days=30)),
                "load_shedding_slabs": [
                    {"action_time": "18:00:00", "relay_operate": "0"},
                    {"action_time": "19:00:00", "relay_operate": "1"},
                ],
            },
        ),
        ("time_of_use_change", {**TOU, "activation_datetime": text(T)}),
        (
            "update_ip_port",
            {
                "primary_ip_address": "10.1.2.3",
                "secondary_ip_address": "10.1.2.4",
                "primary_port": "5001",
                "secondary_port": "5002",
            },
        ),
        (
            "meter_data_sampling",
            {
                "activation_datetime": text(T),
                "data_type": "INST",
                "sampling_interval": "15",
                "sampling_initial_time": "0",
            },
        ),
        (
            "activate_meter_optical_port",
            {
                "optical_port_on_datetime": text(T),
                "optical_port_off_datetime": text(T + dt.timedelta(hours=2)),
            },
        ),
        (
            "wake_up_sim_number_update",
            {
                "wakeup_number_1": "03001234567",
                "wakeup_number_2": "03007654321",
                "wakeup_number_3": "03211234567",
            },
        ),
        (
            "update_device_metadata",
            {
                "communication_mode": "1",
                "bidirectional_device": "0",
                "communication_type": "1",
                "communication_interval": "30",
                "initial_communication_time": "00:10:00",
                "phase": phase,
                "meter_type": meter_type,
            },
        ),
    ]
    for i, (service, params) in enumerate(commands):
        at = T + dt.timedelta(minutes=i)
        svc = PROFILE_3_3.service(service)
        typed = svc.validate({"global_device_id": gdi, "request_datetime": text(at), **params})
        sim_command_submit(
            mdc=mdc, service=service, params=typed, transactionid=f"P{i}", now=at,
            wire_name=svc.name,
        )  # fmt: skip


def read(mdc, code, meters, start=START, end=NOW):
    fields, rows, _ = sim_read(
        mdc=mdc,
        dataset=code,
        global_device_ids=[m.global_device_id for m in meters],
        start=start,
        end=end,
        now=NOW,
    )
    assert tuple(fields) == DATASETS_3_3[code].wire_order  # the one definition's fields
    return [dict(zip(fields, row, strict=True)) for row in rows]


def assert_filled(code, rows, meters, allowed=lambda meter: set()):
    by_gdi = {m.global_device_id: m for m in meters}
    assert rows, code
    for row in rows:
        meter = by_gdi[row["global_device_id"]]
        nullable = allowed(meter) | (SINGLE_PHASE_NULL if meter.phase != 3 else set())
        empty = {name for name in DATASETS_3_3[code].field_names if row[name] == ""}
        assert empty <= nullable, (code, meter.global_device_id, sorted(empty - nullable))


@pytest.mark.parametrize(
    "code",
    ["instantaneous", "billing", "monthly_billing", "load_profile", "events",
     "device_comm_history"],
)  # fmt: skip
def test_every_3_3_field_has_a_value(v33, code):
    mdc, meters, _, _ = v33
    assert_filled(code, read(mdc, code, meters), meters)


def test_visuals_fill_every_column_once_programmed(v33):
    mdc, meters, _, target_pk = v33
    rows = read(mdc, "meter_visuals", meters)
    assert len(rows) == len(meters)
    assert_filled(
        "meter_visuals",
        rows,
        meters,
        lambda meter: set() if meter.pk == target_pk else NEVER_PROGRAMMED_NULL,
    )


def _d(row, name):
    return D(row[name])


def test_instantaneous_values_agree(v33):
    mdc, meters, _, _ = v33
    phases = {m.global_device_id: 3 if m.phase == 3 else 1 for m in meters}
    for row in read(mdc, "instantaneous", meters):
        n = phases[row["global_device_id"]]
        assert _d(row, "current_total") == sum(_d(row, f"current_phase_{p}") for p in "abc")
        volts = [_d(row, f"voltage_phase_{p}") for p in "abc"[:n]]
        assert min(volts) <= _d(row, "voltage_average") <= max(volts)
        pfs = [_d(row, f"pf_phase_{p}") for p in "abc"[:n]]
        assert all(-1 <= pf <= 1 for pf in pfs) and -1 <= _d(row, "average_pf") <= 1
        assert min(pfs) <= _d(row, "average_pf") <= max(pfs)
        assert D("49.5") < _d(row, "frequency") < D("50.5")
        for q in ("active", "reactive"):
            pos, neg = _d(row, f"aggregate_{q}_pwr_pos"), _d(row, f"aggregate_{q}_pwr_neg")
            assert _d(row, f"aggregate_{q}_pwr_abs") == pos + neg >= max(pos, neg)


def _registers_agree(rows, *, cumulative=("active_energy", "reactive_energy", "cumulative_mdi")):
    previous = {}
    for row in sorted(rows, key=lambda r: (r["global_device_id"], r["meter_datetime"])):
        for q in QUANTITIES:
            for t in TARIFFS:
                pos, neg = _d(row, f"{q}_pos_{t}"), _d(row, f"{q}_neg_{t}")
                assert _d(row, f"{q}_abs_{t}") == pos + neg >= max(pos, neg), (q, t)
        before = previous.get(row["global_device_id"])
        for q in cumulative:  # registers: never down (MDIs reset monthly, cumulative MDI not)
            if before is not None:
                assert _d(row, f"{q}_abs_tl") >= _d(before, f"{q}_abs_tl"), q
        previous[row["global_device_id"]] = row


def test_billing_and_monthly_billing_registers_agree(v33):
    mdc, meters, _, _ = v33
    _registers_agree(read(mdc, "billing", meters))
    monthly = read(mdc, "monthly_billing", meters)
    _registers_agree(monthly)
    for row in monthly:
        assert 60 < _d(row, "longitude") < 78 and 23 < _d(row, "latitude") < 37  # Pakistan
        assert row["reading_mode"] in ("0", "1")
        for picture in ("picture_1", "picture_2"):
            assert base64.b64decode(row[picture]).startswith(b"\x89PNG\r\n\x1a\n")


def test_load_profile_registers_and_phase_powers_agree(v33):
    mdc, meters, exporter_pk, _ = v33
    rows = read(mdc, "load_profile", meters)
    _registers_agree(rows)
    for row in rows:
        for prefix in ("active_pwr_pos", "active_pwr_neg", "reactive_pwr_pos", "reactive_pwr_neg"):
            total = _d(row, f"aggregate_{prefix}")
            assert sum(_d(row, f"{prefix}_phase_{p}") for p in "abc") == total, prefix
        assert D("49.5") < _d(row, "frequency") < D("50.5")
        assert -1 <= _d(row, "average_pf") <= 1
    # the exporting meter's export register: moving, and the billing snapshot's at midnight
    exporter = next(m for m in meters if m.pk == exporter_pk)
    lp = {
        r["meter_datetime"]: r for r in rows if r["global_device_id"] == exporter.global_device_id
    }
    billing = read(mdc, "billing", [exporter])
    assert _d(billing[-1], "active_energy_neg_tl") > _d(billing[0], "active_energy_neg_tl")
    matched = [b for b in billing if b["meter_datetime"] in lp]
    assert matched
    for b in matched:
        assert _d(lp[b["meter_datetime"]], "active_energy_neg_tl") == _d(b, "active_energy_neg_tl")


def test_event_counter_runs_per_meter_whatever_the_window(v33):
    mdc, meters, _, _ = v33
    rows = read(mdc, "events", meters)
    by_meter = defaultdict(list)
    for row in rows:
        by_meter[row["global_device_id"]].append(row)
    for events in by_meter.values():
        counters = [int(r["event_counter"]) for r in events]
        assert counters == sorted(counters) and len(set(counters)) == len(counters)
        assert counters[0] >= 1
    # a later window numbers the same events the same way
    later = read(mdc, "events", meters, start=START + dt.timedelta(days=9))
    full = {(r["global_device_id"], r["event_datetime"], r["event_code"]): r for r in rows}
    assert later
    for row in later:
        key = (row["global_device_id"], row["event_datetime"], row["event_code"])
        assert row["event_counter"] == full[key]["event_counter"]


def test_visuals_show_the_programmed_settings_and_the_meters_state(v33):
    mdc, meters, _, target_pk = v33
    target = next(m for m in meters if m.pk == target_pk)
    [row] = read(mdc, "meter_visuals", [target])
    assert (row["ippo_primary_ip_address"], row["ippo_secondary_port"]) == ("10.1.2.3", "5002")
    assert [row[f"wsim_wakeup_number_{i}"] for i in (1, 2, 3)] == [
        "03001234567",
        "03007654321",
        "03211234567",
    ]
    assert D(row["sanc_load_limit"]) == D("7.5") and row["sanc_maximum_retries"] == "3"
    slabs = orjson.loads(row["lsch_load_shedding_slabs"])
    assert [s["action_time"] for s in slabs] == ["18:00:00", "19:00:00"]
    assert orjson.loads(row["tiou_day_profile"]) == TOU["day_profile"]
    assert orjson.loads(row["tiou_holiday_profile"]) == TOU["holiday_profile"]
    assert row["mdsm_data_type"] == "INST" and row["oppo_optical_port_on_datetime"] == text(T)
    assert row["auxr_status"] == "1" and row["last_contactor_off_datetime"] == text(T)
    assert row["last_command"] == "update_device_metadata"
    assert row["msim_id"] == target.sim_id and row["power_status"] in ("0", "1")
    assert (row["dmdt_communication_type"], row["dmdt_communication_interval"]) == ("1", "30")
    codes = {
        "dmdt_communication_type": COMMUNICATION_TYPE_CHOICES_3_3,
        "dmdt_bidirectional_device": BIDIRECTIONAL_CHOICES,
        "dmdt_phase": PHASE_CHOICES_3_3,
        "dmdt_meter_type": METER_TYPE_CHOICES_3_3,
    }
    for visuals in read(mdc, "meter_visuals", meters):
        for name, choices in codes.items():
            assert int(visuals[name]) in {c for c, _ in choices}, name
    # a parameter read of a group answers what the visuals show
    [ippo] = parameter_rows(mdc=mdc, meter=target, params={"type": "IPPO"}, at=NOW)
    for column, value in ippo.items():
        if column != "ippo_datetime":
            assert row[column] == value, column
    # the communication history names the same SIM and position as the other data sets
    history = read(mdc, "device_comm_history", [target], start=NOW - dt.timedelta(hours=3))
    monthly = read(mdc, "monthly_billing", [target])
    assert history and all(h["sim_id"] == target.sim_id for h in history)
    assert {(h["longitude"], h["latitude"]) for h in history} == {
        (m["longitude"], m["latitude"]) for m in monthly
    }
