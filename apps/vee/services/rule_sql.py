"""One set-based statement per rule type: each reads ``vee_base`` (see ``readings.py``) joined
to ``vee_rule_scope`` (the meters the rule applies to) and inserts its findings into
``vee_found``. Parameters: ``rule_id``, ``range_start`` and ``range_end`` (the run's range)
plus the rule's effective parameters by name. Django binds parameters client-side (a whole
number becomes an integer literal), so a parameter that is divided is cast to numeric first.

Datetimes inside ``values`` are written in Pakistan time with their offset."""

from __future__ import annotations

from apps.vee.choices import RuleType

PKT_TEXT = """to_char(({0}) AT TIME ZONE 'Asia/Karachi', 'YYYY-MM-DD"T"HH24:MI:SS"+05:00"')"""


def pkt(expression: str) -> str:
    return PKT_TEXT.format(expression)


_IN_SCOPE = """
    FROM vee_base b JOIN vee_rule_scope rs ON rs.meter_id = b.meter_id AND rs.rule_id = %(rule_id)s
"""

_IV = "make_interval(mins => b.interval_minutes)"

GAP = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, meter_id, channel_id, prev_at + make_interval(mins => iv),
       CASE WHEN registers THEN at ELSE at - make_interval(mins => iv) END,
       jsonb_build_object(
           'missing', missing, 'interval_minutes', iv,
           'last_before', {pkt("prev_at")}, 'first_after', {pkt("at")},
           'found_in_day', found_in_day, 'expected_in_day', 1440 / iv,
           'register_delta', CASE WHEN registers THEN gap_kwh END)
FROM (
    SELECT b.*, b.interval_minutes AS iv,
           (EXTRACT(epoch FROM b.at - b.prev_at)::bigint / 60 / b.interval_minutes - 1)::int
               AS missing,
           count(*) OVER (PARTITION BY b.meter_id, b.channel_id, b.day) AS found_in_day
    {_IN_SCOPE}
    WHERE b.interval_minutes > 0
) g
WHERE prev_at IS NOT NULL AND NOT consecutive AND missing >= %(min_missing)s
"""

ROLLBACK = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, b.at, b.at,
       jsonb_build_object('reading', b.reading, 'previous', b.prev_reading,
                          'previous_at', {pkt("b.prev_at")},
                          'drop', b.prev_reading - b.reading,
                          'interval_minutes', b.interval_minutes)
{_IN_SCOPE}
WHERE b.registers AND b.status = 'fault'
"""

SPIKE = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, b.at, b.at,
       jsonb_build_object('consumption', b.consumption, 'third_highest', d.third,
                          'factor', %(factor)s, 'interval_minutes', b.interval_minutes)
{_IN_SCOPE}
JOIN (
    SELECT x.meter_id, x.channel_id, x.day,
           (array_agg(x.consumption ORDER BY x.consumption DESC)
               FILTER (WHERE x.consumption IS NOT NULL))[3] AS third
    FROM vee_base x JOIN vee_rule_scope xs ON xs.meter_id = x.meter_id AND xs.rule_id = %(rule_id)s
    GROUP BY x.meter_id, x.channel_id, x.day
) d ON d.meter_id = b.meter_id AND d.channel_id = b.channel_id AND d.day = b.day
WHERE b.consumption > %(min_kwh)s AND d.third IS NOT NULL AND b.consumption > %(factor)s * d.third
"""

ZERO_WITH_VOLTAGE = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, meter_id, channel_id, min(at), max(at),
       jsonb_build_object('intervals', count(*), 'min_voltage_seen', min(voltage),
                          'interval_minutes', min(interval_minutes))
FROM (
    SELECT z.*,
           sum(CASE WHEN z.flag AND z.consecutive THEN 0 ELSE 1 END)
               OVER (PARTITION BY z.meter_id, z.channel_id ORDER BY z.at) AS island
    FROM (
        SELECT b.meter_id, b.channel_id, b.at, b.voltage, b.interval_minutes, b.consecutive,
               COALESCE(b.consumption = 0 AND b.voltage >= %(min_voltage)s, false) AS flag
        {_IN_SCOPE}
    ) z
) i
WHERE flag
GROUP BY meter_id, channel_id, island
HAVING count(*) >= %(min_intervals)s
"""

