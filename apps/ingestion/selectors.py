"""Reads of ingestion for pages, the API and the dashboard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.ingestion.choices import HealthStatus, RunOutcome
from apps.ingestion.models import FileDelivery, IngestionRun, Watermark
from apps.ingestion.windows import STATE_DATASETS
from apps.registry.choices import ActivationStatus, Dataset
from apps.registry.models import Mdc
from apps.registry.services import CONNECTION_TEST_ACTION

ERROR_OUTCOMES = (RunOutcome.FAILED, RunOutcome.PARTIAL)


def runs_list() -> QuerySet[IngestionRun]:
    return IngestionRun.objects.select_related("mdc")


def watermarks_list() -> QuerySet[Watermark]:
    return Watermark.objects.select_related("mdc")


def deliveries_list() -> QuerySet[FileDelivery]:
    return FileDelivery.objects.select_related("mdc", "run")


@dataclass
class DatasetHealth:
    dataset: str
    label: str
    watermark: dt.datetime | None
    lag: dt.timedelta | None
    last_success: dt.datetime | None
    last_run: IngestionRun | None
    interval_minutes: int


@dataclass(frozen=True)
class Probe:
    """The last connection test of an MDC (on "Test connection" or by the periodic probe),
    as its audit entry recorded it."""

    at: dt.datetime
    ok: bool
    message: str


@dataclass
class MdcHealth:
    """How one MDC is doing.

    ``lag``: how far the least advanced history data set's watermark is behind now (None before
    anything is loaded). ``error_rate``: failed or partial runs over all runs in the period.
    ``problems``: why it is not healthy, in words. Runs alone cannot tell: an MDC with no meters
    (or none active) "succeeds" every pull without reaching the MDC, so an MDC is healthy only
    when its last probe succeeded within ``MDM_HEALTH_PROBE_MAX_AGE_MINUTES``.
    """

    mdc: Mdc
    last_success: dt.datetime | None
    lag: dt.timedelta | None
    runs: int
    errors: int
    rows: int
    last_error: str = ""
    datasets: list[DatasetHealth] = field(default_factory=list)
    last_probe: Probe | None = None
    last_probe_success: dt.datetime | None = None
    status: str = HealthStatus.UNHEALTHY
    problems: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.runs if self.runs else None

    @property
    def lag_hours(self) -> float | None:
        return None if self.lag is None else round(self.lag.total_seconds() / 3600, 2)

    @property
    def healthy(self) -> bool:
        return self.status == HealthStatus.HEALTHY

    @property
    def status_label(self) -> str:
        return HealthStatus(self.status).label


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _assess(health: MdcHealth, *, now: dt.datetime, hours: int) -> None:
    """Set ``status`` and ``problems``: unhealthy when the MDC cannot be reached (or is off),
    degraded when it answers but pulls failed in the period."""
    max_age = dt.timedelta(minutes=settings.HEALTH_PROBE_MAX_AGE_MINUTES)
    probe, unreachable = health.last_probe, []
    if not health.mdc.enabled:
        unreachable.append("Disabled: neither pulled nor probed.")
    elif probe is None:
        unreachable.append("Never probed: its connection has not been tested.")
    elif not probe.ok:
        unreachable.append(f"Last probe failed at {_when(probe.at)}: {probe.message}")
    elif now - probe.at > max_age:
        unreachable.append(
            f"No probe in the last {settings.HEALTH_PROBE_MAX_AGE_MINUTES} min "
            f"(last succeeded at {_when(probe.at)})."
        )
    pulls = []
    if health.errors:
        pulls.append(
            f"{health.errors} of {health.runs} pulls failed or partial in {hours} h"
            + (f": {health.last_error}" if health.last_error else ".")
        )
    health.problems = unreachable + pulls
    if unreachable:
        health.status = HealthStatus.UNHEALTHY
    elif pulls:
        health.status = HealthStatus.DEGRADED
    else:
        health.status = HealthStatus.HEALTHY


def mdc_probes(mdc_ids: list[int]) -> tuple[dict[int, Probe], dict[int, dt.datetime]]:
    """Per MDC: its last probe, and when a probe last succeeded (two queries on the audit
    trail's target index)."""
    entries = AuditEntry.objects.filter(
        action=CONNECTION_TEST_ACTION,
        target_type=Mdc._meta.label_lower,
        target_id__in=[str(pk) for pk in mdc_ids],
    )
    last = {
        int(target_id): Probe(at=at, ok=bool(detail.get("ok")), message=detail.get("message", ""))
        for target_id, at, detail in entries.order_by("target_id", "-at", "-id")
        .distinct("target_id")
        .values_list("target_id", "at", "detail")
    }
    succeeded = {
        int(target_id): at
        for target_id, at in entries.filter(detail__ok=True)
        .values_list("target_id")
        .annotate(at=Max("at"))
        .values_list("target_id", "at")
    }
    return last, succeeded


def _lag(now: dt.datetime, position: dt.datetime | None) -> dt.timedelta | None:
    if position is None:
        return None
    return max(dt.timedelta(0), now - position)


def mdc_health(
    *, mdcs: QuerySet[Mdc] | None = None, now: dt.datetime | None = None, hours: int = 24
) -> list[MdcHealth]:
    """Health of every MDC (or of ``mdcs``): last success, lag, error rate over ``hours``."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    mdcs = list((mdcs if mdcs is not None else Mdc.objects.all()).order_by("code"))
    ids = [mdc.pk for mdc in mdcs]
    successes = dict(
        IngestionRun.objects.filter(mdc_id__in=ids, outcome=RunOutcome.SUCCEEDED)
        .values_list("mdc_id")
        .annotate(last=Max("finished_at"))
    )
    stats = {
        row["mdc_id"]: row
        for row in IngestionRun.objects.filter(mdc_id__in=ids, started_at__gte=since)
        .values("mdc_id")
        .annotate(
            runs=Count("id"),
            errors=Count("id", filter=Q(outcome__in=ERROR_OUTCOMES)),
            rows=Sum("rows_received"),
        )
    }
    positions: dict[int, dict[str, dt.datetime]] = {}
    for mdc_id, dataset, position in Watermark.objects.filter(mdc_id__in=ids).values_list(
        "mdc_id", "dataset", "position"
    ):
        positions.setdefault(mdc_id, {})[dataset] = position
    last_errors = {}
    for mdc_id, error in (
        IngestionRun.objects.filter(mdc_id__in=ids, outcome__in=ERROR_OUTCOMES)
        .order_by("mdc_id", "-started_at")
        .distinct("mdc_id")
        .values_list("mdc_id", "error")
    ):
        last_errors[mdc_id] = error
    probes, probe_successes = mdc_probes(ids)
    out = []
    for mdc in mdcs:
        history = [
            position
            for dataset, position in positions.get(mdc.pk, {}).items()
            if dataset not in STATE_DATASETS
        ]
        row = stats.get(mdc.pk, {})
        health = MdcHealth(
            mdc=mdc,
            last_success=successes.get(mdc.pk),
            lag=_lag(now, min(history)) if history else None,
            runs=row.get("runs", 0),
            errors=row.get("errors", 0),
            rows=row.get("rows") or 0,
            last_error=last_errors.get(mdc.pk, ""),
            last_probe=probes.get(mdc.pk),
            last_probe_success=probe_successes.get(mdc.pk),
        )
        _assess(health, now=now, hours=hours)
        out.append(health)
    return out


def mdc_dataset_health(*, mdc: Mdc, now: dt.datetime | None = None) -> list[DatasetHealth]:
    """Per data set of one MDC: watermark, lag, last success, last run, schedule."""
    now = now or timezone.now()
    positions = dict(Watermark.objects.filter(mdc=mdc).values_list("dataset", "position"))
    successes = dict(
        IngestionRun.objects.filter(mdc=mdc, outcome=RunOutcome.SUCCEEDED)
        .values_list("dataset")
        .annotate(last=Max("finished_at"))
    )
    last_runs = {
        run.dataset: run
        for run in IngestionRun.objects.filter(mdc=mdc)
        .order_by("dataset", "-started_at")
        .distinct("dataset")
    }
    intervals = mdc.pull_intervals or {}
    return [
        DatasetHealth(
            dataset=code,
            label=label,
            watermark=positions.get(code),
            lag=_lag(now, positions.get(code)),
            last_success=successes.get(code),
            last_run=last_runs.get(code),
            interval_minutes=int(intervals.get(code) or 0),
        )
        for code, label in Dataset.choices
    ]


@dataclass(frozen=True)
class HourlyRuns:
    hour: dt.datetime
    runs: int
    errors: int
    rows: int


def mdc_runs_hourly(
    *, mdc: Mdc, now: dt.datetime | None = None, hours: int = 24
) -> list[HourlyRuns]:
    """Runs, failed or partial runs, and rows received per hour (local time), oldest first."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    rows = (
        IngestionRun.objects.filter(mdc=mdc, started_at__gte=since)
        .annotate(hour=TruncHour("started_at"))
        .values("hour")
        .annotate(
            runs=Count("id"),
            errors=Count("id", filter=Q(outcome__in=ERROR_OUTCOMES)),
            rows=Sum("rows_received"),
        )
        .order_by("hour")
    )
    return [
        HourlyRuns(hour=row["hour"], runs=row["runs"], errors=row["errors"], rows=row["rows"] or 0)
        for row in rows
    ]


