"""Roll-ups kept current as data lands: set-based SQL over just the meters and hours an
ingestion run touched, never a full rescan.

Consumption comes from ``apps.warehouse.consumption`` (its SQL, wrapped here, so there is still
one derivation). A refresh recomputes whole meter-hours from the warehouse and replaces them,
then brings the meter-days, node-days and tariff hours up to date from the hours replaced
(``rollup_days``), so late rows, re-pulls and repeated refreshes never double count. The hours
up to each meter's next reading after the touched ones are recomputed too: a late reading
changes the difference of the reading after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.analytics.models import InputMeter, MeterDay
from apps.analytics.services.rollup_days import days_and_nodes_update
from apps.audit.services import audit_record
from apps.registry.models import Feeder, Meter, Transformer
from apps.warehouse.consumption import PLAN_BY_PRIMARY_KEY
from apps.warehouse.consumption import consumption_query as consumption_sql
from apps.warehouse.partitions import PKT

_PKT_MIDNIGHT = dt.datetime(2000, 1, 1, tzinfo=PKT)


@dataclass(frozen=True)
class RefreshResult:
    meters: int
    day_start: dt.date | None
    day_end: dt.date | None
    meter_days: int
    node_days: int
    event_days: int


def _bounds(day_start: dt.date, day_end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day_start, dt.time(), tzinfo=PKT)
    return start, dt.datetime.combine(day_end + dt.timedelta(days=1), dt.time(), tzinfo=PKT)


def _vee_flag(meter: str, start: str, end: str) -> str:
    """SQL: the reading rests on a current VEE estimated or edited interval (false without
    VEE). The billing app's flag, so billing and analytics mean the same thing by it."""
    if not django_apps.is_installed("apps.billing"):
        return "false"
    from apps.billing.selectors import vee_flag_sql

    edited, estimated = vee_flag_sql(meter=meter, start=start, end=end)
    return f"({edited} OR {estimated})"


# The day a reading belongs to: a reading at 00:00 closes the day before (as consumption.py).
_DAY = (
    "(date_bin('1 day', {col} - interval '1 microsecond', %(pkt_midnight)s)"
    " AT TIME ZONE 'Asia/Karachi')::date"
)

# The day's highest phase voltage (for "zero with voltage"), carried through the derivation.
_VOLTAGES = ("voltage_phase_a", "voltage_phase_b", "voltage_phase_c")

# One pass derives the readings' consumption and aggregates them per meter and hour, with what
# a day needs of them (faults, the largest demand, the last reading); ``rollup_days`` writes these
# hours straight into the hour roll-up and brings the days up to date from them, not from the
# readings (a temporary copy of the hours in between cost about a fifth of the upkeep, #13).
_HOURS_OF_READINGS = """
SELECT d.global_device_id,
       date_trunc('hour', d.meter_datetime - interval '1 microsecond') AS hour,
       max(d.mdc_id) AS mdc_id, COALESCE(sum(d.active_kwh), 0) AS active_kwh,
       COALESCE(sum(d.reactive_kvarh), 0) AS reactive_kvarh, count(*) AS readings,
       count(*) FILTER (WHERE d.est) AS estimated,
       COALESCE(sum(d.active_kwh) FILTER (WHERE d.est), 0) AS estimated_kwh,
       count(*) FILTER (WHERE d.status = 'fault') AS faults,
       max(d."interval") AS max_interval,
       max(d.active_kwh * 60 / NULLIF(d."interval", 0))
         FILTER (WHERE d.status IN ('ok', 'interval')) AS max_demand_kw,
       max(d.meter_datetime) AS last_reading_at,
       max(GREATEST(d.voltage_phase_a, d.voltage_phase_b, d.voltage_phase_c)) AS max_voltage
FROM (SELECT d.*, {flag} AS est FROM ({derived}) d {join}) d
GROUP BY 1, 2
"""

