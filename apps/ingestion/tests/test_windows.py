"""How pulls are cut into bounded windows."""

import datetime as dt

from apps.ingestion.windows import (
    Window,
    backfill_start,
    window_length,
    windows_count,
    windows_plan,
)
from apps.udil.timefmt import PKT

T0 = dt.datetime(2025, 3, 1, 0, 0, tzinfo=PKT)


def test_history_windows_are_consecutive_half_open_and_cut_at_until():
    until = T0 + dt.timedelta(days=2, hours=6)
    plan = list(
        windows_plan(
            dataset_code="load_profile", start=T0, until=until, length=dt.timedelta(days=1)
        )
    )
    assert plan == [
        Window(T0, T0 + dt.timedelta(days=1)),
        Window(T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)),
        Window(T0 + dt.timedelta(days=2), until),
    ]
    count = windows_count(
        dataset_code="load_profile", start=T0, until=until, length=dt.timedelta(days=1)
    )
    assert count == 3


def test_meter_visuals_is_one_window_whatever_its_length():
    until = T0 + dt.timedelta(days=9)
    plan = list(
        windows_plan(
            dataset_code="meter_visuals", start=T0, until=until, length=dt.timedelta(hours=1)
        )
    )
    assert plan == [Window(T0, until)]


def test_nothing_to_pull_when_until_is_not_after_start():
    day = dt.timedelta(days=1)
    assert list(windows_plan(dataset_code="events", start=T0, until=T0, length=day)) == []
    assert windows_count(dataset_code="events", start=T0, until=T0, length=dt.timedelta(1)) == 0


def test_window_length_comes_from_the_mdc_then_the_default():
    assert window_length("events", {"events": 90}) == dt.timedelta(minutes=90)
    assert window_length("events", {}) == dt.timedelta(minutes=1440)
    assert window_length("instantaneous", None) == dt.timedelta(minutes=60)


def test_backfill_starts_at_local_midnight(settings):
    settings.INGESTION_BACKFILL_DAYS = {"load_profile": 3}
    until = dt.datetime(2025, 3, 10, 14, 37, tzinfo=PKT)
    assert backfill_start("load_profile", until) == dt.datetime(2025, 3, 7, 0, 0, tzinfo=PKT)
