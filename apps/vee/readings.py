"""The load-profile rows VEE validates, with each interval's consumption, as TEMP tables.

Consumption is derived in one place, ``apps.warehouse.consumption`` (registers or per-interval
energy per MDC, gaps, rollovers at the MDC's register maximum, meter changes); VEE reads its SQL
and adds what the rules need beside it (tariff registers, voltage). Every rule reads
``vee_base``, built once per validation by one set-based statement, so the warehouse is scanned
once however many rules run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

# The warehouse's derivation as SQL (set-based); its public helpers return Python rows.
from apps.warehouse.consumption import PLAN_BY_PRIMARY_KEY
from apps.warehouse.consumption import consumption_query as consumption_sql

#: Statuses of the derivation whose energy is that of exactly one interval. A ``gap`` reading
#: carries the energy of all the intervals since the last reading: unknown per interval.
ONE_INTERVAL = ("ok", "rollover", "interval")


@dataclass(frozen=True)
class Scope:
    """Meters to validate: parallel lists (id, global device id, registers or not)."""

    meter_ids: list[int]
    device_ids: list[str]
    registers: list[bool]

    def __len__(self) -> int:
        return len(self.meter_ids)


_PLAN_NAMES = re.findall(r"SET LOCAL (\w+)", PLAN_BY_PRIMARY_KEY)


@contextlib.contextmanager
def _planned_by_primary_key(cursor):
    """Run the derivation under ``PLAN_BY_PRIMARY_KEY`` (validation runs right after a load: on
    the fresh day the planner joined the window's rows to ``vee_scope`` by a nested loop, every
    reading against every meter, 10 times slower), then restore the settings: the rules read
    the TEMP tables whole, where a sequential scan is the right plan."""
    cursor.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in _PLAN_NAMES))
    before = cursor.fetchone()
    cursor.execute(PLAN_BY_PRIMARY_KEY)
    try:
        yield
    finally:
        for name, value in zip(_PLAN_NAMES, before, strict=True):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


# Two scans, each materialised and analysed, then one hash join: joining the derivation's
# window query straight to the partitioned table made the planner probe every partition's index
# once per reading (45 s instead of 1 s for 55,000 readings).
_DERIVED_SQL = """
CREATE TEMP TABLE vee_derived ON COMMIT DROP AS
SELECT s.meter_id, s.registers, d.global_device_id AS gid, d.channel_id, d.meter_datetime AS at,
       d."interval" AS interval_minutes, d.status, d.prev_at, d.active_kwh
FROM ({derived}) d JOIN vee_scope s ON s.gid = d.global_device_id
"""

_READINGS_SQL = """
CREATE TEMP TABLE vee_readings ON COMMIT DROP AS
SELECT lp.global_device_id AS gid, lp.channel_id, lp.meter_datetime AS at, lp.msn,
       lp.active_energy_tl AS reading, lp.active_energy_t1 AS t1, lp.active_energy_t2 AS t2,
       lp.active_energy_t3 AS t3, lp.active_energy_t4 AS t4,
       GREATEST(lp.voltage_phase_a, lp.voltage_phase_b, lp.voltage_phase_c) AS voltage,
       lp.active_mdi_tl AS mdi, lp.mdc_read_datetime AS read_at
FROM warehouse_load_profile lp
WHERE lp.global_device_id = ANY(%(gids)s)
  AND lp.meter_datetime > %(start)s AND lp.meter_datetime <= %(end)s
"""

_BASE_SQL = """
CREATE TEMP TABLE vee_base ON COMMIT DROP AS
SELECT d.meter_id, d.registers, d.channel_id, d.at, d.interval_minutes, d.status, d.prev_at,
       r.msn, r.reading,
       lag(r.reading) OVER (PARTITION BY d.meter_id, d.channel_id ORDER BY d.at) AS prev_reading,
       r.t1, r.t2, r.t3, r.t4, r.voltage, r.mdi, r.read_at,
       d.prev_at IS NOT NULL AND (d.interval_minutes IS NULL
           OR d.at - d.prev_at <= make_interval(mins => d.interval_minutes)) AS consecutive,
       d.status = 'meter_change' AS meter_changed,
       CASE WHEN d.status = ANY(%(one_interval)s) THEN d.active_kwh END AS consumption,
       CASE WHEN d.status = 'gap' THEN d.active_kwh END AS gap_kwh,
       ((d.at - interval '1 microsecond') AT TIME ZONE 'Asia/Karachi')::date AS day
