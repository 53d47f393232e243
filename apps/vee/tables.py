"""Tables of the VEE pages (the API and CSV give every field)."""

import django_tables2 as tables

from apps.core.tables import BadgeColumn, MdmTable
from apps.vee.choices import ExceptionStatus, Severity, VersionKind
from apps.vee.models import Rule, ValidationException, ValueVersion

ATTRS = {"class": "table table-sm table-hover"}


class ValidationExceptionTable(MdmTable):
    id = tables.Column(linkify=True, verbose_name="#")
    rule = tables.Column(accessor="rule__name", verbose_name="Rule", orderable=False)
    meter = tables.Column(accessor="meter__global_device_id", verbose_name="Meter")
    mdc = tables.Column(accessor="meter__mdc__code", verbose_name="MDC", orderable=False)
    severity = BadgeColumn(Severity)
    status = BadgeColumn(ExceptionStatus)
    values = tables.Column(orderable=False)

    class Meta:
        model = ValidationException
        fields = (
            "id", "rule", "meter", "mdc", "period_start", "period_end", "severity", "status",
            "values", "created_at",
        )  # fmt: skip
        attrs = ATTRS
        order_by = ("-period_start",)

    def render_values(self, value):
        return ", ".join(f"{k}: {v}" for k, v in (value or {}).items() if v is not None)[:160]


class RuleTable(MdmTable):
    rule_set = tables.Column(accessor="rule_set__name", verbose_name="Rule set")
    severity = BadgeColumn(Severity)

    class Meta:
        model = Rule
        fields = ("rule_set", "name", "rule_type", "parameters", "severity", "enabled")
        attrs = ATTRS
        orderable = False


class ValueVersionTable(MdmTable):
    kind = BadgeColumn(VersionKind)

    class Meta:
        model = ValueVersion
        fields = (
            "meter_datetime", "version", "kind", "value", "method", "inputs", "reason",
            "actor_name", "created_at", "is_current",
        )  # fmt: skip
        attrs = ATTRS
        orderable = False
