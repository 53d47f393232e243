"""Choices of billing, with badge colours where they show as a status."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, badge_colours


class TariffCategory(models.TextChoices):
    """NEPRA tariff categories (a tariff's TOU variant is the tariff's own band mapping)."""

    A1 = "A-1", "A-1 Residential"
    A2 = "A-2", "A-2 Commercial"
    A3 = "A-3", "A-3 General services"
    B1 = "B-1", "B-1 Industrial (up to 25 kW)"
    B2 = "B-2", "B-2 Industrial (25-500 kW)"
    B3 = "B-3", "B-3 Industrial (11/33 kV)"
    B4 = "B-4", "B-4 Industrial (66/132 kV)"
    C = "C", "C Bulk supply"
    D = "D", "D Agricultural tube-wells"


class Band(models.TextChoices):
    OFF_PEAK = "off_peak", "Off-peak"
    PEAK = "peak", "Peak"


@badge_colours(active="success", disconnected="warning", inactive="secondary", closed="dark")
class AccountStatus(BadgeChoices):
    ACTIVE = "active", "Active"
    DISCONNECTED = "disconnected", "Disconnected"
    INACTIVE = "inactive", "Inactive"
    CLOSED = "closed", "Closed (not billed)"


class CycleSource(models.TextChoices):
    """Which snapshot a cycle reads: the daily 00:00 one, or the one at the MDI reset."""

    DAILY = "daily", "Daily billing snapshot at or before the cut-off"
    MONTHLY = "monthly", "Monthly billing row at the MDI reset"


@badge_colours(
    queued="info", running="primary", ready="warning", approved="success", failed="danger"
)
class RunStatus(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready for review"
    APPROVED = "approved", "Approved and locked"
    FAILED = "failed", "Failed"


class RunKind(models.TextChoices):
    REGULAR = "regular", "Regular"
    SUPPLEMENTARY = "supplementary", "Supplementary"
    #: One consumer up to its final reading (permanent disconnection, CP4/CP14).
    FINAL = "final", "Final (one consumer)"


#: Kinds of run that bill a whole cycle (a final run bills one consumer up to its own time).
CYCLE_RUN_KINDS = (RunKind.REGULAR, RunKind.SUPPLEMENTARY)


@badge_colours(automatic="success", manual="warning", estimated="info", none="danger")
class ReadingMode(BadgeChoices):
    AUTOMATIC = "automatic", "Automatic (AMI)"
    MANUAL = "manual", "Manual (edited)"
    ESTIMATED = "estimated", "Estimated"
    NONE = "none", "No reading"


@badge_colours(actual="success", estimated="info", edited="warning", none="danger")
class VeeFlag(BadgeChoices):
    ACTUAL = "actual", "Actual"
    ESTIMATED = "estimated", "Estimated"
    EDITED = "edited", "Edited"
    NONE = "none", "No reading"


class Discrepancy(models.TextChoices):
    METER_CHANGED = "METER_CHANGED", "Meter changed in cycle"
    ROLLBACK = "ROLLBACK", "Register rollback"
    ROLLOVER = "ROLLOVER", "Register rollover (handled)"
    NO_READING = "NO_READING", "No reading"
    STALE_READING = "STALE_READING", "Reading older than the allowed days"
    MDI_OVER_LOAD = "MDI_OVER_LOAD", "MDI above sanctioned load"
    DISCONNECTED = "DISCONNECTED", "Consumer or meter disconnected"
    INACTIVE = "INACTIVE", "Consumer or meter inactive"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    FIXED = "fixed", "Fixed-width flat file"
    JSON = "json", "JSON (REST API)"


@badge_colours(
    ok="success",
    billed_without_reading="danger",
    billed_far_below="warning",
    metered_not_billed="danger",
)
class ComparisonBand(BadgeChoices):
    OK = "ok", "Agrees"
    BILLED_WITHOUT_READING = "billed_without_reading", "Billed without reading"
    BILLED_FAR_BELOW = "billed_far_below", "Billed far below metered"
    METERED_NOT_BILLED = "metered_not_billed", "Metered but not billed"
