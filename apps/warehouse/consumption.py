"""Energy consumed per load-profile interval: the one place where it is derived.

UDIL's energy fields are cumulative registers (NOTES.md "What the values mean"); some vendors
send each interval's consumption instead, which is the registered MDC's ``lp_energy_kind``.
Every chart and figure of consumption reads it from here, so both kinds of MDC give the same
figures. The derivation is set-based SQL over the warehouse (``LAG`` over each meter's readings,
per device and channel), not a Python loop over rows; results are ``Decimal``.

Rules, for the reading at ``meter_datetime`` (a row covers the time since the reading before):

* interval-kind MDC: the value as sent (``interval``); a negative value is a ``fault``.
* register-kind MDC, the difference from the previous reading of the same device and channel:
  - ``ok``: the register rose (or stood still) since the previous reading one interval before.
  - ``gap``: the previous reading is more than one interval back (rows never arrived). The whole
    difference is attributed to this reading, covering the time since the previous reading; it
    is not spread over the missing intervals, because the split is not known, while the total
    is measured (so a day's sum still equals the day's register rise).
  - ``rollover``: the register fell, and wrapping it at the MDC's ``energy_register_max``
    explains it (the wrapped difference is under ``ROLLOVER_PLAUSIBLE_SHARE`` of the maximum):
    the difference plus the maximum.
  - ``meter_change``: the meter serial number changed (a replaced meter): the old meter's last
    and the new meter's first register are both unknown at the change, so no consumption.
  - ``fault``: the register fell for no reason above: no consumption (never a negative figure);
    counted by :func:`consumption_issues`, shown on the dashboard and the meter page. The next
    reading is differenced against the fallen one (a register reset by a fault counts on from
    its new value; only the interval of the fall is lost).
  - ``first``: no earlier reading within ``settings.CONSUMPTION_LOOKBACK_DAYS`` before the
    window: nothing to difference against, no consumption.

Reactive energy follows the same rules on its own register. Readings without a total active
register (``active_energy_tl`` null) are not readings of energy and are left out. Days are
Pakistan days of the interval a reading closes: a reading stamped 00:00 belongs to the day
before, as BILLING_DATA's 00:00 registers close that day.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection

from apps.registry.models import Mdc
from apps.warehouse.choices import ConsumptionStatus
from apps.warehouse.partitions import PKT

#: A fall of the register is a rollover only when the wrapped difference is this small a share
#: of the register maximum (a meter never uses 1 % of its register range in one interval).
ROLLOVER_PLAUSIBLE_SHARE = Decimal("0.01")

_DEFAULT_REGISTER_MAX = Mdc._meta.get_field("energy_register_max").default
# Days are cut with date_bin from a Pakistan midnight: several times cheaper than converting
# each row's time zone, and exact as Pakistan time has one offset (+05:00, no daylight saving).
_PKT_MIDNIGHT = datetime.datetime(2000, 1, 1, tzinfo=PKT)


def _derived_sql(value: str, previous: str) -> str:
    """The consumption of one energy field (SQL over the columns of ``_READINGS_SQL``)."""
    return f"""CASE
      WHEN kind = 'interval' THEN CASE WHEN {value} >= 0 THEN {value} END
      WHEN prev_at IS NULL OR prev_msn <> msn THEN NULL
      WHEN {value} >= {previous} THEN {value} - {previous}
      WHEN {value} - {previous} + register_max
        BETWEEN 0 AND register_max * {ROLLOVER_PLAUSIBLE_SHARE}
        THEN {value} - {previous} + register_max
    END"""


_STATUS_SQL = f"""CASE
      WHEN kind = 'interval' THEN CASE WHEN a < 0 THEN 'fault' ELSE 'interval' END
      WHEN prev_at IS NULL THEN 'first'
      WHEN prev_msn <> msn THEN 'meter_change'
      WHEN a >= prev_a THEN CASE
        WHEN meter_datetime - prev_at > "interval" * interval '1 minute' THEN 'gap'
        ELSE 'ok' END
      WHEN a - prev_a + register_max BETWEEN 0 AND register_max * {ROLLOVER_PLAUSIBLE_SHARE}
        THEN 'rollover'
      ELSE 'fault'
    END"""

# Readings of the window, each with the reading before it. The rows are read from
# ``LEAD_IN`` before the window on, in one range scan of the primary key (device, time), and
# each gets the reading before it by ``LAG``: for a device read at least that often, the reading
# before the window is among them. Only for a device's first reading in the window without one
# (a gap longer than the lead-in) is the reading before looked up, within the lookback, by a
# backward scan of the primary key that stops at the first row. A refresh of a day thus reads
# that day's rows and a few more: not the whole lookback (#13: that scan made roll-up upkeep cost
# as much as the ingestion), nor one index probe per device, nor a materialized copy of the rows.
# Same figures as a LAG over the whole lookback: the earliest row of the window differences
# against the same previous reading; rows before the window are only ever previous readings.
LEAD_IN = datetime.timedelta(hours=1)

_COLUMNS = """r.global_device_id, r.channel_id, r.meter_datetime, r.mdc_id, r.msn, r."interval",
       r.active_energy_tl, r.reactive_energy_tl{extra}"""

_READINGS_SQL = """
WITH lagged AS (
  SELECT {columns},
         lag(r.meter_datetime) OVER w AS lag_at, lag(r.msn) OVER w AS lag_msn,
         lag(r.active_energy_tl) OVER w AS lag_a, lag(r.reactive_energy_tl) OVER w AS lag_q
  FROM warehouse_load_profile r
  WHERE r.meter_datetime > %(lead_in)s AND r.meter_datetime <= %(end)s
    AND r.active_energy_tl IS NOT NULL {filters}
  WINDOW w AS (PARTITION BY r.global_device_id, r.channel_id ORDER BY r.meter_datetime)
)
SELECT x.global_device_id, x.channel_id, x.meter_datetime, x.mdc_id, x.msn, x."interval",
       x.active_energy_tl AS a, x.reactive_energy_tl AS q{extra},
       COALESCE((%(mdc_kinds)s::text[])[array_position(%(mdc_ids)s::int[], x.mdc_id)],
                'register') AS kind,
       COALESCE((%(mdc_maxes)s::numeric[])[array_position(%(mdc_ids)s::int[], x.mdc_id)],
                %(default_max)s) AS register_max,
       COALESCE(x.lag_at, p.meter_datetime) AS prev_at,
       CASE WHEN x.lag_at IS NULL THEN p.msn ELSE x.lag_msn END AS prev_msn,
       CASE WHEN x.lag_at IS NULL THEN p.active_energy_tl ELSE x.lag_a END AS prev_a,
       CASE WHEN x.lag_at IS NULL THEN p.reactive_energy_tl ELSE x.lag_q END AS prev_q
