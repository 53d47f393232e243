"""One FilterSet for the work-order page and API: type, state, step, subdivision, age."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import Q
from django.utils import timezone

from apps.workflows.choices import WorkOrderState
from apps.workflows.models import WorkOrder
from apps.workflows.procedures import ProcedureCode, step_keys


class WorkOrderFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="search_filter", label="Consumer, meter or #")
    procedure = django_filters.ChoiceFilter(choices=ProcedureCode.choices, label="Type")
    state = django_filters.ChoiceFilter(choices=WorkOrderState.choices)
    current_step = django_filters.ChoiceFilter(choices=step_keys, label="Step")
    subdivision = django_filters.NumberFilter(field_name="subdivision_id", label="Subdivision id")
    subdivision_code = django_filters.CharFilter(
        field_name="subdivision__code", lookup_expr="iexact", label="Subdivision code"
    )
    older_than_days = django_filters.NumberFilter(
        method="older_filter", label="Older than (days)", min_value=0, max_value=36500
    )
    newer_than_days = django_filters.NumberFilter(
        method="newer_filter", label="Newer than (days)", min_value=0, max_value=36500
    )

    class Meta:
        model = WorkOrder
        fields = ["procedure", "state", "current_step"]

    def search_filter(self, queryset, name, value):
        value = value.strip()
        q = Q(consumer__reference_no__iexact=value) | Q(meter__global_device_id__iexact=value)
        number = value.lstrip("#")
        if number.isascii() and number.isdigit() and len(number) < 18:
            q |= Q(pk=int(number))
        return queryset.filter(q)

    def older_filter(self, queryset, name, value):
        return queryset.filter(created_at__lt=timezone.now() - dt.timedelta(days=float(value)))

    def newer_filter(self, queryset, name, value):
        return queryset.filter(created_at__gte=timezone.now() - dt.timedelta(days=float(value)))
