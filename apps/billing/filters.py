"""One FilterSet per model, for the pages and the API alike."""

from __future__ import annotations

import django_filters

from apps.billing.choices import Discrepancy
from apps.billing.models import (
    BillingAccount,
    BillingRun,
    Determinant,
    MirrorBill,
    ReadingCycle,
    Tariff,
)


class BillingRunFilter(django_filters.FilterSet):
    batch = django_filters.CharFilter(field_name="cycle__batch", label="Batch")

    class Meta:
        model = BillingRun
        fields = ["status", "kind", "batch"]


class ReadingCycleFilter(django_filters.FilterSet):
    reading_from = django_filters.DateFilter(field_name="reading_date", lookup_expr="gte")
    reading_until = django_filters.DateFilter(field_name="reading_date", lookup_expr="lte")

    class Meta:
        model = ReadingCycle
        fields = ["batch", "source"]


class BillingAccountFilter(django_filters.FilterSet):
    reference_no = django_filters.CharFilter(
        field_name="consumer__reference_no", lookup_expr="icontains", label="Reference"
    )

    class Meta:
        model = BillingAccount
        fields = ["reference_no", "reading_batch", "status", "tariff"]


class TariffFilter(django_filters.FilterSet):
    class Meta:
        model = Tariff
        fields = ["category", "time_of_use"]


class DeterminantFilter(django_filters.FilterSet):
    reference_no = django_filters.CharFilter(lookup_expr="icontains", label="Reference")
    subdivision = django_filters.NumberFilter(field_name="subdivision_id", label="Subdivision id")
    feeder = django_filters.NumberFilter(field_name="feeder_id", label="Feeder id")
    discrepancy = django_filters.ChoiceFilter(
        choices=Discrepancy.choices, method="with_discrepancy", label="Discrepancy"
    )
    any_discrepancy = django_filters.BooleanFilter(
        method="with_any_discrepancy", label="Any discrepancy"
    )

    class Meta:
        model = Determinant
        fields = ["reference_no", "batch", "subdivision", "feeder", "vee_flag", "reading_mode"]

    def with_discrepancy(self, queryset, name, value):
        return queryset.filter(discrepancies__contains=[value]) if value else queryset

    def with_any_discrepancy(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(discrepancies=[]) if value else queryset.filter(discrepancies=[])


class MirrorBillFilter(django_filters.FilterSet):
    reference_no = django_filters.CharFilter(
        field_name="consumer__reference_no", lookup_expr="icontains", label="Reference"
    )

    class Meta:
        model = MirrorBill
        fields = ["reference_no", "month", "defaulter"]
