"""Issue #14's proof on a mixed fleet: a 2019 JSON MDC, a 2019 XML MDC and a UDIL 3.3 MDC,
simulated over real HTTP and pulled through the ingestion service into one warehouse
(tests/mixed_fleet.py), seen through the portal's pages and REST API as a user sees them: the
dashboard's fleet energy and the shared feeder's energy balance, completeness and
communication health, VEE on the 3.3 MDC's planted anomalies, and billing of its consumers.
Every figure is compared with a sum or count made here from the warehouse's raw rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.dashboard.tests.test_fleet_energy import _kpis
from apps.udil.timefmt import PKT
from mdm.celery import app as celery_app
from tests.mixed_fleet import build, hand_kwh_per_day

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def now():
    """The fleet's present is the real present (to the minute): the dashboard's period and the
    communication health count back from the real clock."""
    return dt.datetime.now(PKT).replace(second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _broker_emptied():
    yield
    # the roll-up and validation tasks the pulls queued on commit: no worker consumes them
    celery_app.control.purge()


def test_dashboard_energy_and_shared_feeder_balance_equal_hand_sums(
    live_server, monkeypatch, now, client_as
):
    fleet = build(live_server, monkeypatch, now=now)
    fleet.pull("load_profile")
    fleet.roll_up()
    hand = hand_kwh_per_day(fleet.all_gids)
    assert all(kwh >= 0 for kwh in hand.values()) and sum(hand.values()) > 0

    # the dashboard's fleet energy: every reading of the period, per MDC and in all
    client = client_as("Viewer")
    kpis = _kpis(client.get("/").content.decode())
    per_mdc = {
        mdc.code: sum((kwh for (gid, _), kwh in hand.items() if gid in fleet.gids(code)),
                      Decimal(0))
        for code, mdc in fleet.mdcs.items()
    }  # fmt: skip
    for code, kwh in per_mdc.items():
        assert kpis[f"kWh from {code}"] == f"{kwh:,.3f}", code
    assert kpis["kWh in the period"] == f"{sum(per_mdc.values()):,.3f}"
    assert kpis["Register faults (no consumption)"] == "0"

    # the energy balance of feeder F (consumers of three MDCs, both profiles), whole days
    first, last = (now.date() - dt.timedelta(days=n) for n in (2, 1))
    answer = client.get("/api/analytics/balance/", {"level": "feeder", "start": first, "end": last})
    assert answer.status_code == 200, answer.content
    [balance] = answer.json()["results"]  # feeder G has no input meter: no balance
    assert balance["code"] == fleet.feeder_f.code

    def days_sum(gids) -> Decimal:
        return sum(
            (kwh for (gid, day), kwh in hand.items() if gid in gids and first <= day <= last),
            Decimal(0),
        )

    consumers = fleet.gids_on("T1", "T2")
    assert len(consumers) == 4
    assert Decimal(balance["consumers_kwh"]) == days_sum(consumers) > 0
    assert Decimal(balance["input_kwh"]) == days_sum([fleet.input_gid]) > 0
    assert Decimal(balance["loss_kwh"]) == days_sum([fleet.input_gid]) - days_sum(consumers)
    assert balance["consumers"] == 4
