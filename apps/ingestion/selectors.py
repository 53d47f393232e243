"""Reads of ingestion for pages, the API and the dashboard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.windows import STATE_DATASETS
from apps.registry.choices import ActivationStatus, Dataset
from apps.registry.models import Mdc

ERROR_OUTCOMES = (RunOutcome.FAILED, RunOutcome.PARTIAL)


def runs_list() -> QuerySet[IngestionRun]:
    return IngestionRun.objects.select_related("mdc")


def watermarks_list() -> QuerySet[Watermark]:
    return Watermark.objects.select_related("mdc")


@dataclass
class DatasetHealth:
    dataset: str
    label: str
    watermark: dt.datetime | None
    lag: dt.timedelta | None
    last_success: dt.datetime | None
    last_run: IngestionRun | None
    interval_minutes: int


@dataclass
class MdcHealth:
    """How one MDC's pulls are doing.

    ``lag``: how far the least advanced history data set's watermark is behind now (None before
    anything is loaded). ``error_rate``: failed or partial runs over all runs in the period.
    """

    mdc: Mdc
    last_success: dt.datetime | None
    lag: dt.timedelta | None
    runs: int
    errors: int
    rows: int
    last_error: str = ""
    datasets: list[DatasetHealth] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.runs if self.runs else None

    @property
    def lag_hours(self) -> float | None:
        return None if self.lag is None else round(self.lag.total_seconds() / 3600, 2)


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
    out = []
    for mdc in mdcs:
        history = [
            position
            for dataset, position in positions.get(mdc.pk, {}).items()
            if dataset not in STATE_DATASETS
        ]
        row = stats.get(mdc.pk, {})
        out.append(
            MdcHealth(
                mdc=mdc,
                last_success=successes.get(mdc.pk),
                lag=_lag(now, min(history)) if history else None,
                runs=row.get("runs", 0),
                errors=row.get("errors", 0),
                rows=row.get("rows") or 0,
                last_error=last_errors.get(mdc.pk, ""),
            )
        )
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
    active meters registered with the MDC now. ``expected`` counts every active meter: one that
    delivered nothing is expected at the average interval of those that did."""

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
        """Rows per MDC (in ``mdc_codes`` order), columns per day (0 where nothing arrived)."""
        by_key = {(cell.mdc_code, cell.day): cell.percent for cell in self.cells}
        return [[by_key.get((code, day), 0.0) for day in self.days] for code in self.mdc_codes]


def completeness_grid(*, days: int = 14, today: dt.date | None = None) -> CompletenessGrid:
    """Load-profile intervals received per MDC and local day against those expected, for the
    ``days`` days up to and including ``today``, for every MDC with active meters."""
    from apps.warehouse.selectors import load_profile_completeness

    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    day_list = [first + dt.timedelta(days=offset) for offset in range(days)]
    mdcs = {
        mdc.pk: mdc
        for mdc in Mdc.objects.annotate(
            active=Count("meters", filter=Q(meters__activation_status=ActivationStatus.ACTIVE))
        ).filter(active__gt=0)
    }
    cells = []
    for row in load_profile_completeness(None, first, today):
        mdc = mdcs.get(row.mdc_id)
        if mdc is None:
            continue
        per_meter = (row.expected or 0) / row.meters if row.meters else 0
        silent = max(0, mdc.active - row.meters)
        cells.append(
            CompletenessCell(
                mdc_code=mdc.code,
                day=row.day,
                meters=row.meters,
                active=mdc.active,
                received=int(row.received),
                expected=round((row.expected or 0) + silent * per_meter),
            )
        )
    codes = sorted(mdc.code for mdc in mdcs.values())
    return CompletenessGrid(mdc_codes=codes, days=day_list, cells=cells)
