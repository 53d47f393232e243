"""Estimation of the intervals of exceptions, set-based over any number of exceptions.

Methods (``choices.Method``):

- ``linear``: between the mean energy of the few known intervals before the period and of those
  after it (``SMOOTH_INTERVALS``), when the intervals next to it are known; with only one side
  known it falls back to a flat fill, with neither to the like-day average;
- ``flat_fill``: the known neighbour's energy repeated;
- ``like_day``: the average of the same interval on the N most recent like days (weekday or
  weekend) whose interval is known, leaving out days with an estimated interval or an outage
  (an interval recorded without voltage, or an outage event);
- ``demand``: the reading after a register gap carries the demand (kW) of its own interval:
  times the interval, that interval's energy, kept as long as it fits in the gap's delta;
- scaling: for a gap of a register MDC both ends are readings, so the energy of the whole gap
  is known (for an interval-kind MDC, from the daily billing registers either side of its day,
  ``_BILLING_DELTA``); the estimates are scaled to add up to it exactly, less what ``demand`` states
  (register readings win).

Each estimate is a new version (the previous current one stays as history) with its method and
its inputs. The automatic choice (``method=None``) is linear up to
``settings.VEE_LINEAR_MAX_MINUTES``, else like-day.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.services import audit_record
from apps.vee.choices import ESTIMATION_METHODS
from apps.vee.models import ValidationException
from apps.vee.readings import actual_at_sql, history_create, value_at_sql
from apps.vee.services.rule_sql import pkt

#: Like days are looked for this many weeks back.
LIKE_DAY_WEEKS = 4
#: Linear interpolation runs between the means of this many known intervals either side (one
#: interval's energy is noisy: the mean of a few is a steadier end).
SMOOTH_INTERVALS = 4

TARGETS = """
DROP TABLE IF EXISTS vee_targets;
CREATE TEMP TABLE vee_targets ON COMMIT DROP AS
SELECT e.id AS exception_id, e.meter_id, e.channel_id, m.global_device_id AS gid,
       (e."values"->>'interval_minutes')::int AS iv, c.lp_energy_kind <> 'interval' AS registers,
       e.period_start, e.period_end, t.at,
       row_number() OVER (PARTITION BY e.id ORDER BY t.at) AS k,
       count(*) OVER (PARTITION BY e.id) AS n,
       CASE WHEN r.rule_type = 'gap' THEN (e."values"->>'register_delta')::numeric END AS delta,
       CASE WHEN r.rule_type = 'gap' AND e."values"->>'register_delta' IS NOT NULL
            THEN 'load_profile' END AS delta_source,
       CASE WHEN r.rule_type = 'gap' AND c.lp_energy_kind <> 'interval' AND t.at = e.period_end
                 AND e.period_end > e.period_start
            THEN (SELECT round(lp.aggregate_active_pwr_pos
                               * (e."values"->>'interval_minutes')::int / 60, 3)
                  FROM warehouse_load_profile lp
                  WHERE lp.global_device_id = m.global_device_id
                    AND lp.channel_id = e.channel_id AND lp.meter_datetime = t.at) END
           AS end_kwh,
       COALESCE(%(method)s,
                CASE WHEN extract(epoch FROM e.period_end - e.period_start) / 60
                          + (e."values"->>'interval_minutes')::int <= %(linear_max)s
                     THEN 'linear' ELSE 'like_day' END) AS asked
