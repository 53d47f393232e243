"""One FilterSet per model, shared by the list pages and the API.

Data sets filter like the meter list (MDC by code, device id prefix, hierarchy node; see
``MeterScopeFilterSet``) and by meter time in Pakistan time (``apps.core.filters``)."""

import django_filters

from apps.core.filters import time_from, time_until
from apps.registry.filters import MeterScopeFilterSet
from apps.registry.models import Mdc
from apps.udil.datasets import EVENT_CODES
from apps.warehouse.choices import DataSetCode
from apps.warehouse.models import (
    BillingReading,
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)

DEVICE_AND_MDC = ["global_device_id", "mdc_id"]


_time_from, _time_until = time_from, time_until


class DeviceFilterSet(MeterScopeFilterSet):
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
    event = django_filters.CharFilter(method="filter_event", label="Event (name or code)")

    class Meta:
        model = MeterEvent
        fields = [*DEVICE_AND_MDC, "event_code", "event"]

    def filter_event(self, queryset, name, value):
        """``power fail`` finds the events whose UDIL name contains it; ``111`` the code."""
        text = value.strip()
        if text.isdigit() and len(text) < 10:
            return queryset.filter(event_code=int(text))
        codes = [code for code, label in EVENT_CODES.items() if text.lower() in label.lower()]
        return queryset.filter(event_code__in=codes)


class DeviceCommunicationHistoryFilter(DeviceFilterSet):
    start = _time_from("meter_datetime")
    end = _time_until("meter_datetime")
    communication_status = django_filters.ChoiceFilter(
        choices=[(1, "Successful"), (0, "Failure")], label="Communication"
    )

    class Meta:
        model = DeviceCommunicationHistory
        fields = [*DEVICE_AND_MDC, "communication_status"]


class MeterVisualsFilter(DeviceFilterSet):
    class Meta:
        model = MeterVisuals
        fields = DEVICE_AND_MDC


class QuarantinedRowFilter(django_filters.FilterSet):
    mdc_id = django_filters.NumberFilter(label="MDC id")
    mdc_code = django_filters.CharFilter(method="filter_mdc_code", label="MDC code")
    dataset_code = django_filters.ChoiceFilter(choices=DataSetCode.choices, label="Data set")
    search = django_filters.CharFilter(field_name="reason", lookup_expr="icontains", label="Reason")
    at_after = time_from("at")
    at_before = time_until("at")
    resolved = django_filters.BooleanFilter()
    source = django_filters.CharFilter(lookup_expr="istartswith")

    class Meta:
        model = QuarantinedRow
        fields = ["mdc_id", "dataset_code", "kind", "resolved", "source"]

    def filter_mdc_code(self, queryset, name, value):
        return queryset.filter(
            mdc_id__in=Mdc.objects.filter(code__iexact=value.strip()).values("pk")
        )
