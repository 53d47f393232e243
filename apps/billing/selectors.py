"""Reads of billing: runs, determinants, and the VEE flag of the readings a determinant rests on.

VEE (apps.vee) keeps versions of load-profile intervals, not of billing registers, and offers
no per-reading flag yet: ``vee_flag_sql`` reads its ``ValueVersion`` table directly, when the
app is installed. A determinant rests on estimated (edited) data when any current estimated
(edited) interval of its meter lies between its previous and present readings.
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.db.models import QuerySet

from apps.billing.models import BillingRun, Determinant


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