FROM vee_validationexception e
JOIN vee_rule r ON r.id = e.rule_id
JOIN registry_meter m ON m.id = e.meter_id
JOIN registry_mdc c ON c.id = m.mdc_id
CROSS JOIN LATERAL generate_series(
    e.period_start, e.period_end, make_interval(mins => (e."values"->>'interval_minutes')::int)
) AS t(at)
WHERE e.id = ANY(%(ids)s) AND (e."values"->>'interval_minutes')::int > 0;
CREATE INDEX ON vee_targets (exception_id, at);
"""

_BEFORE = value_at_sql(
    meter="t.meter_id", gid="t.gid", channel="t.channel_id",
    at="t.period_start - make_interval(mins => t.iv)",
)  # fmt: skip
_AFTER = value_at_sql(
    meter="t.meter_id", gid="t.gid", channel="t.channel_id",
    at="t.period_end + make_interval(mins => t.iv)",
)  # fmt: skip
_PAST = actual_at_sql(gid="t.gid", channel="t.channel_id", at="p.past_at")

_ENDS = f"""
DROP TABLE IF EXISTS vee_ends;
CREATE TEMP TABLE vee_ends ON COMMIT DROP AS
SELECT t.exception_id, {_BEFORE} AS before_value, {_AFTER} AS after_value,
       (SELECT avg(h.consumption) FROM vee_history h
        WHERE h.gid = t.gid AND h.channel_id = t.channel_id
          AND h.at > t.period_start - make_interval(mins => t.iv * (%(smooth)s + 1))
          AND h.at <= t.period_start - make_interval(mins => t.iv)) AS before_mean,
       (SELECT avg(h.consumption) FROM vee_history h
        WHERE h.gid = t.gid AND h.channel_id = t.channel_id
          AND h.at > t.period_end
          AND h.at <= t.period_end + make_interval(mins => t.iv * %(smooth)s)) AS after_mean
