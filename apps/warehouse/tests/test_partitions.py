"""Monthly partitions: created ahead, rows routed by month, nothing lost outside them."""

import datetime

import pytest
from django.db import connection

from apps.warehouse import partitions
from apps.warehouse.schema import PARTITIONED_TABLES, TABLES
from apps.warehouse.services import default_partitions_drain, partitions_ensure, rows_load

pytestmark = pytest.mark.django_db


def partition_of(table: str, where: str) -> list[str]:
    """The partitions holding the matching rows, sorted by name (the database returns
    DISTINCT values in no defined order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT tableoid::regclass::text AS name FROM {table} WHERE {where}"
            " ORDER BY name"
        )
        return [name for (name,) in cursor.fetchall()]


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def test_ensure_creates_monthly_partitions_for_every_table_and_is_idempotent():
    created = partitions_ensure(start=datetime.date(2031, 1, 15), months_ahead=2)
    assert "warehouse_load_profile_p203101" in created
    assert "warehouse_event_p203103" in created
    assert len(created) == len(PARTITIONED_TABLES) * 3  # every time-series table, 3 months
    assert partitions_ensure(start=datetime.date(2031, 1, 15), months_ahead=2) == []


def test_migrate_created_this_and_the_next_months():
    this_month = partitions.Month.of(partitions.today_pkt())
    for offset in range(partitions.AUTO_CREATE_MONTHS_AHEAD + 1):
        assert exists(partitions.partition_name(TABLES["billing"], this_month.plus(offset)))


def test_rows_are_routed_to_their_month(load_profile_row):
    this_month = partitions.Month.of(partitions.today_pkt())
    previous = this_month.plus(-1)
    rows = [
        load_profile_row(at=f"{previous.year}-{previous.month:02d}-28 23:30:00"),
        load_profile_row(at=f"{this_month.year}-{this_month.month:02d}-01 00:00:00"),
    ]
    rows_load(dataset_code="load_profile", mdc_id=1, raw_rows=rows, source="t")
    assert partition_of("warehouse_load_profile", "true") == sorted(
        [
            f"warehouse_load_profile_{previous.suffix}",
            f"warehouse_load_profile_{this_month.suffix}",
        ]
    )


def test_month_boundaries_are_pakistan_time(load_profile_row):
    # 2026-12-01 00:30 PKT is 2026-11-30 19:30 UTC: it belongs to December.
    rows_load(
        dataset_code="load_profile",
        mdc_id=1,
        raw_rows=[load_profile_row(at="2026-12-01 00:30:00")],
        source="t",
    )
    assert partition_of("warehouse_load_profile", "true") == ["warehouse_load_profile_p202612"]


def test_a_row_far_in_the_future_lands_in_the_default_partition(event_row):
    result = rows_load(
        dataset_code="events", mdc_id=1, raw_rows=[event_row(at="2099-05-01 00:00:00")], source="t"
    )
    assert result.inserted == 1
    assert partition_of("warehouse_event", "true") == ["warehouse_event_default"]
    assert not exists("warehouse_event_p209905")


def test_creating_a_month_moves_its_rows_out_of_default(event_row):
    rows_load(
        dataset_code="events", mdc_id=1, raw_rows=[event_row(at="2099-05-01 00:00:00")], source="t"
    )
    created = partitions.partitions_create([TABLES["events"]], [partitions.Month(2099, 5)])
    assert created == ["warehouse_event_p209905"]
    assert partition_of("warehouse_event", "true") == ["warehouse_event_p209905"]


def test_drain_moves_rows_for_months_inside_the_window(event_row):
    month = partitions.Month.of(partitions.today_pkt()).plus(-30)
    with connection.cursor() as cursor:  # a row stuck in DEFAULT (its month did not exist)
        cursor.execute(
            "INSERT INTO warehouse_event_default (global_device_id, event_datetime, event_code, "
            "mdc_id) VALUES ('m1', %s, 101, 1)",
            [month.start],
        )
    left = default_partitions_drain(today=partitions.today_pkt())
    assert left["warehouse_event"] == 0
    assert partition_of("warehouse_event", "true") == [f"warehouse_event_{month.suffix}"]


def test_periodic_task_is_registered_daily():
    from django_celery_beat.models import PeriodicTask

    from apps.warehouse.tasks import PARTITIONS_TASK

    task = PeriodicTask.objects.get(task=PARTITIONS_TASK)
    assert task.crontab.hour == "1"


def test_task_runs_twice_safely():
    from apps.warehouse.tasks import partitions_maintain

    partitions_maintain()
    second = partitions_maintain()
    assert second["created"] == []
