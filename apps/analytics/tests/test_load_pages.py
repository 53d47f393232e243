"""Load pages against hand sums: top consumers, peak demand vs sanctioned load, transformer
loading vs its kVA rating, the load curve of one tariff; the events list with tamper events
highlighted and acknowledgement (who, when), Operators only, once."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.analytics import load_selectors
from apps.analytics.models import EventAcknowledgement
from apps.analytics.services.rollups import input_meter_assign, rollup_refresh
from apps.analytics.tests.fleet import BASES, D, at, make_fleet, pattern, text
from apps.audit.models import AuditEntry
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db
DAY = dt.date(2022, 8, 17)  # no other test stores load profile or events on these days


def day_total(name: str) -> D:
    return sum((pattern(BASES[name], h) for h in range(1, 25)), D(0))


@pytest.fixture
def fleet():
    fleet = make_fleet("anz")
    input_meter_assign(actor=None, meter=fleet.meters[fleet.gid("tin1")], transformer=fleet.t1)
    fleet.t1.capacity_kva = D("10")
    fleet.t1.save()
    a2 = fleet.meters[fleet.gid("a2")].consumer
    a2.tariff = "B-2"
    a2.save()
    for name in ("a1", "a2"):
        gid = fleet.gid(name)
        rows = fleet.rows(gid, DAY, lambda h, n=name: pattern(BASES[n], h), hours=range(0, 25))
        fleet.load(gid, rows)
    tin1 = fleet.gid("tin1")
    fleet.load(tin1, fleet.rows(tin1, DAY, lambda h: D("6"), hours=range(0, 25)))
    mdc = fleet.register_mdc
    events = [(fleet.gid("a1"), at(DAY, 3), "121"), (fleet.gid("a2"), at(DAY, 4), "111")]
    rows_load(dataset_code="events", mdc_id=mdc.pk, source="t", raw_rows=[
        {"global_device_id": g, "event_datetime": text(when), "event_code": code,
         "event_description": "x"} for g, when, code in events])  # fmt: skip
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=DAY, day_end=DAY)
    return fleet


def test_top_consumers_and_peak_demand_against_sanctioned_load(fleet):
    top = [c for c in load_selectors.top_consumers(start=DAY, end=DAY)
           if c.global_device_id in {fleet.gid("a1"), fleet.gid("a2")}]  # fmt: skip
    assert [c.global_device_id for c in top] == [fleet.gid("a1"), fleet.gid("a2")]
    assert (top[0].kwh, top[0].max_demand_kw) == (day_total("a1"), D("2.5"))
    assert top[1].tariff == "B-2"
    assert fleet.gid("tin1") not in {c.global_device_id for c in
                                     load_selectors.top_consumers(start=DAY, end=DAY)}  # fmt: skip
    peaks = {c.global_device_id: c for c in load_selectors.peak_over_sanctioned(start=DAY, end=DAY)}
    assert peaks[fleet.gid("a1")].peak_pct == D("50.0")  # 2.5 kW of 5 kW sanctioned
    assert peaks[fleet.gid("a2")].peak_pct == D("35.0")  # 1.75 of 5


def test_transformer_loading_from_its_input_meter_and_its_consumers(fleet):
    [t1] = [t for t in load_selectors.transformer_loading(start=DAY, end=DAY)
            if t.transformer_id == fleet.t1.pk]  # fmt: skip
    assert (t1.peak_kva, t1.loading_pct, t1.source) == (D("6.000"), D("60.0"), "input meter")
    rows = load_selectors.transformer_loading(start=DAY, end=DAY, feeder_id=fleet.feeder.pk)
    by_id = {t.transformer_id: t for t in rows}
    coincident = max(pattern("1.5", h) + pattern("0.75", h) for h in range(1, 25))
    assert by_id[fleet.t1.pk].consumers_peak_kw == coincident
    assert fleet.t2.pk not in by_id  # b2 sent nothing


def test_load_curve_of_one_tariff(fleet, client_as):
    points = load_selectors.tariff_load_curve(tariff="B-2", start=DAY, end=DAY)
    assert sum(kwh for _, kwh in points) == day_total("a2") and len(points) == 24
    viewer = client_as("Viewer")
    body = viewer.get(f"/api/analytics/load/?start={DAY}&end={DAY}&tariff=B-2").json()
    assert sum(D(p["kwh"]) for p in body["results"]) == day_total("a2")
    page = viewer.get(f"/analytics/load/?start={DAY}&end={DAY}&tariff=B-2").content.decode()
    assert "plotly-chart" in page and 'name="tariff"' in page


def test_new_pages_show_for_a_viewer(fleet, client_as):
    viewer = client_as("Viewer")
    period = f"start={DAY}&end={DAY}"
    consumers = viewer.get(f"/analytics/consumers/?{period}").content.decode()
    assert fleet.gid("a1") in consumers and "Peak demand vs sanctioned load" in consumers
    loading = viewer.get(f"/analytics/transformers/?{period}&node={fleet.feeder.pk}")
    assert loading.status_code == 200 and fleet.t1.code in loading.content.decode()
    assert viewer.get("/analytics/transformers/?start=bad").status_code == 200  # a message


def test_events_list_highlights_tamper_and_operators_acknowledge_once(fleet, client_as):
    url = f"/analytics/events/list/?start={DAY}&end={DAY}"
    viewer = client_as("Viewer")
    page = viewer.get(url).content.decode()
    assert fleet.gid("a1") in page and "badge bg-danger" in page
    assert ">Acknowledge</button>" not in page
    assert viewer.get(url + "&tamper=1").content.decode().count("<tr") == 2  # head + a1
    ack = {"global_device_id": fleet.gid("a1"), "event_datetime": at(DAY, 3).isoformat(),
           "event_code": "121", "note": "seen on site"}  # fmt: skip
    assert viewer.post(url, ack).status_code == 403
    operator = client_as("Operator")
    assert ">Acknowledge</button>" in operator.get(url).content.decode()
    assert operator.post(url, ack).status_code == 302
    entry = EventAcknowledgement.objects.get()
    assert entry.acknowledged_by.username.startswith("operator_") and entry.note == "seen on site"
    assert operator.post(url, {**ack, "note": "again"}).status_code == 302
    assert EventAcknowledgement.objects.get().note == "seen on site"  # the first one stays
    assert AuditEntry.objects.filter(action="analytics.event_acknowledge").count() == 1
    page = operator.get(url + "&open=1").content.decode()
    assert fleet.gid("a1") not in page and fleet.gid("a2") in page
    missing = operator.post(url, {**ack, "event_code": "999"}, follow=True).content.decode()
    assert "No such event" in missing and EventAcknowledgement.objects.count() == 1
    bad = operator.post(url, {**ack, "event_datetime": "yesterday"}, follow=True)
    assert bad.status_code == 200 and "event_datetime" in bad.content.decode()
