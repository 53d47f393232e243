"""Registering a tabular MDC on another engine: the URL is validated, "test connection" checks
the views (missing and unknown columns, row counts, newest db_datetime)."""

from __future__ import annotations

import sqlite3

import pytest

from apps.ingestion.tests.conftest import UNTIL, sim_mdc
from apps.ingestion.tests.test_engines import vendor_mdc, vendor_rows
from apps.simulator.tabular import TABLES, sim_tabular_sync
from apps.udil.datasets import DATASETS

pytestmark = pytest.mark.django_db(transaction=True)


def _register(client, url: str):
    return client.post(
        "/api/registry/mdcs/",
        {
            "code": "tab-new",
            "name": "Vendor tables",
            "transport": "tabular",
            "tabular_database_url": url,
            "tabular_views": {"EVENTS": "events"},
        },
        content_type="application/json",
    )


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sqlite:///", "names a file"),
        ("mysql://u:pw@db/mdc", "mysql+pymysql://"),
        ("mssql://u:pw@db/mdc", "mssql+pymssql://"),
        ("ftp://u:pw@db/mdc", "Unknown database scheme ftp://"),
        ("not a url", "Not a database URL"),
    ],
)
def test_registration_refuses_a_database_url_it_cannot_read(client_as, url, said):
    response = _register(client_as("Administrator"), url)
    assert response.status_code == 400, response.content
    body = response.content.decode()
    assert said in body and "pw" not in body.replace("pymssql", "").replace("pymysql", "")


def test_registration_refuses_an_engine_whose_driver_is_missing(client_as, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "oracledb" else real(name, *a)
    )
    response = _register(
        client_as("Administrator"), "oracle+oracledb://u:pw@db:1521/?service_name=x"
    )
    assert response.status_code == 400
    assert "Oracle driver (oracledb) is not installed" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/vendor.sqlite",
        "mysql+pymysql://u:pw@db/mdc",
        "mariadb+pymysql://u:pw@db/mdc",
        "mssql+pymssql://u:pw@db:1433/mdc",
        "oracle+oracledb://u:pw@db:1521/?service_name=mdc",
        "postgresql://u:pw@db/mdc",
    ],
)
def test_registration_accepts_every_known_engine(client_as, url):
    response = _register(client_as("Administrator"), url)
    assert response.status_code == 201, response.content


def test_test_connection_lists_missing_and_unknown_columns_counts_and_newest(client_as, tmp_path):
    url = f"sqlite:///{tmp_path / 'vendor.sqlite'}"
    sim, sim_meters = sim_mdc("reg_sqlite", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=url)
    names = [f for f in DATASETS["events"].field_names if f not in ("event_code", "msn")]
    with sqlite3.connect(tmp_path / "vendor.sqlite") as conn:
        conn.execute(
            f"CREATE VIEW ev_odd AS SELECT {', '.join(names)}, 1 AS vendor_flag FROM events"
        )
    lp = vendor_rows(url, "load_profile")
    mdc = vendor_mdc(
        sim,
        sim_meters,
        url,
        views={
            "LOAD_PROFILE_DATA": TABLES["load_profile"],
            "EVENTS": "ev_odd",
            "BILLING_DATA": "no_such_view",
        },
    )
    client = client_as("Administrator")
    answer = client.post(f"/api/registry/mdcs/{mdc.pk}/test_connection/").json()
    message = answer["message"]
    assert answer["ok"] is False
    assert "Connected to the MDC database (SQLite)" in message
    newest = max(r["db_datetime"] for r in lp)
    assert f"LOAD_PROFILE_DATA load_profile_data: {len(lp)} rows, newest db_datetime {newest}." in (
        message
    )
    assert "EVENTS ev_odd: " in message
    assert "missing key columns event_code" in message and "missing msn" in message
    assert "unknown vendor_flag" in message
    assert "BILLING_DATA no_such_view: cannot be read (OperationalError: no such table" in message

    mdc.tabular_views = {"LOAD_PROFILE_DATA": TABLES["load_profile"]}
    mdc.save()
    answer = client.post(f"/api/registry/mdcs/{mdc.pk}/test_connection/").json()
    assert answer["ok"] is True, answer["message"]


def test_test_connection_to_an_unreachable_database_says_why_without_the_password(client_as):
    sim, _ = sim_mdc("reg_gone", transport="tabular", meters=1)
    mdc = vendor_mdc(sim, [], "postgresql://reader:s3cret@127.0.0.1:9/vendor", timeout_seconds=2)
    answer = client_as("Administrator").post(f"/api/registry/mdcs/{mdc.pk}/test_connection/")
    body = answer.json()
    assert answer.status_code == 200 and body["ok"] is False
    assert "127.0.0.1" in body["message"] and "s3cret" not in body["message"]
