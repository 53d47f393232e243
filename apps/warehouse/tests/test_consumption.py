"""Consumption derived from load-profile readings (apps.warehouse.consumption): register
differences with gaps, rollover, meter changes and faults; per-interval values as sent; both
kinds of MDC give the same figures."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from apps.registry.tests.factories import MdcFactory
from apps.warehouse.choices import ConsumptionStatus as S
from apps.warehouse.consumption import (
    LEAD_IN,
    consumption_issues,
    consumption_per_day,
    interval_consumption,
)
from apps.warehouse.meter_data import meter_data_context
from apps.warehouse.partitions import PKT
from apps.warehouse.selectors import fleet_energy_per_day
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db
D = Decimal
# A day no other test stores load profile for (warehouse tables outlive transactional tests).
DAY = datetime.date(2023, 5, 17)


def at(hh: int, mm: int = 0, day: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(DAY + datetime.timedelta(days=day), datetime.time(hh, mm), PKT)


def text(when: datetime.datetime) -> str:
    return when.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


def load(mdc, gid: str, readings, *, channel: str = "0", interval: str = "15", msn=None):
    """``readings``: [(datetime, active kWh, reactive kvarh or None)] of one device."""
    rows = []
    for when, active, *rest in readings:
        reactive = rest[0] if rest else None
        values = {
            "global_device_id": gid,
            "meter_datetime": text(when),
            "channel_id": channel,
            "interval": interval,
            "active_energy_tl": str(active),
            "reactive_energy_tl": "" if reactive is None else str(reactive),
            "msn": str(msn or 4_000_000_000 + int(gid[1:])),
            "mdc_read_datetime": text(when),
            "db_datetime": text(when),
        }
        rows.append(values)
    result = rows_load(dataset_code="load_profile", mdc_id=mdc.pk, raw_rows=rows, source="test")
    assert result.quarantined == 0


def derived(mdc, start=None, end=None, **kwargs):
    return [
        (text(r.end)[11:16], r.active_kwh, r.status)
        for r in interval_consumption(
            start=start or at(0), end=end or at(0, day=1), mdc_id=mdc.pk, **kwargs
        )
    ]


@pytest.fixture
def register_mdc():
    return MdcFactory(code="reg-kind", lp_energy_kind="register")


@pytest.fixture
def interval_mdc():
    return MdcFactory(code="int-kind", lp_energy_kind="interval")


def test_register_differences_of_consecutive_readings(register_mdc):
    load(register_mdc, "m1", [(at(10), "100.000", "40"), (at(10, 15), "100.500", "40.25")])
    load(register_mdc, "m1", [(at(10, 30), "101.250", "40.5")])
    rows = interval_consumption(start=at(0), end=at(12), mdc_id=register_mdc.pk)
    assert [(r.end, r.start, r.active_kwh, r.reactive_kvarh, r.status) for r in rows] == [
        (at(10), None, None, None, S.FIRST),  # nothing earlier to difference against
        (at(10, 15), at(10), D("0.500"), D("0.250"), S.OK),
        (at(10, 30), at(10, 15), D("0.750"), D("0.250"), S.OK),
    ]
    assert all(isinstance(r.active_kwh, Decimal) for r in rows[1:])


def test_the_first_reading_of_a_window_differences_against_the_reading_before_it(
    register_mdc,
):
    load(register_mdc, "m1", [(at(23, 45, day=-1), "10"), (at(0), "11"), (at(0, 15), "13")])
    # the window starts after 23:45 of the day before: that reading is only the baseline
    assert derived(register_mdc, start=at(23, 50, day=-1)) == [
        ("00:00", D("1.000"), S.OK),
        ("00:15", D("2.000"), S.OK),
    ]


def test_the_reading_before_the_window_is_found_however_far_back_within_the_lookback(
    register_mdc, settings
):
    # The derivation reads LEAD_IN before the window with the window's rows and looks further
    # back only for devices without a reading in it: both ways, and the boundary between them,
    # give the same previous reading; beyond the lookback there is none.
    settings.CONSUMPTION_LOOKBACK_DAYS = 1
    assert datetime.timedelta(hours=1) == LEAD_IN
    before = {
        "m1": at(11, 50),  # inside the lead-in
        "m2": at(11),  # exactly at its start: looked up
        "m3": at(7),  # hours before: looked up
        "m4": at(10, day=-2),  # before the lookback: no previous reading
    }
    for n, (gid, when) in enumerate(before.items()):
        load(
            register_mdc,
            gid,
            [(when, f"{10 * (n + 1)}"), (at(12, 15), f"{10 * (n + 1) + n + 1}.5")],
        )
    load(register_mdc, "m1", [(at(12, 30), "12")], channel="1")  # another channel: its own first
    rows = interval_consumption(start=at(12), end=at(13), mdc_id=register_mdc.pk)
    assert [(r.global_device_id, r.channel_id, r.start, r.active_kwh, r.status) for r in rows] == [
        ("m1", 0, at(11, 50), D("1.500"), S.GAP),
        ("m1", 1, None, None, S.FIRST),
        ("m2", 0, at(11), D("2.500"), S.GAP),
        ("m3", 0, at(7), D("3.500"), S.GAP),
        ("m4", 0, None, None, S.FIRST),
    ]


def test_a_gap_attributes_the_whole_difference_to_the_reading_after_it(register_mdc):
    load(register_mdc, "m1", [(at(10), "100"), (at(10, 15), "101"), (at(11), "104.5")])
    rows = interval_consumption(start=at(10, 1), end=at(12), mdc_id=register_mdc.pk)
    assert [(r.start, r.end, r.active_kwh, r.status) for r in rows] == [
        (at(10), at(10, 15), D("1.000"), S.OK),
        (at(10, 15), at(11), D("3.500"), S.GAP),  # 10:30 and 10:45 never arrived
    ]
    assert consumption_issues(start=at(0), end=at(12), mdc_id=register_mdc.pk) == {
        S.FIRST: 1,
        S.GAP: 1,
    }


def test_rollover_at_the_register_maximum_adds_the_maximum(register_mdc):
    register_mdc.energy_register_max = D("1000000")
    register_mdc.save()
    load(
        register_mdc,
        "m1",
        [(at(10), "999999.500"), (at(10, 15), "999999.900"), (at(10, 30), "0.700")],
    )
    assert derived(register_mdc, start=at(10)) == [
        ("10:15", D("0.400"), S.OK),
        ("10:30", D("0.800"), S.ROLLOVER),
    ]


def test_meter_change_gives_no_consumption_and_the_new_meter_counts_from_its_register(
    register_mdc,
):
    load(register_mdc, "m1", [(at(10), "5000"), (at(10, 15), "5001")], msn=4000000101)
    load(register_mdc, "m1", [(at(10, 30), "3"), (at(10, 45), "3.5")], msn=4000000999)
    assert derived(register_mdc, start=at(10)) == [
        ("10:15", D("1.000"), S.OK),
        ("10:30", None, S.METER_CHANGE),
        ("10:45", D("0.500"), S.OK),
    ]


def test_a_decrease_not_explained_is_a_fault_never_a_negative_figure(register_mdc):
    load(register_mdc, "m1", [(at(10), "500"), (at(10, 15), "480"), (at(10, 30), "481")])
    rows = derived(register_mdc, start=at(10))
    assert rows == [("10:15", None, S.FAULT), ("10:30", D("1.000"), S.OK)]
    assert consumption_issues(start=at(10), end=at(12), mdc_id=register_mdc.pk) == {S.FAULT: 1}
    [daily] = consumption_per_day(day_start=DAY, day_end=DAY, mdc_id=register_mdc.pk)
    assert daily.active_kwh == D("1.000")


def test_interval_kind_values_are_taken_as_sent(interval_mdc):
    load(interval_mdc, "m1", [(at(10), "0.4", "0.1"), (at(10, 15), "0.6"), (at(11), "0.2")])
    load(interval_mdc, "m1", [(at(11, 15), "-0.1")])
    rows = interval_consumption(start=at(0), end=at(12), mdc_id=interval_mdc.pk)
    assert [(r.start, r.end, r.active_kwh, r.reactive_kvarh, r.status) for r in rows] == [
        (at(9, 45), at(10), D("0.400"), D("0.100"), S.INTERVAL),
        (at(10), at(10, 15), D("0.600"), None, S.INTERVAL),
        (at(10, 45), at(11), D("0.200"), None, S.INTERVAL),  # a gap loses what it lost
        (at(11), at(11, 15), None, None, S.FAULT),  # negative: reported, never summed
    ]


def test_devices_and_channels_are_differenced_separately(register_mdc):
    load(register_mdc, "m1", [(at(10), "1"), (at(10, 15), "2")], channel="1")
    load(register_mdc, "m1", [(at(10), "50"), (at(10, 15), "55")], channel="2")
    load(register_mdc, "m2", [(at(10), "7"), (at(10, 15), "7.25")])
    rows = interval_consumption(start=at(10), end=at(11), mdc_id=register_mdc.pk)
    assert [(r.global_device_id, r.channel_id, r.active_kwh) for r in rows] == [
        ("m1", 1, D("1.000")),
        ("m1", 2, D("5.000")),
        ("m2", 0, D("0.250")),
    ]
    only = interval_consumption(start=at(10), end=at(11), global_device_ids=["m2"])
    assert [(r.global_device_id, r.active_kwh) for r in only] == [("m2", D("0.250"))]


def test_both_kinds_of_mdc_give_the_same_consumption_and_days(register_mdc, interval_mdc):
    """The same consumption sent as registers and as interval values; a reading stamped 00:00
    closes the day before (as the 00:00 billing registers do)."""
    times = [at(23, 30, day=-1), at(23, 45, day=-1), at(0), at(0, 15), at(23, 45), at(0, day=1)]
    used = [D("0.125"), D("0.5"), D("0.75"), D("1.25"), D("2"), D("0.375")]
    registers, register = [], D("9000")
    for when, kwh in zip(times, used, strict=True):
        register += kwh
        registers.append((when, register))
    load(register_mdc, "m1", registers)  # the 23:30 reading is the baseline of the window
    load(interval_mdc, "m2", list(zip(times, used, strict=True)))
    window = {"start": at(23, 40, day=-1), "end": at(0, day=1)}
    from_registers = [
        (r.end, r.active_kwh) for r in interval_consumption(**window, mdc_id=register_mdc.pk)
    ]
    from_intervals = [
        (r.end, r.active_kwh) for r in interval_consumption(**window, mdc_id=interval_mdc.pk)
    ]
    assert from_registers == from_intervals == list(zip(times[1:], used[1:], strict=True))

    def days(mdc):
        return [
            (d.day, d.active_kwh)
            for d in consumption_per_day(
                day_start=DAY - datetime.timedelta(days=1), day_end=DAY, mdc_id=mdc.pk
            )
        ]

    # 23:45 and 00:00 close the day before; 00:15 .. next 00:00 close DAY
    assert days(register_mdc) == [(DAY - datetime.timedelta(days=1), D("1.250")), (DAY, D("3.625"))]
    assert days(interval_mdc) == [
        (DAY - datetime.timedelta(days=1), D("1.375")),  # its 23:30 value needs no baseline
        (DAY, D("3.625")),
    ]
    fleet = dict(fleet_energy_per_day(DAY, DAY))
    assert fleet == {DAY: D("7.250")}


def test_the_meter_page_charts_consumption_and_names_the_readings_without_it(register_mdc):
    """The meter fragment's chart is kWh per interval (not the register), and a fault shows."""
    now = timezone.now().astimezone(PKT).replace(second=0, microsecond=0)
    base = now.replace(minute=now.minute - now.minute % 15) - datetime.timedelta(hours=3)
    times = [base + datetime.timedelta(minutes=15 * k) for k in range(5)]
    load(register_mdc, "m7", list(zip(times, ["100", "100.5", "101.25", "90", "91"], strict=True)))
    page = render_to_string("warehouse/_meter_data.html", meter_data_context("m7"))
    chart = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page).group(1)
    figure = json.loads(chart)
    assert figure["data"][0]["y"] == [None, 0.5, 0.75, None, 1.0]
    assert "Register decrease (fault, no consumption): 1 reading" in page
    assert "No earlier reading (no consumption): 1 reading" in page
