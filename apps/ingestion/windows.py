"""How a pull is cut into bounded requests: device batches x time windows (UDIL has no paging).

Plain functions of their inputs, so the plan is easy to test and to show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.conf import settings

# Window length per request when an MDC does not set one (minutes).
DEFAULT_WINDOW_MINUTES = {
    "instantaneous": 60,
    "billing": 1440,
    "monthly_billing": 44640,
    "load_profile": 1440,
    "events": 1440,
    "meter_visuals": 1440,
    "device_comm_history": 1440,
}

# How far back the first pull of a data set reaches when nothing is loaded yet (days).
DEFAULT_BACKFILL_DAYS = {
    "instantaneous": 1,
    "billing": 35,
    "monthly_billing": 400,
    "load_profile": 7,
    "events": 35,
    "meter_visuals": 1,
    "device_comm_history": 7,
}

# How far before its watermark an API pull starts again (minutes): rows the MDC stores a little
# after their meter time (delivery lag, a meter offline for a while) are still picked up. The
# loader is idempotent, so re-read rows change nothing. ``settings.INGESTION_LOOKBACK_MINUTES``
# overrides per data set.
DEFAULT_LOOKBACK_MINUTES = {
    "instantaneous": 30,
    "billing": 0,
    "monthly_billing": 0,
    "load_profile": 60,
    "events": 60,
    "meter_visuals": 0,
    "device_comm_history": 60,
}

# UDIL read windows are taken as inclusive at both ends (SQL BETWEEN, what MDCs do), with
# second resolution: a window [start, end) is requested as start .. end - 1 s, so consecutive
# windows never return the same row twice.
REQUEST_RESOLUTION = dt.timedelta(seconds=1)

# Data sets whose rows are a current state, not a history: one window from the watermark (or
# the backfill start) to now, whatever its length; the MDC answers with the latest row per
# device.
STATE_DATASETS = frozenset({"meter_visuals"})


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M:%S} .. {self.end:%Y-%m-%d %H:%M:%S}"


def window_length(dataset_code: str, window_minutes: Mapping[str, int] | None) -> dt.timedelta:
    """The MDC's window for a data set (``Mdc.window_minutes``), else the default."""
    minutes = (window_minutes or {}).get(dataset_code) or DEFAULT_WINDOW_MINUTES[dataset_code]
    return dt.timedelta(minutes=max(1, int(minutes)))


def backfill_start(dataset_code: str, until: dt.datetime) -> dt.datetime:
    """Where the first pull of a data set starts: midnight ``days`` before ``until`` (local).

    ``settings.INGESTION_BACKFILL_DAYS`` ({dataset: days}) overrides the defaults.
    """
    overrides = settings.INGESTION_BACKFILL_DAYS or {}
    days = int(overrides.get(dataset_code, DEFAULT_BACKFILL_DAYS[dataset_code]))
    start = until - dt.timedelta(days=days)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def lookback(dataset_code: str) -> dt.timedelta:
    overrides = settings.INGESTION_LOOKBACK_MINUTES or {}
    minutes = overrides.get(dataset_code, DEFAULT_LOOKBACK_MINUTES[dataset_code])
    return dt.timedelta(minutes=max(0, int(minutes)))


def request_bounds(window: Window) -> tuple[dt.datetime, dt.datetime]:
    """``start_datetime`` and ``end_datetime`` to send for a window (both inclusive)."""
    return window.start, max(window.start, window.end - REQUEST_RESOLUTION)


def windows_plan(
    *, dataset_code: str, start: dt.datetime, until: dt.datetime, length: dt.timedelta
) -> Iterator[Window]:
    """Consecutive half-open windows ``[start, end)`` covering ``[start, until)``.

    History data sets get windows of ``length`` (the last one cut at ``until``); state data
    sets (meter visuals) get one window.
    """
    if until <= start:
        return
    if dataset_code in STATE_DATASETS:
        yield Window(start, until)
        return
    current = start
    while current < until:
        end = min(current + length, until)
        yield Window(current, end)
        current = end


def windows_count(
    *, dataset_code: str, start: dt.datetime, until: dt.datetime, length: dt.timedelta
) -> int:
    if until <= start:
        return 0
    if dataset_code in STATE_DATASETS:
        return 1
    span = until - start
    return -(-span // length)