NEGATIVE = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, b.at, b.at,
       jsonb_build_object('consumption', b.reading, 'interval_minutes', b.interval_minutes)
{_IN_SCOPE}
WHERE NOT b.registers AND b.status = 'fault'
"""

SUM_CHECK_TOU = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, b.at, b.at,
       jsonb_build_object('t1', b.t1, 't2', b.t2, 't3', b.t3, 't4', b.t4, 'tl', b.reading,
                          'difference', b.t1 + b.t2 + b.t3 + b.t4 - b.reading,
                          'interval_minutes', b.interval_minutes)
{_IN_SCOPE}
WHERE abs(b.t1 + b.t2 + b.t3 + b.t4 - b.reading) > %(tolerance_kwh)s
"""

# A billing snapshot is taken at 00:00: the rise between two consecutive days' snapshots is
# the energy of the day between them, which the day's load profile must add up to. Only
# complete days (every interval's energy known) are compared: gaps are the gap rule's job.
LP_VS_BILLING = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, d.meter_id, d.channel_id, d.day_start, d.day_end,
       jsonb_build_object('load_profile_kwh', d.lp_kwh, 'billing_delta_kwh', d.delta,
                          'difference', d.lp_kwh - d.delta, 'interval_minutes', d.iv)
FROM (
    SELECT lp.meter_id, lp.channel_id, lp.day, b1.meter_datetime AS day_start,
           b2.meter_datetime AS day_end, lp.lp_kwh, lp.iv,
           b2.active_energy_pos_tl - b1.active_energy_pos_tl AS delta
    FROM (
        SELECT b.meter_id, b.channel_id, b.day, sum(b.consumption) AS lp_kwh,
               count(b.consumption) AS known, min(b.interval_minutes) AS iv
        {_IN_SCOPE}
        GROUP BY b.meter_id, b.channel_id, b.day
    ) lp
    JOIN vee_scope s ON s.meter_id = lp.meter_id
    JOIN warehouse_billing b1 ON b1.global_device_id = s.gid
         AND b1.meter_datetime = (lp.day::timestamp) AT TIME ZONE 'Asia/Karachi'
    JOIN warehouse_billing b2 ON b2.global_device_id = s.gid
         AND b2.meter_datetime = (lp.day::timestamp + interval '1 day') AT TIME ZONE 'Asia/Karachi'
    WHERE lp.iv > 0 AND lp.known = 1440 / lp.iv
) d
WHERE abs(d.lp_kwh - d.delta) > GREATEST(%(tolerance_kwh)s, abs(d.delta) * %(tolerance_pct)s / 100)
"""

# Daily usage of each meter-day: for registers the rise between the readings stamped at two
# consecutive Pakistan midnights (index look-ups, not a scan of the history), for an
# interval-kind MDC the sum of a complete day. Each day of the range is compared with the
# average of its like days (weekday or weekend) in the weeks before. The midnights are one
# array: joined as a set (estimated at 1,000 rows), the planner read every meter's whole history
# by the device alone and hashed it against them (a scan growing with the history); an array of
# them keeps both columns of the primary key in the look-up.
HIGH_LOW_USAGE = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
WITH m AS (
    SELECT s.meter_id, s.gid, s.registers FROM vee_scope s
    JOIN vee_rule_scope rs ON rs.meter_id = s.meter_id AND rs.rule_id = %(rule_id)s
), days AS (
    SELECT DISTINCT b.meter_id, b.day {_IN_SCOPE}
), span AS (
    SELECT min(day) - %(weeks)s * 7 AS first, max(day) + 1 AS last FROM days
), midnight AS (
    SELECT (d.d AT TIME ZONE 'Asia/Karachi') AS at
    FROM span, generate_series(span.first::timestamp, span.last::timestamp, interval '1 day') d
), reg AS (
    SELECT m.meter_id, lp.channel_id,
           (lp.meter_datetime AT TIME ZONE 'Asia/Karachi')::date - 1 AS day,
           lp.active_energy_tl - lag(lp.active_energy_tl) OVER w AS kwh,
           lp.meter_datetime - lag(lp.meter_datetime) OVER w AS apart,
           lp.msn = lag(lp.msn) OVER w AS same_meter
    FROM m JOIN warehouse_load_profile lp ON lp.global_device_id = m.gid
         AND lp.meter_datetime = ANY(ARRAY(SELECT at FROM midnight))
    WHERE m.registers
    WINDOW w AS (PARTITION BY m.meter_id, lp.channel_id ORDER BY lp.meter_datetime)
), usage AS (
    SELECT meter_id, channel_id, day, kwh FROM reg
    WHERE apart = interval '1 day' AND same_meter AND kwh >= 0
    UNION ALL
    SELECT m.meter_id, lp.channel_id,
           ((lp.meter_datetime - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date,
           sum(lp.active_energy_tl)
    FROM m JOIN warehouse_load_profile lp ON lp.global_device_id = m.gid
    WHERE NOT m.registers AND lp.interval > 0
      AND lp.meter_datetime > (SELECT min(at) FROM midnight)
      AND lp.meter_datetime <= (SELECT max(at) FROM midnight)
    GROUP BY 1, 2, 3
    HAVING count(*) = 1440 / min(lp.interval)
)
SELECT %(rule_id)s, u.meter_id, u.channel_id, (u.day::timestamp AT TIME ZONE 'Asia/Karachi'),
       ((u.day + 1)::timestamp AT TIME ZONE 'Asia/Karachi'),
       jsonb_build_object('usage_kwh', u.kwh, 'like_day_average_kwh', round(l.average, 3),
                          'like_days', l.n, 'percent_of_average',
                          round(u.kwh * 100 / l.average, 1),
                          'high_pct', %(high_pct)s, 'low_pct', %(low_pct)s)
FROM usage u
JOIN days d ON d.meter_id = u.meter_id AND d.day = u.day
CROSS JOIN LATERAL (
    SELECT avg(h.kwh) AS average, count(*) AS n FROM usage h
    WHERE h.meter_id = u.meter_id AND h.channel_id = u.channel_id
      AND h.day < u.day AND h.day >= u.day - %(weeks)s * 7
      AND (extract(isodow FROM h.day) IN (6, 7)) = (extract(isodow FROM u.day) IN (6, 7))
) l
WHERE l.n >= %(min_like_days)s AND l.average >= %(min_kwh)s
  AND (u.kwh > l.average * (1 + %(high_pct)s::numeric / 100)
       OR u.kwh < l.average * (1 - %(low_pct)s::numeric / 100))
"""

