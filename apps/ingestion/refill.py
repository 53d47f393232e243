"""Asking an MDC again for what a pull did not get: windows whose answer was quarantined, and
load-profile intervals still missing after their window was read.

A pull's watermark moves on once a window's answers are committed, and it re-reads only a short
lookback. Two things can then be lost: a window whose body was quarantined (malformed), and rows
the MDC stores late (a meter offline for hours: its rows reach the head end when it comes back,
long after the window was read). Both are kept as open :class:`RefillWindow` entries, one per
device and bounded window, and asked for again at later pulls, backing off with their age, until
they load, an operator releases the quarantined body, or they are older than the refill age
(``INGESTION_GAP_REFILL_MAX_AGE_DAYS``; expired gaps stay in the table and in completeness).

Missing intervals are found in the warehouse itself: per meter, consecutive load-profile rows
further apart than the meter's own ``interval``, and a last row too far before the part the
pull just read. Intervals before a meter's first row are not expected.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction

from apps.ingestion.choices import RefillReason, RefillState
from apps.ingestion.fetch import FetchedBody
from apps.ingestion.models import IngestionRun, RefillWindow, Watermark
from apps.ingestion.windows import Window, window_length
from apps.registry.models import Mdc
from apps.registry.selectors import mdc_client, meters_for_pull
from apps.udil.timefmt import PKT
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.schema import quote, table_for
from apps.warehouse.services import quarantined_row_resolve

#: Data sets whose rows come at known intervals, so that missing ones can be told.
GAP_DATASETS = frozenset({"load_profile"})
#: At most this long between two requests of one entry, however old it is.
MAX_BACKOFF = dt.timedelta(days=1)

GapKey = tuple[str, dt.datetime, dt.datetime]  # (device, window start, window end)


def max_age() -> dt.timedelta:
    return dt.timedelta(days=max(0, settings.INGESTION_GAP_REFILL_MAX_AGE_DAYS))


def next_attempt(*, end: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When to ask again for a window ending at ``end``: after the backoff, then every quarter
    of the window's age (rows an hour late are common, a day late rare), at most a day apart."""
    base = dt.timedelta(minutes=max(1, settings.INGESTION_REFILL_BACKOFF_MINUTES))
    age = max(dt.timedelta(0), now - end)
    return now + max(base, min(age / 4, MAX_BACKOFF))


def body_refills_open(
    *,
    mdc: Mdc,
    dataset_code: str,
    window: Window,
    device_ids: Iterable[str],
    quarantined_row_id: int,
    now: dt.datetime,
) -> None:
    """Keep a window whose answer was quarantined as not loaded for its devices (in the
    caller's transaction or its own)."""
    RefillWindow.objects.bulk_create(
        [
            RefillWindow(
                mdc=mdc,
                dataset=dataset_code,
                global_device_id=device,
                start=window.start,
                end=window.end,
                reason=RefillReason.BODY,
                quarantined_row_id=quarantined_row_id,
                next_attempt_at=next_attempt(end=window.end, now=now),
            )
            for device in device_ids
        ],
        ignore_conflicts=True,  # already open for this window: one entry
    )


# --- finding gaps --------------------------------------------------------------------------------


