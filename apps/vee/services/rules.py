"""Rules and rule sets: the default rule set, and parameter changes (validated, audited)."""

from __future__ import annotations

from django.db import transaction

from apps.audit.services import audit_record
from apps.vee.models import Rule, RuleSet
from apps.vee.rule_types import parameters_check

DEFAULT_RULE_SET = "All meters"
#: (rule type, name, severity) of the default rule set (also created by migration 0002).
DEFAULT_RULES = [
    ("gap", "Missing intervals", "medium"),
    ("rollback", "Register rollback", "high"),
    ("spike", "Spike", "medium"),
    ("zero_with_voltage", "Zero consumption with voltage", "high"),
    ("negative", "Negative consumption", "high"),
    ("sum_check_tou", "T1+T2+T3+T4 = total", "low"),
    ("lp_vs_billing", "Load profile day = billing delta", "medium"),
    # added by migration 0003
    ("high_low_usage", "Daily usage vs like days", "low"),
    ("demand_over_sanctioned", "Demand above sanctioned load", "medium"),
    ("mdi_over_limit", "MDI above sanctioned load", "medium"),
    ("time_tolerance", "Meter clock tolerance", "low"),
    ("inactive_advancing", "Inactive meter advancing", "high"),
    ("relay_open_usage", "Usage with relay open", "high"),
]


def rule_set_default_ensure(*, actor=None) -> RuleSet:
    """The rule set for every meter with one rule of each type at its defaults (kept as it is
    when it exists: administrators may have changed it)."""
    with transaction.atomic():
        rule_set, created = RuleSet.objects.get_or_create(
            name=DEFAULT_RULE_SET, defaults={"description": "Default rules for every meter."}
        )
        if created:
            Rule.objects.bulk_create(
                [
                    Rule(rule_set=rule_set, rule_type=kind, name=name, severity=severity)
                    for kind, name, severity in DEFAULT_RULES
                ]
            )
            audit_record(
                actor=actor,
                action="vee.rule_set_create",
                target=rule_set,
                summary=f"Default rule set {rule_set.name} created.",
            )
    return rule_set


def rule_update(*, rule: Rule, actor, parameters: dict | None = None, **fields) -> Rule:
    """Change a rule's parameters (checked against its type) or its severity/enabled."""
    with transaction.atomic():
        before = {"parameters": rule.parameters, **{k: getattr(rule, k) for k in fields}}
        if parameters is not None:
            rule.parameters = parameters_check(rule.rule_type, parameters)
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.full_clean()
        rule.save()
        audit_record(
            actor=actor,
            action="vee.rule_update",
            target=rule,
            summary=f"Rule {rule} changed.",
            detail={"before": before, "parameters": rule.parameters},
        )
    return rule
