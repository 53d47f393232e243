"""One FilterSet per model, shared by the list pages and the API."""

import django_filters

from apps.warehouse.choices import DataSetCode
from apps.warehouse.models import (
    BillingReading,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)

DEVICE_AND_MDC = ["global_device_id", "mdc_id"]


def _time_from(field_name: str) -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="gte", label="From")


def _time_until(field_name: str) -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="lt", label="Until")


class DeviceFilterSet(django_filters.FilterSet):
    global_device_id = django_filters.CharFilter(label="Global device id")
    mdc_id = django_filters.NumberFilter(label="MDC id")


class InstantaneousReadingFilter(DeviceFilterSet):
    start = _time_from("meter_datetime")
    end = _time_until("meter_datetime")

    class Meta:
        model = InstantaneousReading
        fields = DEVICE_AND_MDC


class BillingReadingFilter(DeviceFilterSet):
    start = _time_from("meter_datetime")
    end = _time_until("meter_datetime")

    class Meta:
        model = BillingReading
        fields = DEVICE_AND_MDC


class MonthlyBillingReadingFilter(DeviceFilterSet):
    start = _time_from("meter_datetime")
    end = _time_until("meter_datetime")

    class Meta:
        model = MonthlyBillingReading
        fields = DEVICE_AND_MDC


class LoadProfileReadingFilter(DeviceFilterSet):
    start = _time_from("meter_datetime")
    end = _time_until("meter_datetime")
    channel_id = django_filters.NumberFilter(label="Channel")

    class Meta:
        model = LoadProfileReading
        fields = [*DEVICE_AND_MDC, "channel_id"]


class MeterEventFilter(DeviceFilterSet):
    start = _time_from("event_datetime")
    end = _time_until("event_datetime")
    event_code = django_filters.NumberFilter(label="Event code")

    class Meta:
        model = MeterEvent
        fields = [*DEVICE_AND_MDC, "event_code"]


class MeterVisualsFilter(DeviceFilterSet):
    class Meta:
        model = MeterVisuals
        fields = DEVICE_AND_MDC


class QuarantinedRowFilter(django_filters.FilterSet):
    mdc_id = django_filters.NumberFilter(label="MDC id")
    dataset_code = django_filters.ChoiceFilter(choices=DataSetCode.choices, label="Data set")
    search = django_filters.CharFilter(field_name="reason", lookup_expr="icontains", label="Reason")
    at_after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label="From")
    at_before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label="Until")
    resolved = django_filters.BooleanFilter()
    source = django_filters.CharFilter(lookup_expr="istartswith")

    class Meta:
        model = QuarantinedRow
        fields = ["mdc_id", "dataset_code", "kind", "resolved", "source"]
