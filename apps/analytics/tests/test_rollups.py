"""Roll-ups against hand sums over a hand-made fleet of a register and an interval MDC; late
rows, re-pulls and repeated refreshes never double count; refreshed after an ingestion run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.analytics.load_selectors import tariff_load_curve
from apps.analytics.models import EventDay, MeterDay, MeterHour, NodeDay, TariffHour
from apps.analytics.services.rollups import (
    input_meter_assign,
    rollup_after_ingestion,
    rollup_refresh,
    rollup_refresh_readings,
)
from apps.analytics.tasks import rollup_ingested
from apps.analytics.tests.fleet import BASES, D, at, make_fleet, pattern, text
from apps.audit.models import AuditEntry
from apps.ingestion.models import IngestionRun
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db
# Days no other test stores load profile for (warehouse tables outlive transactional tests).
DAY = dt.date(2022, 3, 9)


def day_total(name: str) -> D:
    return sum((pattern(BASES[name], h) for h in range(1, 25)), D(0))


def load_day(fleet, day, names=BASES, hours=range(0, 25)):
    for name in names:
        gid = fleet.gid(name)
        fleet.load(gid, fleet.rows(gid, day, lambda h, n=name: pattern(BASES[n], h), hours=hours))


def node(level: str, node_id: int, day=DAY) -> NodeDay:
    return NodeDay.objects.get(level=level, node_id=node_id, day=day)


def test_meter_hours_days_and_nodes_equal_hand_sums_for_both_kinds_of_mdc():
    fleet = make_fleet("anr")
    input_meter_assign(actor=None, meter=fleet.meters[fleet.gid("fin")], feeder=fleet.feeder)
    input_meter_assign(actor=None, meter=fleet.meters[fleet.gid("tin1")], transformer=fleet.t1)
    load_day(fleet, DAY)
    result = rollup_refresh(global_device_ids=list(fleet.meters), day_start=DAY, day_end=DAY)
    assert result.meter_days == 4  # fin and tin1 sent nothing
    for name in BASES:
        gid = fleet.gid(name)
        day = MeterDay.objects.get(global_device_id=gid, day=DAY)
        assert (day.active_kwh, day.readings, day.expected) == (day_total(name), 24, 24)
        assert day.transformer_id == fleet.meters[gid].transformer_id
        assert day.feeder_id == fleet.feeder.pk and not day.is_input
        assert day.max_voltage == D("230")
        # the demand of the largest hour (60-minute intervals: kW = kWh)
        assert day.max_demand_kw == D(BASES[name]) + D("1.00")
        hours = {h.hour: h.active_kwh for h in MeterHour.objects.filter(global_device_id=gid)}
        assert hours == {at(DAY, h - 1): pattern(BASES[name], h) for h in range(1, 25)}
    # the register MDC's baseline reading at 00:00 closes the day before: nothing of it in DAY
    assert not MeterDay.objects.filter(global_device_id=fleet.gid("a1"), day=DAY - dt.timedelta(1))
    t1 = node("transformer", fleet.t1.pk)
    assert (t1.active_kwh, t1.meters, t1.readings, t1.expected) == (
        day_total("a1") + day_total("a2") + day_total("b1"),
        3,
        72,
        72,
    )
    assert node("transformer", fleet.t2.pk).active_kwh == day_total("b2")
    everyone = sum((day_total(n) for n in BASES), D(0))
    assert node("feeder", fleet.feeder.pk).active_kwh == everyone
    assert node("subdivision", fleet.feeder.subdivision_id).active_kwh == everyone
    assert node("mdc", fleet.register_mdc.pk).active_kwh == day_total("a1") + day_total("a2")
    assert node("mdc", fleet.interval_mdc.pk).active_kwh == day_total("b1") + day_total("b2")
    assert AuditEntry.objects.filter(action="analytics.rollup_refresh").count() == 1


def test_late_rows_and_re_pulls_do_not_double_count():
    fleet = make_fleet("anl")
    day = DAY + dt.timedelta(days=3)
    late = (10, 11)
    early_hours = [h for h in range(0, 25) if h not in late]
    gid = fleet.gid("a1")
    all_rows = fleet.rows(gid, day, lambda h: pattern("1.5", h), hours=range(0, 25))
    fleet.load(gid, [r for r in all_rows if int(r["meter_datetime"][11:13]) in early_hours])
    rollup_refresh(global_device_ids=[gid], day_start=day, day_end=day)
    first = MeterDay.objects.get(global_device_id=gid, day=day)
    # a gap: the register rise is measured all the same, attributed to the reading after it
    assert (first.active_kwh, first.readings) == (day_total("a1"), 22)
    assert MeterHour.objects.get(global_device_id=gid, hour=at(day, 11)).active_kwh == (
        pattern("1.5", 10) + pattern("1.5", 11) + pattern("1.5", 12)
    )
    # (in a test's one transaction every row has the same ingested_at, the transaction's start:
    # the run, started then, touches all; a clock reading here could be seconds later on a
    # loaded machine, and the run would touch nothing)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        started = cursor.fetchone()[0]
    fleet.load(gid, [r for r in all_rows if int(r["meter_datetime"][11:13]) in late])
    run = IngestionRun.objects.create(
        mdc=fleet.register_mdc,
        dataset="load_profile",
        transport="api",
        started_at=started,
        finished_at=timezone.now(),
        window_start=at(day, 9),
        window_end=at(day, 12),
        outcome="succeeded",
        rows_inserted=2,
    )
    for _ in range(2):  # a task run twice changes nothing
        rollup_after_ingestion(ingestion_run_id=run.pk)
        now = MeterDay.objects.get(global_device_id=gid, day=day)
        assert (now.active_kwh, now.readings) == (day_total("a1"), 24)
        of_day = MeterHour.objects.filter(
            global_device_id=gid, hour__gte=at(day, 0), hour__lt=at(day, 24)
        )
        hours = {h.hour: h.active_kwh for h in of_day}
        assert hours == {at(day, h - 1): pattern("1.5", h) for h in range(1, 25)}
        assert node("transformer", fleet.t1.pk, day).active_kwh == day_total("a1")
    # a re-pull of the whole day: the loader changes nothing, the roll-ups neither
    again = rows_load(
        dataset_code="load_profile", mdc_id=fleet.register_mdc.pk, raw_rows=all_rows, source="t"
    )
    assert again.inserted == again.updated == 0
    rollup_refresh(global_device_ids=[gid], day_start=day, day_end=day + dt.timedelta(days=1))
    assert MeterDay.objects.get(global_device_id=gid, day=day).active_kwh == day_total("a1")
    assert node("transformer", fleet.t1.pk, day).active_kwh == day_total("a1")


def hours_of(gid: str, day: dt.date) -> dict:
    of_day = MeterHour.objects.filter(
        global_device_id=gid, hour__gte=at(day, 0), hour__lt=at(day, 24)
    )
    return {h.hour: h.active_kwh for h in of_day}


def of_hours(rows, hours) -> list:
    """The readings at these hours of a day's ``rows`` (made for hours 0 to 24, in order)."""
    return [rows[hour] for hour in sorted(hours)]