FROM lagged x
LEFT JOIN LATERAL (
  SELECT r.meter_datetime, r.msn, r.active_energy_tl, r.reactive_energy_tl
  FROM warehouse_load_profile r
  WHERE x.lag_at IS NULL AND x.meter_datetime > %(start)s
    AND r.global_device_id = x.global_device_id AND r.channel_id = x.channel_id
    AND r.meter_datetime > %(lookback)s AND r.meter_datetime <= %(lead_in)s
    AND r.active_energy_tl IS NOT NULL {filters}
  ORDER BY r.meter_datetime DESC LIMIT 1) p ON true
"""

_DERIVED_SQL = """
WITH readings AS ({readings})
SELECT global_device_id, channel_id, meter_datetime, mdc_id, prev_at, "interval"{extra},
       {active} AS active_kwh, {reactive} AS reactive_kvarh, {status} AS status
FROM readings
WHERE meter_datetime > %(start)s
"""


@dataclass(frozen=True)
class IntervalConsumption:
    """Energy of the interval a reading closes (``start`` is the previous reading, or the
    reading's time less its interval for interval-kind MDCs)."""

    global_device_id: str
    channel_id: int
    mdc_id: int | None
    start: datetime.datetime | None
    end: datetime.datetime
    active_kwh: Decimal | None
    reactive_kvarh: Decimal | None
    status: str


@dataclass(frozen=True)
class DailyConsumption:
    day: datetime.date
    mdc_id: int | None
    active_kwh: Decimal
    reactive_kvarh: Decimal
    readings: int
    #: readings whose register fell for no known reason (no consumption counted)
    faults: int


# Planner settings (``SET LOCAL``: until the transaction ends) for a derivation run right after a
# load, before autovacuum has analyzed the rows just stored. The planner then believes the newest
# day nearly empty (its statistics end before it): it reads the partition once per meter for the
# reading before the window (the roll-ups), or joins the window's rows by a nested loop as if
# there were one (VEE: every reading against every meter of the scope), 10 to 20 times slower.
# (The time index is BRIN: a bitmap over it reads every block of the range, once per meter.)
# The derivation reads only by device and time, which the primary key serves, so a scan of a
# partition is never the right plan for it; its sorts and hashes fit in memory.
PLAN_BY_PRIMARY_KEY = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL work_mem = '64MB'"
)


def _mdc_settings(mdc_id: int | None) -> dict[str, list]:
    """Each MDC's energy kind and register maximum as arrays (the derivation looks a reading's
    MDC up in them): a join to the MDC table ran once per reading, by a nested loop the planner
    picks on fresh rows it believes few (about a sixth of a roll-up's derivation, #13)."""
    mdcs = Mdc.objects.all() if mdc_id is None else Mdc.objects.filter(pk=mdc_id)
    ids, kinds, maxes = [], [], []
    for pk, kind, register_max in mdcs.values_list("pk", "lp_energy_kind", "energy_register_max"):
        ids.append(pk)
        kinds.append(kind)
        maxes.append(register_max)
    return {"mdc_ids": ids, "mdc_kinds": kinds, "mdc_maxes": maxes}


