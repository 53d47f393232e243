"""Reads of the load dashboard, from the roll-ups: top consumers, peak demand against sanctioned
load, transformer loading against the rating, and hourly load curves per tariff. Also the
events list with its acknowledgements (a bounded page of the events table: the list is of
single events, which no roll-up keeps)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.warehouse.partitions import PKT

HUNDRED = Decimal(100)


def _pct(part, whole) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class ConsumerLoad:
    global_device_id: str
    meter_id: int | None
    reference_no: str
    tariff: str
    kwh: Decimal
    max_demand_kw: Decimal | None
    sanctioned_kw: Decimal | None
    #: peak demand as a share of sanctioned load
    peak_pct: Decimal | None


# The meter days are summed per meter once, the sums joined to the registry, and both rankings
# (energy; peak demand over sanctioned load) taken from the one aggregate: at 35,000 meters the
# aggregate is most of the page's time, and the page shows both (#13).
_RANKINGS_SQL = """
WITH md AS (
  SELECT global_device_id, max(meter_id) AS meter_id, sum(active_kwh) AS kwh,
         max(max_demand_kw) AS peak
  FROM analytics_meterday
  WHERE day BETWEEN %(start)s AND %(end)s AND NOT is_input
  GROUP BY global_device_id
), j AS (
  SELECT md.*, COALESCE(c.reference_no, '') AS ref, COALESCE(c.tariff, '') AS tariff,
         c.sanctioned_load_kw AS sanctioned,
         c.sanctioned_load_kw > 0 AND md.peak IS NOT NULL AS rated
  FROM md LEFT JOIN registry_meter m ON m.id = md.meter_id
  LEFT JOIN registry_consumer c ON c.id = m.consumer_id
), ranked AS (
  SELECT j.*, row_number() OVER (ORDER BY kwh DESC, global_device_id) AS by_kwh,
         row_number() OVER (PARTITION BY rated ORDER BY peak / NULLIF(sanctioned, 0) DESC,
                            global_device_id) AS by_peak
  FROM j
)
SELECT global_device_id, meter_id, ref, tariff, kwh, peak, sanctioned, by_kwh,
       CASE WHEN rated THEN by_peak END
FROM ranked WHERE by_kwh <= %(limit)s OR (rated AND by_peak <= %(limit)s)
"""


def consumer_rankings(
    *, start: dt.date, end: dt.date, limit: int = 50
) -> tuple[list[ConsumerLoad], list[ConsumerLoad]]:
    """The consumers (not input meters) that used the most energy over the period, and those
    with a sanctioned load by their peak demand as a share of it, highest first."""
    with connection.cursor() as cursor:
        cursor.execute(_RANKINGS_SQL, {"start": start, "end": end, "limit": limit})
        rows = cursor.fetchall()
    top, peaks = [], []
    for gid, meter_id, ref, tariff, kwh, peak, sanctioned, by_kwh, by_peak in rows:
        pct = _pct(peak, sanctioned)
        load = ConsumerLoad(gid, meter_id, ref, tariff, kwh, peak, sanctioned, pct)
        if by_kwh <= limit:
            top.append((by_kwh, load))
        if by_peak is not None and by_peak <= limit:
            peaks.append((by_peak, load))
    return [load for _, load in sorted(top)], [load for _, load in sorted(peaks)]


def top_consumers(*, start: dt.date, end: dt.date, limit: int = 50) -> list[ConsumerLoad]:
    """The consumers (not input meters) that used the most energy over the period."""
    return consumer_rankings(start=start, end=end, limit=limit)[0]


def peak_over_sanctioned(*, start: dt.date, end: dt.date, limit: int = 50) -> list[ConsumerLoad]:
    """Consumers with a sanctioned load, by their peak demand as a share of it, highest first."""
    return consumer_rankings(start=start, end=end, limit=limit)[1]


@dataclass(frozen=True)
class TransformerLoading:
    transformer_id: int
    code: str
    capacity_kva: Decimal | None
    #: the input meter's largest hourly apparent power (kWh and kvarh of one hour)
    peak_kva: Decimal | None
    peak_at: dt.datetime | None
    loading_pct: Decimal | None
    #: the consumers' largest coincident hourly demand (sum of their hours)
    consumers_peak_kw: Decimal | None
    source: str  # "input meter" or "consumers"


_INPUT_PEAK_SQL = """
SELECT DISTINCT ON (im.transformer_id) im.transformer_id, h.hour,
       sqrt(h.active_kwh ^ 2 + h.reactive_kvarh ^ 2)
FROM analytics_inputmeter im
JOIN registry_meter m ON m.id = im.meter_id
JOIN analytics_meterhour h ON h.global_device_id = m.global_device_id
WHERE im.transformer_id IS NOT NULL {where}
  AND h.hour >= %(start)s AND h.hour < %(end)s
ORDER BY im.transformer_id, 3 DESC, h.hour
"""

# Consumers' coincident peak: their hours summed per transformer (one feeder's transformers).
# The meters as an array too: each one's hours read from its own index range, not every
# meter's hours of the period joined (#13).
_CONSUMER_PEAK_SQL = """
WITH d AS MATERIALIZED (
  SELECT DISTINCT global_device_id, transformer_id FROM analytics_meterday
  WHERE feeder_id = %(feeder)s AND day BETWEEN %(d0)s AND %(d1)s AND NOT is_input
    AND transformer_id IS NOT NULL)