def test_hourly_pulls_re_derive_only_their_hours_and_the_day_equals_a_whole_day_refresh():
    fleet = make_fleet("anh")
    day = DAY + dt.timedelta(days=21)
    gid, other = fleet.gid("a1"), fleet.gid("b1")
    rows = {g: fleet.rows(g, day, lambda h, n=n: pattern(BASES[n], h), hours=range(0, 25))
            for g, n in ((gid, "a1"), (other, "b1"))}  # fmt: skip
    kept = {}
    for hour in range(0, 25):  # one pull per hour, each followed by its roll-up
        for g in rows:
            fleet.load(g, of_hours(rows[g], {hour}))
        if hour == 13:
            kept = dict(MeterHour.objects.filter(global_device_id=gid).values_list("hour", "pk"))
        result = rollup_refresh_readings(
            global_device_ids=list(rows), first=at(day, hour), last=at(day, hour)
        )
        assert (result.day_start, result.day_end) == (
            (day - dt.timedelta(days=1), day - dt.timedelta(days=1)) if hour == 0 else (day, day)
        )
    # the hours before the last pulls were left as they were (not derived again)
    now = dict(MeterHour.objects.filter(global_device_id=gid).values_list("hour", "pk"))
    assert kept and all(now[hour] == pk for hour, pk in kept.items())
    for g, name in ((gid, "a1"), (other, "b1")):
        assert hours_of(g, day) == {at(day, h - 1): pattern(BASES[name], h) for h in range(1, 25)}
    incremental = {
        (d.global_device_id, d.active_kwh, d.readings, d.expected, d.faults, d.max_demand_kw,
         d.max_voltage, d.last_reading_at)
        for d in MeterDay.objects.filter(global_device_id__in=list(rows), day=day)
    }  # fmt: skip
    assert (gid, day_total("a1"), 24, 24, 0, D("2.50"), D("230"), at(day, 24)) in incremental
    t1 = node("transformer", fleet.t1.pk, day).active_kwh
    assert t1 == day_total("a1") + day_total("b1")
    nodes = set(NodeDay.objects.filter(day=day).values_list(
        "level", "node_id", "meters", "active_kwh", "readings", "expected"))  # fmt: skip
    assert ("feeder", fleet.feeder.pk, 2, t1, 48, 48) in nodes
    rollup_refresh(global_device_ids=list(rows), day_start=day, day_end=day)
    assert nodes == set(NodeDay.objects.filter(day=day).values_list(
        "level", "node_id", "meters", "active_kwh", "readings", "expected"))  # fmt: skip
    whole = {
        (d.global_device_id, d.active_kwh, d.readings, d.expected, d.faults, d.max_demand_kw,
         d.max_voltage, d.last_reading_at)
        for d in MeterDay.objects.filter(global_device_id__in=list(rows), day=day)
    }  # fmt: skip
    assert whole == incremental
    assert node("transformer", fleet.t1.pk, day).active_kwh == t1


