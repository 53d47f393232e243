"""Determinants of a run for a range of consumers: one INSERT ... SELECT (no per-consumer loop).

Per meter of each consumer of the cycle's batch, from the cycle's warehouse table (daily
snapshots or monthly rows at the MDI reset):
- *present* reading: the latest at or before the cut-off and after the previous cut-off;
- *previous* reading: the latest at or before the previous cycle's cut-off (looked for
  ``BILLING_READING_LOOKBACK_DAYS`` back), or, for a meter installed in the cycle, its first
  reading inside it (the new meter's initial reading).
Each register's units are present - previous; a fall that wraps plausibly at the MDC's
``energy_register_max`` is a rollover (units wrap), any other fall a rollback (units unknown,
flagged). Units are multiplied by the meter's multiplying factor and summed over the
consumer's meters: a meter change inside a cycle combines the old meter's final reading with
the new one's initial reading (CP7/CP9). Registers map to off-peak and peak through the tariff's
band map valid at the reading date, in its season; a tariff without one has total units only.
Everything stays numeric (Decimal in Python).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.billing.choices import RunKind
from apps.billing.models import BillingRun, Determinant
from apps.billing.selectors import vee_flag_sql
from apps.warehouse.consumption import ROLLOVER_PLAUSIBLE_SHARE
from apps.warehouse.models import BillingReading, MonthlyBillingReading

#: Register columns read from the warehouse, by the name used below.
ENERGY = {
    "t1": "active_energy_pos_t1",
    "t2": "active_energy_pos_t2",
    "t3": "active_energy_pos_t3",
    "t4": "active_energy_pos_t4",
    "tl": "active_energy_pos_tl",
    "ex": "active_energy_neg_tl",
    "kv": "reactive_energy_pos_tl",
}
MDI = {f"m{r}": f"active_mdi_pos_{r}" for r in ("t1", "t2", "t3", "t4", "tl")}
TOU = ("t1", "t2", "t3", "t4")


def _reading_columns(alias: str, monthly: bool) -> str:
    cols = ["mt.consumer_id AS cid", f"{alias}.global_device_id", f"{alias}.meter_datetime AS at"]
    cols += [f"{alias}.{col} AS {name}" for name, col in {**ENERGY, **MDI}.items()]
    reset = f"{alias}.mdi_reset_datetime" if monthly else "NULL::timestamptz"
    cols.append(f"{reset} AS reset_at")
    return ", ".join(cols)


def _served_window(cutoff: str) -> str:
    """Readings after the previous cut-off, up to ``cutoff``, while the meter served the
    consumer (a changed meter: up to its final reading; a new one: from its initial reading);
    after the previous cycle's chosen reading, when one was chosen."""
    return (
        f"r.meter_datetime > GREATEST(%(prev_cutoff)s, mt.prev_chosen_at) "
        f"AND r.meter_datetime <= {cutoff} "
        "AND (mt.since IS NULL OR r.meter_datetime >= mt.since) "
        "AND (mt.until IS NULL OR r.meter_datetime <= mt.until)"
    )


def _units(name: str) -> str:
    """Units of one register: difference, wrapped at the register maximum when plausible."""
    pres, prev = f"pr.{name}", f"pv.{name}"
    return f"""CASE WHEN {pres} IS NULL OR {prev} IS NULL THEN NULL
        WHEN {pres} >= {prev} THEN {pres} - {prev}
        WHEN {pres} - {prev} + mt.register_max BETWEEN 0 AND mt.register_max * {ROLLOVER_PLAUSIBLE_SHARE}
          THEN {pres} - {prev} + mt.register_max END"""  # noqa: E501


def _band(alias: str, band: str, fmt: str = "{alias}.{reg}") -> str:
    """Sum of the registers the band map puts in ``band`` (NULL without a band map)."""
    parts = " + ".join(
        f"CASE WHEN bm.{reg}_band = '{band}' THEN COALESCE({fmt.format(alias=alias, reg=reg)}, 0)"
        " ELSE 0 END"
        for reg in TOU
    )
    return f"CASE WHEN bm.tariff_id IS NULL THEN NULL ELSE {parts} END"


