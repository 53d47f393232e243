"""The COPY writer against real PostgreSQL: text values holding COPY's special characters land
byte-exact on both paths (COPY into the table, and staging + merge), '' is NULL, reloading
changes nothing, and ``rows_load_split`` counts exactly."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.udil.datasets import DATASETS
from apps.warehouse.loader import _copy_text
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.services import LoadResult, rows_load_split

pytestmark = pytest.mark.django_db

EV = DATASETS["events"]
MV = DATASETS["meter_visuals"]

SPECIAL = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",  # COPY's default NULL spelling: must stay text
    "\\t literal",
    "é ü 电表 🙂",
    "all\t\n\r\\ é",
    "trailing backslash\\",
]


def ev(gid: str, minute: int, description: str, db: str = "2026-11-03 10:30:00+05:00"):
    return [
        "4098562412",
        gid,
        f"2026-11-03 10:{minute:02d}:00+05:00",
        "111",
        description,
        "2026-11-03 10:20:00+05:00",
        db,
    ]


def stored_descriptions(gid_prefix: str) -> list[str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_description FROM warehouse_event WHERE global_device_id LIKE %s "
            "ORDER BY global_device_id, event_datetime",
            [f"{gid_prefix}%"],
        )
        return [row[0] for row in cursor.fetchall()]


def load(code, good, rejects=(), mdc_id=7):
    return rows_load_split(
        dataset_code=code, mdc_id=mdc_id, good=good, rejects=rejects, source="test:copy"
    )


def test_copy_text_escapes_only_when_needed():
    assert _copy_text([["a", "b"], ["", "é"]]) == "a\tb\n\té\n"
    assert _copy_text([["a", None]], "\t7") == "a\t\t7\n"
    assert _copy_text([["a\tb", "c\nd"], ["e\\f", "g\rh"]], "\t7") == (
        "a\\tb\tc\\nd\t7\ne\\\\f\tg\\rh\t7\n"
    )


def test_special_characters_land_byte_exact_on_the_copy_path_and_reload_unchanged():
    rows = [ev(f"cx{i:02d}", 0, text) for i, text in enumerate(SPECIAL)]
    first = load("events", rows)
    assert first == LoadResult(received=len(SPECIAL), inserted=len(SPECIAL))
    assert stored_descriptions("cx") == SPECIAL
    again = load("events", [list(row) for row in rows])
    assert again == LoadResult(received=len(SPECIAL), unchanged=len(SPECIAL))
    assert stored_descriptions("cx") == SPECIAL


def test_special_characters_land_byte_exact_on_the_merge_path():
    # one stored row makes the batch take the staging + merge path
    load("events", [ev("cm00", 0, "plain")])
    newer = "2026-11-03 11:00:00+05:00"
    rows = [ev("cm00", 0, SPECIAL[0], db=newer)]
    rows += [ev(f"cm{i:02d}", 0, text, db=newer) for i, text in enumerate(SPECIAL) if i]
    result = load("events", rows)
    assert result == LoadResult(
        received=len(SPECIAL), inserted=len(SPECIAL) - 1, updated=1, unchanged=0
    )
    assert stored_descriptions("cm") == SPECIAL
    assert load("events", rows) == LoadResult(received=len(SPECIAL), unchanged=len(SPECIAL))
    assert stored_descriptions("cm") == SPECIAL


def test_special_characters_in_unlimited_text_columns():
    slabs = "[{'time':'10:00'},\t{'relay':1}]\n" + "\\" * 3 + "é" * 2000
    row = ["" for _ in MV.fields]
    names = MV.field_names
    row[names.index("global_device_id")] = "cv01"
    row[names.index("meter_ls_schedule_slabs")] = slabs
    row[names.index("last_command")] = "x\ry"
    assert load("meter_visuals", [row]) == LoadResult(received=1, inserted=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT meter_ls_schedule_slabs, last_command, meter_tariff_identification, msn "
            "FROM warehouse_meter_visuals WHERE global_device_id = 'cv01'"
        )
        assert cursor.fetchall() == [(slabs, "x\ry", None, None)]


def test_empty_text_is_null_and_none_is_null():
    rows = [ev("cn01", 0, ""), ev("cn02", 0, "x")]
    rows[1][0] = ""  # msn
    rows[1][5] = ""  # mdc_read_datetime
    as_none = [None if v == "" else v for v in ev("cn03", 0, "")]
    assert load("events", [*rows, as_none]) == LoadResult(received=3, inserted=3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT global_device_id, msn, event_description, mdc_read_datetime IS NULL "
            "FROM warehouse_event WHERE global_device_id LIKE 'cn%' ORDER BY 1"
        )
        assert cursor.fetchall() == [
            ("cn01", 4098562412, None, False),
            ("cn02", None, "x", True),
            ("cn03", 4098562412, None, False),
        ]


def test_rows_load_split_counts_are_exact():
    good = [ev("cs01", m, f"e{m}") for m in range(5)]
    rejects = [({"global_device_id": "cs99"}, "event_datetime: bad"), ("not a row", "bad row")]
    first = load("events", good, rejects)
    assert first == LoadResult(received=7, inserted=5, updated=0, unchanged=0, quarantined=2)
    assert sorted(
        QuarantinedRow.objects.filter(source="test:copy").values_list("reason", flat=True)
    ) == ["bad row", "event_datetime: bad"]
    newer = "2026-11-03 12:00:00+05:00"
    changed = [ev("cs01", 0, "changed", db=newer), ev("cs01", 1, "e1")]
    older = [ev("cs01", 2, "older", db="2026-11-03 09:00:00+05:00")]
    duplicate = [ev("cs01", 5, "dup a"), ev("cs01", 5, "dup b")]
    second = load("events", [*changed, *older, *good[3:], *duplicate])
    # changed[0] updates; changed[1] is identical: unchanged; older: unchanged;
    # good[3:] identical: unchanged; the duplicate pair inserts one row (the later copy)
    assert second == LoadResult(received=7, inserted=1, updated=1, unchanged=5, quarantined=0)
    assert stored_descriptions("cs01") == ["changed", "e1", "e2", "e3", "e4", "dup b"]


def test_duplicate_check_sees_absent_and_zero_channel_as_one_key(load_profile_row):
    from apps.udil.datasets import DATASETS as ALL_SETS
    from apps.warehouse.loader import _keys_unique, rows_deduplicated
    from apps.warehouse.schema import table_for

    table = table_for("load_profile")
    good, rejects = ALL_SETS["load_profile"].copy_rows(
        [
            load_profile_row("cc01", channel_id=""),
            load_profile_row("cc01", channel_id="0", db_datetime="2026-11-03 11:00:00"),
            load_profile_row("cc01", channel_id="1"),
            load_profile_row("cc02", channel_id=""),
        ]
    )
    assert rejects == []
    assert _keys_unique(table, good) is False
    assert _keys_unique(table, [good[0], good[2], good[3]]) is True
    assert _keys_unique(table, [good[1], good[2]]) is True
    assert _keys_unique(table, [[None if v == "" else v for v in good[0]], good[1]]) is False
    assert len(rows_deduplicated(table, good)) == 3
    result = load("load_profile", good)
    assert result == LoadResult(received=4, inserted=3, unchanged=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT global_device_id, channel_id, db_datetime = '2026-11-03 11:00:00+05' "
            "FROM warehouse_load_profile WHERE global_device_id LIKE 'cc%' ORDER BY 1, 2"
        )
        assert cursor.fetchall() == [("cc01", 0, True), ("cc01", 1, False), ("cc02", 0, False)]
