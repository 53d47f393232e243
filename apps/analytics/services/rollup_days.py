"""The meter-days, node-days and tariff hours of a refresh, brought up to date from the hours it
replaced.

A refresh removes some hours of some meters (kept in ``analytics_refresh_old_hours``) and writes
them again as derived from the readings now. A meter-day is then its old figures
less the old hours plus the new ones: sums and counts exactly so; a largest value (demand,
voltage, interval, last reading) by the greater of the old day's and the new hours' as long as
no new hour is below the old hour it replaces — else that one meter-day is regrouped from all its
hours. Node-days (per MDC, subdivision, feeder, transformer) and tariff hours (per tariff and
feeder) hold only sums and counts, so they take the difference of their meters' old and new
days or hours. An hourly pull thus costs in proportion to the hours it brought, not to the day
they lie in (regrouping every touched day from its hours read 24 hours per meter per pull: #13).
"""

from __future__ import annotations

_PARTS = """
  SELECT global_device_id, (hour AT TIME ZONE 'Asia/Karachi')::date AS day,
         max(mdc_id) AS mdc_id, sum(active_kwh) AS active_kwh,
         sum(reactive_kvarh) AS reactive_kvarh, sum(readings) AS readings, sum(faults) AS faults,
         sum(estimated) AS estimated, sum(estimated_kwh) AS estimated_kwh,
         max(max_interval) AS max_interval, max(max_demand_kw) AS max_demand_kw,
         max(max_voltage) AS max_voltage, max(last_reading_at) AS last_reading_at
  FROM {source} GROUP BY 1, 2
"""

# The hours of the refresh, once written (the refresh replaces every hour of its meters in its
# window, so these are exactly its new hours).
_NEW_HOURS = """analytics_meterhour
  WHERE global_device_id = ANY(%(gids)s) AND hour >= %(start)s AND hour < %(end)s"""

# A new hour below the old one it replaces, for a largest value: the greater of the old day's
# and the new hours' could then be the old hour's, gone (NULL is below every value).
_LOWERED = " OR ".join(
    f"(o.{c} IS NOT NULL AND (n.{c} IS NULL OR n.{c} < o.{c}))"
    for c in ("mdc_id", "max_interval", "max_demand_kw", "max_voltage", "last_reading_at")
)

OLD_HOURS_CREATE = """
DROP TABLE IF EXISTS analytics_refresh_old_hours;
CREATE TEMP TABLE analytics_refresh_old_hours ON COMMIT DROP AS
SELECT * FROM analytics_meterhour WITH NO DATA;
WITH gone AS (
  DELETE FROM analytics_meterhour WHERE global_device_id = ANY(%(gids)s)
    AND hour >= %(start)s AND hour < %(end)s RETURNING *
) INSERT INTO analytics_refresh_old_hours SELECT * FROM gone
"""

# The new hours, each with the bucket of the tariff roll-up it goes into (the consumer's tariff
# and the meter's feeder now).
HOURS_INSERT = """
INSERT INTO analytics_meterhour (global_device_id, hour, mdc_id, active_kwh, reactive_kvarh,
  readings, estimated, estimated_kwh, faults, max_interval, max_demand_kw, max_voltage,
  last_reading_at, tariff, feeder_id)
SELECT r.global_device_id, r.hour, r.mdc_id, r.active_kwh, r.reactive_kvarh, r.readings,
       r.estimated, r.estimated_kwh, r.faults, r.max_interval, r.max_demand_kw, r.max_voltage,
       r.last_reading_at, COALESCE(c.tariff, ''), t.feeder_id
FROM ({hours}) r
LEFT JOIN registry_meter m ON m.global_device_id = r.global_device_id
LEFT JOIN registry_consumer c ON c.id = m.consumer_id
LEFT JOIN registry_transformer t ON t.id = m.transformer_id
"""

# Tariff hours: minus the replaced hours in the buckets they went into, plus the new ones; a
# tariff hour left with no meter goes.
TARIFFS_DELTA = f"""
DROP TABLE IF EXISTS analytics_refresh_tariff_delta;
CREATE TEMP TABLE analytics_refresh_tariff_delta ON COMMIT DROP AS
SELECT tariff, COALESCE(feeder_id, 0) AS feeder_id, hour, sum(sign) AS meters,
       sum(sign * active_kwh) AS active_kwh
FROM (
  SELECT -1 AS sign, tariff, feeder_id, hour, active_kwh FROM analytics_refresh_old_hours
  WHERE tariff <> ''
  UNION ALL
  SELECT 1, tariff, feeder_id, hour, active_kwh FROM {_NEW_HOURS} AND tariff <> ''
) x
GROUP BY 1, 2, 3;
INSERT INTO analytics_tariffhour (tariff, feeder_id, hour, active_kwh, meters)
SELECT tariff, feeder_id, hour, active_kwh, meters FROM analytics_refresh_tariff_delta
ON CONFLICT (tariff, feeder_id, hour) DO UPDATE SET
  active_kwh = analytics_tariffhour.active_kwh + EXCLUDED.active_kwh,
  meters = analytics_tariffhour.meters + EXCLUDED.meters
"""

