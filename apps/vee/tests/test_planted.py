"""End to end over real HTTP: the simulator plants anomalies (apps.simulator.anomalies), the
MDM pulls them like any MDC's data, validates, and finds exactly the ground truth."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import NOW, UNTIL, registered_mdc, sim_mdc
from apps.simulator import anomalies
from apps.simulator import generator as gen
from apps.udil.timefmt import PKT
from apps.vee.choices import RuleType
from apps.vee.models import ValidationException, ValueVersion
from apps.vee.services.validation import validation_run

START = dt.datetime(2025, 6, 30, tzinfo=PKT)
END = dt.datetime(2025, 7, 2, tzinfo=PKT)
KINDS = {
    "gap": RuleType.GAP,
    "spike": RuleType.SPIKE,
    "rollback": RuleType.ROLLBACK,
    "zero": RuleType.ZERO_WITH_VOLTAGE,
}


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def planted(settings, monkeypatch, live_server):
    from apps.simulator.testing import freeze_clock

    freeze_clock(monkeypatch, NOW)
    settings.VEE_VALIDATE_AFTER_INGESTION = False
    settings.SIMULATOR_ANOMALIES = {
        "planted": {
            "start": START.isoformat(),
            "end": END.isoformat(),
            "gap_per_day": 0.6,
            "spike_per_day": 0.6,
            "rollback_per_day": 0.6,
            "zero_per_day": 0.6,
        }
    }
    anomalies.clear_caches()
    yield
    settings.SIMULATOR_ANOMALIES = {}
    anomalies.clear_caches()


@pytest.mark.parametrize("lp_energy_mode", ["register", "interval"])
def test_every_planted_anomaly_is_found_and_nothing_else(planted, live_server, lp_energy_mode):
    sim, sim_meters = sim_mdc("planted", meters=6, lp_energy_mode=lp_energy_mode)
    mdc = registered_mdc(live_server, sim, sim_meters, lp_energy_kind=lp_energy_mode)
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL)
    assert run.outcome == "succeeded", run.error
    truth = []
    for meter in sim_meters:
        spec = gen.spec_of(meter, sim)
        truth += anomalies.ground_truth(
            spec, int(START.timestamp()), int(END.timestamp()), int(UNTIL.timestamp())
        )
    kinds = {t["kind"] for t in truth}
    expected_kinds = {"gap", "spike", "zero"} | (
        {"rollback"} if lp_energy_mode == "register" else set()
    )
    assert expected_kinds <= kinds  # the plan really planted every kind
    validation_run(start=START, end=END, mdc=mdc)
    for kind, rule_type in KINDS.items():
        if kind == "rollback" and lp_energy_mode == "interval":
            rule_type = RuleType.NEGATIVE  # an interval MDC sends a negative interval instead
        found = {
            (e.meter.global_device_id, stamp(e.period_start), stamp(e.period_end))
            for e in ValidationException.objects.filter(rule__rule_type=rule_type)
        }
        planted_here = {(t["gid"], t["first"], t["last"]) for t in truth if t["kind"] == kind}
        if kind == "gap" and lp_energy_mode == "register":
            # a register gap's period ends with the first reading after it (its energy is
            # unknown one by one too): compare the first missing row only
            found = {f[:2] for f in found}
            planted_here = {p[:2] for p in planted_here}
        assert found == planted_here, kind
    # every gap was estimated; a register gap's estimates add up to the energy it really used
    for gap in (t for t in truth if t["kind"] == "gap"):
        times = [
            dt.datetime.strptime(at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PKT)
            for at, _wh in gap["intervals"]
        ]
        estimates = ValueVersion.objects.filter(
            meter__global_device_id=gap["gid"], meter_datetime__in=times, is_current=True
        )
        assert estimates.count() == len(times)
        if lp_energy_mode == "register":
            used = sum(wh for _at, wh in gap["intervals"])
            assert sum(e.value for e in estimates) == Decimal(used) / 1000


#: Kinds planted by an MDC's own plan, and the rule that must find each (by meter and PKT
#: day for the day-level rules, by first interval for the others).
OWN_KINDS = {
    "stuck": (RuleType.ZERO_WITH_VOLTAGE, "first"),
    "clock": (RuleType.TIME_TOLERANCE, "first"),
    "relay_open": (RuleType.RELAY_OPEN_USAGE, "day"),
}


def test_an_mdcs_own_plan_plants_stuck_registers_clock_drift_and_relay_open_usage(
    settings, monkeypatch, live_server
):
    from apps.registry.models import Meter
    from apps.simulator.testing import freeze_clock

    freeze_clock(monkeypatch, NOW)
    settings.VEE_VALIDATE_AFTER_INGESTION = False
    settings.SIMULATOR_ANOMALIES = {}  # no default plan: the MDC's own
    anomalies.clear_caches()
    sim, sim_meters = sim_mdc("own_plan", meters=6)
    sim.anomaly_plan = {
        "start": START.isoformat(),
        "end": END.isoformat(),
        "stuck": 0.7,
        "clock_drift": 0.7,
        "relay_open": 0.4,
    }
    sim.save()
    mdc = registered_mdc(live_server, sim, sim_meters)
    specs = [gen.spec_of(meter, sim) for meter in sim_meters]
    plan = anomalies.plan_for(specs[0])
    assert (plan.stuck_per_day, plan.clock_per_day, plan.relay_open_meters) == (0.7, 0.7, 0.4)
    # the MDM knows of the disconnection (a disconnect command's result) the consumer bypassed
    open_relay = [s.gdi for s in specs if anomalies.relay_open(s, plan)]
    Meter.objects.filter(global_device_id__in=open_relay).update(relay_state="disconnected")
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL)
    assert run.outcome == "succeeded", run.error
    truth = []
    for spec in specs:
        truth += anomalies.ground_truth(
            spec, int(START.timestamp()), int(END.timestamp()), int(UNTIL.timestamp())
        )
    assert {t["kind"] for t in truth} == set(OWN_KINDS)
    validation_run(start=START, end=END, mdc=mdc, estimate=False)
    for kind, (rule_type, key) in OWN_KINDS.items():
        found = {
            (
                e.meter.global_device_id,
                stamp(e.period_start)[:10] if key == "day" else stamp(e.period_start),
            )
            for e in ValidationException.objects.filter(rule__rule_type=rule_type)
        }
        planted = {
            (t["gid"], t["first"][:10] if key == "day" else t["first"])
            for t in truth
            if t["kind"] == kind
        }
        assert found == planted, kind
    anomalies.clear_caches()
