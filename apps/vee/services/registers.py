"""Daily registers estimated from the load profile: a missing daily billing snapshot (00:00)
is a version (quantity ``billing_tl``) beside the warehouse, set-based over a validation's
``vee_base``:

- a register MDC's load profile row stamped at that midnight carries the same total register:
  its reading is the snapshot;
- an interval-kind MDC's day adds up to it: the previous snapshot plus every interval of the day
  (its current version, else the energy received), when the whole day is known.

When the snapshot arrives later it replaces the estimate (a ``late_actual`` version), as actual
intervals replace interval estimates. (The reverse, a gap's energy from the registers either
side, is ``estimation._BILLING_DELTA``.)
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

_MIDNIGHT = "((d.day + 1)::timestamp AT TIME ZONE 'Asia/Karachi')"

_ESTIMATE = f"""
WITH days AS (
    SELECT b.meter_id, s.gid, s.registers, b.day, min(b.interval_minutes) AS iv
    FROM vee_base b JOIN vee_scope s ON s.meter_id = b.meter_id
    WHERE b.channel_id = 0
    GROUP BY b.meter_id, s.gid, s.registers, b.day
), missing AS (
    SELECT d.*, {_MIDNIGHT} AS at FROM days d
    WHERE d.iv > 0
      AND NOT EXISTS (SELECT 1 FROM warehouse_billing n
                      WHERE n.global_device_id = d.gid AND n.meter_datetime = {_MIDNIGHT})
      AND NOT EXISTS (SELECT 1 FROM vee_valueversion v
                      WHERE v.meter_id = d.meter_id AND v.quantity = 'billing_tl'
                        AND v.meter_datetime = {_MIDNIGHT})
), estimated AS (
    SELECT m.meter_id, m.at, lp.active_energy_tl AS value,
           jsonb_build_object('load_profile_reading', lp.active_energy_tl) AS inputs
    FROM missing m
    JOIN warehouse_load_profile lp ON lp.global_device_id = m.gid AND lp.channel_id = 0
         AND lp.meter_datetime = m.at
    WHERE m.registers
    UNION ALL
    SELECT m.meter_id, m.at, p.active_energy_pos_tl + k.kwh,
           jsonb_build_object('previous_register', p.active_energy_pos_tl,
                              'load_profile_kwh', k.kwh, 'intervals', k.known)
    FROM missing m
    JOIN warehouse_billing p ON p.global_device_id = m.gid
         AND p.meter_datetime = m.at - interval '1 day'
    CROSS JOIN LATERAL (
        SELECT sum(COALESCE(v.value, b.consumption)) AS kwh,
               count(COALESCE(v.value, b.consumption)) AS known
        FROM generate_series(m.at - interval '1 day' + make_interval(mins => m.iv), m.at,
                             make_interval(mins => m.iv)) AS t(at)
        LEFT JOIN vee_base b ON b.meter_id = m.meter_id AND b.channel_id = 0 AND b.at = t.at
        LEFT JOIN vee_valueversion v ON v.meter_id = m.meter_id AND v.channel_id = 0
             AND v.meter_datetime = t.at AND v.quantity = 'active_kwh' AND v.is_current
    ) k
    WHERE NOT m.registers AND k.known = 1440 / m.iv
)
INSERT INTO vee_valueversion
    (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
     reason, exception_id, actor_id, actor_name, is_current, created_at)
SELECT meter_id, 0, at, 'billing_tl', 1, 'estimated', value, 'from_load_profile', inputs,
       'The daily billing register is missing: estimated from the load profile.', NULL, NULL,
       'system', true, now()
FROM estimated WHERE value IS NOT NULL
"""

_ACTUALISE = """
WITH replaced AS (
    UPDATE vee_valueversion v SET is_current = false
    FROM vee_scope s, warehouse_billing n
    WHERE v.meter_id = s.meter_id AND v.quantity = 'billing_tl' AND v.is_current
      AND v.kind = 'estimated' AND n.global_device_id = s.gid
      AND n.meter_datetime = v.meter_datetime
      AND v.meter_datetime > %(start)s AND v.meter_datetime <= %(end)s
    RETURNING v.meter_id, v.meter_datetime, v.version, v.value, n.active_energy_pos_tl AS actual
)
INSERT INTO vee_valueversion
    (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
     reason, exception_id, actor_id, actor_name, is_current, created_at)
SELECT meter_id, 0, meter_datetime, 'billing_tl', version + 1, 'actual', actual, 'late_actual',
       jsonb_build_object('replaced_version', version, 'estimate', value),
       'The daily billing register arrived after the estimate.', NULL, NULL, 'system', true,
       now()
FROM replaced
"""


def registers_from_load_profile(*, start, end) -> tuple[int, int]:
    """Estimate the missing daily registers of ``vee_base``'s days, and replace estimates whose
    snapshot has arrived; returns (estimated, replaced). Inside a validation's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTUALISE, {"start": start, "end": end + dt.timedelta(days=1)})
        replaced = cursor.rowcount
        cursor.execute(_ESTIMATE)
        estimated = cursor.rowcount
    return estimated, replaced