SELECT DISTINCT ON (transformer_id) transformer_id, hour, kwh FROM (
  SELECT d.transformer_id, h.hour, sum(h.active_kwh) AS kwh
  FROM d JOIN analytics_meterhour h ON h.global_device_id = d.global_device_id
  WHERE h.hour >= %(start)s AND h.hour < %(end)s
    AND h.global_device_id = ANY(ARRAY(SELECT global_device_id FROM d))
  GROUP BY 1, 2) per_hour
ORDER BY transformer_id, kwh DESC, hour
"""


def _hours(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = dt.datetime.combine(start, dt.time(), tzinfo=PKT)
    return first, first + dt.timedelta(days=(end - start).days + 1)


def transformer_loading(
    *, start: dt.date, end: dt.date, feeder_id: int | None = None, limit: int = 100
) -> list[TransformerLoading]:
    """Peak load of transformers against their kVA rating, most loaded first: measured by the
    transformer's input meter where it has one; with a feeder chosen, also the coincident peak
    of each of its transformers' consumers (all transformers of the feeder)."""
    from apps.registry.models import Transformer

    first, last = _hours(start, end)
    params = {"start": first, "end": last, "d0": start, "d1": end, "feeder": feeder_id}
    where = "AND im.transformer_id IN (SELECT id FROM registry_transformer WHERE feeder_id = " \
            "%(feeder)s)" if feeder_id else ""  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_INPUT_PEAK_SQL.format(where=where), params)
        measured = {tid: (at, Decimal(str(round(kva, 3)))) for tid, at, kva in cursor.fetchall()}
        consumers: dict[int, Decimal] = {}
        if feeder_id:
            cursor.execute(_CONSUMER_PEAK_SQL, params)
            consumers = {tid: kwh for tid, _, kwh in cursor.fetchall()}
    ids = set(measured) | set(consumers)
    nodes = Transformer.objects.filter(pk__in=ids).values_list("pk", "code", "capacity_kva")
    out = []
    for pk, code, capacity in nodes:
        at, kva = measured.get(pk, (None, None))
        fallback = consumers.get(pk)
        peak = kva if kva is not None else fallback
        out.append(TransformerLoading(
            transformer_id=pk, code=code, capacity_kva=capacity, peak_kva=peak,
            peak_at=timezone.localtime(at) if at else None, loading_pct=_pct(peak, capacity),
            consumers_peak_kw=fallback,
            source="input meter" if kva is not None else "consumers",
        ))  # fmt: skip
    out.sort(key=lambda t: (-(t.loading_pct if t.loading_pct is not None else -1), t.code))
    return out[:limit]


def tariffs() -> list[str]:
    from apps.registry.models import Consumer

    return sorted(set(Consumer.objects.exclude(tariff="").values_list("tariff", flat=True)))


def tariff_load_curve(
    *, tariff: str, start: dt.date, end: dt.date, feeder_id: int | None = None
) -> list[tuple]:
    """(hour, kWh) of the consumers on one tariff (of one feeder, if given), from the tariff-hour
    roll-ups (each hour counted under the tariff and feeder its meter had when it was derived)."""
    first, last = _hours(start, end)
    feeder = "AND feeder_id = %(feeder)s" if feeder_id else ""
    sql = f"""
    SELECT hour, sum(active_kwh) FROM analytics_tariffhour
    WHERE tariff = %(tariff)s AND hour >= %(start)s AND hour < %(end)s {feeder}
    GROUP BY 1 ORDER BY 1"""
    params = {"start": first, "end": last, "tariff": tariff, "feeder": feeder_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- events list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    global_device_id: str
    event_datetime: dt.datetime
    event_code: int
    description: str
    tamper: bool
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    note: str


_EVENTS_SQL = """
SELECT e.global_device_id, e.event_datetime, e.event_code, e.event_description,
       u.username, a.acknowledged_at, COALESCE(a.note, '')
FROM warehouse_event e
LEFT JOIN analytics_eventacknowledgement a ON a.global_device_id = e.global_device_id
  AND a.event_datetime = e.event_datetime AND a.event_code = e.event_code
LEFT JOIN auth_user u ON u.id = a.acknowledged_by_id
WHERE e.event_datetime >= %(start)s AND e.event_datetime < %(end)s {where}
ORDER BY e.event_datetime DESC, e.global_device_id, e.event_code
LIMIT %(limit)s
"""


def events_list(
    *,
    start: dt.date,
    end: dt.date,
    tamper_only: bool = False,
    unacknowledged: bool = False,
    limit: int = 200,
) -> list[EventRow]:
    """The latest events of the period (newest first, at most ``limit``), with who
    acknowledged each and when; tamper events flagged."""
    from apps.udil.datasets import EVENT_CODES

    first, last = _hours(start, end)
    tamper = list(settings.ANALYTICS_TAMPER_CODES)
    where = ""
    if tamper_only:
        where += " AND e.event_code = ANY(%(tamper)s)"
    if unacknowledged:
        where += " AND a.id IS NULL"
    params = {"start": first, "end": last, "tamper": tamper, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL.format(where=where), params)
        rows = cursor.fetchall()
    return [
        EventRow(gid, timezone.localtime(at), code, text or EVENT_CODES.get(code, ""),
                 code in tamper, who, timezone.localtime(when) if when else None, note)
        for gid, at, code, text, who, when, note in rows
    ]  # fmt: skip
