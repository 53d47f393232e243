"""Rule types for usage vs history, demand and MDI, clock tolerance, inactive meters and open
relays, and the estimation methods from recorded demand and between registers and load profile;
the default rule set gets one rule of each new type."""

from django.db import migrations, models

NEW_RULES = [
    ("high_low_usage", "Daily usage vs like days", "low"),
    ("demand_over_sanctioned", "Demand above sanctioned load", "medium"),
    ("mdi_over_limit", "MDI above sanctioned load", "medium"),
    ("time_tolerance", "Meter clock tolerance", "low"),
    ("inactive_advancing", "Inactive meter advancing", "high"),
    ("relay_open_usage", "Usage with relay open", "high"),
]


def create(apps, schema_editor):
    RuleSet = apps.get_model("vee", "RuleSet")
    Rule = apps.get_model("vee", "Rule")
    rule_set = RuleSet.objects.filter(name="All meters").first()
    if rule_set is None:
        return
    for rule_type, name, severity in NEW_RULES:
        Rule.objects.get_or_create(
            rule_set=rule_set,
            name=name,
            defaults={"rule_type": rule_type, "severity": severity, "parameters": {}},
        )


def remove(apps, schema_editor):
    apps.get_model("vee", "Rule").objects.filter(
        rule_set__name="All meters", rule_type__in=[kind for kind, _n, _s in NEW_RULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("vee", "0002_default_rules")]

    operations = [
        migrations.AlterField(
            model_name="rule",
            name="rule_type",
            field=models.CharField(
                choices=[
                    ("gap", "Missing intervals (gap)"),
                    ("rollback", "Register rollback"),
                    ("spike", "Spike vs 3rd-highest of the day"),
                    ("zero_with_voltage", "Zero consumption while voltage present"),
                    ("negative", "Negative consumption"),
                    ("sum_check_tou", "Sum check T1+T2+T3+T4 vs total"),
                    ("lp_vs_billing", "Load profile day vs billing register delta"),
                    ("high_low_usage", "Daily usage high or low vs like days"),
                    ("demand_over_sanctioned", "Demand above the sanctioned load"),
                    ("mdi_over_limit", "MDI above a limit"),
                    ("time_tolerance", "Meter clock vs MDC read time"),
                    ("inactive_advancing", "Inactive or disconnected meter advancing"),
                    ("relay_open_usage", "Usage while the relay is open"),
                ],
                max_length=30,
            ),
        ),
        migrations.AlterField(
            model_name="valueversion",
            name="method",
            field=models.CharField(
                choices=[
                    ("original", "Original reading"),
                    ("late_actual", "Actual reading arrived later"),
                    ("linear", "Linear interpolation"),
                    ("flat_fill", "Flat fill from one side"),
                    ("like_day", "Like-day average"),
                    ("demand", "Recorded demand x interval"),
                    ("from_load_profile", "Register from load profile"),
                    ("from_registers", "Load profile from daily registers"),
                    ("typed", "Typed by a person"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(create, remove),
    ]
