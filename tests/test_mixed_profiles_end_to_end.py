"""Issue #14's proof on a mixed fleet: a 2019 JSON MDC, a 2019 XML MDC and a UDIL 3.3 MDC,
simulated over real HTTP and pulled through the ingestion service into one warehouse
(tests/mixed_fleet.py), seen through the portal's pages and REST API as a user sees them: the
dashboard's fleet energy and the shared feeder's energy balance, completeness and
communication health, VEE on the 3.3 MDC's planted anomalies, billing of its consumers, and
one command over all three MDCs. Every figure is compared with a sum or count made here from
the warehouse's raw rows (or, for VEE, the simulator's ground truth)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from apps.dashboard.tests.test_fleet_energy import _kpis
from apps.udil.timefmt import PKT
from mdm.celery import app as celery_app
from tests.mixed_fleet import build, day_of, hand_kwh_per_day, lp_rows

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


def test_completeness_and_communication_health_agree_with_a_hand_count(
    live_server, monkeypatch, now, client_as
):
    fleet = build(live_server, monkeypatch, now=now)
    fleet.pull("load_profile", codes=["mx19j", "mx33"])
    # the XML MDC's pulls stopped 30 hours ago: its meters are silent, its last days empty
    fleet.pull("load_profile", codes=["mx19x"], until=now - dt.timedelta(hours=30))
    fleet.roll_up()
    rows = lp_rows(fleet.all_gids)
    client = client_as("Viewer")

    # communication health: meters (input meters aside) and those silent for 24 hours
    heard_since = dt.datetime.now(PKT) - dt.timedelta(hours=24)
    silent = {gid for gid, readings in rows.items() if readings[-1][0] <= heard_since}
    assert silent == set(fleet.gids("mx19x"))
    nodes = {
        "mdc": {mdc.code: fleet.gids(code) for code, mdc in fleet.mdcs.items()},
        "feeder": {
            fleet.feeder_f.code: fleet.gids_on("T1", "T2"),
            fleet.feeder_g.code: fleet.gids_on("T3"),
        },
    }
    nodes["mdc"]["reg-mx19j"] = [g for g in nodes["mdc"]["reg-mx19j"] if g != fleet.input_gid]
    for level, members in nodes.items():
        answer = client.get("/api/analytics/health/", {"level": level, "hours": 24})
        assert answer.status_code == 200, answer.content
        tiles = {t["code"]: (t["meters"], t["silent"]) for t in answer.json()["results"]}
        assert tiles == {
            code: (len(gids), len(silent & set(gids))) for code, gids in members.items()
        }, level

    # completeness: readings received per node and day against a full day's (1440 / interval)
    first = now.date() - dt.timedelta(days=3)
    received, expected = defaultdict(int), defaultdict(int)
    for gid, readings in rows.items():
        if gid == fleet.input_gid:
            continue
        per_day = defaultdict(list)
        for at, interval, _ in readings:
            per_day[day_of(at)].append(interval)
        for day, intervals in per_day.items():
            for level, members in nodes.items():
                for code, gids in members.items():
                    if gid in gids:
                        received[(level, code, day)] += len(intervals)
                        expected[(level, code, day)] += 1440 // max(intervals)
    grids = {}
    for level, members in nodes.items():
        answer = client.get(
            "/api/analytics/completeness/", {"level": level, "start": first, "end": now.date()}
        )
        assert answer.status_code == 200, answer.content
        body = answer.json()
        days = [dt.date.fromisoformat(day) for day in body["days"]]
        grid = {
            node["code"]: dict(zip(days, pct, strict=True))
            for node, pct in zip(body["nodes"], body["percent"], strict=True)
        }
        hand = {
            code: {
                day: round(100 * received[(level, code, day)] / expected[(level, code, day)], 1)
                if (level, code, day) in received
                else None
                for day in days
            }
            for code in members
        }
        assert grid == hand, level
        grids[level] = grid
    # every MDC is complete on the last whole day before the XML MDC stopped (the first day
    # of the history too: its first reading is at its first interval's end), the stopped MDC
    # has nothing since
    stopped = day_of(now - dt.timedelta(hours=30))
    for day in (first, stopped - dt.timedelta(days=1)):
        assert {code: cells[day] for code, cells in grids["mdc"].items()} == dict.fromkeys(
            ("reg-mx19j", "reg-mx19x", "reg-mx33"), 100.0
        ), day
        assert grids["feeder"][fleet.feeder_f.code][day] == 100.0
    assert grids["mdc"]["reg-mx19x"][stopped] < 100.0
    assert grids["mdc"]["reg-mx19x"][now.date()] is None


def _api_list(client, url: str, **params) -> list[dict]:
    """Every row of a paged API list (following ``next``)."""
    answer = client.get(url, {**params, "page_size": 1000})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    rows = body["results"]
    while body["next"]:
        body = client.get(body["next"]).json()
        rows += body["results"]
    return rows


def _stamp(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


#: VEE's fleet lives at a fixed time (nothing in it reads the real clock), so what the plan
#: plants, and every reading the rules see, is the same on every run.
VEE_NOW = dt.datetime(2025, 3, 12, 12, 7, tzinfo=PKT)


@pytest.fixture
def planted_3_3(live_server, monkeypatch):
    """The fleet with an anomaly plan on the 3.3 MDC only, over its two last whole days."""
    now = VEE_NOW
    from apps.simulator import anomalies
    from apps.vee.services.rules import rule_set_default_ensure

    rule_set_default_ensure()  # a transactional test's flush may have emptied the rule tables
    anomalies.clear_caches()  # meters' plans are cached by primary key, which tests reuse
    start = dt.datetime.combine(now.date() - dt.timedelta(days=2), dt.time(), tzinfo=PKT)
    end = start + dt.timedelta(days=2)
    plan = {"start": start.isoformat(), "end": end.isoformat(), "gap": 0.9, "spike": 0.9,
            "rollback": 0.9, "zero": 0.9}  # fmt: skip
    fleet = build(live_server, monkeypatch, now=now, mx33={"anomaly_plan": plan})
    yield fleet, start, end
    anomalies.clear_caches()


def test_vee_on_the_3_3_mdc_flags_exactly_the_planted_anomalies_and_estimates_gaps(
    planted_3_3, client_as
):
    from apps.simulator import anomalies
    from apps.simulator import generator as gen
    from apps.vee.tasks import validate_ingested
    from apps.vee.tests.test_planted import KINDS

    fleet, start, end = planted_3_3
    runs = {run.mdc.code: run for run in fleet.pull("load_profile")}
    # the validation each pull queues, run as the worker runs it
    for run in runs.values():
        assert validate_ingested.apply(args=[run.pk]).get() is not None
    truth = []
    for meter in fleet.sim_meters["mx33"]:
        spec = gen.spec_of(meter, fleet.sims["mx33"])
        truth += anomalies.ground_truth(
            spec, int(start.timestamp()), int(end.timestamp()), int(fleet.until.timestamp())
        )
    assert {t["kind"] for t in truth} == set(KINDS)  # the plan planted every kind

    client = client_as("Viewer")
    found = _api_list(client, "/api/vee/exceptions/", mdc="reg-mx33")
    by_type = defaultdict(set)
    for e in found:
        by_type[e["rule_type"]].add(
            (e["global_device_id"], _stamp(e["period_start"]), _stamp(e["period_end"]))
        )
    planted = defaultdict(set)
    for t in truth:
        planted[KINDS[t["kind"]]].add((t["gid"], t["first"], t["last"]))
    # a register gap's period ends with the first reading after it: compare its first row
    by_type["gap"] = {f[:2] for f in by_type["gap"]}
    planted["gap"] = {p[:2] for p in planted["gap"]}
    assert dict(by_type) == dict(planted)  # exactly the planted ones, of every rule
    # the 2019 MDCs, with no plan, have nothing to flag
    assert _api_list(client, "/api/vee/exceptions/", mdc="reg-mx19j") == []
    assert _api_list(client, "/api/vee/exceptions/", mdc="reg-mx19x") == []

    # every gap estimated: one current estimate per unknown interval, adding up to the energy
    # the meter really used in them (the register after the gap carries it)
    for gap in (t for t in truth if t["kind"] == "gap"):
        versions = {
            _stamp(v["meter_datetime"]): Decimal(v["value"])
            for v in _api_list(client, "/api/vee/versions/", global_device_id=gap["gid"])
            if v["kind"] == "estimated" and v["is_current"]
        }
        times = [at for at, _wh in gap["intervals"]]
        assert set(times) <= set(versions), gap["first"]
        used = sum(wh for _at, wh in gap["intervals"])
        assert sum(versions[at] for at in times) == Decimal(used) / 1000, gap["first"]
    page = client.get("/vee/exceptions/", {"mdc": "reg-mx33"})
    assert page.status_code == 200
    assert all(gid.encode() in page.content for gid, *_ in planted["spike"])


def _billing_registers(gids) -> dict[str, list[tuple]]:
    """(meter_datetime, active_energy_pos_tl, active_energy_abs_tl) of each meter's BILLING_DATA
    rows, in time order, straight from the warehouse table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT global_device_id, meter_datetime, active_energy_pos_tl, active_energy_abs_tl"
            " FROM warehouse_billing WHERE global_device_id = ANY(%s)"
            " ORDER BY global_device_id, meter_datetime",
            [list(gids)],
        )
        out: dict[str, list[tuple]] = defaultdict(list)
        for gid, at, pos, absolute in cursor.fetchall():
            out[gid].append((at, pos, absolute))
    return out