def test_a_late_reading_re_derives_the_hours_up_to_the_reading_after_it():
    fleet = make_fleet("anx")
    day = DAY + dt.timedelta(days=24)
    gid = fleet.gid("a1")
    rows = fleet.rows(gid, day, lambda h: pattern("1.5", h), hours=range(0, 25))
    missing = {10, 11, 12, 13, 14}
    fleet.load(gid, of_hours(rows, set(range(0, 25)) - missing))
    rollup_refresh(global_device_ids=[gid], day_start=day, day_end=day)
    # the reading at 15:00 carries the five hours since 10:00 (a gap)
    assert hours_of(gid, day)[at(day, 14)] == sum((pattern("1.5", h) for h in range(10, 16)), D(0))
    # the reading at 10:00 arrives late, alone: its hour and the hours up to the next reading
    # (15:00, five hours on) are derived again, not just its own
    fleet.load(gid, of_hours(rows, {10}))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 10), last=at(day, 10))
    hours = hours_of(gid, day)
    assert hours[at(day, 9)] == pattern("1.5", 10)
    assert hours[at(day, 14)] == sum((pattern("1.5", h) for h in range(11, 16)), D(0))
    assert sum(hours.values(), D(0)) == day_total("a1")
    day_row = MeterDay.objects.get(global_device_id=gid, day=day)
    assert (day_row.active_kwh, day_row.readings) == (day_total("a1"), 20)
    assert node("transformer", fleet.t1.pk, day).active_kwh == day_total("a1")


def test_a_fault_and_the_largest_demand_survive_regrouping_a_day_from_its_hours():
    fleet = make_fleet("anf")
    day = DAY + dt.timedelta(days=27)
    gid = fleet.gid("a1")
    rows = fleet.rows(
        gid, day, lambda h: D("9") if h == 3 else pattern("1.5", h), hours=range(0, 25)
    )
    rows[24]["active_energy_tl"] = "1.000"  # the register falls at 24:00: a fault
    fleet.load(gid, of_hours(rows, set(range(0, 12))))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 0), last=at(day, 11))
    fleet.load(gid, of_hours(rows, set(range(12, 25))))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 12), last=at(day, 24))
    day_row = MeterDay.objects.get(global_device_id=gid, day=day)
    # the 03:00 hour (9 kWh in an hour: 9 kW) was derived by the first pull, the fault by the
    # second; the day regrouped after the second keeps both
    assert (day_row.faults, day_row.max_demand_kw, day_row.readings) == (1, D("9"), 24)


def test_a_corrected_re_pull_that_lowers_the_largest_demand_regroups_the_day():
    fleet = make_fleet("anc")
    day = DAY + dt.timedelta(days=30)
    gid = fleet.gid("a1")
    spike = fleet.rows(gid, day, lambda h: D("9") if h == 3 else pattern("1.5", h), range(0, 25))
    fleet.load(gid, spike)
    rollup_refresh(global_device_ids=[gid], day_start=day, day_end=day)
    assert MeterDay.objects.get(global_device_id=gid, day=day).max_demand_kw == D("9")
    # the MDC corrects the day (a fresher copy of every row: no 9 kWh hour after all)
    fleet.registers[gid] = D("1000")
    corrected = fleet.rows(gid, day, lambda h: pattern("1.5", h), range(0, 25))
    for row in corrected:
        row["db_datetime"] = text(at(day, 30))
    fleet.load(gid, of_hours(corrected, set(range(1, 25))))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 1), last=at(day, 24))
    day_row = MeterDay.objects.get(global_device_id=gid, day=day)
    # the greater of the old day's and the new hours' would still say 9: regrouped instead
    assert (day_row.max_demand_kw, day_row.active_kwh) == (D("2.50"), day_total("a1"))
    assert node("transformer", fleet.t1.pk, day).active_kwh == day_total("a1")