FROM (SELECT DISTINCT ON (exception_id) * FROM vee_targets ORDER BY exception_id) t;
"""

# An interval-kind MDC's gap has no register reading after it, but the daily billing snapshots
# (00:00) either side of its day give the day's energy: less the day's known intervals, that is
# the gap's energy, when the gap is the only thing missing that day (the reverse of a register
# estimated from load profile). Its estimates are then scaled to it as a register gap's are.
_BILLING_DELTA = """
WITH g AS (
    SELECT exception_id, min(gid) AS gid, min(channel_id) AS channel_id, min(iv) AS iv,
           min(n) AS n,
           ((min(period_start) - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date
               AS day,
           ((max(period_end) - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date
               AS last_day
    FROM vee_targets WHERE delta IS NULL AND NOT registers AND iv > 0
    GROUP BY exception_id
), d AS (
    SELECT g.exception_id, g.n, g.iv, b2.active_energy_pos_tl - b1.active_energy_pos_tl AS day_kwh,
           k.known_kwh, k.known
    FROM g
    JOIN warehouse_billing b1 ON b1.global_device_id = g.gid
         AND b1.meter_datetime = (g.day::timestamp AT TIME ZONE 'Asia/Karachi')
    JOIN warehouse_billing b2 ON b2.global_device_id = g.gid
         AND b2.meter_datetime = ((g.day + 1)::timestamp AT TIME ZONE 'Asia/Karachi')
    CROSS JOIN LATERAL (
        SELECT COALESCE(sum(h.consumption), 0) AS known_kwh, count(h.consumption) AS known
        FROM vee_history h
        WHERE h.gid = g.gid AND h.channel_id = g.channel_id
          AND h.at > (g.day::timestamp AT TIME ZONE 'Asia/Karachi')
          AND h.at <= ((g.day + 1)::timestamp AT TIME ZONE 'Asia/Karachi')
    ) k
    WHERE g.day = g.last_day
)
UPDATE vee_targets t SET delta = d.day_kwh - d.known_kwh, delta_source = 'billing'
FROM d
WHERE t.exception_id = d.exception_id AND d.known + d.n = 1440 / d.iv
  AND d.day_kwh - d.known_kwh >= 0;
"""

# Days that are no like days: any interval of them estimated (by a current version), or an
# outage on them (an interval recorded with no phase voltage present, or an outage event).
_EXCLUDED = """
DROP TABLE IF EXISTS vee_excluded;
CREATE TEMP TABLE vee_excluded ON COMMIT DROP AS
WITH s AS (SELECT DISTINCT meter_id, gid FROM vee_targets)
SELECT s.meter_id,
       ((lp.meter_datetime - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date AS day
FROM s JOIN warehouse_load_profile lp ON lp.global_device_id = s.gid
WHERE lp.meter_datetime > %(like_from)s AND lp.meter_datetime <= %(like_to)s
  AND GREATEST(lp.voltage_phase_a, lp.voltage_phase_b, lp.voltage_phase_c) < %(voltage_present)s
UNION
SELECT s.meter_id, (ev.event_datetime AT TIME ZONE 'Asia/Karachi')::date
FROM s JOIN warehouse_event ev ON ev.global_device_id = s.gid
WHERE ev.event_datetime > %(like_from)s AND ev.event_datetime <= %(like_to)s
  AND ev.event_code = ANY(%(outage_codes)s)
UNION
SELECT v.meter_id,
       ((v.meter_datetime - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date
FROM vee_valueversion v
WHERE v.meter_id IN (SELECT meter_id FROM s) AND v.is_current AND v.kind = 'estimated'
  AND v.quantity = 'active_kwh'
  AND v.meter_datetime > %(like_from)s AND v.meter_datetime <= %(like_to)s;
CREATE INDEX ON vee_excluded (meter_id, day);
ANALYZE vee_excluded;
"""

# The same interval on past days of the same kind (weekday or weekend, in Pakistan time),
# newest first, skipping excluded days (``_EXCLUDED``) and intervals unknown.
_LIKE = f"""
DROP TABLE IF EXISTS vee_like;
CREATE TEMP TABLE vee_like ON COMMIT DROP AS
SELECT exception_id, at, avg(value) AS value, array_agg(past_at ORDER BY past_at DESC) AS days
FROM (
    SELECT t.exception_id, t.at, p.past_at, {_PAST} AS value,
           row_number() OVER (PARTITION BY t.exception_id, t.at
                              ORDER BY ({_PAST}) IS NULL, p.past_at DESC) AS rank
    FROM vee_targets t
    CROSS JOIN LATERAL (
        SELECT t.at - make_interval(days => d) AS past_at
        FROM generate_series(1, %(like_span_days)s) d
    ) p
    WHERE (extract(isodow FROM (p.past_at - interval '1 second') AT TIME ZONE 'Asia/Karachi')
           IN (6, 7))
        = (extract(isodow FROM (t.at - interval '1 second') AT TIME ZONE 'Asia/Karachi')
           IN (6, 7))
      AND p.past_at < t.period_start
      AND NOT EXISTS (
          SELECT 1 FROM vee_excluded x
          WHERE x.meter_id = t.meter_id
            AND x.day = ((p.past_at - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date)
) c
WHERE value IS NOT NULL AND value >= 0 AND rank <= %(like_days)s
GROUP BY exception_id, at;
"""

# Raw estimate and the method actually used, per target interval.
_RAW = """
DROP TABLE IF EXISTS vee_raw;
CREATE TEMP TABLE vee_raw ON COMMIT DROP AS
SELECT t.*, e.before_value, e.after_value, e.before_mean, e.after_mean,
       l.value AS like_value, l.days AS like_days, x.method, x.value AS raw, f.fixed
FROM vee_targets t
JOIN vee_ends e USING (exception_id)
LEFT JOIN vee_like l ON l.exception_id = t.exception_id AND l.at = t.at
LEFT JOIN LATERAL (
    SELECT * FROM (VALUES
        (1, 'linear', CASE WHEN t.asked = 'linear' AND e.before_value IS NOT NULL
                            AND e.after_value IS NOT NULL
                       THEN e.before_mean + (e.after_mean - e.before_mean)
                            * (t.k + (%(smooth)s - 1) / 2.0) / (t.n + %(smooth)s) END),
        (2, 'like_day', CASE WHEN t.asked = 'like_day' THEN l.value END),
        (3, 'flat_fill', CASE WHEN t.asked IN ('linear', 'flat_fill')
                         THEN COALESCE(e.before_value, e.after_value) END),
        (4, 'like_day', l.value),
        (5, 'flat_fill', COALESCE(e.before_value, e.after_value)),
        (6, 'linear', CASE WHEN t.delta IS NOT NULL THEN t.delta / t.n END)
    ) AS o(choice, method, value)
    WHERE o.value IS NOT NULL ORDER BY o.choice LIMIT 1
) x0 ON true
CROSS JOIN LATERAL (
    SELECT COALESCE(t.end_kwh >= 0 AND t.end_kwh <= t.delta, false) AS fixed
) f
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.fixed THEN 'demand' ELSE x0.method END AS method,
           CASE WHEN f.fixed THEN t.end_kwh ELSE GREATEST(x0.value, 0) END AS value
) x
WHERE f.fixed OR x0.value IS NOT NULL;
"""

# Scaled to the register delta where the gap's energy is known; rounded to 3 decimals with the
# rounding remainder on the last interval scaled, so the sum is exact. An interval whose energy
# the reading after the gap states (its recorded demand x the interval, ``fixed``) keeps it; the
# others share the rest of the delta (register readings win).
_FINAL = """
DROP TABLE IF EXISTS vee_estimates;
CREATE TEMP TABLE vee_estimates ON COMMIT DROP AS
WITH sums AS (
    SELECT exception_id, sum(raw) FILTER (WHERE NOT fixed) AS total,
           COALESCE(sum(raw) FILTER (WHERE fixed), 0) AS fixed_total,
           count(*) FILTER (WHERE NOT fixed) AS free, max(k) FILTER (WHERE NOT fixed) AS last_free
    FROM vee_raw GROUP BY exception_id
),
scaled AS (
    SELECT r.*, s.last_free, r.delta - s.fixed_total AS rest,
           CASE WHEN r.delta IS NULL OR r.delta < 0 OR r.fixed THEN NULL
                WHEN s.total > 0 THEN (r.delta - s.fixed_total) / s.total END AS factor,
           round(CASE WHEN r.delta IS NULL OR r.delta < 0 OR r.fixed THEN r.raw
                      WHEN s.total > 0 THEN r.raw * (r.delta - s.fixed_total) / s.total
                      ELSE (r.delta - s.fixed_total) / s.free END, 3) AS scaled
    FROM vee_raw r JOIN sums s USING (exception_id)
)
SELECT scaled.*,
       CASE WHEN k <> last_free OR delta IS NULL OR delta < 0 OR fixed THEN scaled
            ELSE rest - (sum(scaled) FILTER (WHERE NOT fixed) OVER (PARTITION BY exception_id)
                         - scaled) END AS value,
       (SELECT max(v.version) FROM vee_valueversion v
        WHERE v.meter_id = scaled.meter_id AND v.channel_id = scaled.channel_id
          AND v.meter_datetime = scaled.at AND v.quantity = 'active_kwh') AS last_version
FROM scaled;
"""

_ACTUAL = actual_at_sql(gid="x.gid", channel="x.channel_id", at="x.at")

# The value received becomes version 1 ("original") before the first change of an interval
# that has one, so every past value can be shown.
ORIGINALS = f"""
INSERT INTO vee_valueversion
    (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
     reason, exception_id, actor_id, actor_name, is_current, created_at)
SELECT meter_id, channel_id, at, 'active_kwh', 1, 'actual', actual, 'original', '{{}}'::jsonb,
       'As received.', exception_id, NULL, 'system', true, now()
FROM (SELECT x.*, {_ACTUAL} AS actual FROM vee_estimates x WHERE x.last_version IS NULL) o
WHERE actual IS NOT NULL;
UPDATE vee_estimates SET last_version = 1
WHERE last_version IS NULL AND EXISTS (
    SELECT 1 FROM vee_valueversion v
    WHERE v.meter_id = vee_estimates.meter_id AND v.channel_id = vee_estimates.channel_id
      AND v.meter_datetime = vee_estimates.at AND v.quantity = 'active_kwh');
"""

SUPERSEDE = """
UPDATE vee_valueversion v SET is_current = false
FROM vee_estimates x
WHERE v.meter_id = x.meter_id AND v.channel_id = x.channel_id AND v.meter_datetime = x.at
  AND v.quantity = 'active_kwh' AND v.is_current;
"""

_INSERT = f"""
INSERT INTO vee_valueversion
    (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
     reason, exception_id, actor_id, actor_name, is_current, created_at)
SELECT x.meter_id, x.channel_id, x.at, 'active_kwh', COALESCE(x.last_version, 0) + 1,
       'estimated', x.value, x.method,
       jsonb_strip_nulls(jsonb_build_object(
           'asked', x.asked, 'position', x.k, 'of', x.n,
           'before', jsonb_build_object(
               'at', {pkt("x.period_start - make_interval(mins => x.iv)")},
               'value', x.before_value),
           'after', jsonb_build_object(
               'at', {pkt("x.period_end + make_interval(mins => x.iv)")},
               'value', x.after_value),
           'before_mean', CASE WHEN x.method = 'linear' THEN round(x.before_mean, 4) END,
           'after_mean', CASE WHEN x.method = 'linear' THEN round(x.after_mean, 4) END,
           'like_day_value', CASE WHEN x.method = 'like_day' THEN x.like_value END,
           'like_days', CASE WHEN x.method = 'like_day' THEN (
               SELECT jsonb_agg({pkt("d")}) FROM unnest(x.like_days) d) END,
           'demand_kwh', CASE WHEN x.fixed THEN x.end_kwh END,
           'unscaled', x.raw, 'register_delta', x.delta, 'register_delta_from', x.delta_source,
           'scale_factor', round(x.factor, 6))),
       %(reason)s, x.exception_id, %(actor_id)s, %(actor_name)s, true, now()
FROM vee_estimates x;
"""

_MARK = """
UPDATE vee_validationexception SET status = 'estimated', updated_at = now()
WHERE id IN (SELECT DISTINCT exception_id FROM vee_estimates)
"""


def like_window(cursor) -> dict[str, dt.datetime]:
    """The time range like days of ``vee_targets`` are taken from."""
    cursor.execute("SELECT min(period_start), max(period_end) FROM vee_targets")
    first, last = cursor.fetchone()
    return {"like_from": first - dt.timedelta(days=LIKE_DAY_WEEKS * 7 + 1), "like_to": last}


def history_for_targets(cursor, *, like_days: bool) -> bool:
    """Build ``vee_history`` for the meters and times of ``vee_targets`` (the intervals around
    them, and the like days' when asked); False when there are no targets."""
    cursor.execute(
        "SELECT array_agg(DISTINCT gid), min(period_start), max(period_end) FROM vee_targets"
    )
    device_ids, first, last = cursor.fetchone()
    if not device_ids:
        return False
    back = dt.timedelta(days=LIKE_DAY_WEEKS * 7 + 1) if like_days else dt.timedelta(days=1)
    history_create(device_ids=device_ids, start=first - back, end=last + dt.timedelta(days=1))
    return True


def estimates_make(
    *,
    exceptions: QuerySet[ValidationException],
    method: str | None,
    actor,
    reason: str = "",
    audit: bool = True,
) -> int:
    """Estimate every interval of ``exceptions`` with ``method`` (None: the automatic choice);
    returns how many intervals got an estimate. The exceptions become ``estimated``."""
    if method is not None and method not in ESTIMATION_METHODS:
        raise ValueError(f"Unknown estimation method {method!r}.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        ids = list(exceptions.values_list("pk", flat=True))
        if not ids:
            return 0
        params = {
            "ids": ids,
            "method": method,
            "linear_max": settings.VEE_LINEAR_MAX_MINUTES,
            "like_days": settings.VEE_LIKE_DAYS,
            "like_span_days": LIKE_DAY_WEEKS * 7,
            "voltage_present": settings.ANALYTICS_VOLTAGE_PRESENT_V,
            "smooth": SMOOTH_INTERVALS,
            "outage_codes": list(settings.ANALYTICS_OUTAGE_CODES),
            "reason": reason
            or (
                "Estimated automatically after validation."
                if user is None
                else "Estimated on request."
            ),
            "actor_id": user.pk if user else None,
            "actor_name": user.get_username() if user else "system",
        }
        with connection.cursor() as cursor:
            cursor.execute(TARGETS, params)
            if not history_for_targets(cursor, like_days=True):
                return 0
            cursor.execute(_BILLING_DELTA)
            cursor.execute(_EXCLUDED, {**params, **like_window(cursor)})
            for statement in (_ENDS, _LIKE, _RAW, _FINAL, ORIGINALS, SUPERSEDE):
                cursor.execute(statement, params)
            cursor.execute(_INSERT, params)
            count = cursor.rowcount
            cursor.execute(_MARK)
            cursor.execute(
                "SELECT method, count(*) FROM vee_estimates GROUP BY method ORDER BY method"
            )
            by_method = dict(cursor.fetchall())
        if audit:
            audit_record(
                actor=actor,
                action="vee.estimate",
                summary=f"Estimated {count} intervals of {len(ids)} exceptions.",
                detail={
                    "exceptions": ids[:1000],
                    "asked": method,
                    "methods": by_method,
                    "at": timezone.now().isoformat(),
                },
            )
    return count
