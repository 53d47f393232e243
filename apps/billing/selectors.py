"""Reads of billing: runs, determinants, and the VEE flag of the readings a determinant rests on.

VEE (apps.vee) keeps versions of load-profile intervals, not of billing registers, and offers
no per-reading flag yet: ``vee_flag_sql`` reads its ``ValueVersion`` table directly, when the
app is installed. A determinant rests on estimated (edited) data when any current estimated
(edited) interval of its meter lies between its previous and present readings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from apps.billing.models import BillingRun, Determinant, MirrorBill


def runs_list() -> QuerySet[BillingRun]:
    return BillingRun.objects.select_related("cycle", "started_by", "approved_by", "supplements")


def determinants_of(run: BillingRun) -> QuerySet[Determinant]:
    return Determinant.objects.filter(run=run).order_by("reference_no", "id")


def vee_flag_sql(*, meter: str, start: str, end: str) -> tuple[str, str]:
    """SQL booleans (edited, estimated) for the meter id column ``meter`` over ``(start, end]``;
    both false when VEE is not installed."""
    if not django_apps.is_installed("apps.vee"):
        return "false", "false"
    table = django_apps.get_model("vee", "ValueVersion")._meta.db_table

    def exists(kind: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM {table} v WHERE v.meter_id = {meter} AND v.is_current "
            f"AND v.kind = '{kind}' AND v.meter_datetime > {start} AND v.meter_datetime <= {end})"
        )

    return exists("edited"), exists("estimated")


# --- the mirror: MDM units vs billed units, defaulters ------------------------------------------

_COMPARISON_SQL = """
WITH latest AS (
  SELECT DISTINCT ON (r.cycle_id) r.id
  FROM billing_billingrun r JOIN billing_readingcycle c ON c.id = r.cycle_id
  WHERE r.status = 'approved' AND r.kind <> 'final'
    AND c.reading_date >= %(start)s AND c.reading_date < %(end)s
  ORDER BY r.cycle_id, r.approved_at DESC, r.id DESC
),
mdm AS (
  SELECT DISTINCT ON (d.consumer_id) d.consumer_id, d.feeder_id, d.units_total,
         'NO_READING' = ANY(d.discrepancies) AS no_reading
  FROM billing_determinant d JOIN latest ON latest.id = d.run_id
  ORDER BY d.consumer_id, d.run_id DESC
),
bills AS (
  SELECT consumer_id, billed_units FROM billing_mirrorbill WHERE month = %(start)s
)
SELECT c.reference_no, m.feeder_id, f.code, m.units_total, b.billed_units,
  CASE
    WHEN b.consumer_id IS NOT NULL AND b.billed_units > 0
         AND (m.consumer_id IS NULL OR m.no_reading OR m.units_total IS NULL)
      THEN 'billed_without_reading'
    WHEN b.consumer_id IS NULL AND m.units_total > 0 THEN 'metered_not_billed'
    WHEN m.units_total > 0 AND b.billed_units < m.units_total * (100 - %(pct)s) / 100
      THEN 'billed_far_below'
    ELSE 'ok' END AS band
FROM mdm m
FULL JOIN bills b ON b.consumer_id = m.consumer_id
JOIN registry_consumer c ON c.id = COALESCE(m.consumer_id, b.consumer_id)
LEFT JOIN registry_feeder f ON f.id = m.feeder_id
ORDER BY c.reference_no
"""


@dataclass(frozen=True)
class ComparisonRow:
    reference_no: str
    feeder_id: int | None
    feeder: str
    mdm_units: Decimal | None
    billed_units: Decimal | None
    band: str


def comparison_rows(*, month: dt.date) -> list[ComparisonRow]:
    """Per consumer for a month: units of the month's latest approved runs (a supplementary
    run after the one it corrects) against the billed units, in a discrepancy band."""
    start = month.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    params = {"start": start, "end": end, "pct": settings.BILLING_FAR_BELOW_PERCENT}
    with connection.cursor() as cursor:
        cursor.execute(_COMPARISON_SQL, params)
        return [
            ComparisonRow(ref, fid, code or "", units, billed, band)
            for ref, fid, code, units, billed, band in cursor.fetchall()
        ]


def comparison_by_feeder(rows: list[ComparisonRow]) -> list[dict]:
    feeders: dict[str, dict] = {}
    for row in rows:
        entry = feeders.setdefault(
            row.feeder or "-",
            {"feeder": row.feeder or "-", "consumers": 0, "mdm_units": Decimal(0),
             "billed_units": Decimal(0), "bands": {}},
        )  # fmt: skip
        entry["consumers"] += 1
        entry["mdm_units"] += row.mdm_units or 0
        entry["billed_units"] += row.billed_units or 0
        entry["bands"][row.band] = entry["bands"].get(row.band, 0) + 1
    return [feeders[key] for key in sorted(feeders)]


def defaulters(*, as_of: dt.date) -> QuerySet[MirrorBill]:
    """Bills in arrears above the threshold, marked defaulter by the billing system, or unpaid
    more than the allowed days after their due date (CP13)."""
    unpaid_since = as_of - dt.timedelta(days=settings.BILLING_DEFAULTER_UNPAID_DAYS)
    return (
        MirrorBill.objects.select_related("consumer")
        .annotate(paid=Coalesce(Sum("payments__amount"), Decimal(0), output_field=DecimalField()))
        .filter(
            Q(arrears__gt=settings.BILLING_DEFAULTER_ARREARS)
            | Q(defaulter=True)
            | Q(due_date__lt=unpaid_since, paid__lt=F("bill_amount"))
        )
        .order_by("-arrears", "consumer__reference_no", "-month", "id")
    )


# --- a run's review ------------------------------------------------------------------------------


def run_totals(run: BillingRun) -> dict:
    """Units per band, consumers, and consumers per discrepancy code (two queries)."""
    from django.db.models import Count

    qs = Determinant.objects.filter(run=run)
    totals = qs.aggregate(
        consumers=Count("id"),
        off_peak=Sum("units_off_peak"),
        peak=Sum("units_peak"),
        total=Sum("units_total"),
        export=Sum("units_export"),
        kvarh=Sum("units_kvarh"),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, count(*) FROM billing_determinant, unnest(discrepancies) AS code "
            "WHERE run_id = %s GROUP BY code ORDER BY code",
            [run.pk],
        )
        totals["discrepancies"] = dict(cursor.fetchall())
    return totals


def run_units_by_feeder(run: BillingRun) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT COALESCE(f.code, '-'), sum(d.units_off_peak), sum(d.units_peak),
                      sum(CASE WHEN d.units_off_peak IS NULL THEN d.units_total END)
               FROM billing_determinant d LEFT JOIN registry_feeder f ON f.id = d.feeder_id
               WHERE d.run_id = %s GROUP BY 1 ORDER BY 1""",
            [run.pk],
        )
        return [
            {"feeder": code, "off_peak": off, "peak": peak, "other": other}
            for code, off, peak, other in cursor.fetchall()
        ]
