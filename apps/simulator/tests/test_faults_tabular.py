"""Fault injection over HTTP, the tabular schema, the admin page and the management command."""

import datetime as dt
import time

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from apps.simulator.generator import FIELDS
from apps.simulator.models import SimMdc
from apps.simulator.services import sim_faults_update, sim_read
from apps.simulator.tabular import sim_tabular_sync
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.codec import decode_response
from apps.udil.errors import MalformedBody

from .conftest import NOW, START


@pytest.fixture
def served(live_server, monkeypatch, transactional_db):
    freeze_clock(monkeypatch, NOW)

    def make(fmt="json", **faults):
        mdc, meters = make_sim_mdc(
            code=f"flt_{fmt}", fmt=fmt, meters=2, history_start=START, now=NOW, lp_interval=15
        )
        base = f"{live_server.url}/sim/{mdc.code}/"
        key = decode_response(
            httpx.post(
                base + "authorization_service",
                headers={
                    "username": mdc.username,
                    "password": mdc.password,
                    "code": mdc.auth_code,
                },
            ).content
        )["privatekey"]
        if faults:
            sim_faults_update(mdc=mdc, **faults)

        def get(service="load_profile_data", **form):
            form.setdefault("global_device_id", f'["{meters[0].global_device_id}"]')
            form.setdefault("start_datetime", "2025-03-10 08:00:00")
            form.setdefault("end_datetime", "2025-03-10 09:00:00")
            return httpx.post(base + service, headers={"privatekey": key}, data=form, timeout=30)

        return mdc, meters, get

    return make


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_http_500_rate(served, fmt):
    _, _, get = served(fmt, error_500_rate=1.0)
    assert get().status_code == 500


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("fault", ["malformed_rate", "truncated_rate"])
def test_malformed_and_truncated_bodies(served, fmt, fault):
    _, _, get = served(fmt, **{fault: 1.0})
    response = get()
    assert response.status_code == 200
    with pytest.raises(MalformedBody):
        decode_response(response.content, response.headers["content-type"])


def test_latency(served):
    _, _, get = served("json", latency_ms=400)
    began = time.monotonic()
    assert get().status_code == 200
    assert time.monotonic() - began >= 0.4


def test_no_faults_decode_cleanly_with_exact_rows(served):
    mdc, meters, get = served("xml")
    payload = decode_response(get().content)
    fields, rows, _ = sim_read(
        mdc=mdc,
        dataset="load_profile",
        global_device_ids=[meters[0].global_device_id],
        start=dt.datetime(2025, 3, 10, 8, tzinfo=NOW.tzinfo),
        end=dt.datetime(2025, 3, 10, 9, tzinfo=NOW.tzinfo),
        now=NOW,
    )
    assert payload["data"] == [dict(zip(fields, r, strict=True)) for r in rows]
    assert len(rows) == 5


def test_vendor_quirks(served):
    _, meters, get = served(
        "json",
        number_style="number",
        quirk_id_whitespace=True,
        quirk_shuffle_fields=True,
        quirk_extra_fields=True,
    )
    rows = get().json()["data"]
    assert len(rows) == 5
    row = rows[0]
    assert row["global_device_id"] == f" {meters[0].global_device_id}  "
    assert isinstance(row["active_energy_tl"], float)
    assert isinstance(row["msn"], int)
    assert isinstance(row["meter_datetime"], str)
    assert row["firmware_version"] == "v2.7.1"
    assert set(row) == set(FIELDS["load_profile"]) | {"firmware_version", "vendor_status_flag"}
    orders = {tuple(r) for r in rows}
    assert len(orders) > 1  # shuffled field order


def test_mixed_numbers(served):
    _, _, get = served("json", number_style="mixed")
    row = get().json()["data"][0]
    kinds = {
        type(row[name])
        for name in (
            "active_energy_t1",
            "active_energy_t2",
            "active_energy_t3",
            "active_energy_t4",
            "voltage_phase_a",
            "current_phase_a",
        )
    }
    assert kinds == {str, float}


