"""A rule set for every meter with one rule of each type at its default parameters, so that
validation works out of the box; administrators change parameters or add narrower rule sets."""

from django.db import migrations

DEFAULT_RULES = [
    ("gap", "Missing intervals", "medium"),
    ("rollback", "Register rollback", "high"),
    ("spike", "Spike", "medium"),
    ("zero_with_voltage", "Zero consumption with voltage", "high"),
    ("negative", "Negative consumption", "high"),
    ("sum_check_tou", "T1+T2+T3+T4 = total", "low"),
    ("lp_vs_billing", "Load profile day = billing delta", "medium"),
]


def create(apps, schema_editor):
    RuleSet = apps.get_model("vee", "RuleSet")
    Rule = apps.get_model("vee", "Rule")
    rule_set, _ = RuleSet.objects.get_or_create(
        name="All meters", defaults={"description": "Default rules for every meter."}
    )
    for rule_type, name, severity in DEFAULT_RULES:
        Rule.objects.get_or_create(
            rule_set=rule_set,
            name=name,
            defaults={"rule_type": rule_type, "severity": severity, "parameters": {}},
        )


def remove(apps, schema_editor):
    apps.get_model("vee", "RuleSet").objects.filter(name="All meters").delete()


class Migration(migrations.Migration):
    dependencies = [("vee", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