def _mdi_band(band: str) -> str:
    parts = ", ".join(f"CASE WHEN bm.{reg}_band = '{band}' THEN pr.m{reg} END" for reg in TOU)
    return f"CASE WHEN bm.tariff_id IS NULL THEN NULL ELSE GREATEST({parts}) END"


def _statement(monthly: bool) -> str:
    table = (MonthlyBillingReading if monthly else BillingReading)._meta.db_table
    edited, estimated = vee_flag_sql(meter="mt.meter_id", start="pv.at", end="pr.at")
    unit_cols = ",\n".join(f"({_units(name)}) AS u_{name}" for name in ENERGY)
    fell = [f"pr.{n} < pv.{n}" for n in ENERGY]
    wraps = [
        f"pr.{n} - pv.{n} + mt.register_max BETWEEN 0 AND mt.register_max * "
        f"{ROLLOVER_PLAUSIBLE_SHARE}"
        for n in ENERGY
    ]
    rolled_back = " OR ".join(f"({f} AND NOT ({w}))" for f, w in zip(fell, wraps, strict=True))
    rolled_over = " OR ".join(f"({f} AND {w})" for f, w in zip(fell, wraps, strict=True))
    det = Determinant._meta.db_table
    return f"""
WITH acct AS (
  SELECT a.consumer_id, c.reference_no, a.reading_batch, a.status AS acct_status,
         c.connection_status, COALESCE(a.sanctioned_load_kw, c.sanctioned_load_kw) AS sanctioned,
         a.tariff_id, t.code AS tariff_code
  FROM billing_billingaccount a
  JOIN registry_consumer c ON c.id = a.consumer_id
  LEFT JOIN billing_tariff t ON t.id = a.tariff_id
  WHERE a.reading_batch = %(batch)s AND a.status <> 'closed'
    AND a.consumer_id >= %(lo)s AND a.consumer_id < %(hi)s
),
bm AS (
  SELECT DISTINCT ON (m.tariff_id) m.tariff_id, m.t1_band, m.t2_band, m.t3_band, m.t4_band
  FROM billing_tariffbandmap m
  WHERE m.valid_from <= %(reading_date)s
    AND (m.valid_until IS NULL OR m.valid_until >= %(reading_date)s)
    AND CASE WHEN m.start_month <= m.end_month
             THEN %(month)s BETWEEN m.start_month AND m.end_month
             ELSE %(month)s >= m.start_month OR %(month)s <= m.end_month END
  ORDER BY m.tariff_id, m.valid_from DESC, m.id DESC
),
served AS (
  -- the consumer's meters now (from a meter change's initial reading), and meters a change
  -- took away inside the cycle (up to their final reading)
  SELECT me.id AS meter_id, me.consumer_id,
         (SELECT max(c.initial_reading_at) FROM billing_meterchange c
          WHERE c.new_meter_id = me.id AND c.consumer_id = me.consumer_id) AS since,
         NULL::timestamptz AS until
  FROM registry_meter me JOIN acct ON acct.consumer_id = me.consumer_id
  UNION ALL
  SELECT c.old_meter_id, c.consumer_id, NULL::timestamptz, max(c.final_reading_at)
  FROM billing_meterchange c JOIN acct ON acct.consumer_id = c.consumer_id
  JOIN registry_meter om ON om.id = c.old_meter_id
  WHERE c.final_reading_at > %(prev_cutoff)s AND om.consumer_id IS DISTINCT FROM c.consumer_id
  GROUP BY c.old_meter_id, c.consumer_id
),
mt AS (
  SELECT me.id AS meter_id, me.global_device_id, me.msn, s.consumer_id, s.since, s.until,
         me.activation_status, me.relay_state, COALESCE(f.multiplying_factor, 1) AS mf,
         COALESCE(mdc.energy_register_max, 1000000000) AS register_max,
         tr.feeder_id, fe.subdivision_id, cr.at AS chosen_at, pcr.at AS prev_chosen_at
  FROM served s
  JOIN registry_meter me ON me.id = s.meter_id
  LEFT JOIN (SELECT meter_id, meter_datetime AS at FROM billing_cyclereading
             WHERE cycle_id = %(cycle_id)s) cr ON cr.meter_id = me.id
  LEFT JOIN (SELECT meter_id, meter_datetime AS at FROM billing_cyclereading
             WHERE cycle_id = %(prev_cycle_id)s) pcr ON pcr.meter_id = me.id
  JOIN registry_mdc mdc ON mdc.id = me.mdc_id
  LEFT JOIN billing_meterfactor f ON f.meter_id = me.id
  LEFT JOIN registry_transformer tr ON tr.id = me.transformer_id
  LEFT JOIN registry_feeder fe ON fe.id = tr.feeder_id
),
pres AS (
  SELECT DISTINCT ON (mt.consumer_id, r.global_device_id) {_reading_columns("r", monthly)}
  FROM {table} r JOIN mt ON mt.global_device_id = r.global_device_id
  WHERE CASE WHEN mt.chosen_at IS NOT NULL THEN r.meter_datetime = mt.chosen_at
    ELSE {_served_window("%(cutoff)s")} END
  ORDER BY mt.consumer_id, r.global_device_id, r.meter_datetime DESC
),
initial AS (
  SELECT DISTINCT ON (mt.consumer_id, r.global_device_id) {_reading_columns("r", monthly)}
  FROM {table} r JOIN mt ON mt.global_device_id = r.global_device_id
  WHERE {_served_window("%(cutoff)s")}
  ORDER BY mt.consumer_id, r.global_device_id, r.meter_datetime ASC
),
prev_only AS (
  SELECT DISTINCT ON (mt.consumer_id, r.global_device_id) {_reading_columns("r", monthly)}
  FROM {table} r JOIN mt ON mt.global_device_id = r.global_device_id
  WHERE CASE WHEN mt.prev_chosen_at IS NOT NULL THEN r.meter_datetime = mt.prev_chosen_at
    ELSE r.meter_datetime > %(lookback)s AND r.meter_datetime <= %(prev_cutoff)s
      AND (mt.since IS NULL OR r.meter_datetime >= mt.since)
      AND (mt.until IS NULL OR r.meter_datetime <= mt.until) END
  ORDER BY mt.consumer_id, r.global_device_id, r.meter_datetime DESC
),
prev AS (
  SELECT * FROM prev_only
  UNION ALL
  SELECT i.* FROM initial i
  WHERE NOT EXISTS (
    SELECT 1 FROM prev_only p WHERE p.global_device_id = i.global_device_id AND p.cid = i.cid
  )
),
pm AS (
  SELECT mt.*, pr.at AS pres_at, pv.at AS prev_at, pr.reset_at,
         pr.tl AS pres_tl, pv.tl AS prev_tl, pr.ex AS pres_ex, pv.ex AS prev_ex,
         pr.kv AS pres_kv, pv.kv AS prev_kv,
         {_band("pr", "off_peak")} AS pres_off, {_band("pv", "off_peak")} AS prev_off,
         {_band("pr", "peak")} AS pres_peak, {_band("pv", "peak")} AS prev_peak,
         pr.mtl AS mdi_tl, {_mdi_band("off_peak")} AS mdi_off, {_mdi_band("peak")} AS mdi_peak,
         {unit_cols},
         COALESCE({rolled_back}, false) AS rolled_back,
         COALESCE({rolled_over}, false) AS rolled_over, acct.tariff_id,
         CASE WHEN pr.at IS NULL THEN false ELSE {edited} END AS vee_edited,
         CASE WHEN pr.at IS NULL THEN false ELSE {estimated} END AS vee_estimated
  FROM mt
  JOIN acct ON acct.consumer_id = mt.consumer_id
  LEFT JOIN bm ON bm.tariff_id = acct.tariff_id
  LEFT JOIN pres pr ON pr.global_device_id = mt.global_device_id AND pr.cid = mt.consumer_id
  LEFT JOIN prev pv ON pv.global_device_id = mt.global_device_id AND pv.cid = mt.consumer_id
),
pu AS (
  SELECT pm.*,
    {_band("pm", "off_peak", "{alias}.u_{reg}")} AS u_off,
    {_band("pm", "peak", "{alias}.u_{reg}")} AS u_peak
  FROM pm LEFT JOIN bm ON bm.tariff_id = pm.tariff_id
),
pc AS (
  SELECT pu.consumer_id,
    (array_agg(pu.meter_id ORDER BY pu.pres_at DESC NULLS LAST, pu.meter_id))[1] AS meter_id,
    (array_agg(pu.meter_id ORDER BY pu.prev_at ASC NULLS LAST, pu.meter_id))[1] AS old_meter_id,
    count(*) FILTER (WHERE pu.pres_at IS NOT NULL) AS read_meters,
    max(pu.pres_at) AS pres_at, min(pu.prev_at) AS prev_at,
    sum(pu.u_off * pu.mf) AS u_off, sum(pu.u_peak * pu.mf) AS u_peak,
    sum(pu.u_tl * pu.mf) AS u_tl, sum(pu.u_ex * pu.mf) AS u_ex, sum(pu.u_kv * pu.mf) AS u_kv,
    bool_or(pu.rolled_back) AS rolled_back,
    bool_or(pu.rolled_over) AS rolled_over,
    bool_or(pu.vee_edited) AS vee_edited, bool_or(pu.vee_estimated) AS vee_estimated
  FROM pu GROUP BY pu.consumer_id
),
cons AS (
  SELECT acct.*, pc.read_meters, pc.pres_at, pc.prev_at, pc.u_off, pc.u_peak, pc.u_tl,
    pc.u_ex, pc.u_kv, pc.rolled_back, pc.rolled_over, pc.vee_edited, pc.vee_estimated,
    cur.meter_id, cur.global_device_id, cur.msn, cur.mf, cur.feeder_id, cur.subdivision_id,
    cur.activation_status, cur.relay_state, cur.pres_tl, cur.pres_ex, cur.pres_kv,
    cur.pres_off, cur.pres_peak, cur.mdi_off, cur.mdi_peak, cur.mdi_tl, cur.reset_at,
    old.global_device_id AS old_gdid, old.prev_tl, old.prev_ex, old.prev_kv, old.prev_off,
    old.prev_peak
  FROM acct
  LEFT JOIN pc ON pc.consumer_id = acct.consumer_id
  LEFT JOIN pu cur ON cur.meter_id = pc.meter_id AND cur.consumer_id = pc.consumer_id
  LEFT JOIN pu old ON old.meter_id = pc.old_meter_id AND old.consumer_id = pc.consumer_id
)
INSERT INTO {det} (
  run_id, consumer_id, reference_no, batch, meter_id, global_device_id, msn,
  old_global_device_id, subdivision_id, feeder_id, tariff_code, multiplying_factor,
  previous_datetime, present_datetime, previous_off_peak, present_off_peak, previous_peak,
  present_peak, previous_total, present_total, previous_export, present_export, previous_kvarh,
  present_kvarh, units_off_peak, units_peak, units_total, units_export, units_kvarh,
  power_factor, mdi_off_peak, mdi_peak, mdi_total, mdi_reset_datetime, sanctioned_load_kw,
  days, reading_mode, vee_flag, discrepancies
)
SELECT %(run_id)s, consumer_id, reference_no, reading_batch, meter_id,
  COALESCE(global_device_id, ''), msn,
  CASE WHEN read_meters > 1 OR old_gdid <> global_device_id THEN old_gdid ELSE '' END,
  subdivision_id, feeder_id, COALESCE(tariff_code, ''), COALESCE(mf, 1),
  CASE WHEN pres_at IS NULL THEN NULL ELSE prev_at END, pres_at,
  prev_off, pres_off, prev_peak, pres_peak, prev_tl, pres_tl, prev_ex, pres_ex, prev_kv, pres_kv,
  u_off, u_peak, u_tl, u_ex, u_kv,
  CASE WHEN u_tl IS NULL OR u_kv IS NULL OR (u_tl = 0 AND u_kv = 0) THEN NULL
       ELSE round(u_tl / sqrt(u_tl * u_tl + u_kv * u_kv), 3) END,
  mdi_off, mdi_peak, mdi_tl, reset_at, sanctioned,
  (pres_at AT TIME ZONE 'Asia/Karachi')::date - (prev_at AT TIME ZONE 'Asia/Karachi')::date,
  CASE WHEN pres_at IS NULL THEN 'none' WHEN vee_edited THEN 'manual'
       WHEN vee_estimated THEN 'estimated' ELSE 'automatic' END,
  CASE WHEN pres_at IS NULL THEN 'none' WHEN vee_edited THEN 'edited'
       WHEN vee_estimated THEN 'estimated' ELSE 'actual' END,
  array_remove(ARRAY[
    CASE WHEN read_meters > 1 OR old_gdid <> global_device_id THEN 'METER_CHANGED' END,
    CASE WHEN rolled_back THEN 'ROLLBACK' END,
    CASE WHEN rolled_over THEN 'ROLLOVER' END,
    CASE WHEN pres_at IS NULL THEN 'NO_READING' END,
    CASE WHEN pres_at < %(stale_before)s THEN 'STALE_READING' END,
    CASE WHEN mdi_tl > sanctioned THEN 'MDI_OVER_LOAD' END,
    CASE WHEN acct_status = 'disconnected' OR connection_status = 'disconnected'
         OR relay_state = 'disconnected' THEN 'DISCONNECTED' END,
    CASE WHEN acct_status = 'inactive' OR activation_status = 0 THEN 'INACTIVE' END
  ]::varchar[], NULL)
FROM cons
"""


