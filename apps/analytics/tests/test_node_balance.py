"""One node's energy balance (page and API), opened from its hierarchy page: its row, its days
and, for a feeder, its transformers beneath it, against hand sums of the warehouse readings the
roll-ups derive from (register differences of the register MDC, interval values of the other);
a bad node is a form error on the page and a 400 in the API."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.utils.formats import localize

from apps.analytics.services.rollups import input_meter_assign, rollup_refresh
from apps.analytics.tests.fleet import BASES, D, make_fleet, pattern
from apps.registry.tests.factories import FeederFactory
from apps.warehouse.models import LoadProfileReading
from apps.warehouse.partitions import PKT

pytestmark = pytest.mark.django_db
D1, D2 = dt.date(2022, 9, 20), dt.date(2022, 9, 21)  # no other test stores load profile here
D3 = D2 + dt.timedelta(days=1)  # nothing read: a day of the period with no data
PERIOD = f"start={D1}&end={D3}"


@pytest.fixture
def fleet():
    fleet = make_fleet("anq")
    fin, tin1 = fleet.gid("fin"), fleet.gid("tin1")
    input_meter_assign(actor=None, meter=fleet.meters[fin], feeder=fleet.feeder)
    input_meter_assign(actor=None, meter=fleet.meters[tin1], transformer=fleet.t1)
    for day, hours, lost in ((D1, range(0, 25), D("1.25")), (D2, range(1, 25), D("1.5"))):
        for name in BASES:
            gid = fleet.gid(name)
            fleet.load(gid, fleet.rows(gid, day, lambda h, n=name: pattern(BASES[n], h), hours))
        everyone = {h: sum((pattern(b, h) for b in BASES.values()), D(0)) for h in hours}
        t1 = {h: sum((pattern(BASES[n], h) for n in ("a1", "a2", "b1")), D(0)) for h in hours}
        fleet.load(fin, fleet.rows(fin, day, lambda h, e=everyone, k=lost: e[h] * k, hours))
        fleet.load(tin1, fleet.rows(tin1, day, lambda h, t=t1: t[h] + 1, hours))
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=D1, day_end=D3)
    return fleet


def hand_days(fleet, *names) -> dict[dt.date, Decimal]:
    """kWh per Pakistan day of these meters from their stored load-profile rows: the rise of
    the register between readings (register MDC) or the interval's value (interval MDC), on
    the day the interval closes in (a reading at 00:00 closes the day before)."""
    out: dict[dt.date, Decimal] = {}
    for name in names:
        gid = fleet.gid(name)
        rows = LoadProfileReading.objects.filter(global_device_id=gid).order_by("meter_datetime")
        previous = None
        for when, value in rows.values_list("meter_datetime", "active_energy_tl"):
            value = Decimal(value)
            if fleet.kind[gid] == "register":
                kwh, previous = (None if previous is None else value - previous), value
            else:
                kwh = value
            if kwh is not None:
                day = (when - dt.timedelta(microseconds=1)).astimezone(PKT).date()
                out[day] = out.get(day, D(0)) + kwh
    return out


def hand(fleet, *names) -> Decimal:
    days = hand_days(fleet, *names)
    return sum((days.get(day, D(0)) for day in (D1, D2, D3)), D(0))


def test_the_api_gives_one_feeders_balance_days_and_transformers_as_hand_sums(client_as, fleet):
    viewer = client_as("Viewer")
    body = viewer.get(f"/api/analytics/balance/?{PERIOD}&level=feeder&node={fleet.feeder.pk}")
    assert body.status_code == 200, body.content
    body = body.json()
    assert body["node"] == {"id": fleet.feeder.pk, "code": fleet.feeder.code}
    [row] = body["results"]
    consumers = hand(fleet, *BASES)
    assert consumers > 0
    assert row["input_kwh"] == f"{hand(fleet, 'fin'):.3f}"
    assert row["consumers_kwh"] == f"{consumers:.3f}"
    assert row["loss_kwh"] == f"{hand(fleet, 'fin') - consumers:.3f}"
    assert row["consumers"] == 4
    # every day of the period, the one without readings too
    fin_days, used_days = hand_days(fleet, "fin"), hand_days(fleet, *BASES)
    assert [d["day"] for d in body["days"]] == [str(D1), str(D2), str(D3)]
    for d in body["days"]:
        day = dt.date.fromisoformat(d["day"])
        i, u = fin_days.get(day, D(0)), used_days.get(day, D(0))
        assert (D(d["input_kwh"]), D(d["consumers_kwh"]), D(d["loss_kwh"])) == (i, u, i - u)
    assert D(body["days"][1]["loss_kwh"]) > D(body["days"][0]["loss_kwh"])  # 1/3 vs 1/5 lost
    # the transformers beneath: T1 balanced against its own input meter, T2 has none
    below = {t["node_id"]: t for t in body["transformers"]}
    assert set(below) == {fleet.t1.pk, fleet.t2.pk}
    assert sum(D(t["consumers_kwh"]) for t in below.values()) == D(row["consumers_kwh"])
    t1, t2 = below[fleet.t1.pk], below[fleet.t2.pk]
    assert D(t1["consumers_kwh"]) == hand(fleet, "a1", "a2", "b1")
    assert D(t1["input_kwh"]) == hand(fleet, "tin1") == D(t1["consumers_kwh"]) + 48
    assert (t2["input_kwh"], t2["loss_kwh"], t2["loss_pct"]) == (None, None, None)
    assert D(t2["consumers_kwh"]) == hand(fleet, "b2")
    # the feeder's code names it as well as its id does; a transformer has no drill-down
    by_code = viewer.get(f"/api/analytics/balance/?{PERIOD}&feeder={fleet.feeder.code}").json()
    assert by_code == body
    t1_body = viewer.get(f"/api/analytics/balance/?{PERIOD}&transformer={fleet.t1.code}").json()
    assert (t1_body["level"], t1_body["results"]) == ("transformer", [t1])
    assert "transformers" not in t1_body
    assert [d["input_kwh"] for d in t1_body["days"]][2] == "0"


def _balance_link(page: str) -> str:
    # the page's button (the navbar links the whole ranked table too)
    pattern = r'class="btn [^"]*" href="([^"]*/analytics/balance/[^"]*)"[^>]*>Energy balance<'
    [href] = re.findall(pattern, page)
    return html.unescape(href)


def test_the_feeder_pages_button_opens_that_feeders_balance_and_its_transformers(client_as, fleet):
    viewer = client_as("Viewer")
    feeder_page = viewer.get(fleet.feeder.get_absolute_url())
    assert feeder_page.status_code == 200
    link = _balance_link(feeder_page.content.decode())
    assert f"node={fleet.feeder.pk}" in link and "level=feeder" in link
    response = viewer.get(f"{link}&{PERIOD}")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"feeder {fleet.feeder.code}</small>" in page
    assert "form-error" not in page
    # its row: the figures the API gives (shown localized), then the daily chart
    api = viewer.get(f"/api/analytics/balance/?{PERIOD}&level=feeder&node={fleet.feeder.pk}")
    [row] = api.json()["results"]
    for key in ("input_kwh", "consumers_kwh", "loss_kwh"):
        assert f">{localize(D(row[key]))}<" in page, key
    assert page.count('class="plotly-chart"') == 1 and "vendor/plotly/plotly.min.js" in page
    # the drill-down: each transformer links on to its own balance over the same period
    for transformer in (fleet.t1, fleet.t2):
        href = f"/analytics/balance/?level=transformer&amp;node={transformer.pk}&amp;start={D1}"
        assert href in page, transformer.code
    t1 = viewer.get(f"/analytics/balance/?level=transformer&node={fleet.t1.pk}&{PERIOD}")
    t1_page = t1.content.decode()
    assert f"transformer {fleet.t1.code}</small>" in t1_page
    assert f">{localize(hand(fleet, 'tin1'))}<" in t1_page
    assert "Its transformers" not in t1_page
    # the ranked table links each node to its own balance too
    ranked = viewer.get(f"/analytics/balance/?{PERIOD}&level=feeder").content.decode()
    assert f"level=feeder&amp;node={fleet.feeder.pk}&amp;start={D1}" in ranked
    # the transformer page's button opens the transformer's balance
    link = _balance_link(viewer.get(fleet.t1.get_absolute_url()).content.decode())
    assert f"node={fleet.t1.pk}" in link and "level=transformer" in link


def test_a_bad_node_is_a_400_in_the_api_and_a_form_error_on_the_page(client_as, fleet):
    viewer = client_as("Viewer")
    twin = FeederFactory(code=fleet.feeder.code)  # codes are unique only under a subdivision
    bad = {
        "level=feeder&node=999999": "No feeder has the id 999999",
        f"level=feeder&node={2**40}": "less than or equal",
        "level=feeder&node=0": "greater than or equal",
        "level=feeder&node=x1": "whole number",
        "feeder=no-such-feeder": "No feeder has the code or id no-such-feeder",
        "transformer=99%25": "No transformer has the code or id 99%",
        f"feeder={fleet.feeder.code}": "Several feeders have the code",
        f"feeder={fleet.feeder.pk}&transformer={fleet.t1.pk}": "not both",
        f"feeder={fleet.feeder.pk}&node={twin.pk}": "is not feeder",
        "level=transformer&node=999999": "No transformer has the id 999999",
    }
    for query, why in bad.items():
        response = viewer.get(f"/api/analytics/balance/?{PERIOD}&{query}")
        assert response.status_code == 400, query
        assert why in str(response.json()), (query, response.json())
        page = viewer.get(f"/analytics/balance/?{PERIOD}&{query}")
        assert page.status_code == 200, query
        text = html.unescape(page.content.decode())
        assert re.search(r'form-error">[^<]*' + re.escape(why), text), query
    # the twin's own id is no error
    ok = viewer.get(f"/api/analytics/balance/?{PERIOD}&feeder={twin.pk}")
    assert ok.status_code == 200 and ok.json()["node"]["id"] == twin.pk
