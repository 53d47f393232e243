"""Tabular MDCs on other engines, for real: a vendor database in an SQLite file.

The simulated MDC writes its UDIL tables into the file (``sim_tabular_sync(database_url=)``),
the registry MDC names it ``sqlite:///...``, and the pulls must land exactly the vendor's rows,
incrementally after appends, in chunks whose boundaries fall inside groups of rows sharing a
``db_datetime``. MariaDB runs the same checks in ``test_engines_mariadb.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading

import pytest

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import Watermark
from apps.ingestion.services import pull_run
from apps.ingestion.tabular import tabular_chunks
from apps.ingestion.tests.conftest import NOW, UNTIL, key_of, sim_mdc, stored_rows
from apps.ingestion.tests.test_pull_api import ALL_DATASETS, assert_same_rows
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator.tabular import TABLES, sim_tabular_sync
from apps.udil import engines
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT
from apps.warehouse.models import QuarantinedRow

pytestmark = pytest.mark.django_db(transaction=True)


def vendor_mdc(sim, sim_meters, url: str, *, views=None, register=None, code=None, **overrides):
    """A registry MDC reading the simulated vendor's database at ``url``."""
    mdc = MdcFactory(
        code=code or f"v-{sim.code}".replace("_", "-"),
        transport="tabular",
        base_url="",
        tabular_database_url=url,
        tabular_views=views or {DATASETS[code].table: t for code, t in TABLES.items()},
        **overrides,
    )
    for meter in sim_meters if register is None else register:
        MeterFactory(
            mdc=mdc,
            global_device_id=meter.global_device_id,
            msn=meter.msn,
            transformer=None,
            consumer=None,
        )
    return mdc


def _text(value) -> str:
    """A vendor's value as wire text, worked out apart from the reader's converter."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def vendor_rows(url: str, dataset_code: str, *, after: str | None = None) -> list[dict]:
    """The vendor table's rows as wire text, read with the engine's own DBAPI driver."""
    engine, _ = engines.open_engine(url, timeout=10, writable=True)
    names = [name for name in DATASETS[dataset_code].field_names]
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"SELECT * FROM {TABLES[dataset_code]}")
            columns = [c[0] for c in cursor.description]
            rows = [dict(zip(columns, record, strict=True)) for record in cursor.fetchall()]
        finally:
            raw.close()
    finally:
        engine.dispose()
    out = [{name: _text(row.get(name)) for name in names} for row in rows]
    if after is not None:
        out = [row for row in out if row["db_datetime"] > after]
    return out


def newest(url: str, dataset_code: str) -> dt.datetime:
    latest = max(row["db_datetime"] for row in vendor_rows(url, dataset_code))
    return dt.datetime.strptime(latest, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PKT)


def pull_exactly_then_incrementally(url: str, sim, sim_meters) -> None:
    """Every data set lands exactly the vendor's rows; after the vendor appends two hours, the
    next pull reads exactly those; a third reads nothing."""
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=url)
    mdc = vendor_mdc(sim, sim_meters, url)
    for code in ALL_DATASETS:
        expected = vendor_rows(url, code)
        run = pull_run(mdc_id=mdc.pk, dataset_code=code)
        assert run.outcome == RunOutcome.SUCCEEDED, (code, run.error)
        assert (run.rows_received, run.rows_inserted) == (len(expected), len(expected)), code
        assert run.rows_quarantined == 0
        assert_same_rows(code, stored_rows(mdc.pk, code), expected)
        if code != "meter_visuals":
            assert Watermark.objects.get(mdc=mdc, dataset=code).position == newest(url, code)
    assert len(stored_rows(mdc.pk, "load_profile")) > len(sim_meters) * 2 * 48

    before = Watermark.objects.get(mdc=mdc, dataset="load_profile").position
    sim_tabular_sync(mdc=sim, until=NOW + dt.timedelta(hours=2), database_url=url)
    after_text = before.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")
    new_rows = vendor_rows(url, "load_profile", after=after_text)
    assert new_rows
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert run.watermark_before == before
    assert (run.rows_received, run.rows_inserted, run.rows_updated) == (len(new_rows),) * 2 + (0,)
    assert_same_rows(
        "load_profile", stored_rows(mdc.pk, "load_profile"), vendor_rows(url, "load_profile")
    )
    again = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert again.rows_received == 0 and again.outcome == RunOutcome.SUCCEEDED


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'vendor.sqlite'}"


def test_sqlite_vendor_database_pulled_exactly_then_incrementally(settings, sqlite_url):
    settings.INGESTION_TABULAR_CHUNK_ROWS = 97  # many chunks, boundaries inside equal times
    sim, sim_meters = sim_mdc("sqlite_a", transport="tabular")
    pull_exactly_then_incrementally(sqlite_url, sim, sim_meters)


def test_chunk_boundary_inside_a_group_of_equal_db_datetimes_loses_nothing(settings, sqlite_url):
    """A vendor stores a morning's load profile in one batch (one db_datetime for ~70 rows),
    read 7 rows at a time: a chunk's ``complete_through`` never reaches the group's time
    before the group's last row is in, and no later chunk holds a row at or before it."""
    sim, sim_meters = sim_mdc("sqlite_g", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE load_profile_data SET db_datetime = '2025-07-01 09:30:00' "
            "WHERE meter_datetime BETWEEN '2025-07-01 00:00:00' AND '2025-07-01 09:00:00'"
        )
    expected = vendor_rows(sqlite_url, "load_profile")
    group = [r for r in expected if r["db_datetime"] == "2025-07-01 09:30:00"]
    assert len(group) > 7 * 5
    mdc = vendor_mdc(sim, sim_meters, sqlite_url)
    ids = [m.global_device_id for m in sim_meters]
    seen: list[dict] = []
    marks = []
    for chunk in tabular_chunks(mdc, "load_profile", after=None, device_ids=ids, chunk_rows=7):
        if marks and marks[-1] is not None:
            done = marks[-1].strftime("%Y-%m-%d %H:%M:%S")
            assert all(r["db_datetime"] > done for r in chunk.rows)
        seen.extend(chunk.rows)
        marks.append(chunk.complete_through)
        if chunk.complete_through is not None:
            done = chunk.complete_through.strftime("%Y-%m-%d %H:%M:%S")
            assert chunk.complete_through.utcoffset() == dt.timedelta(hours=5)
            assert sum(r["db_datetime"] <= done for r in seen) == sum(
                r["db_datetime"] <= done for r in expected
            )
    assert len(seen) == len(expected)
    settings.INGESTION_TABULAR_CHUNK_ROWS = 7
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)


