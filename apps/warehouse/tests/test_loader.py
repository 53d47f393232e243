"""The loader against real PostgreSQL: counts, values, merges, duplicates, quarantine."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.warehouse.models import LoadProfileReading, MeterEvent, MeterVisuals, QuarantinedRow
from apps.warehouse.services import LoadResult, rows_load, rows_load_text

pytestmark = pytest.mark.django_db
PKT = ZoneInfo("Asia/Karachi")


def load(code, rows, mdc_id=7):
    return rows_load(dataset_code=code, mdc_id=mdc_id, raw_rows=rows, source="test")


def test_load_inserts_exactly_the_rows_with_typed_values(load_profile_row):
    rows = [
        load_profile_row(f"m{i}", f"2026-11-03 10:{m:02d}:00") for i in range(3) for m in (0, 30)
    ]
    result = load("load_profile", rows)
    assert result == LoadResult(received=6, inserted=6, updated=0, unchanged=0, quarantined=0)
    assert LoadProfileReading.objects.count() == 6
    reading = LoadProfileReading.objects.get(
        global_device_id="m1", meter_datetime=datetime.datetime(2026, 11, 3, 10, 30, tzinfo=PKT)
    )
    assert reading.active_energy_tl == Decimal("1234.567")
    assert reading.voltage_phase_a == Decimal("230.100")
    assert reading.channel_id == 0  # absent on the wire: 0, part of the key
    assert reading.interval == 30
    assert reading.msn == 4098562412
    assert reading.mdc_id == 7
    assert reading.db_datetime == datetime.datetime(2026, 11, 3, 10, 30, tzinfo=PKT)
    assert reading.active_energy_t1 is None


def test_reloading_the_same_rows_changes_nothing(load_profile_row):
    rows = [load_profile_row(at=f"2026-11-03 1{h}:00:00") for h in range(5)]
    load("load_profile", rows)
    again = load("load_profile", rows)
    assert again == LoadResult(received=5, inserted=0, updated=0, unchanged=5, quarantined=0)


def test_newer_copy_updates_and_older_copy_does_not(load_profile_row):
    load("load_profile", [load_profile_row(db_datetime="2026-11-03 11:00:00")])
    newer = load_profile_row(db_datetime="2026-11-03 12:00:00", active_energy_tl="2000")
    older = load_profile_row(db_datetime="2026-11-03 10:00:00", active_energy_tl="5")
    assert load("load_profile", [newer]).updated == 1
    assert load("load_profile", [older]) == LoadResult(received=1, unchanged=1)
    assert LoadProfileReading.objects.get().active_energy_tl == Decimal("2000.000")


def test_equal_freshness_with_different_values_takes_the_later_delivery(load_profile_row):
    load("load_profile", [load_profile_row()])
    result = load("load_profile", [load_profile_row(active_energy_tl="1300")])
    assert result.updated == 1
    stored = LoadProfileReading.objects.get()
    assert (stored.active_energy_tl, stored.mdc_id) == (Decimal("1300.000"), 7)


def test_a_merge_never_changes_the_owning_mdc_of_a_row(load_profile_row):
    genuine = load_profile_row(active_energy_tl="20.474")
    load("load_profile", [genuine])
    # another head end delivers the same key, newer and different: the stored row stays
    hostile = load_profile_row(db_datetime="2026-11-03 12:00:00", active_energy_tl="99999")
    assert load("load_profile", [hostile], mdc_id=8) == LoadResult(received=1, unchanged=1)
    stored = LoadProfileReading.objects.get()
    assert (stored.active_energy_tl, stored.mdc_id) == (Decimal("20.474"), 7)
    assert load("load_profile", [genuine]) == LoadResult(received=1, unchanged=1)


def test_a_copy_without_db_datetime_never_replaces_one_with_it(load_profile_row):
    load("load_profile", [load_profile_row()])
    assert (
        load("load_profile", [load_profile_row(db_datetime="", active_energy_tl="1")]).updated == 0
    )


def test_mixed_batch_counts_inserted_updated_and_unchanged(load_profile_row):
    load("load_profile", [load_profile_row("a"), load_profile_row("b")])
    batch = [
        load_profile_row("a"),  # identical
        load_profile_row("b", db_datetime="2026-11-03 11:00:00", active_energy_tl="9"),  # newer
        load_profile_row("c"),  # new
    ]
    assert load("load_profile", batch) == LoadResult(
        received=3, inserted=1, updated=1, unchanged=1, quarantined=0
    )


def test_duplicate_keys_in_one_batch_keep_the_newest_copy(load_profile_row):
    batch = [
        load_profile_row(db_datetime="2026-11-03 12:00:00", active_energy_tl="3"),
        load_profile_row(db_datetime="2026-11-03 11:00:00", active_energy_tl="2"),
        load_profile_row(channel_id="0", db_datetime="2026-11-03 10:00:00", active_energy_tl="1"),
    ]
    result = load("load_profile", batch)
    assert result == LoadResult(received=3, inserted=1, updated=0, unchanged=2, quarantined=0)
    assert LoadProfileReading.objects.get().active_energy_tl == Decimal("3.000")
    # the same batch against the stored row: still never an error
    assert load("load_profile", batch).inserted == 0


def test_channels_are_part_of_the_load_profile_key(load_profile_row):
    result = load(
        "load_profile", [load_profile_row(channel_id="1"), load_profile_row(channel_id="2")]
    )
    assert result.inserted == 2
    assert sorted(LoadProfileReading.objects.values_list("channel_id", flat=True)) == [1, 2]


def test_malformed_rows_are_quarantined_and_good_rows_loaded(load_profile_row):
    bad_decimal = load_profile_row("m2", active_energy_tl="12,5")
    missing_key = load_profile_row("m3", meter_datetime="")
    result = rows_load(
        dataset_code="load_profile",
        mdc_id=3,
        raw_rows=[load_profile_row("m1"), bad_decimal, missing_key, "not a row"],
        source="ingestion_run:42",
    )
    assert (result.received, result.inserted, result.quarantined) == (4, 1, 3)
    assert LoadProfileReading.objects.get().global_device_id == "m1"
    reasons = dict(
        QuarantinedRow.objects.filter(source="ingestion_run:42").values_list(
            "raw_payload__global_device_id", "reason"
        )
    )
    assert "active_energy_tl" in reasons["m2"]
    assert "meter_datetime" in reasons["m3"]
    entry = QuarantinedRow.objects.get(raw_payload__global_device_id="m2")
    assert (entry.mdc_id, entry.dataset_code, entry.kind, entry.resolved) == (
        3,
        "load_profile",
        "row",
        False,
    )
    assert entry.raw_payload["active_energy_tl"] == "12,5"


def test_events_are_keyed_by_device_time_and_code(event_row):
    rows = [event_row(code="111"), event_row(code="112"), event_row(code="111")]
    assert load("events", rows) == LoadResult(received=3, inserted=2, unchanged=1)
    assert MeterEvent.objects.count() == 2


def test_events_accept_the_meter_datetime_alias(event_row):
    row = event_row()
    row["meter_datetime"] = row.pop("event_datetime")
    assert load("events", [row]).inserted == 1


def test_visuals_keep_one_row_per_device_replaced_when_newer():
    first = {
        "global_device_id": "m1",
        "msn": "1",
        "last_communication_datetime": "2026-11-01 10:00:00",
        "last_signal_strength": "12",
    }
    assert load("meter_visuals", [first]).inserted == 1
    older = {
        **first,
        "last_communication_datetime": "2026-10-01 10:00:00",
        "last_signal_strength": "5",
    }
    assert load("meter_visuals", [older]).updated == 0
    newer = {
        **first,
        "last_communication_datetime": "2026-11-02 10:00:00",
        "last_signal_strength": "20",
    }
    assert load("meter_visuals", [newer]).updated == 1
    assert load("meter_visuals", [newer]).updated == 0
    stored = MeterVisuals.objects.get()
    assert stored.last_signal_strength == Decimal("20.000")
    assert MeterVisuals.objects.count() == 1


def test_pre_split_text_rows_load(load_profile_row):
    from apps.udil.datasets import LOAD_PROFILE

    text_rows = [LOAD_PROFILE.text_row(load_profile_row(f"m{i}")) for i in range(4)]
    result = rows_load_text(dataset_code="load_profile", mdc_id=1, text_rows=text_rows, source="t")
    assert result.inserted == 4


def test_unknown_data_set_is_refused():
    with pytest.raises(ValueError, match="unknown data set"):
        load("transaction_status", [])


def test_keys_equal_as_numbers_but_not_as_text_never_error(load_profile_row):
    batch = [load_profile_row(channel_id="7"), load_profile_row(channel_id="007")]
    result = load("load_profile", batch)
    assert result.received == 2 and result.inserted == 1
    assert load("load_profile", batch).inserted == 0
    assert LoadProfileReading.objects.get().channel_id == 7


def test_overlapping_batch_takes_the_merge_path_and_counts_right(load_profile_row):
    load("load_profile", [load_profile_row(at="2026-11-03 10:00:00")])
    overlapping = [load_profile_row(at=f"2026-11-03 {h}:00:00") for h in (9, 10, 11)]
    assert load("load_profile", overlapping) == LoadResult(received=3, inserted=2, unchanged=1)
