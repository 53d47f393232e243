"""One FilterSet per model, shared by the pages and the API."""

from __future__ import annotations

import django_filters

from apps.core.filters import time_from, time_until
from apps.ingestion.choices import RunOutcome, RunTrigger
from apps.ingestion.models import IngestionRun, Watermark
from apps.registry.choices import Dataset
from apps.registry.models import Mdc


class IngestionRunFilter(django_filters.FilterSet):
    mdc = django_filters.ModelChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
    mdc_code = django_filters.CharFilter(
        field_name="mdc__code", lookup_expr="iexact", label="MDC code"
    )
    dataset = django_filters.ChoiceFilter(choices=Dataset.choices)
    outcome = django_filters.ChoiceFilter(choices=RunOutcome.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)
    date = django_filters.DateFilter(field_name="started_at", lookup_expr="date", label="Date")
    started_after = time_from("started_at", label="Started from")
    started_before = time_until("started_at", label="Started before")
    search = django_filters.CharFilter(field_name="error", lookup_expr="icontains", label="Error")

    class Meta:
        model = IngestionRun
        fields = ["mdc", "dataset", "outcome", "trigger"]


class WatermarkFilter(django_filters.FilterSet):
    mdc = django_filters.ModelChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
    mdc_code = django_filters.CharFilter(
        field_name="mdc__code", lookup_expr="iexact", label="MDC code"
    )
    dataset = django_filters.ChoiceFilter(choices=Dataset.choices)

    class Meta:
        model = Watermark
        fields = ["mdc", "dataset"]
