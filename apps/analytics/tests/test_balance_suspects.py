"""Energy balance per feeder and transformer and theft suspects, on hand-made fleets whose
figures are known by construction: each suspect reason is planted on its own consumer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.analytics.choices import SuspectReason as R
from apps.analytics.selectors import energy_balance, loss_band
from apps.analytics.services.rollups import input_meter_assign, rollup_refresh
from apps.analytics.suspects import suspects_rank
from apps.analytics.tests.fleet import BASES, D, at, make_fleet, pattern, text
from apps.vee.models import ValueVersion
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db
DAY = dt.date(2022, 4, 6)  # no other test stores load profile on these days


def test_loss_bands_are_the_discos_categories():
    assert [loss_band(D(p)) for p in ("0", "9.99", "10", "25", "39.9", "45", "79", "80", "95")] == [
        "0-10", "0-10", "10-20", "20-30", "30-40", "40-60", "60-80", ">80", ">80"
    ]  # fmt: skip
    assert loss_band(None) is None


def test_energy_balance_per_feeder_and_transformer_with_the_estimated_share():
    fleet = make_fleet("anb")
    fin, tin1 = fleet.gid("fin"), fleet.gid("tin1")
    input_meter_assign(actor=None, meter=fleet.meters[fin], feeder=fleet.feeder)
    input_meter_assign(actor=None, meter=fleet.meters[tin1], transformer=fleet.t1)
    hours = range(0, 25)
    for name in BASES:
        gid = fleet.gid(name)
        fleet.load(gid, fleet.rows(gid, DAY, lambda h, n=name: pattern(BASES[n], h), hours=hours))
    everyone = {h: sum((pattern(b, h) for b in BASES.values()), D(0)) for h in hours}
    t1 = {h: sum((pattern(BASES[n], h) for n in ("a1", "a2", "b1")), D(0)) for h in hours}
    # the feeder meter reads its consumers plus 25 % (lost: 20 % of its input); T1's plus 1 kWh
    fleet.load(fin, fleet.rows(fin, DAY, lambda h: everyone[h] * D("1.25"), hours=hours))
    fleet.load(tin1, fleet.rows(tin1, DAY, lambda h: t1[h] + 1, hours=hours))
    # VEE estimated the interval closing at 05:00 of a1 (its reading rests on estimated data)
    ValueVersion.objects.create(
        meter=fleet.meters[fleet.gid("a1")],
        meter_datetime=at(DAY, 5),
        version=2,
        kind="estimated",
        value=pattern("1.5", 5),
        method="linear",
        created_at=timezone.now(),
    )
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=DAY, day_end=DAY)

    used = sum((everyone[h] for h in range(1, 25)), D(0))
    [feeder] = [b for b in energy_balance(level="feeder", start=DAY, end=DAY)
                if b.node_id == fleet.feeder.pk]  # fmt: skip
    assert (feeder.input_kwh, feeder.consumers_kwh, feeder.loss_kwh) == (
        used * D("1.25"),
        used,
        used * D("0.25"),
    )
    assert (feeder.loss_pct, feeder.band, feeder.consumers) == (D("20.00"), "20-30", 4)
    assert feeder.completeness_pct == D("100.00")
    estimated = pattern("1.5", 5)
    assert feeder.estimated_pct == (estimated * 100 / (used * D("2.25"))).quantize(D("0.01"))
    [trans] = [b for b in energy_balance(level="transformer", start=DAY, end=DAY)
               if b.node_id == fleet.t1.pk]  # fmt: skip
    t1_used = sum((t1[h] for h in range(1, 25)), D(0))
    assert (trans.input_kwh, trans.consumers_kwh, trans.loss_kwh) == (t1_used + 24, t1_used, 24)
    assert trans.loss_pct == (D(2400) / (t1_used + 24)).quantize(D("0.01"))


def _events(fleet, gid, items):
    rows = [
        {
            "global_device_id": gid,
            "msn": str(fleet.meters[gid].msn),
            "event_datetime": text(when),
            "event_code": str(code),
            "event_description": "",
            "mdc_read_datetime": text(when),
            "db_datetime": text(when),
        }
        for when, code in items
    ]
    mdc = fleet.meters[gid].mdc
    rows_load(dataset_code="events", mdc_id=mdc.pk, raw_rows=rows, source="t")


def test_each_suspect_reason_is_found_explained_and_ranked(settings):
    settings.ANALYTICS_BASELINE_DAYS = 4
    fleet = make_fleet("ans")
    for n in range(1, 5):  # honest peers on T1
        fleet.add(f"c{n}", mdc=fleet.register_mdc, transformer=fleet.t1, msn=4_099_990_000 + n)
    first = DAY + dt.timedelta(days=10)
    period = [first + dt.timedelta(days=4 + n) for n in range(2)]
    days = [first + dt.timedelta(days=n) for n in range(6)]
    # a1: bypass, 30 % of its usual use is metered; b2: an outage (below) explains its drop
    thief_use = {"a1": D("0.3"), "b2": D("0.2")}
    for name in list(fleet.meters):
        short = name[len(fleet.prefix):]
        if short in ("fin", "tin1"):
            continue
        for i, day in enumerate(days):
            share = thief_use.get(short, D(1)) if day in period else D(1)
            if short == "b1" and day in period:
                share = D(0)  # b1: a stopped meter, voltage present
            volts = "0" if short == "b2" and day in period else "230"
            hours = range(0, 25) if i == 0 else range(1, 25)
            rows = fleet.rows(name, day, lambda h, s=share: D("1.5") * s, hours=hours, volts=volts)
            fleet.load(name, rows)
    # a2: a CT bypass and a reverse polarity in the period; c1: one before it (not counted)
    _events(fleet, fleet.gid("a2"), [(at(period[0], 3), 121), (at(period[1], 4), 118)])
    _events(fleet, fleet.gid("c1"), [(at(days[0], 3), 121)])
    # b2 (alone on T2): an outage explains its drop; its 0.3 kW tops a 0.2 kW sanctioned load
    b2 = fleet.meters[fleet.gid("b2")]
    b2.consumer.sanctioned_load_kw = D("0.2")
    b2.consumer.save()
    _events(fleet, b2.global_device_id, [(at(period[0], 1), 111)])
    # c2: an MDI reset on the 20th, not its reset date (1)
    _events(fleet, fleet.gid("c2"), [(at(period[0], 9), 101)])
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=days[0], day_end=days[-1])

    ranked = suspects_rank(start=period[0], end=period[-1])
    by_gid = {s.global_device_id: s for s in ranked}
    assert set(by_gid[fleet.gid("a1")].reason_codes) == {R.DROP}
    assert "30%" in dict(by_gid[fleet.gid("a1")].reasons)[R.DROP]
    assert set(by_gid[fleet.gid("a2")].reason_codes) == {R.TAMPER}
    assert "118, 121" in dict(by_gid[fleet.gid("a2")].reasons)[R.TAMPER]
    assert set(by_gid[fleet.gid("b1")].reason_codes) == {R.DROP, R.ZERO_WITH_VOLTAGE}
    assert set(by_gid[fleet.gid("b2")].reason_codes) == {R.MDI_OVER_SANCTIONED}
    assert set(by_gid[fleet.gid("c2")].reason_codes) == {R.MDI_RESET}
    assert not {fleet.gid(c) for c in ('c1', 'c3', 'c4')} & set(by_gid)
    # highest score first: the stopped meter has two reasons
    assert ranked[0].global_device_id == fleet.gid("b1")
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    # thresholds are settings: a weaker drop threshold leaves a1 out
    settings.ANALYTICS_DROP_PERCENT = 80
    assert fleet.gid("a1") not in {s.global_device_id for s in suspects_rank(
        start=period[0], end=period[-1])}  # fmt: skip