def test_tariff_hours_follow_the_tariff_their_hours_were_derived_under():
    fleet = make_fleet("ant")
    day = DAY + dt.timedelta(days=33)
    gid = fleet.gid("a1")
    consumer = fleet.meters[gid].consumer
    consumer.tariff = "A-1"
    consumer.save()
    rows = fleet.rows(gid, day, lambda h: pattern("1.5", h), hours=range(0, 25))

    def curve(tariff):
        return {hour: kwh for hour, kwh in tariff_load_curve(tariff=tariff, start=day, end=day)}

    fleet.load(gid, of_hours(rows, set(range(0, 13))))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 0), last=at(day, 12))
    assert curve("A-1") == {at(day, h - 1): pattern("1.5", h) for h in range(1, 13)}
    consumer.tariff = "B-2"  # the consumer changes tariff at noon
    consumer.save()
    fleet.load(gid, of_hours(rows, set(range(13, 25))))
    rollup_refresh_readings(global_device_ids=[gid], first=at(day, 13), last=at(day, 24))
    assert curve("A-1") == {at(day, h - 1): pattern("1.5", h) for h in range(1, 13)}
    assert curve("B-2") == {at(day, h - 1): pattern("1.5", h) for h in range(13, 25)}
    # the day derived again: every hour leaves the bucket it was counted in for today's tariff
    rollup_refresh(global_device_ids=[gid], day_start=day, day_end=day)
    assert curve("A-1") == {}
    assert curve("B-2") == {at(day, h - 1): pattern("1.5", h) for h in range(1, 25)}
    assert not TariffHour.objects.filter(tariff="A-1", hour__gte=at(day, 0)).exists()


def test_marking_an_input_meter_moves_its_days_out_of_the_consumers():
    fleet = make_fleet("ani")
    day = DAY + dt.timedelta(days=6)
    load_day(fleet, day, names=["a1"])
    fin = fleet.gid("fin")
    fleet.load(fin, fleet.rows(fin, day, lambda h: D("10"), hours=range(0, 25)))
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=day, day_end=day)
    assert node("mdc", fleet.register_mdc.pk, day).active_kwh == day_total("a1") + D("240")
    input_meter_assign(actor=None, meter=fleet.meters[fin], feeder=fleet.feeder)
    assert node("mdc", fleet.register_mdc.pk, day).active_kwh == day_total("a1")
    assert MeterDay.objects.get(global_device_id=fin, day=day).is_input


def test_events_roll_up_per_meter_code_and_day_after_an_events_pull(
    django_capture_on_commit_callbacks,
):
    fleet = make_fleet("ane")
    day = DAY + dt.timedelta(days=9)
    gid = fleet.gid("a1")
    started = timezone.now() - dt.timedelta(seconds=1)
    events = [(0, 121), (5, 121), (7, 111), (23, 101)]
    rows = [
        {
            "global_device_id": gid,
            "msn": str(fleet.meters[gid].msn),
            "event_datetime": text(at(day, hour)),
            "event_code": str(code),
            "event_description": "",
            "mdc_read_datetime": text(at(day, hour)),
            "db_datetime": text(at(day, hour)),
        }
        for hour, code in events
    ]
    rows_load(dataset_code="events", mdc_id=fleet.register_mdc.pk, raw_rows=rows, source="t")
    run = IngestionRun.objects.create(
        mdc=fleet.register_mdc,
        dataset="events",
        transport="api",
        started_at=started,
        window_start=at(day, 0),
        window_end=at(day, 24),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run.rows_inserted, run.outcome, run.finished_at = 4, "succeeded", timezone.now()
        run.save(update_fields=["rows_inserted", "outcome", "finished_at"])
    assert len(callbacks) == 1
    for _ in range(2):
        assert rollup_ingested.apply(args=[run.pk]).get() == 3
        counts = {
            (e.day, e.event_code): e.events for e in EventDay.objects.filter(global_device_id=gid)
        }
        assert counts == {(day, 121): 2, (day, 111): 1, (day, 101): 1}
