"""One FilterSet per model, shared by the pages and the API (the queue's bulk actions act on
exactly what the exception filter selects)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import Q
from django.utils import timezone

from apps.core.filters import CodeChoiceFilter
from apps.registry.models import Mdc
from apps.vee.choices import ExceptionStatus, Method, RuleType, ScopeLevel, Severity, VersionKind
from apps.vee.models import Rule, RuleSet, ValidationException, ValidationRun, ValueVersion

_HIERARCHY = {
    ScopeLevel.DISCO: "meter__transformer__feeder__subdivision__division__circle__disco__code",
    ScopeLevel.CIRCLE: "meter__transformer__feeder__subdivision__division__circle__code",
    ScopeLevel.DIVISION: "meter__transformer__feeder__subdivision__division__code",
    ScopeLevel.SUBDIVISION: "meter__transformer__feeder__subdivision__code",
    ScopeLevel.FEEDER: "meter__transformer__feeder__code",
    ScopeLevel.TRANSFORMER: "meter__transformer__code",
}


class ValidationExceptionFilter(django_filters.FilterSet):
    rule = django_filters.ModelChoiceFilter(queryset=Rule.objects.all())
    rule_type = django_filters.ChoiceFilter(
        field_name="rule__rule_type", choices=RuleType.choices, label="Rule type"
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.MultipleChoiceFilter(choices=ExceptionStatus.choices)
    mdc = CodeChoiceFilter(field_name="meter__mdc", queryset=Mdc.objects.all(), label="MDC")
    global_device_id = django_filters.CharFilter(
        field_name="meter__global_device_id", label="Global device id"
    )
    hierarchy = django_filters.CharFilter(
        method="filter_hierarchy",
        label="Hierarchy code",
        help_text="A DISCO, circle, division, subdivision, feeder or transformer code.",
    )
    older_than_days = django_filters.NumberFilter(
        method="filter_older", label="Older than (days)", min_value=0, max_value=36500
    )
    newer_than_days = django_filters.NumberFilter(
        method="filter_newer", label="Newer than (days)", min_value=0, max_value=36500
    )
    period_from = django_filters.IsoDateTimeFilter(
        field_name="period_start", lookup_expr="gte", label="Period from"
    )
    period_until = django_filters.IsoDateTimeFilter(
        field_name="period_start", lookup_expr="lt", label="Period until"
    )

    class Meta:
        model = ValidationException
        fields = ["rule", "rule_type", "severity", "status", "mdc", "global_device_id"]

    def filter_hierarchy(self, queryset, name, value):
        if not value:
            return queryset
        match = Q()
        for path in _HIERARCHY.values():
            match |= Q(**{path: value})
        return queryset.filter(match)

    def _age(self, value) -> dt.datetime:
        return timezone.now() - dt.timedelta(days=float(value))

    def filter_older(self, queryset, name, value):
        return queryset if value is None else queryset.filter(created_at__lt=self._age(value))

    def filter_newer(self, queryset, name, value):
        return queryset if value is None else queryset.filter(created_at__gte=self._age(value))


class RuleFilter(django_filters.FilterSet):
    rule_type = django_filters.ChoiceFilter(choices=RuleType.choices)
    rule_set = django_filters.ModelChoiceFilter(queryset=RuleSet.objects.all())
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Rule
        fields = ["rule_type", "rule_set", "severity", "enabled"]


class ValueVersionFilter(django_filters.FilterSet):
    global_device_id = django_filters.CharFilter(
        field_name="meter__global_device_id", label="Global device id"
    )
    exception = django_filters.NumberFilter(field_name="exception_id")
    kind = django_filters.ChoiceFilter(choices=VersionKind.choices)
    method = django_filters.ChoiceFilter(choices=Method.choices)
    is_current = django_filters.BooleanFilter()
    start = django_filters.IsoDateTimeFilter(
        field_name="meter_datetime", lookup_expr="gte", label="From"
    )
    end = django_filters.IsoDateTimeFilter(
        field_name="meter_datetime", lookup_expr="lt", label="Until"
    )

    class Meta:
        model = ValueVersion
        fields = ["global_device_id", "exception", "kind", "method", "is_current"]


class ValidationRunFilter(django_filters.FilterSet):
    mdc = CodeChoiceFilter(queryset=Mdc.objects.all(), label="MDC")

    class Meta:
        model = ValidationRun
        fields = ["trigger", "mdc"]