def determinants_insert(*, run: BillingRun, lo: int, hi: int) -> int:
    """Replace the run's determinants of consumers with ids in ``[lo, hi)``; rows written."""
    cycle = run.cycle
    if run.kind == RunKind.FINAL:
        # one consumer up to its final reading; its batch's last cycle gave the previous one
        previous, cutoff, cycle_id = cycle, run.cutoff, None
    else:
        previous, cutoff, cycle_id = cycle.previous(), cycle.cutoff, cycle.pk
    reading_date = timezone.localtime(cutoff).date() if run.kind == RunKind.FINAL else None
    reading_date = reading_date or cycle.reading_date
    prev_cutoff = previous.cutoff if previous else cutoff - dt.timedelta(days=31)
    lookback = prev_cutoff - dt.timedelta(days=settings.BILLING_READING_LOOKBACK_DAYS)
    params = {
        "cycle_id": cycle_id,
        "prev_cycle_id": previous.pk if previous else None,
        "run_id": run.pk,
        "batch": cycle.batch,
        "lo": lo,
        "hi": hi,
        "reading_date": reading_date,
        "month": reading_date.month,
        "cutoff": cutoff,
        "prev_cutoff": prev_cutoff,
        "lookback": lookback,
        "stale_before": cutoff - dt.timedelta(days=settings.BILLING_STALE_READING_DAYS),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Determinant._meta.db_table} "
            "WHERE run_id = %s AND consumer_id >= %s AND consumer_id < %s",
            [run.pk, lo, hi],
        )
        cursor.execute(_statement(cycle.source == "monthly"), params)
        return cursor.rowcount