TARIFFS_EMPTY_DELETE = """
DELETE FROM analytics_tariffhour th USING analytics_refresh_tariff_delta x
WHERE th.tariff = x.tariff AND th.feeder_id = x.feeder_id AND th.hour = x.hour
  AND th.meters <= 0
"""

# Each touched meter-day with its old row (``d``), its old hours (``o``) and new hours (``n``).
DAYS_CREATE = f"""
DROP TABLE IF EXISTS analytics_refresh_days;
CREATE TEMP TABLE analytics_refresh_days ON COMMIT DROP AS
WITH n AS ({_PARTS.format(source=_NEW_HOURS)}),
o AS ({_PARTS.format(source="analytics_refresh_old_hours")}),
k AS (SELECT global_device_id, day FROM n UNION SELECT global_device_id, day FROM o)
SELECT k.global_device_id, k.day,
       CASE WHEN d.id IS NULL AND o.global_device_id IS NULL THEN 'new'
            WHEN d.id IS NULL OR d.expected = 0 OR {_LOWERED} THEN 'regroup'
            ELSE 'merge' END AS how,
       d.id IS NOT NULL AND NOT d.is_input AS was_counted, d.mdc_id AS old_mdc,
       d.subdivision_id AS old_subdivision, d.feeder_id AS old_feeder,
       d.transformer_id AS old_transformer, d.active_kwh AS old_active_kwh,
       d.estimated_kwh AS old_estimated_kwh, d.readings AS old_readings,
       d.expected AS old_expected,
       GREATEST(d.mdc_id, n.mdc_id) AS mdc_id,
       COALESCE(d.active_kwh, 0) - COALESCE(o.active_kwh, 0) + COALESCE(n.active_kwh, 0)
         AS active_kwh,
       COALESCE(d.reactive_kvarh, 0) - COALESCE(o.reactive_kvarh, 0)
         + COALESCE(n.reactive_kvarh, 0) AS reactive_kvarh,
       COALESCE(d.readings, 0) - COALESCE(o.readings, 0) + COALESCE(n.readings, 0) AS readings,
       COALESCE(d.faults, 0) - COALESCE(o.faults, 0) + COALESCE(n.faults, 0) AS faults,
       COALESCE(d.estimated, 0) - COALESCE(o.estimated, 0) + COALESCE(n.estimated, 0)
         AS estimated,
       COALESCE(d.estimated_kwh, 0) - COALESCE(o.estimated_kwh, 0)
         + COALESCE(n.estimated_kwh, 0) AS estimated_kwh,
       CASE WHEN d.id IS NULL THEN COALESCE(1440 / NULLIF(n.max_interval, 0), 0)
            WHEN COALESCE(n.max_interval, 0) = 0 THEN d.expected
            ELSE LEAST(d.expected, 1440 / n.max_interval) END AS expected,
       GREATEST(d.max_demand_kw, n.max_demand_kw) AS max_demand_kw,
       GREATEST(d.max_voltage, n.max_voltage) AS max_voltage,
       GREATEST(d.last_reading_at, n.last_reading_at) AS last_reading_at
FROM k LEFT JOIN n USING (global_device_id, day) LEFT JOIN o USING (global_device_id, day)
LEFT JOIN analytics_meterday d ON d.global_device_id = k.global_device_id AND d.day = k.day
"""

DAYS_DELETE = """
DELETE FROM analytics_meterday md USING analytics_refresh_days k
WHERE md.global_device_id = k.global_device_id AND md.day = k.day
"""

_PLACE = """
LEFT JOIN registry_meter m ON m.global_device_id = r.global_device_id
LEFT JOIN registry_transformer t ON t.id = m.transformer_id
LEFT JOIN registry_feeder f ON f.id = t.feeder_id
LEFT JOIN analytics_inputmeter im ON im.meter_id = m.id
"""

_DAY_COLUMNS = """(global_device_id, day, mdc_id, meter_id, transformer_id, feeder_id,
   subdivision_id, is_input, active_kwh, reactive_kvarh, readings, expected, faults, estimated,
   estimated_kwh, max_demand_kw, max_voltage, last_reading_at)"""

# Where a meter is placed is read from the registry at each refresh (a meter moved to another
# transformer takes its refreshed days with it; the node-days follow by their difference).
DAYS_MERGE = f"""
INSERT INTO analytics_meterday {_DAY_COLUMNS}
SELECT r.global_device_id, r.day, r.mdc_id, m.id, m.transformer_id, t.feeder_id,
       f.subdivision_id, im.id IS NOT NULL, r.active_kwh, r.reactive_kvarh, r.readings,
       r.expected, r.faults, r.estimated, r.estimated_kwh, r.max_demand_kw, r.max_voltage,
       r.last_reading_at
FROM analytics_refresh_days r {_PLACE}
WHERE r.how IN ('new', 'merge') AND r.readings > 0
"""

