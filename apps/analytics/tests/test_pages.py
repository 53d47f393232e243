"""Pages and API of analytics: logins and roles, figures from the roll-ups, bad input answered
with a message (never 500), and the drill-down from a red health tile to its silent meters with
one click sending them an on-demand read through the commands service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.analytics.services.rollups import input_meter_assign, rollup_refresh
from apps.analytics.tests.fleet import BASES, D, make_fleet, pattern
from apps.commands.models import CommandRequest

pytestmark = pytest.mark.django_db
DAY = dt.date(2022, 5, 11)  # no other test stores load profile on these days
PERIOD = f"start={DAY}&end={DAY}"


@pytest.fixture
def fleet():
    fleet = make_fleet("anp")
    input_meter_assign(actor=None, meter=fleet.meters[fleet.gid("fin")], feeder=fleet.feeder)
    for name in ("a1", "a2"):
        gid = fleet.gid(name)
        rows = fleet.rows(gid, DAY, lambda h, n=name: pattern(BASES[n], h), hours=range(0, 25))
        fleet.load(gid, rows)
    fin = fleet.gid("fin")
    fleet.load(fin, fleet.rows(fin, DAY, lambda h: D("5"), hours=range(0, 25)))
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=DAY, day_end=DAY)
    return fleet


PAGES = ["balance", "suspects", "health", "completeness", "load", "events", "commands"]


def test_every_page_needs_a_login_and_shows_for_a_viewer(client, client_as, fleet):
    assert client.get("/analytics/balance/").status_code == 302
    assert client.get("/api/analytics/balance/").status_code in (401, 403)
    viewer = client_as("Viewer")
    for page in PAGES:
        response = viewer.get(f"/analytics/{page}/?{PERIOD}&level=feeder&node={fleet.feeder.pk}")
        assert response.status_code == 200, page
    page = viewer.get(f"/analytics/balance/?{PERIOD}").content.decode()
    assert fleet.feeder.code in page and "plotly-chart" in page


def test_the_balance_api_serves_exact_decimals_and_refuses_bad_input(client_as, fleet):
    viewer = client_as("Viewer")
    body = viewer.get(f"/api/analytics/balance/?{PERIOD}&level=feeder").json()
    [row] = [r for r in body["results"] if r["node_id"] == fleet.feeder.pk]
    used = sum((pattern(BASES[n], h) for n in ("a1", "a2") for h in range(1, 25)), D(0))
    assert (row["input_kwh"], row["consumers_kwh"]) == ("120.000", f"{used:.3f}")
    assert row["loss_pct"] == str(((120 - used) * 100 / 120).quantize(D("0.01")))
    for bad in ("start=2022-13-01", f"start={DAY}&end={DAY - dt.timedelta(days=1)}",
                "level=planet", "start=2020-01-01&end=2022-01-01"):  # fmt: skip
        response = viewer.get(f"/api/analytics/balance/?{bad}")
        assert response.status_code == 400 and response.json(), bad
        assert viewer.get(f"/analytics/balance/?{bad}").status_code == 200  # message shown
    assert viewer.get("/api/analytics/load/?level=feeder").status_code == 400


def test_the_load_api_serves_pakistan_time_with_its_offset(client_as, fleet):
    body = client_as("Viewer").get(
        f"/api/analytics/load/?{PERIOD}&level=feeder&node={fleet.feeder.pk}"
    ).json()
    hours = [point["hour"] for point in body["results"]]
    assert hours, body
    # the day's first hour starts at Pakistan midnight, written as such (not 19:00+00:00)
    assert hours[0] == f"{DAY}T00:00:00+05:00"
    assert all(hour.endswith("+05:00") for hour in hours)


def test_red_tile_drill_down_and_one_click_read(client_as, fleet):
    # a1 and a2 were last heard on DAY (years ago): every consumer of the fleet is silent
    viewer = client_as("Viewer")
    health = viewer.get("/api/analytics/health/?level=feeder&hours=24").json()
    [tile] = [t for t in health["results"] if t["node_id"] == fleet.feeder.pk]
    assert (tile["meters"], tile["silent"]) == (4, 4)
    page = viewer.get("/analytics/health/?level=feeder").content.decode()
    assert f"node={fleet.feeder.pk}" in page and "text-bg-danger" in page
    silent = viewer.get(f"/analytics/health/silent/?level=feeder&node={fleet.feeder.pk}")
    assert silent.content.decode().count('class="silent-meter"') == 4
    assert "Send an on-demand read" not in silent.content.decode()  # a Viewer sends nothing
    post = {"level": "feeder", "node": fleet.feeder.pk, "hours": 24, "action": "read"}
    assert viewer.post("/analytics/health/silent/", post).status_code == 403
    operator = client_as("Operator")
    response = operator.post("/analytics/health/silent/", post)
    request = CommandRequest.objects.get()
    assert response.status_code == 302 and response.url == request.get_absolute_url()
    assert request.command == "on_demand_request" and request.params["type"] == "INST"
    assert request.devices.count() == 4
    # heard from now on: a reading newer than the window makes a meter not silent
    from apps.analytics.models import MeterDay

    MeterDay.objects.filter(global_device_id=fleet.gid("a1")).update(
        day=timezone.localdate(), last_reading_at=timezone.now()
    )
    health = viewer.get("/api/analytics/health/?level=feeder&hours=24").json()
    [tile] = [t for t in health["results"] if t["node_id"] == fleet.feeder.pk]
    assert tile["silent"] == 3


def test_the_home_dashboard_shows_the_analytics_panels(client_as, fleet):
    page = client_as("Viewer").get("/").content.decode()
    assert "Communication health" in page and "silent over 24 h" in page
    assert "Feeder losses, last 7 days" in page
