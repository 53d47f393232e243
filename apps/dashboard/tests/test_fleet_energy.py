"""The dashboard's fleet energy: a register MDC and an interval MDC simulating the same meters
(pulled over real HTTP through the ingestion pipeline) show the same consumption, and the
figures equal a hand sum over the warehouse's raw rows."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import registered_mdc
from apps.registry.models import Mdc
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.timefmt import PKT
from apps.warehouse.consumption import (
    interval_consumption,
)

# A day no other test pulls (warehouse tables outlive transactional tests); a Wednesday.
NOW = dt.datetime(2024, 2, 14, 12, 7, 0, tzinfo=PKT)
UNTIL = NOW - dt.timedelta(minutes=10)  # every row of the span is stored by then
DAYS = 4  # simulated history: the dashboard's 3 days start after the first readings
ENERGY_DAYS = 3
METERS = 4


@pytest.fixture
def two_kinds(live_server, monkeypatch):
    freeze_clock(monkeypatch, NOW)
    # The panel's period ends today: today is the simulated NOW, and three days long, so that
    # the register MDC has a reading before it (consumption is a difference).
    monkeypatch.setattr("apps.warehouse.dashboard.today_pkt", lambda: NOW.date())
    monkeypatch.setattr("apps.warehouse.dashboard.ENERGY_DAYS", ENERGY_DAYS)
    registered = {}
    for kind in ("register", "interval"):
        sim, meters = make_sim_mdc(
            code=f"energy_{kind}", meters=METERS, days=DAYS, seed=31, now=NOW, lp_energy_mode=kind
        )
        mdc = registered_mdc(live_server, sim, meters, lp_energy_kind=kind)
        run = pull_run(
            mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL
        )
        assert run.error == "" and run.rows_inserted > 0, run.error
        registered[kind] = (mdc, [meter.global_device_id for meter in meters])
    return registered


def _kpis(page: str) -> dict[str, str]:
    pairs = re.findall(
        r'<div class="kpi">([^<]*)</div><div class="text-muted small">([^<]*)</div>', page
    )
    return {html.unescape(label): html.unescape(value) for value, label in pairs}


def _hand_sum(start: dt.datetime, end: dt.datetime) -> dict[int, Decimal]:
    """kWh per MDC of the readings start < meter_datetime <= end, from the raw rows: a register
    MDC's consumption is the rise since the meter's previous reading, an interval MDC's the
    value. (Only the registered MDCs' own rows: no others exist on these days.)"""
    kinds = dict(Mdc.objects.values_list("pk", "lp_energy_kind"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mdc_id, global_device_id, channel_id, meter_datetime, active_energy_tl"
            " FROM warehouse_load_profile WHERE meter_datetime > %s AND meter_datetime <= %s",
            [start - dt.timedelta(days=1), end],
        )
        series = defaultdict(list)
        for mdc_id, gid, channel, at, kwh in cursor.fetchall():
            series[(mdc_id, gid, channel)].append((at, kwh))
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for (mdc_id, _, _), readings in series.items():
        readings.sort()
        for (_, before), (at, kwh) in zip([(None, None), *readings], readings, strict=False):
            if not start < at <= end:
                continue
            if kinds[mdc_id] == "interval":
                totals[mdc_id] += kwh
            else:
                assert before is not None and kwh >= before  # no faults in this fleet
                totals[mdc_id] += kwh - before
    return dict(totals)


def test_register_and_interval_mdcs_give_the_same_consumption_and_dashboard(two_kinds, client_as):
    (register_mdc, register_ids), (interval_mdc, interval_ids) = (
        two_kinds["register"],
        two_kinds["interval"],
    )
    first_day = NOW.date() - dt.timedelta(days=ENERGY_DAYS - 1)
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=PKT)
    end = dt.datetime.combine(NOW.date() + dt.timedelta(days=1), dt.time(), tzinfo=PKT)

    # interval by interval, meter by meter (the same simulated meters under other ids)
    def series(mdc, ids):
        rename = {gid: index for index, gid in enumerate(ids)}
        return sorted(
            (rename[r.global_device_id], r.end, r.active_kwh, r.reactive_kvarh)
            for r in interval_consumption(start=start, end=end, mdc_id=mdc.pk)
        )

    from_registers = series(register_mdc, register_ids)
    assert len(from_registers) > METERS * ENERGY_DAYS * 24  # 15- and 30-minute profiles
    assert from_registers == series(interval_mdc, interval_ids)
    assert all(kwh is not None and kwh >= 0 for _, _, kwh, _ in from_registers)

    page = client_as("Viewer").get("/").content.decode()
    kpis = _kpis(page)
    hand = _hand_sum(start, end)
    register_kwh = kpis[f"kWh from {register_mdc.code}"]
    assert register_kwh == kpis[f"kWh from {interval_mdc.code}"]
    assert register_kwh == f"{hand[register_mdc.pk]:,.3f}" == f"{hand[interval_mdc.pk]:,.3f}"
    assert kpis["kWh in the period"] == f"{sum(hand.values()):,.3f}"
    assert Decimal(register_kwh.replace(",", "")) > 0
    assert kpis["Register faults (no consumption)"] == "0"


def test_with_lost_rows_a_days_consumption_is_still_its_billing_register_rise(
    live_server, monkeypatch
):
    """Rows that never arrive (gaps) lose no energy from a register MDC: the reading after a
    gap carries it, so a meter-day's consumption equals its BILLING_DATA register rise whenever
    the day's two midnight readings arrived (a gap across midnight moves its energy to the day
    of the reading after it, as documented in apps.warehouse.consumption)."""
    freeze_clock(monkeypatch, NOW)
    sim, meters = make_sim_mdc(
        code="energy_gaps", meters=METERS, days=DAYS, seed=32, now=NOW, gap_rate=0.05
    )
    mdc = registered_mdc(live_server, sim, meters)
    for dataset in ("load_profile", "billing"):
        run = pull_run(mdc_id=mdc.pk, dataset_code=dataset, since=sim.history_start, until=UNTIL)
        assert run.error == "" and run.rows_inserted > 0, (dataset, run.error)
    start = sim.history_start + dt.timedelta(days=1)
    end = dt.datetime.combine(NOW.date(), dt.time(), tzinfo=PKT)
    derived: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    gaps = defaultdict(int)
    for reading in interval_consumption(start=start, end=end, mdc_id=mdc.pk):
        key = (
            reading.global_device_id,
            (reading.end - dt.timedelta(microseconds=1)).astimezone(PKT).date(),
        )
        derived[key] += reading.active_kwh
        gaps[key] += reading.status == "gap"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT global_device_id, meter_datetime, active_energy_pos_tl FROM warehouse_billing"
            " WHERE mdc_id = %s",
            [mdc.pk],
        )
        registers = {(gid, at.astimezone(PKT)): kwh for gid, at, kwh in cursor.fetchall()}
        cursor.execute(
            "SELECT global_device_id, meter_datetime FROM warehouse_load_profile WHERE mdc_id = %s",
            [mdc.pk],
        )
        arrived = {(gid, at.astimezone(PKT)) for gid, at in cursor.fetchall()}
    compared = 0
    for (gid, day), kwh in derived.items():
        opening = dt.datetime.combine(day, dt.time(), tzinfo=PKT)
        closing = opening + dt.timedelta(days=1)
        if (gid, opening) in arrived and (gid, closing) in arrived:
            assert kwh == registers[(gid, closing)] - registers[(gid, opening)], (gid, day)
            compared += gaps[(gid, day)] > 0
    assert compared > 0  # days with rows really lost inside them were checked