# An hour bucket lies in one Pakistan day (whole-hour offset), so its day is its local date.
DAYS_REGROUP = f"""
INSERT INTO analytics_meterday {_DAY_COLUMNS}
SELECT r.global_device_id, r.day, max(r.mdc_id), m.id, m.transformer_id, t.feeder_id,
       f.subdivision_id, im.id IS NOT NULL,
       sum(r.active_kwh), sum(r.reactive_kvarh), sum(r.readings),
       COALESCE(1440 / NULLIF(max(r.max_interval), 0), 0),
       sum(r.faults), sum(r.estimated), sum(r.estimated_kwh),
       max(r.max_demand_kw), max(r.max_voltage), max(r.last_reading_at)
FROM (SELECT h.*, k.day FROM analytics_refresh_days k
      JOIN analytics_meterhour h ON h.global_device_id = k.global_device_id
       AND h.hour >= k.day::timestamp AT TIME ZONE 'Asia/Karachi'
       AND h.hour < (k.day + 1)::timestamp AT TIME ZONE 'Asia/Karachi'
      WHERE k.how = 'regroup') r {_PLACE}
GROUP BY r.global_device_id, r.day, m.id, t.feeder_id, f.subdivision_id, im.id
"""

_LEVELS = """('mdc', {p}mdc{s}), ('subdivision', {p}subdivision{s}), ('feeder', {p}feeder{s}),
  ('transformer', {p}transformer{s})"""

# Node-days: minus the touched meters' old days, plus their new ones (input meters count in
# neither); a node-day left with no meter goes.
NODES_DELTA = f"""
DROP TABLE IF EXISTS analytics_refresh_node_delta;
CREATE TEMP TABLE analytics_refresh_node_delta ON COMMIT DROP AS
SELECT l.level, l.node_id, x.day, sum(x.sign) AS meters, sum(x.sign * x.active_kwh) AS active_kwh,
       sum(x.sign * x.estimated_kwh) AS estimated_kwh, sum(x.sign * x.readings) AS readings,
       sum(x.sign * x.expected) AS expected
FROM (
  SELECT -1 AS sign, day, old_mdc AS mdc, old_subdivision AS subdivision, old_feeder AS feeder,
         old_transformer AS transformer, old_active_kwh AS active_kwh,
         old_estimated_kwh AS estimated_kwh, old_readings AS readings, old_expected AS expected
  FROM analytics_refresh_days WHERE was_counted
  UNION ALL
  SELECT 1, md.day, md.mdc_id, md.subdivision_id, md.feeder_id, md.transformer_id,
         md.active_kwh, md.estimated_kwh, md.readings, md.expected
  FROM analytics_refresh_days k JOIN analytics_meterday md
    ON md.global_device_id = k.global_device_id AND md.day = k.day
  WHERE NOT md.is_input
) x CROSS JOIN LATERAL (VALUES {_LEVELS.format(p="x.", s="")}) l(level, node_id)
WHERE l.node_id IS NOT NULL
GROUP BY 1, 2, 3;
INSERT INTO analytics_nodeday
  (level, node_id, day, meters, active_kwh, estimated_kwh, readings, expected)
SELECT level, node_id, day, meters, active_kwh, estimated_kwh, readings, expected
FROM analytics_refresh_node_delta
ON CONFLICT (level, node_id, day) DO UPDATE SET
  meters = analytics_nodeday.meters + EXCLUDED.meters,
  active_kwh = analytics_nodeday.active_kwh + EXCLUDED.active_kwh,
  estimated_kwh = analytics_nodeday.estimated_kwh + EXCLUDED.estimated_kwh,
  readings = analytics_nodeday.readings + EXCLUDED.readings,
  expected = analytics_nodeday.expected + EXCLUDED.expected
"""

NODES_EMPTY_DELETE = """
DELETE FROM analytics_nodeday nd USING analytics_refresh_node_delta x
WHERE nd.level = x.level AND nd.node_id = x.node_id AND nd.day = x.day AND nd.meters <= 0
"""


def days_and_nodes_update(cursor, params: dict, *, hours_sql: str) -> tuple[int, int]:
    """Replace the hours of ``params``' ``gids`` from ``start`` to ``end`` with those of
    ``hours_sql`` (a query over ``params`` giving the hour roll-up's columns, tariff and feeder
    aside) and bring their meter-days and node-days up to date. Returns (meter-days written,
    node-days changed)."""
    cursor.execute(OLD_HOURS_CREATE, params)
    cursor.execute(HOURS_INSERT.format(hours=hours_sql), params)
    cursor.execute(TARIFFS_DELTA, params)
    cursor.execute(TARIFFS_EMPTY_DELETE)
    cursor.execute(DAYS_CREATE, params)
    cursor.execute(DAYS_DELETE)
    cursor.execute(DAYS_MERGE)
    meter_days = cursor.rowcount
    cursor.execute(DAYS_REGROUP)
    meter_days += cursor.rowcount
    cursor.execute(NODES_DELTA)
    node_days = cursor.rowcount
    cursor.execute(NODES_EMPTY_DELETE)
    return meter_days, node_days