# --- completeness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletenessCell:
    """One MDC and day. ``meters``: meters that delivered load profile that day; ``active``:
    active meters expected that day (registered, or delivering data, by then). ``expected``:
    intervals from each meter's start (its registration or its first data, whichever is
    earlier) to the end of the day, or to now for today; a meter that delivered nothing is
    expected at the interval it used before, else its MDC's usual one."""

    mdc_code: str
    day: dt.date
    meters: int
    active: int
    received: int
    expected: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.received / self.expected, 1) if self.expected else None


@dataclass
class CompletenessGrid:
    mdc_codes: list[str]
    days: list[dt.date]
    cells: list[CompletenessCell]

    @property
    def day_labels(self) -> list[str]:
        return [day.isoformat() for day in self.days]

    @property
    def percent(self) -> list[list[float | None]]:
        """Rows per MDC (in ``mdc_codes`` order), columns per day; None where nothing was
        expected (before the MDC had meters), so no gap is shown where none can be."""
        by_key = {(cell.mdc_code, cell.day): cell.percent for cell in self.cells}
        return [[by_key.get((code, day)) for day in self.days] for code in self.mdc_codes]


# When neither the meter nor any meter of its MDC ever gave an interval: the longer of the two
# usual load-profile intervals, so a silent meter is never expected more often than it can be.
DEFAULT_LP_INTERVAL_MINUTES = 30