@pytest.mark.django_db
def test_tabular_schema_holds_what_the_api_serves():
    mdc, meters = make_sim_mdc(
        code="tab", transport="tabular", meters=3, history_start=START, now=NOW, lp_interval=15
    )
    ids = [m.global_device_id for m in meters]
    first = NOW - dt.timedelta(days=1)
    written = sim_tabular_sync(mdc=mdc, until=first)
    api_rows = sim_read(
        mdc=mdc, dataset="load_profile", global_device_ids=ids, start=START, end=first, now=first
    )[1]
    assert written["load_profile_data"] == len(api_rows) > 0
    schema = mdc.tabular_schema
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*), max("interval") FROM {schema}.load_profile_data')
        assert cursor.fetchone() == (len(api_rows), 15)
        cursor.execute(
            f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{schema}' "
            "AND tablename = 'load_profile_data'"
        )
        defs = " ".join(r[0] for r in cursor.fetchall())
        assert "(db_datetime)" in defs
        assert (
            "PRIMARY KEY" not in defs and "(global_device_id, meter_datetime, channel_id)" in defs
        )
        cursor.execute(
            f"SELECT active_energy_tl, meter_datetime FROM {schema}.load_profile_data"
            " WHERE global_device_id = %s ORDER BY meter_datetime DESC LIMIT 1",
            [ids[0]],
        )
        value, when = cursor.fetchone()
    last = [r for r in api_rows if r[1] == ids[0]][-1]
    assert (str(value), when.astimezone(NOW.tzinfo).strftime("%Y-%m-%d %H:%M:%S")) == (
        last[FIELDS["load_profile"].index("active_energy_tl")],
        last[2],
    )
    # the next sync adds exactly the rows stored since, and refreshes visuals
    second = sim_tabular_sync(mdc=mdc, until=NOW)
    all_rows = sim_read(
        mdc=mdc, dataset="load_profile", global_device_ids=ids, start=START, end=NOW, now=NOW
    )[1]
    assert second["load_profile_data"] == len(all_rows) - len(api_rows)
    assert second["meter_visuals"] == 3
    assert sim_tabular_sync(mdc=mdc, until=NOW) == {}
    with connection.cursor() as cursor:
        for table in (
            "instantaneous_data",
            "billing_data",
            "monthly_billing_data",
            "events",
            "meter_visuals",
            "transaction_status",
        ):
            cursor.execute(f"SELECT count(*) FROM {schema}.{table}")
        cursor.execute(f"SELECT count(*) FROM {schema}.monthly_billing_data")
        assert cursor.fetchone() == (3,)


def test_admin_page_lists_mdcs_and_edits_faults(client_as, db):
    mdc, _ = make_sim_mdc(code="page", meters=1)
    viewer = client_as("Viewer")
    assert b"page" in viewer.get("/sim/").content
    assert viewer.get("/sim/manage/page/faults/").status_code == 403
    admin = client_as("Administrator")
    response = admin.get("/sim/manage/page/faults/")
    assert response.status_code == 200
    data = {
        f: getattr(mdc, f)
        for f in (
            "latency_ms",
            "malformed_rate",
            "truncated_rate",
            "number_style",
            "key_lifetime_seconds",
            "command_pace_seconds",
            "failure_rate",
            "offline_rate",
            "gap_rate",
            "credentials_in",
        )
    }
    data.update(error_500_rate=0.25, quirk_extra_fields="on")
    response = admin.post("/sim/manage/page/faults/", data)
    assert response.status_code == 302
    mdc.refresh_from_db()
    assert (mdc.error_500_rate, mdc.quirk_extra_fields) == (0.25, True)
    from apps.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="simulator.faults.update").count() == 1


def test_management_command_creates_mdcs(db, capsys):
    call_command(
        "simulator_create",
        "--mdcs",
        "2",
        "--meters",
        "3",
        "--days",
        "1",
        "--format",
        "xml",
        "--seed",
        "4",
        "--prefix",
        "cmd",
    )
    out = capsys.readouterr().out
    assert [m.code for m in SimMdc.objects.filter(code__startswith="cmd")] == ["cmd1", "cmd2"]
    assert SimMdc.objects.get(code="cmd2").meters.count() == 3
    assert "cmd1: 3 meters" in out and "/sim/cmd2/" in out
    assert "load profile energy as register" in out
    call_command(
        "simulator_create", "--meters", "1", "--days", "1", "--prefix", "ivl", "--lp-energy",
        "interval",
    )
    assert SimMdc.objects.get(code="ivl1").lp_energy_mode == "interval"