def test_billing_of_the_3_3_consumers_is_the_hand_difference_of_their_registers(
    live_server, monkeypatch, now, client_as
):
    from apps.billing.models import BillingAccount, BillingRun
    from apps.billing.tasks import compute_run
    from apps.registry.models import Meter

    fleet = build(live_server, monkeypatch, now=now)
    fleet.pull("billing")
    consumers = Meter.objects.filter(consumer__isnull=False, global_device_id__in=fleet.all_gids)
    reference = dict(consumers.values_list("global_device_id", "consumer__reference_no"))
    for meter in consumers.select_related("consumer"):
        BillingAccount.objects.create(consumer=meter.consumer, reading_batch="07")

    # the revenue office's path: two reading cycles of batch 07, a run of the second one
    officer = client_as("Revenue Officer")
    days = [now.date() - dt.timedelta(days=n) for n in (2, 1)]
    cutoffs = [dt.datetime.combine(day, dt.time(10), tzinfo=PKT) for day in days]
    cycles = []
    for day, cutoff in zip(days, cutoffs, strict=True):
        made = officer.post(
            "/api/billing/cycles/",
            {"batch": "07", "reading_date": day.isoformat(), "cutoff": cutoff.isoformat()},
            content_type="application/json",
        )
        assert made.status_code == 201, made.content
        cycles.append(made.json())
    started = officer.post("/billing/runs/new/", {"cycle": cycles[1]["id"]})
    assert started.status_code == 302, started.content[:500]
    run = BillingRun.objects.latest("id")
    # the computation it queued, as a worker runs it: every consumer of the batch
    assert compute_run.apply(args=[run.pk]).get() == 7
    run.refresh_from_db()
    assert run.status == "ready", run.error

    # by hand: the latest register at or before each cut-off (after the previous one)
    hand = {}
    for gid, rows in _billing_registers(reference).items():
        previous = [r for r in rows if r[0] <= cutoffs[0]][-1]
        present = [r for r in rows if cutoffs[0] < r[0] <= cutoffs[1]][-1]
        hand[reference[gid]] = (gid, previous, present, present[1] - previous[1])
        if gid in fleet.gids("mx33"):  # 3.3's absolute register: import + export (none)
            assert present[2] == present[1] and previous[2] == previous[1]
    assert len(hand) == 7 and {gid for gid, *_ in hand.values()} >= set(fleet.gids("mx33"))
    determinants = _api_list(officer, f"/api/billing/runs/{run.pk}/determinants/")
    units = {d["reference_no"]: Decimal(d["units_total"]) for d in determinants}
    assert units == {ref: kwh for ref, (*_, kwh) in hand.items()}
    assert all(kwh > 0 for kwh in units.values())

    # approved, the CSV export carries them, its times in Pakistan time (+05:00)
    assert officer.post(f"/billing/runs/{run.pk}/approve/").status_code == 302
    response = officer.get(f"/billing/runs/{run.pk}/export/csv/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    exported = {row["reference_no"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(exported) == set(hand)
    for ref, (gid, previous, present, kwh) in hand.items():
        row = exported[ref]
        assert row["global_device_id"] == gid
        assert Decimal(row["units_total"]) == kwh, ref
        assert Decimal(row["previous_total"]) == previous[1]
        assert Decimal(row["present_total"]) == present[1]
        for name, at in (("previous_datetime", previous[0]), ("present_datetime", present[0])):
            assert row[name] == at.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S+05:00"), name


def test_one_time_sync_over_json_xml_and_3_3_mdcs_reaches_level_5_on_every_meter(
    live_server, monkeypatch, now, client_as
):
    """Beside apps/commands/tests/test_udil_3_3.py's mixed request (meter status, JSON MDCs):
    one request by the API over the fleet's three MDCs, the XML one too, followed by the API."""
    from apps.commands.models import CommandRequest
    from apps.commands.services import transactions_poll
    from apps.commands.tests.e2e import dispatch_all

    fleet = build(live_server, monkeypatch, now=now)
    meters = [fleet.gids(code)[1] for code in fleet.sims]
    operator = client_as("Operator")
    created = operator.post(
        "/api/commands/requests/",
        {"command": "time_synchronization", "meters": meters},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["device_count"] == 3 and len(body["transactions"]) == 3  # one per MDC
    request = CommandRequest.objects.get(pk=body["id"])
    dispatch_all(request)  # the dispatches it queued, as a worker runs them
    for mdc in fleet.mdcs.values():  # beat's status polls
        transactions_poll(mdc_id=mdc.pk, due_only=False)

    detail = operator.get(f"/api/commands/requests/{request.pk}/").json()
    assert detail["state"] == "completed", detail
    devices = _api_list(operator, f"/api/commands/requests/{request.pk}/devices/")
    assert {
        d["global_device_id"]: (d["status_level"], d["outcome"]) for d in devices
    } == dict.fromkeys(meters, (5, "executed"))
