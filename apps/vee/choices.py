"""Choices of VEE, with badge colours where they show as a status."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, badge_colours


class RuleType(models.TextChoices):
    """What a rule checks. Each type's parameters and defaults are in ``rule_types.py``."""

    GAP = "gap", "Missing intervals (gap)"
    ROLLBACK = "rollback", "Register rollback"
    SPIKE = "spike", "Spike vs 3rd-highest of the day"
    ZERO_WITH_VOLTAGE = "zero_with_voltage", "Zero consumption while voltage present"
    NEGATIVE = "negative", "Negative consumption"
    SUM_CHECK_TOU = "sum_check_tou", "Sum check T1+T2+T3+T4 vs total"
    LP_VS_BILLING = "lp_vs_billing", "Load profile day vs billing register delta"
    HIGH_LOW_USAGE = "high_low_usage", "Daily usage high or low vs like days"
    DEMAND_OVER_SANCTIONED = "demand_over_sanctioned", "Demand above the sanctioned load"
    MDI_OVER_LIMIT = "mdi_over_limit", "MDI above a limit"
    TIME_TOLERANCE = "time_tolerance", "Meter clock vs MDC read time"
    INACTIVE_ADVANCING = "inactive_advancing", "Inactive or disconnected meter advancing"
    RELAY_OPEN_USAGE = "relay_open_usage", "Usage while the relay is open"


@badge_colours(low="info", medium="warning", high="danger")
class Severity(BadgeChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


@badge_colours(
    open="danger",
    estimated="info",
    accepted="success",
    edited="primary",
    explained="secondary",
    cleared="light",
)
class ExceptionStatus(BadgeChoices):
    """``open``: found, nobody acted. ``estimated``: estimates written, waiting for a person.
    ``accepted``/``edited``: a person accepted the estimate or typed a value. ``explained``: a
    real event (outage, disconnection) explains it. ``cleared``: a later validation no longer
    finds it (a late actual reading arrived)."""

    OPEN = "open", "Open"
    ESTIMATED = "estimated", "Estimated"
    ACCEPTED = "accepted", "Accepted"
    EDITED = "edited", "Edited"
    EXPLAINED = "explained", "Explained by an event"
    CLEARED = "cleared", "Cleared by new data"


#: Statuses a later validation may still clear or refresh (nobody has decided yet).
UNDECIDED = (ExceptionStatus.OPEN, ExceptionStatus.ESTIMATED)


class Explanation(models.TextChoices):
    OUTAGE = "outage", "Outage"
    DISCONNECTION = "disconnection", "Disconnection"
    REAL_EVENT = "real_event", "Real consumption event"


@badge_colours(actual="success", estimated="info", edited="warning")
class VersionKind(BadgeChoices):
    ACTUAL = "actual", "Actual"
    ESTIMATED = "estimated", "Estimated"
    EDITED = "edited", "Edited"


class Method(models.TextChoices):
    """How a version's value was made."""

    ORIGINAL = "original", "Original reading"
    LATE_ACTUAL = "late_actual", "Actual reading arrived later"
    LINEAR = "linear", "Linear interpolation"
    FLAT_FILL = "flat_fill", "Flat fill from one side"
    LIKE_DAY = "like_day", "Like-day average"
    DEMAND = "demand", "Recorded demand x interval"
    FROM_LOAD_PROFILE = "from_load_profile", "Register from load profile"
    FROM_REGISTERS = "from_registers", "Load profile from daily registers"
    TYPED = "typed", "Typed by a person"


#: Methods a person (or the automatic estimation) may ask for.
ESTIMATION_METHODS = (Method.LINEAR, Method.FLAT_FILL, Method.LIKE_DAY)


class Quantity(models.TextChoices):
    """What a version holds: the energy of one load-profile interval, or a daily register."""

    ACTIVE_KWH = "active_kwh", "Active energy of the interval (kWh)"
    BILLING_TL = "billing_tl", "Daily billing register, total active import (kWh)"


class ScopeLevel(models.TextChoices):
    DISCO = "disco", "DISCO"
    CIRCLE = "circle", "Circle"
    DIVISION = "division", "Division"
    SUBDIVISION = "subdivision", "Subdivision"
    FEEDER = "feeder", "Feeder"
    TRANSFORMER = "transformer", "Transformer"


class RunTrigger(models.TextChoices):
    INGESTION = "ingestion", "After ingestion"
    ON_DEMAND = "on_demand", "On demand"
