"""Reading the warehouse for pages, dashboards and other apps (the registry's meter page)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from apps.warehouse.consumption import consumption_per_day
from apps.warehouse.models import (
    BillingReading,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)
from apps.warehouse.partitions import PKT

TIME_SERIES_MODELS = {
    "instantaneous": InstantaneousReading,
    "billing": BillingReading,
    "monthly_billing": MonthlyBillingReading,
    "load_profile": LoadProfileReading,
    "events": MeterEvent,
}


def meter_latest_visuals(global_device_id: str) -> MeterVisuals | None:
    return MeterVisuals.objects.filter(global_device_id=global_device_id).first()


def meter_recent_events(global_device_id: str, limit: int = 20) -> list[MeterEvent]:
    return list(
        MeterEvent.objects.filter(global_device_id=global_device_id).order_by("-event_datetime")[
            :limit
        ]
    )


def meter_load_profile(
    global_device_id: str, start: datetime.datetime, end: datetime.datetime
) -> QuerySet[LoadProfileReading]:
    """The device's load profile with ``start <= meter_datetime < end``, oldest first."""
    return LoadProfileReading.objects.filter(
        global_device_id=global_device_id, meter_datetime__gte=start, meter_datetime__lt=end
    ).order_by("meter_datetime", "channel_id")


@dataclass(frozen=True)
class DayCompleteness:
    """Load profile intervals one MDC delivered for one day (PKT). ``expected``: for each meter
    that reported that day, 1440 / its interval (minutes); None when no interval was given."""

    mdc_id: int
    day: datetime.date
    meters: int
    received: int
    expected: int | None

    @property
    def percent(self) -> float | None:
        return None if not self.expected else round(100 * self.received / self.expected, 1)


_COMPLETENESS_SQL = """
SELECT mdc_id, day, count(*) AS meters, sum(received) AS received,
       sum(1440 / NULLIF(interval_minutes, 0)) AS expected
FROM (
  SELECT mdc_id, (meter_datetime AT TIME ZONE 'Asia/Karachi')::date AS day, global_device_id,
         count(*) AS received, max("interval") AS interval_minutes
  FROM warehouse_load_profile
  WHERE meter_datetime >= %s AND meter_datetime < %s {mdc_filter}
  GROUP BY 1, 2, 3
) per_meter
GROUP BY mdc_id, day
ORDER BY mdc_id, day
"""


def load_profile_completeness(
    mdc_id: int | None, day_start: datetime.date, day_end: datetime.date
) -> list[DayCompleteness]:
    """Intervals received per MDC and day, ``day_start`` to ``day_end`` inclusive (PKT days);
    ``mdc_id`` None for every MDC."""
    start = datetime.datetime.combine(day_start, datetime.time(), tzinfo=PKT)
    end = datetime.datetime.combine(day_end + datetime.timedelta(days=1), datetime.time(), PKT)
    parameters: list = [start, end]
    mdc_filter = ""
    if mdc_id is not None:
        mdc_filter, parameters = "AND mdc_id = %s", [*parameters, mdc_id]
    with connection.cursor() as cursor:
        cursor.execute(_COMPLETENESS_SQL.format(mdc_filter=mdc_filter), parameters)
        return [
            DayCompleteness(
                mdc_id=row[0],
                day=row[1],
                meters=row[2],
                received=row[3],
                expected=None if row[4] is None else int(row[4]),
            )
            for row in cursor.fetchall()
        ]


def rows_today_per_dataset(today: datetime.date) -> dict[str, int]:
    """Rows whose meter time is today (PKT), per data set (partition pruning keeps it cheap)."""
    start = datetime.datetime.combine(today, datetime.time(), tzinfo=PKT)
    end = start + datetime.timedelta(days=1)
    counts = {}
    for code, model in TIME_SERIES_MODELS.items():
        time_field = model.time_field_name
        counts[code] = model.objects.filter(
            **{f"{time_field}__gte": start, f"{time_field}__lt": end}
        ).count()
    return counts


def fleet_energy_per_day(
    day_start: datetime.date, day_end: datetime.date
) -> list[tuple[datetime.date, Decimal]]:
    """kWh per PKT day over the fleet, derived in :mod:`apps.warehouse.consumption` (the one
    place that knows registers from per-interval values)."""
    totals: dict[datetime.date, Decimal] = {}
    for daily in consumption_per_day(day_start=day_start, day_end=day_end):
        totals[daily.day] = totals.get(daily.day, Decimal(0)) + daily.active_kwh
    return sorted(totals.items())


def quarantine_open_count() -> int:
    return QuarantinedRow.objects.filter(resolved=False).count()