# Per meter and local day in the range: intervals received, and those expected from the meter's
# start (registration, or first data if earlier) to the end of the day or to now. Active meters
# count every day from their start; others only the days they delivered. Aggregated per MDC.
_COMPLETENESS_SQL = """
WITH data AS (
  SELECT mdc_id, global_device_id, (meter_datetime AT TIME ZONE %(tz)s)::date AS day,
         count(*) AS received, max("interval") AS interval_minutes,
         min(meter_datetime) AS first_at
  FROM warehouse_load_profile
  WHERE meter_datetime >= %(start)s AND meter_datetime < %(end)s
  GROUP BY 1, 2, 3
),
device AS (
  SELECT global_device_id, max(NULLIF(interval_minutes, 0)) AS interval_minutes,
         min(first_at) AS first_at
  FROM data GROUP BY 1
),
mdc_interval AS (
  SELECT owner.mdc_id, mode() WITHIN GROUP (ORDER BY device.interval_minutes) AS interval_minutes
  FROM (SELECT DISTINCT mdc_id, global_device_id FROM data) owner
  JOIN device USING (global_device_id)
  WHERE device.interval_minutes IS NOT NULL
  GROUP BY 1
),
active AS (
  SELECT m.mdc_id, m.global_device_id,
         LEAST(
           m.created_at,
           device.first_at,
           -- registered inside the range: its data may begin before (the PK index answers)
           CASE WHEN m.created_at > %(start)s THEN (
             SELECT min(lp.meter_datetime) FROM warehouse_load_profile lp
             WHERE lp.global_device_id = m.global_device_id AND lp.meter_datetime < %(start)s
           ) END
         ) AS starts_at,
         COALESCE(device.interval_minutes, mdc_interval.interval_minutes, %(default)s)
           AS interval_minutes
  FROM registry_meter m
  LEFT JOIN device USING (global_device_id)
  LEFT JOIN mdc_interval ON mdc_interval.mdc_id = m.mdc_id
  WHERE m.activation_status = %(active_status)s
),
active_day AS (
  SELECT active.*, series.day::date AS day
  FROM active
  CROSS JOIN LATERAL generate_series(
    GREATEST((active.starts_at AT TIME ZONE %(tz)s)::date, %(first_day)s::date),
    %(last_day)s::date, interval '1 day'
  ) AS series(day)
),
cell AS (
  SELECT COALESCE(data.mdc_id, active_day.mdc_id) AS mdc_id,
         COALESCE(data.day, active_day.day) AS day,
         data.global_device_id IS NOT NULL AS delivered,
         active_day.day IS NOT NULL AS expected_active,
         COALESCE(data.received, 0) AS received,
         COALESCE(active_day.starts_at, device.first_at) AS starts_at,
         COALESCE(active_day.interval_minutes, device.interval_minutes, %(default)s)
           AS interval_minutes
  FROM data
  FULL OUTER JOIN active_day
    ON active_day.global_device_id = data.global_device_id AND active_day.day = data.day
  LEFT JOIN device
    ON device.global_device_id = COALESCE(data.global_device_id, active_day.global_device_id)
),
span AS (
  SELECT cell.*,
         EXTRACT(EPOCH FROM GREATEST(starts_at, day_start) - day_start) / 60 AS from_minute,
         EXTRACT(EPOCH FROM LEAST(day_start + interval '1 day', %(now)s) - day_start) / 60
           AS to_minute
  FROM (SELECT cell.*, (cell.day::timestamp AT TIME ZONE %(tz)s) AS day_start FROM cell) cell
)
SELECT mdc_id, day,
       count(*) FILTER (WHERE delivered) AS meters,
       count(*) FILTER (WHERE expected_active) AS active,
       sum(received) AS received,
       -- interval timestamps t (aligned on the day) with from <= t < to
       sum(GREATEST(0, ceil(to_minute / interval_minutes) - ceil(from_minute / interval_minutes)))
         AS expected
FROM span
GROUP BY mdc_id, day
ORDER BY mdc_id, day
"""