def consumption_query(
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    mdc_id: int | None,
    global_device_ids: Sequence[str] | None,
    passthrough: Sequence[str] = (),
) -> tuple[str, dict]:
    """The SQL (and its parameters) deriving each reading's consumption in ``[start, end)``:
    the one derivation, for apps that build their own set-based statements on it (VEE, roll-ups)
    instead of reading rows through the functions below. ``passthrough`` names more load-profile
    columns carried through as they are (the roll-ups' voltage: one scan of the rows, not two)."""
    filters = ""
    lookback = start - datetime.timedelta(days=settings.CONSUMPTION_LOOKBACK_DAYS)
    params: dict = {
        "start": start,
        "end": end,
        "lookback": lookback,
        "lead_in": max(start - LEAD_IN, lookback),
        "default_max": _DEFAULT_REGISTER_MAX,
        **_mdc_settings(mdc_id),
    }
    if mdc_id is not None:
        filters += " AND r.mdc_id = %(mdc_id)s"
        params["mdc_id"] = mdc_id
    if global_device_ids is not None:
        filters += " AND r.global_device_id = ANY(%(gids)s)"
        params["gids"] = list(global_device_ids)
    extra_names = [f'"{column}"' for column in passthrough]
    extra = "".join(f", {column}" for column in extra_names)
    readings = _READINGS_SQL.format(
        filters=filters,
        columns=_COLUMNS.format(extra="".join(f", r.{column}" for column in extra_names)),
        extra="".join(f", x.{column}" for column in extra_names),
    )
    sql = _DERIVED_SQL.format(
        extra=extra,
        readings=readings,
        active=_derived_sql("a", "prev_a"),
        reactive=_derived_sql("q", "prev_q"),
        status=_STATUS_SQL,
    )
    return sql, params


def interval_consumption(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    mdc_id: int | None = None,
    global_device_ids: Sequence[str] | None = None,
) -> list[IntervalConsumption]:
    """Consumption of every reading with ``start < meter_datetime <= end``, ordered by device,
    channel and time."""
    sql, params = consumption_query(start, end, mdc_id=mdc_id, global_device_ids=global_device_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY global_device_id, channel_id, meter_datetime", params)
        out = []
        for gid, channel, at, mdc, prev_at, minutes, active, reactive, status in cursor:
            if status == ConsumptionStatus.INTERVAL:
                prev_at = at - datetime.timedelta(minutes=minutes) if minutes else None
            out.append(
                IntervalConsumption(
                    global_device_id=gid,
                    channel_id=channel,
                    mdc_id=mdc,
                    start=prev_at,
                    end=at,
                    active_kwh=active,
                    reactive_kvarh=reactive,
                    status=status,
                )
            )
        return out


def _day_bounds(day_start: datetime.date, day_end: datetime.date):
    start = datetime.datetime.combine(day_start, datetime.time(), tzinfo=PKT)
    end = datetime.datetime.combine(day_end + datetime.timedelta(days=1), datetime.time(), PKT)
    return start, end


def consumption_per_day(
    *, day_start: datetime.date, day_end: datetime.date, mdc_id: int | None = None
) -> list[DailyConsumption]:
    """kWh and kvarh per Pakistan day (``day_start`` to ``day_end`` inclusive) and MDC."""
    sql, params = consumption_query(
        *_day_bounds(day_start, day_end), mdc_id=mdc_id, global_device_ids=None
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT date_bin('1 day', meter_datetime - interval '1 microsecond', %(pkt_midnight)s),
                   mdc_id, COALESCE(sum(active_kwh), 0), COALESCE(sum(reactive_kvarh), 0),
                   count(*), count(*) FILTER (WHERE status = 'fault')
            FROM ({sql}) derived GROUP BY 1, 2 ORDER BY 1, 2
            """,
            {**params, "pkt_midnight": _PKT_MIDNIGHT},
        )
        return [
            DailyConsumption(
                day=bucket.astimezone(PKT).date(),
                mdc_id=mdc,
                active_kwh=active,
                reactive_kvarh=reactive,
                readings=count,
                faults=faults,
            )
            for bucket, mdc, active, reactive, count, faults in cursor.fetchall()
        ]


def consumption_issues(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    mdc_id: int | None = None,
    global_device_ids: Sequence[str] | None = None,
) -> dict[str, int]:
    """How many readings of ``start < meter_datetime <= end`` were derived by each rule other
    than a plain difference or interval value (faults, gaps, rollovers, meter changes, first)."""
    sql, params = consumption_query(start, end, mdc_id=mdc_id, global_device_ids=global_device_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, count(*) FROM ({sql}) derived"
            " WHERE status NOT IN ('ok', 'interval') GROUP BY status ORDER BY status",
            params,
        )
        return dict(cursor.fetchall())