# Demand of an interval: its energy over its length (average kW), as the MDI is measured.
DEMAND_OVER_SANCTIONED = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, min(b.at), max(b.at),
       jsonb_build_object('intervals', count(*),
                          'max_demand_kw', round(max(b.consumption * 60 / b.interval_minutes), 3),
                          'sanctioned_load_kw', c.sanctioned_load_kw, 'percent', %(percent)s,
                          'interval_minutes', min(b.interval_minutes))
{_IN_SCOPE}
JOIN registry_meter m ON m.id = b.meter_id
JOIN registry_consumer c ON c.id = m.consumer_id
WHERE c.sanctioned_load_kw > 0 AND b.interval_minutes > 0
  AND b.consumption * 60 / b.interval_minutes > c.sanctioned_load_kw * %(percent)s::numeric / 100
GROUP BY b.meter_id, b.channel_id, b.day, c.sanctioned_load_kw
"""

# One exception per meter-day on which the recorded MDI stands above the limit.
MDI_OVER_LIMIT = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, meter_id, channel_id, min(at), max(at),
       jsonb_build_object('intervals', count(*), 'max_mdi_kw', max(mdi), 'limit_kw', min(lim),
                          'interval_minutes', min(interval_minutes))
FROM (
    SELECT b.meter_id, b.channel_id, b.day, b.at, b.mdi, b.interval_minutes,
           CASE WHEN %(limit_kw)s > 0 THEN %(limit_kw)s
                ELSE c.sanctioned_load_kw * %(percent)s::numeric / 100 END AS lim
    {_IN_SCOPE}
    JOIN registry_meter m ON m.id = b.meter_id
    LEFT JOIN registry_consumer c ON c.id = m.consumer_id
) o
WHERE lim > 0 AND mdi > lim
GROUP BY meter_id, channel_id, day
"""