_AFFECTED_OLD = """
DROP TABLE IF EXISTS analytics_refresh_nodes;
CREATE TEMP TABLE analytics_refresh_nodes ON COMMIT DROP AS
SELECT DISTINCT l.level, l.node_id, md.day
FROM analytics_meterday md
CROSS JOIN LATERAL (VALUES ('mdc', md.mdc_id), ('subdivision', md.subdivision_id),
  ('feeder', md.feeder_id), ('transformer', md.transformer_id)) l(level, node_id)
WHERE md.global_device_id = ANY(%(gids)s) AND md.day BETWEEN %(d0)s AND %(d1)s
  AND l.node_id IS NOT NULL
"""

_NODES = """
INSERT INTO analytics_nodeday
  (level, node_id, day, meters, active_kwh, estimated_kwh, readings, expected)
SELECT l.level, l.node_id, md.day, count(*), sum(md.active_kwh), sum(md.estimated_kwh),
       sum(md.readings), sum(md.expected)
FROM analytics_meterday md
CROSS JOIN LATERAL (VALUES ('mdc', md.mdc_id), ('subdivision', md.subdivision_id),
  ('feeder', md.feeder_id), ('transformer', md.transformer_id)) l(level, node_id)
JOIN (SELECT DISTINCT level, node_id, day FROM analytics_refresh_nodes) a
  ON a.level = l.level AND a.node_id = l.node_id AND a.day = md.day
WHERE NOT md.is_input AND md.day BETWEEN %(d0)s AND %(d1)s
GROUP BY 1, 2, 3
"""

_EVENTS = f"""
INSERT INTO analytics_eventday (global_device_id, day, event_code, mdc_id, events)
SELECT global_device_id, ({_DAY.format(col="event_datetime + interval '1 microsecond'")}),
       event_code, max(mdc_id), count(*)
FROM warehouse_event
WHERE global_device_id = ANY(%(gids)s)
  AND event_datetime >= %(start)s AND event_datetime < %(end)s
GROUP BY 1, 2, 3
"""