FROM vee_derived d
JOIN vee_readings r ON r.gid = d.gid AND r.channel_id = d.channel_id AND r.at = d.at
"""


def base_create(*, scope: Scope, start: dt.datetime, end: dt.datetime) -> int:
    """Create ``vee_scope`` (meter_id, gid, registers) and ``vee_base`` (both dropped at
    commit: call inside a transaction) for the scope's readings with
    ``start < meter_datetime <= end``; returns the number of readings.

    Columns of ``vee_base``: meter_id, registers, channel_id, at (end of the interval),
    interval_minutes, status (of the derivation), prev_at, msn, reading (the total register,
    or the interval's energy), prev_reading, t1..t4, voltage (highest phase), mdi (active
    MDI, total), read_at (the MDC's read time of the row), consecutive,
    meter_changed, consumption (kWh of this one interval, NULL when not known), gap_kwh (the
    energy since the last reading when rows are missing before this one) and day (the PKT day
    the interval belongs to: a reading stamped 00:00 closes the day before).
    """
    derived, params = consumption_sql(start, end, mdc_id=None, global_device_ids=scope.device_ids)
    with connection.cursor() as cursor:
        for table in ("vee_scope", "vee_derived", "vee_readings", "vee_base"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            "CREATE TEMP TABLE vee_scope ON COMMIT DROP AS SELECT * FROM unnest("
            "%s::int[], %s::text[], %s::bool[]) AS s(meter_id, gid, registers)",
            [scope.meter_ids, scope.device_ids, scope.registers],
        )
        cursor.execute("ALTER TABLE vee_scope ADD PRIMARY KEY (meter_id)")
        with _planned_by_primary_key(cursor):
            cursor.execute(_DERIVED_SQL.format(derived=derived), params)
        cursor.execute(_READINGS_SQL, {"gids": scope.device_ids, "start": start, "end": end})
        cursor.execute("ANALYZE vee_derived")
        cursor.execute("ANALYZE vee_readings")
        cursor.execute(_BASE_SQL, {"one_interval": list(ONE_INTERVAL)})
        count = cursor.rowcount
        # no index or ANALYZE on vee_base: every rule reads it whole (hash joins and groups)
    return count


def history_create(*, device_ids: Sequence[str], start: dt.datetime, end: dt.datetime) -> int:
    """Create ``vee_history`` (gid, channel_id, at, consumption): the energy of each interval
    of these devices with ``start < at <= end`` as received (NULL when not known)."""
    derived, params = consumption_sql(start, end, mdc_id=None, global_device_ids=list(device_ids))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS vee_history")
        with _planned_by_primary_key(cursor):
            cursor.execute(
                "CREATE TEMP TABLE vee_history ON COMMIT DROP AS "
                "SELECT global_device_id AS gid, channel_id, meter_datetime AS at, "
                "CASE WHEN status = ANY(%(one_interval)s) THEN active_kwh END AS consumption "
                f"FROM ({derived}) d",
                {**params, "one_interval": list(ONE_INTERVAL)},
            )
            count = cursor.rowcount
        cursor.execute("CREATE INDEX ON vee_history (gid, channel_id, at)")
        cursor.execute("ANALYZE vee_history")
    return count


def actual_at_sql(*, gid: str, channel: str, at: str) -> str:
    """SQL for the received energy of one interval (ending at ``at``), from ``vee_history``."""
    return (
        f"(SELECT h.consumption FROM vee_history h WHERE h.gid = {gid} "
        f"AND h.channel_id = {channel} AND h.at = {at})"
    )


def value_at_sql(*, meter: str, gid: str, channel: str, at: str) -> str:
    """SQL for the current energy of one interval: its current VEE version if it has one, else
    the energy received (``vee_history``). Arguments are SQL of the enclosing query."""
    return f"""COALESCE(
    (SELECT v.value FROM vee_valueversion v
     WHERE v.meter_id = {meter} AND v.channel_id = {channel} AND v.meter_datetime = {at}
       AND v.quantity = 'active_kwh' AND v.is_current),
    {actual_at_sql(gid=gid, channel=channel, at=at)})"""
