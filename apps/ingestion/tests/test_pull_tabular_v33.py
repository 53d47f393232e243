"""Tabular UDIL 3.3: every MDC table has ``id`` (auto-increment) and ``is_synced``. The pull
reads by ``id`` (a cursor per MDC and table), so a row the MDC commits late with an older
``db_datetime`` is not lost; rows are marked ``is_synced = 1`` after the MDM committed them, only
when the MDC's registration allows it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import Watermark
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import NOW, UNTIL, key_of, sim_mdc, stored_rows
from apps.ingestion.tests.test_pull_tabular import sim_table_rows, tabular_mdc
from apps.simulator.tabular import TABLES, sim_tabular_sync
from apps.udil.timefmt import PKT

pytestmark = pytest.mark.django_db(transaction=True)


def _ids(sim, code: str, *, synced: int | None = None) -> list[int]:
    where = "" if synced is None else f"WHERE is_synced = {int(synced)}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {sim.tabular_schema}.{TABLES[code]} {where} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _late_event(sim, meter, *, db_datetime: dt.datetime) -> None:
    """The MDC commits an event now whose db_datetime is older than the MDM's watermark."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sim.tabular_schema}.{TABLES['events']} "
            "(msn, global_device_id, event_datetime, event_code, event_description, "
            "mdc_read_datetime, db_datetime) VALUES (%s, %s, %s, 101, 'MDI reset', %s, %s)",
            [
                str(meter.msn),
                meter.global_device_id,
                db_datetime - dt.timedelta(minutes=5),
                db_datetime,
                db_datetime,
            ],
        )


def test_a_33_table_is_pulled_by_id_and_a_late_row_is_not_lost(settings):
    settings.INGESTION_TABULAR_CHUNK_ROWS = 41  # many chunks
    sim, sim_meters = sim_mdc("tab33_a", meters=3, transport="tabular", udil_profile="3.3")
    sim_tabular_sync(mdc=sim, until=UNTIL - dt.timedelta(hours=6))
    mdc = tabular_mdc(sim, sim_meters)
    assert _ids(sim, "events") and _ids(sim, "load_profile")

    first = pull_run(mdc_id=mdc.pk, dataset_code="events", until=NOW)
    assert first.outcome == RunOutcome.SUCCEEDED, first.error
    mark = Watermark.objects.get(mdc=mdc, dataset="events")
    assert mark.cursor_id == max(_ids(sim, "events"))
    # committed late: its db_datetime is before the watermark (a time-based pull skips it)
    late_time = mark.position - dt.timedelta(hours=2)
    _late_event(sim, sim_meters[0], db_datetime=late_time)
    sim_tabular_sync(mdc=sim, until=UNTIL)

    second = pull_run(mdc_id=mdc.pk, dataset_code="events", until=NOW)

    assert second.outcome == RunOutcome.SUCCEEDED, second.error
    assert second.rows_inserted == second.rows_received  # only rows it had not read
    stored = {key_of("events", row) for row in stored_rows(mdc.pk, "events")}
    assert stored == {key_of("events", row) for row in sim_table_rows(sim, "events")}
    late_key = (
        sim_meters[0].global_device_id,
        (late_time - dt.timedelta(minutes=5)).astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S"),
        "101",
    )
    assert late_key in stored
    after = Watermark.objects.get(mdc=mdc, dataset="events")
    assert after.cursor_id == max(_ids(sim, "events")) and after.position >= mark.position
    # nothing new: nothing read
    third = pull_run(mdc_id=mdc.pk, dataset_code="events", until=NOW)
    assert third.rows_received == 0


def test_rows_are_marked_synced_after_the_commit_only_when_allowed():
    sim, sim_meters = sim_mdc("tab33_b", meters=2, transport="tabular", udil_profile="3.3")
    sim_tabular_sync(mdc=sim, until=UNTIL)
    mdc = tabular_mdc(sim, sim_meters)
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=NOW)
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert run.rows_received == len(_ids(sim, "load_profile"))
    assert _ids(sim, "load_profile", synced=1) == []  # not allowed: untouched

    mdc.tabular_mark_synced = True
    mdc.save()
    Watermark.objects.filter(mdc=mdc).delete()  # read it all again
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=NOW)

    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert run.rows_received == len(_ids(sim, "load_profile")) and run.rows_inserted == 0
    assert _ids(sim, "load_profile", synced=0) == []
    # a row the MDC stores after the pull stays unsynced until a pull commits it
    _late_event(sim, sim_meters[1], db_datetime=UNTIL - dt.timedelta(minutes=1))
    assert len(_ids(sim, "events", synced=0)) == len(_ids(sim, "events"))
    pull_run(mdc_id=mdc.pk, dataset_code="events", until=NOW)
    assert _ids(sim, "events", synced=0) == []
