"""Reads of VEE: the exception queue, and a meter's intervals with their current values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from apps.registry.models import Meter
from apps.vee.choices import Quantity, VersionKind
from apps.vee.models import Rule, ValidationException, ValueVersion
from apps.warehouse.consumption import interval_consumption

#: Consumption statuses whose energy is that of exactly one interval.
ONE_INTERVAL = frozenset({"ok", "rollover", "interval"})


def exceptions_queue() -> QuerySet[ValidationException]:
    return ValidationException.objects.select_related("rule__rule_set", "meter__mdc")


def rules_list() -> QuerySet[Rule]:
    return Rule.objects.select_related("rule_set")


@dataclass(frozen=True)
class IntervalPoint:
    at: dt.datetime
    value: Decimal | None
    kind: str  # actual, estimated, edited; "missing" when nothing is known
    method: str
    version: int | None
    received: Decimal | None  # what the warehouse gives, whatever the current version


def interval_series(
    *, meter: Meter, start: dt.datetime, end: dt.datetime, channel_id: int = 0
) -> list[IntervalPoint]:
    """Every interval of ``start < at <= end``: the current version where VEE has one, else
    the energy received. This is the series figures downstream use."""
    received = {
        row.end: row.active_kwh if row.status in ONE_INTERVAL else None
        for row in interval_consumption(
            start=start, end=end, global_device_ids=[meter.global_device_id]
        )
        if row.channel_id == channel_id
    }
    versions = {
        v.meter_datetime: v
        for v in ValueVersion.objects.filter(
            meter=meter,
            channel_id=channel_id,
            quantity=Quantity.ACTIVE_KWH,
            is_current=True,
            meter_datetime__gt=start,
            meter_datetime__lte=end,
        )
    }
    points = []
    for at in sorted(set(received) | set(versions)):
        version = versions.get(at)
        if version is not None:
            points.append(
                IntervalPoint(
                    at,
                    version.value,
                    version.kind,
                    version.method,
                    version.version,
                    received.get(at),
                )
            )
        else:
            value = received[at]
            kind = VersionKind.ACTUAL if value is not None else "missing"
            points.append(IntervalPoint(at, value, kind, "", None, value))
    return points


def exception_versions(exception: ValidationException) -> QuerySet[ValueVersion]:
    """Every version (past and current) of the intervals of the exception's period."""
    return ValueVersion.objects.filter(
        meter_id=exception.meter_id,
        channel_id=exception.channel_id,
        meter_datetime__gte=exception.period_start,
        meter_datetime__lte=exception.period_end,
    ).order_by("meter_datetime", "version")
