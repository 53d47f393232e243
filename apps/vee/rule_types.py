"""Rule types: each has named parameters with defaults; a rule stores only what it overrides.

Adding a check to a group of meters is configuration (a rule in a rule set with parameters),
not code; adding a new *kind* of check is a new entry here and one SQL statement in
``services/validation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from apps.vee.choices import RuleType


@dataclass(frozen=True)
class Param:
    default: Decimal | int
    help: str
    minimum: Decimal | int = 0


RULE_PARAMETERS: dict[str, dict[str, Param]] = {
    RuleType.GAP: {
        "min_missing": Param(1, "Report a stretch of at least this many missing intervals.", 1),
    },
    # Rollovers (at the MDC's register maximum) and meter changes are told apart by the
    # warehouse's consumption derivation; what is left is a rollback.
    RuleType.ROLLBACK: {},
    RuleType.SPIKE: {
        "factor": Param(Decimal("3"), "Spike when above factor x the day's 3rd-highest.", 1),
        "min_kwh": Param(Decimal("0.5"), "Intervals below this energy are never spikes."),
    },
    RuleType.ZERO_WITH_VOLTAGE: {
        "min_intervals": Param(8, "Consecutive zero intervals needed.", 1),
        "min_voltage": Param(Decimal("100"), "Voltage (V) on any phase that counts as present."),
    },
    RuleType.NEGATIVE: {},
    RuleType.SUM_CHECK_TOU: {
        "tolerance_kwh": Param(Decimal("0.01"), "Allowed |T1+T2+T3+T4 - total| (kWh)."),
    },
    RuleType.LP_VS_BILLING: {
        "tolerance_kwh": Param(Decimal("0.1"), "Allowed absolute difference (kWh)."),
        "tolerance_pct": Param(Decimal("1"), "Allowed difference (% of the billing delta)."),
    },
    RuleType.HIGH_LOW_USAGE: {
        "weeks": Param(4, "Like days (weekday or weekend) are taken from this many weeks.", 1),
        "min_like_days": Param(2, "Compare only with at least this many like days.", 1),
        "high_pct": Param(Decimal("100"), "High when above the average by this %."),
        "low_pct": Param(Decimal("60"), "Low when below the average by this %."),
        "min_kwh": Param(Decimal("1"), "Like-day averages below this (kWh) are not compared."),
    },
    RuleType.DEMAND_OVER_SANCTIONED: {
        "percent": Param(Decimal("100"), "Demand above this % of the sanctioned load."),
    },
    RuleType.MDI_OVER_LIMIT: {
        "limit_kw": Param(Decimal("0"), "MDI above this (kW); 0: the sanctioned load."),
        "percent": Param(Decimal("100"), "With limit 0: above this % of the sanctioned load."),
    },
    RuleType.TIME_TOLERANCE: {
        "minutes": Param(10, "Meter clock vs the MDC's read time beyond this many minutes.", 1),
    },
    RuleType.INACTIVE_ADVANCING: {
        "min_kwh": Param(Decimal("0.01"), "Energy above this (kWh) counts as advancing."),
    },
    RuleType.RELAY_OPEN_USAGE: {
        "min_kwh": Param(Decimal("0.01"), "Energy above this (kWh) counts as usage."),
    },
}


def parameters_effective(rule_type: str, overrides: dict | None) -> dict[str, Decimal | int]:
    """The rule's parameters: defaults of its type, replaced by the rule's own values."""
    params = RULE_PARAMETERS[rule_type]
    values: dict[str, Decimal | int] = {name: p.default for name, p in params.items()}
    for name, raw in (overrides or {}).items():
        kind = type(params[name].default)
        values[name] = kind(str(raw))
    return values


def parameters_check(rule_type: str, overrides: dict | None) -> dict[str, str]:
    """Validate a rule's parameters; returns them as text (JSON keeps decimals exact)."""
    if rule_type not in RULE_PARAMETERS:
        raise ValidationError({"rule_type": f"Unknown rule type {rule_type!r}."})
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise ValidationError({"parameters": "Parameters must be an object of name: value."})
    params = RULE_PARAMETERS[rule_type]
    errors, clean = [], {}
    for name, raw in overrides.items():
        if name not in params:
            allowed = ", ".join(sorted(params)) or "none"
            errors.append(f"{name}: not a parameter of this rule type (allowed: {allowed}).")
            continue
        kind = type(params[name].default)
        try:
            value = kind(str(raw))
        except (InvalidOperation, ValueError):
            errors.append(f"{name}: {raw!r} is not a {'whole ' if kind is int else ''}number.")
            continue
        if value < params[name].minimum:
            errors.append(f"{name}: must be at least {params[name].minimum}.")
            continue
        clean[name] = str(value)
    if errors:
        raise ValidationError({"parameters": errors})
    return clean
