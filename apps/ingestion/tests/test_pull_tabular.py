"""Tabular pulls: the simulated MDC's tables (its own PostgreSQL schema) read by db_datetime."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models.signals import post_save

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import Watermark
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import NOW, UNTIL, key_of, sim_mdc, stored_rows
from apps.ingestion.tests.test_pull_api import ALL_DATASETS, assert_same_rows
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator.services import tabular_dsn
from apps.simulator.tabular import TABLES, sim_tabular_sync
from apps.udil.datasets import DATASETS

pytestmark = pytest.mark.django_db(transaction=True)


def tabular_mdc(sim, sim_meters, **overrides):
    mdc = MdcFactory(
        code=f"tab-{sim.code}".replace("_", "-"),
        transport="tabular",
        base_url="",
        tabular_database_url=tabular_dsn(),
        tabular_views={
            DATASETS[code].table: f"{sim.tabular_schema}.{table}" for code, table in TABLES.items()
        },
        **overrides,
    )
    for meter in sim_meters:
        MeterFactory(
            mdc=mdc,
            global_device_id=meter.global_device_id,
            msn=meter.msn,
            transformer=None,
            consumer=None,
        )
    return mdc


def sim_table_rows(sim, dataset_code: str, *, after: dt.datetime | None = None) -> list[dict]:
    """The simulated MDC's table as wire text (what a vendor's view holds)."""
    dataset = DATASETS[dataset_code]
    columns = []
    for field in dataset.fields:
        if field.kind == "datetime":
            columns.append(
                f"to_char(\"{field.name}\" AT TIME ZONE 'Asia/Karachi', 'YYYY-MM-DD HH24:MI:SS')"
            )
        else:
            columns.append(f'"{field.name}"::text')
    where = "WHERE db_datetime > %s" if after is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {sim.tabular_schema}.{TABLES[dataset_code]} {where}",
            [after] if after is not None else [],
        )
        return [
            {name: value or "" for name, value in zip(dataset.field_names, row, strict=True)}
            for row in cursor.fetchall()
        ]


def test_full_then_incremental_tabular_pull_lands_exactly_the_mdc_tables(settings):
    settings.INGESTION_TABULAR_CHUNK_ROWS = 97  # many chunks, boundaries inside equal times
    sim, sim_meters = sim_mdc("tabular_a", transport="tabular")
    sim_tabular_sync(mdc=sim, until=UNTIL)
    mdc = tabular_mdc(sim, sim_meters)
    for code in ALL_DATASETS:
        expected = sim_table_rows(sim, code)
        run = pull_run(mdc_id=mdc.pk, dataset_code=code)
        assert run.outcome == RunOutcome.SUCCEEDED, (code, run.error)
        assert run.transport == "tabular" and run.devices == 5
        assert (run.rows_received, run.rows_inserted) == (len(expected), len(expected)), code
        assert_same_rows(code, stored_rows(mdc.pk, code), expected)
        if code != "meter_visuals":
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT max(db_datetime) FROM {sim.tabular_schema}.{TABLES[code]}")
                latest = cursor.fetchone()[0]
            assert Watermark.objects.get(mdc=mdc, dataset=code).position == latest
    assert len(stored_rows(mdc.pk, "load_profile")) > 5 * 2 * 48

    # the MDC stores two more hours of rows: the next pull reads exactly those
    before = Watermark.objects.get(mdc=mdc, dataset="load_profile").position
    sim_tabular_sync(mdc=sim, until=NOW + dt.timedelta(hours=2))
    new_rows = sim_table_rows(sim, "load_profile", after=before)
    assert new_rows
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert run.watermark_before == before
    assert (run.rows_received, run.rows_inserted, run.rows_updated) == (
        len(new_rows),
        len(new_rows),
        0,
    )
    assert_same_rows(
        "load_profile", stored_rows(mdc.pk, "load_profile"), sim_table_rows(sim, "load_profile")
    )
    again = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert again.rows_received == 0 and again.outcome == RunOutcome.SUCCEEDED


def test_tabular_pull_stopped_midway_resumes_without_gap_or_duplicate(settings):
    settings.INGESTION_TABULAR_CHUNK_ROWS = 50
    sim, sim_meters = sim_mdc("tabular_b", transport="tabular", meters=3)
    sim_tabular_sync(mdc=sim, until=UNTIL)
    mdc = tabular_mdc(sim, sim_meters)
    expected = sim_table_rows(sim, "load_profile")
    moves = []

    def stop_after_three_chunks(sender, instance, **kwargs):
        moves.append(instance.position)
        if len(moves) == 3:
            raise RuntimeError("worker lost")

    post_save.connect(stop_after_three_chunks, sender=Watermark, dispatch_uid="stop")
    try:
        first = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    finally:
        post_save.disconnect(sender=Watermark, dispatch_uid="stop")
    assert first.outcome == RunOutcome.PARTIAL and first.error == "worker lost"
    kept = Watermark.objects.get(mdc=mdc, dataset="load_profile").position
    assert kept == moves[1]  # the third move was rolled back with its run update
    assert first.rows_inserted == len(stored_rows(mdc.pk, "load_profile")) >= 100

    second = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert second.outcome == RunOutcome.SUCCEEDED and second.watermark_before == kept
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)
    # the rows after the kept watermark were read again but never inserted twice
    assert first.rows_inserted + second.rows_inserted == len(expected)
    assert second.rows_received == len(
        [
            r
            for r in expected
            if r["db_datetime"] > f"{kept.astimezone(NOW.tzinfo):%Y-%m-%d %H:%M:%S}"
        ]
    )


def test_inactive_meters_are_not_read_from_tabular_views():
    sim, sim_meters = sim_mdc("tabular_c", transport="tabular", meters=3)
    sim_tabular_sync(mdc=sim, until=UNTIL)
    mdc = tabular_mdc(sim, sim_meters)
    silent = sim_meters[0].global_device_id
    mdc.meters.filter(global_device_id=silent).update(activation_status=0)
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    expected = [r for r in sim_table_rows(sim, "events") if r["global_device_id"] != silent]
    assert run.devices == 2 and run.rows_inserted == len(expected)
    assert {key_of("events", r) for r in stored_rows(mdc.pk, "events")} == {
        key_of("events", r) for r in expected
    }