def _aligned(moment: dt.datetime, length: dt.timedelta) -> dt.datetime:
    """The start of the window of ``length`` holding ``moment``, windows counted from local
    midnight (so that many meters' gaps of one day share requests)."""
    local = moment.astimezone(PKT)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if length >= dt.timedelta(days=1):
        return midnight
    return midnight + ((local - midnight) // length) * length


def gaps_find(
    *,
    mdc_id: int,
    since: dt.datetime,
    horizon: dt.datetime,
    length: dt.timedelta,
    device_ids: list[str] | None = None,
) -> dict[GapKey, int]:
    """Missing load-profile intervals of an MDC's meters in ``[since, horizon)``, as
    ``{(device, window start, window end): intervals missing}`` over aligned windows."""
    if horizon <= since:
        return {}
    table = quote(table_for("load_profile").name)
    devices = "AND global_device_id = ANY(%(devices)s)" if device_ids is not None else ""
    sql = f"""
        WITH stored AS (
            SELECT DISTINCT global_device_id AS device, meter_datetime AS at,
                   LEAST(1440, GREATEST(1, COALESCE("interval", 15))) AS step
            FROM {table}
            WHERE mdc_id = %(mdc)s AND meter_datetime >= %(since)s
              AND meter_datetime < %(horizon)s {devices}
        ), seq AS (
            SELECT device, at, step, lead(at) OVER (PARTITION BY device ORDER BY at) AS next
            FROM stored
        )
        SELECT device, at + make_interval(mins => step), COALESCE(next, %(horizon)s), step
        FROM seq WHERE COALESCE(next, %(horizon)s) > at + make_interval(mins => step)
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"mdc": mdc_id, "since": since, "horizon": horizon, "devices": device_ids}
        )
        found = cursor.fetchall()
    gaps: dict[GapKey, int] = defaultdict(int)
    for device, first, end, step in found:
        interval = dt.timedelta(minutes=step)
        start = _aligned(first, length)
        while start < end:
            stop = start + length
            low, high = max(first, start), min(end, stop)
            if high > low:
                gaps[(device, start, stop)] += math.ceil((high - low) / interval)
            start = stop
    return dict(gaps)


def _without_body_windows(
    *, mdc: Mdc, dataset_code: str, found: dict[GapKey, int], oldest: dt.datetime
) -> dict[GapKey, int]:
    """Gaps inside a window whose body is still being asked for, or that an operator released,
    are that entry's business: not asked for twice, nor again after a release."""
    bodies = defaultdict(list)
    for device, start, end in RefillWindow.objects.filter(
        mdc=mdc,
        dataset=dataset_code,
        reason=RefillReason.BODY,
        state__in=[RefillState.OPEN, RefillState.RELEASED],
        end__gt=oldest,
    ).values_list("global_device_id", "start", "end"):
        bodies[device].append((start, end))
    return {
        key: missing
        for key, missing in found.items()
        if not any(start < key[2] and key[1] < end for start, end in bodies.get(key[0], ()))
    }


def _gaps_record(*, mdc: Mdc, dataset_code: str, found: dict[GapKey, int], now: dt.datetime) -> int:
    """Open an entry per newly missing (device, window); entries no longer missing are filled.
    Returns how many were filled."""
    oldest = now - max_age()
    found = _without_body_windows(mdc=mdc, dataset_code=dataset_code, found=found, oldest=oldest)
    entries = {
        (e.global_device_id, e.start, e.end): e
        for e in RefillWindow.objects.filter(
            mdc=mdc, dataset=dataset_code, state=RefillState.OPEN, reason=RefillReason.GAP
        )
    }
    filled = [key for key in entries if key not in found]
    changed = []
    for key, missing in found.items():
        entry = entries.get(key)
        if entry is not None and entry.missing != missing:
            entry.missing = missing
            changed.append(entry)
    new = [
        RefillWindow(
            mdc=mdc,
            dataset=dataset_code,
            global_device_id=device,
            start=start,
            end=end,
            reason=RefillReason.GAP,
            missing=missing,
            next_attempt_at=now,
        )
        for (device, start, end), missing in found.items()
        if (device, start, end) not in entries and end > oldest
    ]
    with transaction.atomic():
        RefillWindow.objects.bulk_create(new, ignore_conflicts=True)
        RefillWindow.objects.bulk_update(changed, ["missing"])
        RefillWindow.objects.filter(pk__in=[entries[key].pk for key in filled]).update(
            state=RefillState.FILLED, missing=0, closed_at=now
        )
    return len(filled)


# --- asking again ------------------------------------------------------------------------------


def _jobs(entries: list[RefillWindow], batch_size: int, limit: int):
    """Requests for due entries: ``((start, end), devices)``, one per window and batch of
    devices, at most ``limit``."""
    by_window: dict[tuple[dt.datetime, dt.datetime], list[str]] = defaultdict(list)
    for entry in entries:
        devices = by_window[(entry.start, entry.end)]
        if entry.global_device_id not in devices:
            devices.append(entry.global_device_id)
    jobs = []
    size = max(1, batch_size)
    for span, devices in sorted(by_window.items()):
        for i in range(0, len(devices), size):
            jobs.append((span, devices[i : i + size]))
    return jobs[:limit]


def _gap_scan_due(mdc: Mdc, dataset_code: str, now: dt.datetime) -> bool:
    """Claim the periodic search for gaps (per MDC and data set; pull time, not wall time)."""
    every = dt.timedelta(minutes=max(0, settings.INGESTION_GAP_SCAN_MINUTES))
    mark = Watermark.objects.filter(mdc=mdc, dataset=dataset_code).first()
    if mark is None or (mark.gaps_scanned_at and now - mark.gaps_scanned_at < every):
        return False
    mark.gaps_scanned_at = now
    mark.save(update_fields=["gaps_scanned_at"])
    return True


def refills_run(
    *,
    run: IngestionRun,
    mdc: Mdc,
    dataset_code: str,
    horizon: dt.datetime,
    until: dt.datetime,
    tally,
    load: Callable[[FetchedBody], QuarantinedRow | None],
    fetcher_for: Callable,
) -> None:
    """Close what no longer needs asking, find new gaps (before ``horizon``, where the pull
    started reading), then ask again for every due entry and record the outcome."""
    oldest = until - max_age()
    open_entries = RefillWindow.objects.filter(
        mdc=mdc, dataset=dataset_code, state=RefillState.OPEN
    )
    open_entries.filter(end__lte=oldest).update(state=RefillState.EXPIRED, closed_at=until)
    released = QuarantinedRow.objects.filter(
        resolved=True,
        pk__in=open_entries.filter(reason=RefillReason.BODY).values("quarantined_row_id"),
    ).values("pk")
    open_entries.filter(reason=RefillReason.BODY, quarantined_row_id__in=released).update(
        state=RefillState.RELEASED, closed_at=until
    )
    length = window_length(dataset_code, mdc.window_minutes)
    if dataset_code in GAP_DATASETS and _gap_scan_due(mdc, dataset_code, until):
        found = gaps_find(
            mdc_id=mdc.pk,
            since=oldest,
            horizon=horizon,
            length=length,
            device_ids=list(meters_for_pull(mdc).values_list("global_device_id", flat=True)),
        )
        tally.refills_filled += _gaps_record(
            mdc=mdc, dataset_code=dataset_code, found=found, now=until
        )
    due = list(open_entries.filter(next_attempt_at__lte=until).order_by("start", "id"))
    jobs = _jobs(due, mdc.batch_size, settings.INGESTION_REFILL_MAX_REQUESTS)
    if jobs:
        asked = _ask_again(mdc, dataset_code, jobs, due, until, tally, load, fetcher_for)
        gap_entries = [e for e in asked if e.reason == RefillReason.GAP]
        if gap_entries:
            still = gaps_find(
                mdc_id=mdc.pk,
                since=oldest,
                horizon=horizon,
                length=length,
                device_ids=sorted({e.global_device_id for e in gap_entries}),
            )
            _gap_outcomes(gap_entries, still, until, tally)
    tally.refills_open = open_entries.count()


def _ask_again(mdc, dataset_code, jobs, due, until, tally, load, fetcher_for):
    """Send the requests of ``jobs``; body entries whose window now loads are filled (and their
    quarantined body resolved). Returns the entries asked for."""
    entries = defaultdict(list)
    for entry in due:
        entries[(entry.start, entry.end, entry.global_device_id)].append(entry)
    asked: list[RefillWindow] = []
    requests = [(Window(start, min(end, until)), devices) for (start, end), devices in jobs]
    with mdc_client(mdc) as client, fetcher_for(client, requests) as fetcher:
        for (start, end), devices in jobs:
            tally.refill_requests += 1
            fetched = fetcher.next()
            quarantined = load(fetched)
            for device in devices:
                for entry in entries[(start, end, device)]:
                    asked.append(entry)
                    entry.attempts += 1
                    entry.last_attempt_at = until
                    if entry.reason == RefillReason.GAP:
                        continue  # decided by looking at the warehouse again
                    if quarantined is None:
                        _body_filled(entry, run_note=f"window loaded on retry ({fetched.window})")
                        tally.refills_filled += 1
                    else:
                        entry.quarantined_row_id = quarantined.pk
                        entry.next_attempt_at = next_attempt(end=entry.end, now=until)
                        entry.save(
                            update_fields=[
                                "attempts", "last_attempt_at", "quarantined_row_id",
                                "next_attempt_at",
                            ]
                        )  # fmt: skip
    return asked


def _body_filled(entry: RefillWindow, *, run_note: str) -> None:
    with transaction.atomic():
        entry.state = RefillState.FILLED
        entry.closed_at = entry.last_attempt_at
        entry.save(update_fields=["state", "closed_at", "attempts", "last_attempt_at"])
        body = QuarantinedRow.objects.filter(pk=entry.quarantined_row_id, resolved=False).first()
        if body is not None:
            quarantined_row_resolve(quarantined_row=body, actor=None, note=run_note)


def _gap_outcomes(entries, still: dict[GapKey, int], until: dt.datetime, tally) -> None:
    for entry in entries:
        missing = still.get((entry.global_device_id, entry.start, entry.end))
        if missing:
            entry.missing = missing
            entry.next_attempt_at = next_attempt(end=entry.end, now=until)
        else:
            entry.state = RefillState.FILLED
            entry.missing = 0
            entry.closed_at = until
            tally.refills_filled += 1
    RefillWindow.objects.bulk_update(
        entries, ["missing", "next_attempt_at", "state", "closed_at", "attempts", "last_attempt_at"]
    )
