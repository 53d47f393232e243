"""One FilterSet per model, shared by the pages and the API."""

from __future__ import annotations

import django_filters

from apps.core.filters import CodeChoiceFilter, time_from, time_until
from apps.ingestion.choices import DeliverySource, DeliveryState, RunOutcome, RunTrigger
from apps.ingestion.models import FileDelivery, IngestionRun, Watermark
from apps.registry.choices import Dataset
from apps.registry.models import Mdc


class IngestionRunFilter(django_filters.FilterSet):
    mdc = CodeChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
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
    mdc = CodeChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
    mdc_code = django_filters.CharFilter(
        field_name="mdc__code", lookup_expr="iexact", label="MDC code"
    )
    dataset = django_filters.ChoiceFilter(choices=Dataset.choices)

    class Meta:
        model = Watermark
        fields = ["mdc", "dataset"]


class FileDeliveryFilter(django_filters.FilterSet):
    mdc = CodeChoiceFilter(queryset=Mdc.objects.filter(transport="file"), label="MDC")
    mdc_code = django_filters.CharFilter(
        field_name="mdc__code", lookup_expr="iexact", label="MDC code"
    )
    dataset = django_filters.ChoiceFilter(choices=Dataset.choices)
    state = django_filters.ChoiceFilter(choices=DeliveryState.choices)
    source = django_filters.ChoiceFilter(choices=DeliverySource.choices)
    received_after = time_from("received_at", label="Received from")
    received_before = time_until("received_at", label="Received before")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    sha256 = django_filters.CharFilter(field_name="sha256", lookup_expr="istartswith")

    class Meta:
        model = FileDelivery
        fields = ["mdc", "dataset", "state", "source"]