def completeness_grid(
    *, days: int = 14, today: dt.date | None = None, now: dt.datetime | None = None
) -> CompletenessGrid:
    """Load-profile intervals received per MDC and local day against those expected, for the
    ``days`` days up to and including today (the local day of ``now``). Today is compared
    with the intervals elapsed so far; a day before a meter's start expects nothing of it."""
    now = now or timezone.now()
    if today is not None and today != timezone.localdate(now):
        # A past day as "today": it is over, so all its intervals are due.
        now = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=days - 1)
    day_list = [first + dt.timedelta(days=offset) for offset in range(days)]
    start = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))
    with connection.cursor() as cursor:
        cursor.execute(
            _COMPLETENESS_SQL,
            {
                "tz": settings.TIME_ZONE,
                "start": start,
                "end": end,
                "now": now,
                "first_day": first,
                "last_day": today,
                "default": DEFAULT_LP_INTERVAL_MINUTES,
                "active_status": int(ActivationStatus.ACTIVE),
            },
        )
        rows = cursor.fetchall()
    codes = dict(Mdc.objects.values_list("pk", "code"))
    cells = [
        CompletenessCell(
            mdc_code=codes[mdc_id],
            day=day,
            meters=meters,
            active=active,
            received=int(received),
            expected=int(expected),
        )
        for mdc_id, day, meters, active, received, expected in rows
        if mdc_id in codes
    ]
    return CompletenessGrid(
        mdc_codes=sorted({cell.mdc_code for cell in cells}), days=day_list, cells=cells
    )