def test_more_devices_than_one_statement_carries_reads_only_the_mdcs_meters(
    settings, sqlite_url, monkeypatch
):
    """Above ``max_in_list`` the device filter moves from SQL to the streamed rows: the rows of
    a meter the MDC does not register (here: the vendor's fourth) are still not read."""
    small = dataclasses.replace(engines.DIALECTS["sqlite"], max_in_list=2)
    monkeypatch.setitem(engines.DIALECTS, "sqlite", small)
    settings.INGESTION_TABULAR_CHUNK_ROWS = 50
    sim, sim_meters = sim_mdc("sqlite_d", transport="tabular", meters=4)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    mdc = vendor_mdc(sim, sim_meters, sqlite_url, register=sim_meters[:3])
    foreign = sim_meters[3].global_device_id
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    expected = [
        r for r in vendor_rows(sqlite_url, "load_profile") if r["global_device_id"] != foreign
    ]
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert run.devices == 3 and run.rows_received == len(expected)
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)


def _view_without(url: str, table: str, view: str, column: str) -> None:
    names = [f for f in DATASETS["events"].field_names if f != column]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(f"CREATE VIEW {view} AS SELECT {', '.join(names)} FROM {table}")


def test_view_without_a_plain_column_loads_the_rows_with_it_empty(sqlite_url):
    sim, sim_meters = sim_mdc("sqlite_m", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    _view_without(sqlite_url, "events", "ev_no_text", "event_description")
    expected = vendor_rows(sqlite_url, "events")
    mdc = vendor_mdc(sim, sim_meters, sqlite_url, views={"EVENTS": "ev_no_text"})
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    assert run.outcome == RunOutcome.SUCCEEDED and run.rows_inserted == len(expected)
    stored = stored_rows(mdc.pk, "events")
    assert {key_of("events", r) for r in stored} == {key_of("events", r) for r in expected}
    assert {r["event_description"] for r in stored} == {None}


def test_view_without_a_key_column_quarantines_every_row_with_its_key_and_reason(sqlite_url):
    sim, sim_meters = sim_mdc("sqlite_k", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    _view_without(sqlite_url, "events", "ev_no_code", "event_code")
    expected = vendor_rows(sqlite_url, "events")
    mdc = vendor_mdc(sim, sim_meters, sqlite_url, views={"EVENTS": "ev_no_code"})
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    assert run.outcome == RunOutcome.PARTIAL and run.rows_inserted == 0
    assert run.rows_quarantined == len(expected)
    entries = list(QuarantinedRow.objects.filter(mdc_id=mdc.pk))
    assert entries and all("event_code" in e.reason for e in entries)
    kept = {(e.raw_payload["global_device_id"], e.raw_payload["event_datetime"]) for e in entries}
    assert kept == {(r["global_device_id"], r["event_datetime"]) for r in expected}


def test_locked_database_fails_the_pull_cleanly_and_the_next_pull_gets_everything(sqlite_url):
    sim, sim_meters = sim_mdc("sqlite_l", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    mdc = vendor_mdc(sim, sim_meters, sqlite_url, timeout_seconds=1)
    expected = vendor_rows(sqlite_url, "events")
    path = sqlite_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # the vendor's writer holds the file
    try:
        run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    finally:
        threading.Thread(target=holder.close).start()
    assert run.outcome == RunOutcome.FAILED
    assert "locked" in run.error and run.error_type == "TabularUnavailable"
    assert not Watermark.objects.filter(mdc=mdc, dataset="events", position__isnull=False).exists()
    assert stored_rows(mdc.pk, "events") == []
    holder.close()
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert_same_rows("events", stored_rows(mdc.pk, "events"), expected)


def test_unreachable_and_unknown_databases_fail_with_a_clear_reason(tmp_path):
    sim, sim_meters = sim_mdc("sqlite_u", transport="tabular", meters=1)
    gone = vendor_mdc(sim, sim_meters, f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite'}")
    run = pull_run(mdc_id=gone.pk, dataset_code="events")
    assert run.outcome == RunOutcome.FAILED and "unable to open database file" in run.error
    closed = vendor_mdc(
        sim,
        [],
        "postgresql://mdm:s3cret@127.0.0.1:9/vendor",
        code="v-closed",
        timeout_seconds=2,
    )
    MeterFactory(mdc=closed, transformer=None, consumer=None)
    run = pull_run(mdc_id=closed.pk, dataset_code="events")
    assert run.outcome == RunOutcome.FAILED and run.error_type == "TabularUnavailable"
    assert "s3cret" not in run.error and "127.0.0.1" in run.error


def test_udil_33_table_with_id_and_is_synced_is_read_in_db_datetime_then_id_order(
    settings, sqlite_url
):
    """UDIL 3.3 MDC tables carry an auto-increment ``id`` (and ``is_synced``): rows sharing a
    db_datetime are read in id order (here the reverse of the storage order), and the two
    columns are not loaded as data."""
    sim, sim_meters = sim_mdc("sqlite_33", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=sqlite_url)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE load_profile_data SET db_datetime = '2025-07-01 09:30:00'")
        conn.execute(
            "CREATE VIEW lp33 AS SELECT 1000000 - rowid AS id, *, 0 AS is_synced"
            " FROM load_profile_data"
        )
        by_id = [r[0] for r in conn.execute("SELECT meter_datetime FROM lp33 ORDER BY id")]
    mdc = vendor_mdc(sim, sim_meters, sqlite_url, views={"LOAD_PROFILE_DATA": "lp33"})
    ids = [m.global_device_id for m in sim_meters]
    read = [
        row["meter_datetime"]
        for chunk in tabular_chunks(mdc, "load_profile", after=None, device_ids=ids, chunk_rows=9)
        for row in chunk.rows
    ]
    assert read == by_id
    settings.INGESTION_TABULAR_CHUNK_ROWS = 9
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert run.outcome == RunOutcome.SUCCEEDED and run.rows_quarantined == 0, run.error
    assert_same_rows(
        "load_profile", stored_rows(mdc.pk, "load_profile"), vendor_rows(sqlite_url, "load_profile")
    )


def test_postgresql_view_locked_by_a_vendor_job_fails_the_pull_within_the_timeout():
    """A vendor's maintenance holds ACCESS EXCLUSIVE on its table: the pull waits at most
    the MDC's timeout (``lock_timeout``), fails with the reason, and the next one reads all."""
    import psycopg

    from apps.simulator.services import tabular_dsn

    sim, sim_meters = sim_mdc("pg_locked", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL)
    views = {DATASETS[c].table: f"{sim.tabular_schema}.{t}" for c, t in TABLES.items()}
    mdc = vendor_mdc(sim, sim_meters, tabular_dsn(), views=views, timeout_seconds=2)
    holder = psycopg.connect(tabular_dsn())
    try:
        holder.execute(f"LOCK TABLE {sim.tabular_schema}.events IN ACCESS EXCLUSIVE MODE")
        run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    finally:
        holder.close()
    assert run.outcome == RunOutcome.FAILED and run.error_type == "TabularUnavailable"
    assert "lock timeout" in run.error
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    assert run.outcome == RunOutcome.SUCCEEDED and run.rows_inserted > 0, run.error
