import django_filters
from django.db.models import Q

from apps.commands.choices import Command, Outcome, RequestState, StatusLevel
from apps.commands.models import CommandDevice, CommandRequest
from apps.core.filters import time_from, time_until
from apps.registry.filters import MeterScopeFilterSet


class CommandRequestFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="search_filter", label="Search")
    command = django_filters.ChoiceFilter(choices=Command.choices)
    state = django_filters.ChoiceFilter(choices=RequestState.choices)
    requested_by_name = django_filters.CharFilter(lookup_expr="iexact", label="Requested by")
    created_after = time_from("created_at")
    created_before = time_until("created_at")
    approval_required = django_filters.BooleanFilter()

    class Meta:
        model = CommandRequest
        fields = ["command", "state", "requested_by_name", "approval_required"]

    def search_filter(self, queryset, name, value):
        """Request number, a transactionid, a device id, or text of the note."""
        value = value.strip()
        q = Q(note__icontains=value) | Q(transactions__transactionid=value)
        q |= Q(devices__global_device_id=value)
        if value.lstrip("#").isdigit():
            q |= Q(pk=int(value.lstrip("#")))
        return queryset.filter(pk__in=CommandRequest.objects.filter(q).values("pk"))


class CommandDeviceFilter(MeterScopeFilterSet):
    scope_mdc_field = "transaction__mdc_id"

    search = django_filters.CharFilter(method="search_filter", label="Device id or msn")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    status_level = django_filters.ChoiceFilter(choices=StatusLevel.choices)
    mdc = django_filters.CharFilter(field_name="transaction__mdc__code", label="MDC code")
    transactionid = django_filters.CharFilter(field_name="transaction__transactionid")

    class Meta:
        model = CommandDevice
        fields = ["outcome", "status_level"]

    def search_filter(self, queryset, name, value):
        value = value.strip()
        q = Q(global_device_id__iexact=value)
        if value.isdigit():
            q |= Q(msn=int(value))
        return queryset.filter(q)
