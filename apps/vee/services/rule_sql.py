"""One set-based statement per rule type: each reads ``vee_base`` (see ``readings.py``) joined
to ``vee_rule_scope`` (the meters the rule applies to) and inserts its findings into
``vee_found``. Parameters: ``rule_id`` plus the rule's effective parameters by name.

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

STATEMENTS: dict[str, str] = {
    RuleType.GAP: GAP,
    RuleType.ROLLBACK: ROLLBACK,
    RuleType.SPIKE: SPIKE,
    RuleType.ZERO_WITH_VOLTAGE: ZERO_WITH_VOLTAGE,
    RuleType.NEGATIVE: NEGATIVE,
    RuleType.SUM_CHECK_TOU: SUM_CHECK_TOU,
    RuleType.LP_VS_BILLING: LP_VS_BILLING,
}