# The meter's clock against the MDC's: a load-profile interval stamped later than the MDC read
# it (the meter is ahead), or an instantaneous reading whose meter time is off the MDC's read
# time either way, beyond the tolerance. One exception per meter-day.
TIME_TOLERANCE = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, meter_id, 0, min(at), max(at),
       jsonb_build_object('readings', count(*),
                          'largest_offset_minutes',
                          round(((array_agg(off ORDER BY abs(off) DESC))[1])::numeric, 1),
                          'sources', array_agg(DISTINCT source), 'tolerance_minutes', %(minutes)s)
FROM (
    SELECT b.meter_id, b.at, extract(epoch FROM b.at - b.read_at) / 60 AS off, b.day,
           'load_profile' AS source
    {_IN_SCOPE}
    WHERE b.read_at IS NOT NULL AND b.at > b.read_at + make_interval(mins => %(minutes)s)
    UNION ALL
    SELECT s.meter_id, i.mdc_read_datetime,
           extract(epoch FROM i.meter_datetime - i.mdc_read_datetime) / 60,
           ((i.mdc_read_datetime - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date,
           'instantaneous'
    FROM vee_scope s
    JOIN vee_rule_scope rs ON rs.meter_id = s.meter_id AND rs.rule_id = %(rule_id)s
    JOIN warehouse_instantaneous i ON i.global_device_id = s.gid
    WHERE i.meter_datetime > %(range_start)s - interval '1 day'
      AND i.meter_datetime <= %(range_end)s + interval '1 day'
      AND i.mdc_read_datetime > %(range_start)s AND i.mdc_read_datetime <= %(range_end)s
      AND abs(extract(epoch FROM i.meter_datetime - i.mdc_read_datetime)) > %(minutes)s * 60
) o
GROUP BY meter_id, day
"""

_ADVANCING = f"""
INSERT INTO vee_found (rule_id, meter_id, channel_id, period_start, period_end, vals)
SELECT %(rule_id)s, b.meter_id, b.channel_id, min(b.at), max(b.at),
       jsonb_build_object('intervals', count(*), 'kwh', sum(b.consumption), {{state}},
                          'interval_minutes', min(b.interval_minutes))
{_IN_SCOPE}
JOIN registry_meter m ON m.id = b.meter_id
LEFT JOIN registry_consumer c ON c.id = m.consumer_id
WHERE b.consumption > %(min_kwh)s AND ({{condition}})
GROUP BY b.meter_id, b.channel_id, b.day, m.activation_status, c.connection_status, m.relay_state
"""

# A meter marked inactive, or whose consumer is disconnected or closed, whose registers still
# advance (energy is being used on a connection that should have none).
INACTIVE_ADVANCING = _ADVANCING.format(
    state="'activation_status', m.activation_status, 'connection_status', c.connection_status",
    condition="m.activation_status = 0 OR c.connection_status IN ('disconnected', 'closed')",
)

# Energy recorded while the registry holds the meter's relay open (disconnected by a command).
RELAY_OPEN_USAGE = _ADVANCING.format(
    state="'relay_state', m.relay_state", condition="m.relay_state = 'disconnected'"
)

STATEMENTS: dict[str, str] = {
    RuleType.GAP: GAP,
    RuleType.ROLLBACK: ROLLBACK,
    RuleType.SPIKE: SPIKE,
    RuleType.ZERO_WITH_VOLTAGE: ZERO_WITH_VOLTAGE,
    RuleType.NEGATIVE: NEGATIVE,
    RuleType.SUM_CHECK_TOU: SUM_CHECK_TOU,
    RuleType.LP_VS_BILLING: LP_VS_BILLING,
    RuleType.HIGH_LOW_USAGE: HIGH_LOW_USAGE,
    RuleType.DEMAND_OVER_SANCTIONED: DEMAND_OVER_SANCTIONED,
    RuleType.MDI_OVER_LIMIT: MDI_OVER_LIMIT,
    RuleType.TIME_TOLERANCE: TIME_TOLERANCE,
    RuleType.INACTIVE_ADVANCING: INACTIVE_ADVANCING,
    RuleType.RELAY_OPEN_USAGE: RELAY_OPEN_USAGE,
}