def _exec(cursor, sql: str, params: dict) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _any_vee_versions(cursor, gids: list[str], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether any of these meters has a current VEE version in the window (one probe: most
    refreshes have none, and then no reading needs its own flag lookup)."""
    if not django_apps.is_installed("apps.vee"):
        return False
    table = django_apps.get_model("vee", "ValueVersion")._meta.db_table
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} v JOIN registry_meter m ON m.id = v.meter_id"
        " WHERE m.global_device_id = ANY(%(gids)s) AND v.is_current"
        " AND v.meter_datetime > %(start)s AND v.meter_datetime <= %(end)s)",
        {"gids": gids, "start": start - dt.timedelta(days=settings.CONSUMPTION_LOOKBACK_DAYS),
         "end": end},
    )  # fmt: skip
    return cursor.fetchone()[0]


def _refresh_consumption(cursor, gids: list[str], start: dt.datetime, end: dt.datetime):
    """Re-derive the hours from ``start`` to ``end`` (hour boundaries) of these meters; their
    days and nodes follow from the hours replaced. A refresh runs right after a load, on rows
    autovacuum has not analyzed yet, and every read it makes is by device and time: the caller's
    transaction plans by the primary key (``PLAN_BY_PRIMARY_KEY``)."""
    derived, params = consumption_sql(
        start, end, mdc_id=None, global_device_ids=gids, passthrough=_VOLTAGES
    )
    if _any_vee_versions(cursor, gids, start, end):
        flag = _vee_flag(
            "m.id",
            "COALESCE(d.prev_at, d.meter_datetime - d.\"interval\" * interval '1 minute')",
            "d.meter_datetime",
        )
        join = "LEFT JOIN registry_meter m ON m.global_device_id = d.global_device_id"
    else:
        flag, join = "false", ""
    d0 = timezone.localtime(start, PKT).date()
    d1 = timezone.localtime(end - dt.timedelta(microseconds=1), PKT).date()
    hours = _HOURS_OF_READINGS.format(flag=flag, derived=derived, join=join)
    meter_days, node_days = days_and_nodes_update(cursor, params, hours_sql=hours)
    return meter_days, node_days, (d0, d1)


def _refresh_events(cursor, gids: list[str], day_start: dt.date, day_end: dt.date) -> int:
    start, end = _bounds(day_start, day_end)
    params = {"gids": gids, "start": start, "end": end, "pkt_midnight": _PKT_MIDNIGHT}
    params |= {"d0": day_start, "d1": day_end}
    cursor.execute(
        "DELETE FROM analytics_eventday WHERE global_device_id = ANY(%(gids)s)"
        " AND day BETWEEN %(d0)s AND %(d1)s",
        params,
    )
    return _exec(cursor, _EVENTS, params)


def rollup_refresh(
    *,
    global_device_ids: Sequence[str],
    day_start: dt.date,
    day_end: dt.date,
    consumption: bool = True,
    events: bool = True,
    actor=None,
) -> RefreshResult:
    """Recompute the roll-ups of these meters over these Pakistan days (inclusive) from the
    warehouse, replacing what was there; the per-node days they take part in follow."""
    gids = sorted(set(global_device_ids))
    if not gids or day_end < day_start:
        return RefreshResult(0, None, None, 0, 0, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        meter_days = node_days = event_days = 0
        if consumption:
            cursor.execute(PLAN_BY_PRIMARY_KEY)
            meter_days, node_days, _ = _refresh_consumption(
                cursor, gids, *_bounds(day_start, day_end)
            )
        if events:
            event_days = _refresh_events(cursor, gids, day_start, day_end)
        result = RefreshResult(len(gids), day_start, day_end, meter_days, node_days, event_days)
        _audit(actor, result)
    return result


def _audit(actor, result: RefreshResult) -> None:
    audit_record(
        actor=actor,
        action="analytics.rollup_refresh",
        summary=f"Roll-ups of {result.meters} meters, {result.day_start} to {result.day_end}",
        detail={
            "meters": result.meters,
            "day_start": result.day_start.isoformat(),
            "day_end": result.day_end.isoformat(),
            "meter_days": result.meter_days,
            "node_days": result.node_days,
            "event_days": result.event_days,
        },
    )


def _hour_of(reading_at: dt.datetime) -> dt.datetime:
    """The hour bucket a reading closes (a reading at 10:00 closes 09:00-10:00). Pakistan's
    offset is whole hours, so UTC and Pakistan hours begin together."""
    return (reading_at - dt.timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)


# The first reading after ``last`` of each meter (a late reading changes the difference of the
# reading after it, wherever that lies within the lookback): the latest of them bounds a refresh.
_NEXT_READINGS = """
SELECT max(n.meter_datetime) FROM unnest(%(gids)s::text[]) g(gid)
CROSS JOIN LATERAL (
  SELECT meter_datetime FROM warehouse_load_profile
  WHERE global_device_id = g.gid AND meter_datetime > %(last)s AND meter_datetime <= %(horizon)s
    AND active_energy_tl IS NOT NULL
  ORDER BY meter_datetime LIMIT 1) n
"""


def rollup_refresh_readings(
    *, global_device_ids: Sequence[str], first: dt.datetime, last: dt.datetime, actor=None
) -> RefreshResult:
    """Refresh the roll-ups after load-profile readings of these meters from ``first`` to
    ``last`` (inclusive) were stored or changed: only the hours those readings close, and the
    hours up to each meter's next reading, are derived again; their days follow from the hours
    replaced. The upkeep of a pull thus costs in proportion to the rows it brought, not to the days
    they lie in (an hourly pull re-derives about an hour, not two days)."""
    gids = sorted(set(global_device_ids))
    if not gids or last < first:
        return RefreshResult(0, None, None, 0, 0, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PLAN_BY_PRIMARY_KEY)
        horizon = last + dt.timedelta(days=settings.CONSUMPTION_LOOKBACK_DAYS)
        cursor.execute(_NEXT_READINGS, {"gids": gids, "last": last, "horizon": horizon})
        after = cursor.fetchone()[0]
        start = _hour_of(first)
        end = _hour_of(max(last, after or last)) + dt.timedelta(hours=1)
        meter_days, node_days, (d0, d1) = _refresh_consumption(cursor, gids, start, end)
        result = RefreshResult(len(gids), d0, d1, meter_days, node_days, 0)
        _audit(actor, result)
    return result


_TABLES = {"load_profile": ("warehouse_load_profile", "meter_datetime"),
           "events": ("warehouse_event", "event_datetime")}  # fmt: skip

_TOUCHED = """
SELECT array_agg(DISTINCT global_device_id), min({col}), max({col})
FROM {table}
WHERE mdc_id = %(mdc_id)s AND ingested_at >= %(since)s AND ingested_at <= %(until)s
  AND {col} >= %(oldest)s
"""


def rollup_after_ingestion(*, ingestion_run_id: int) -> RefreshResult | None:
    """Refresh the roll-ups of the meter-days whose rows one ingestion run inserted or changed
    (told by ``ingested_at``, which the loader stamps on both). The scan is bounded by time:
    a run loads its window, and windows asked again are at most the refill age old."""
    from apps.ingestion.models import IngestionRun

    run = IngestionRun.objects.get(pk=ingestion_run_id)
    if run.dataset not in _TABLES:
        return None
    table, col = _TABLES[run.dataset]
    oldest = min(filter(None, [run.window_start, run.started_at])) - dt.timedelta(
        days=settings.INGESTION_GAP_REFILL_MAX_AGE_DAYS + 1
    )
    params = {
        "mdc_id": run.mdc_id,
        "since": run.started_at,
        "until": run.finished_at or timezone.now(),
        "oldest": oldest,
    }
    with connection.cursor() as cursor:
        cursor.execute(_TOUCHED.format(table=table, col=col), params)
        gids, first, last = cursor.fetchone()
    if not gids:
        return None
    if run.dataset == "events":
        first_day = timezone.localtime(first, PKT).date()
        last_day = timezone.localtime(last, PKT).date()
        return rollup_refresh(
            global_device_ids=gids, day_start=first_day, day_end=last_day, consumption=False
        )
    return rollup_refresh_readings(global_device_ids=gids, first=first, last=last)


# --- input meters -------------------------------------------------------------------------------


@transaction.atomic
def input_meter_assign(
    *, actor, meter: Meter, feeder: Feeder | None = None, transformer: Transformer | None = None
) -> InputMeter:
    """Mark a meter as the input meter of one feeder or transformer (replacing what it fed
    before); its days already rolled up move from consumer to input."""
    entry, _ = InputMeter.objects.update_or_create(
        meter=meter, defaults={"feeder": feeder, "transformer": transformer}
    )
    entry.full_clean()
    MeterDay.objects.filter(global_device_id=meter.global_device_id).update(is_input=True)
    _nodes_rebuild_of(meter.global_device_id)
    audit_record(
        actor=actor,
        action="analytics.input_meter_assign",
        target=entry,
        summary=f"{meter.global_device_id} is the input meter of {feeder or transformer}",
    )
    return entry


@transaction.atomic
def input_meter_remove(*, actor, meter: Meter) -> None:
    deleted, _ = InputMeter.objects.filter(meter=meter).delete()
    if deleted:
        MeterDay.objects.filter(global_device_id=meter.global_device_id).update(is_input=False)
        _nodes_rebuild_of(meter.global_device_id)
        audit_record(
            actor=actor,
            action="analytics.input_meter_remove",
            target=meter,
            summary=f"{meter.global_device_id} is no input meter any more",
        )


def _nodes_rebuild_of(global_device_id: str) -> None:
    """Re-aggregate the node days a meter takes part in (its role changed)."""
    days = MeterDay.objects.filter(global_device_id=global_device_id)
    bounds = [d.day for d in days.order_by("day")[:1]] + [d.day for d in days.order_by("-day")[:1]]
    if not bounds:
        return
    params = {"gids": [global_device_id], "d0": bounds[0], "d1": bounds[1]}
    with connection.cursor() as cursor:
        cursor.execute(_AFFECTED_OLD, params)
        cursor.execute(
            "DELETE FROM analytics_nodeday nd USING analytics_refresh_nodes a"
            " WHERE nd.level = a.level AND nd.node_id = a.node_id AND nd.day = a.day"
        )
        cursor.execute(_NODES, params)
