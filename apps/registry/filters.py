"""One FilterSet per model: the list pages and the API filter the same way."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apps.core.filters import CodeChoiceFilter, node_filter
from apps.registry.choices import (
    ActivationStatus,
    ConnectionStatus,
    DeviceType,
    MeterType,
    Phase,
    ProfileHint,
    RelayState,
    Transport,
    UdilProfile,
)
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Mdc,
    Meter,
    Subdivision,
    Transformer,
)

_DISCO = "transformer__feeder__subdivision__division__circle__disco"
_CIRCLE = "transformer__feeder__subdivision__division__circle"
_DIVISION = "transformer__feeder__subdivision__division"
_SUBDIVISION = "transformer__feeder__subdivision"
_FEEDER = "transformer__feeder"


_NODE_PATHS = {
    "disco": _DISCO,
    "circle": _CIRCLE,
    "division": _DIVISION,
    "subdivision": _SUBDIVISION,
    "feeder": _FEEDER,
    "transformer": "transformer",
}


@extend_schema_field(OpenApiTypes.INT)
class NodeFilter(django_filters.ModelChoiceFilter):
    """A hierarchy node by id (the API schema says so: the id is an integer)."""


def _node_filter(model, label: str, *, select: bool) -> NodeFilter:
    # Levels with many nodes take the node's id in a text box: a select of thousands of
    # transformers would weigh down every page.
    widget = None if select else forms.TextInput(attrs={"placeholder": "id"})
    return NodeFilter(
        queryset=model.objects.all(), method="filter_node", label=label, widget=widget
    )


class MeterScopeFilterSet(django_filters.FilterSet):
    """The filters of every table whose rows name meters (warehouse data sets, command
    devices): MDC by code, device id prefix and hierarchy node, with the same names and meaning
    as on the meter list. Subclasses say where the table keeps the device id and the MDC."""

    scope_device_field = "global_device_id"
    scope_mdc_field = "mdc_id"

    mdc_code = django_filters.CharFilter(method="filter_mdc_code", label="MDC code")
    device_prefix = django_filters.CharFilter(
        method="filter_device_prefix", label="Device id starts with"
    )
    disco = _node_filter(Disco, "DISCO", select=True)
    circle = _node_filter(Circle, "Circle", select=True)
    division = _node_filter(Division, "Division", select=True)
    subdivision = _node_filter(Subdivision, "Subdivision id", select=False)
    feeder = _node_filter(Feeder, "Feeder id", select=False)
    transformer = _node_filter(Transformer, "Transformer id", select=False)

    def filter_mdc_code(self, queryset, name, value):
        mdcs = Mdc.objects.filter(code__iexact=value.strip()).values("pk")
        return queryset.filter(**{f"{self.scope_mdc_field}__in": mdcs})

    def filter_device_prefix(self, queryset, name, value):
        return queryset.filter(**{f"{self.scope_device_field}__startswith": value.strip()})

    def filter_node(self, queryset, name, value):
        meters = Meter.objects.filter(**{_NODE_PATHS[name]: value}).values("global_device_id")
        return queryset.filter(**{f"{self.scope_device_field}__in": meters})


class MdcFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    transport = django_filters.ChoiceFilter(choices=Transport.choices)
    udil_profile = django_filters.ChoiceFilter(choices=UdilProfile.choices, label="UDIL profile")
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Mdc
        fields = ["search", "transport", "udil_profile", "enabled"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value) | Q(name__icontains=value) | Q(vendor__icontains=value)
        )


class MeterFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Search", help_text="msn or global device id"
    )
    mdc = CodeChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
    activation_status = django_filters.ChoiceFilter(choices=ActivationStatus.choices)
    device_type = django_filters.ChoiceFilter(choices=DeviceType.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    meter_type = django_filters.ChoiceFilter(choices=MeterType.choices)
    relay_state = django_filters.ChoiceFilter(choices=RelayState.choices)
    profile_hint = django_filters.ChoiceFilter(choices=ProfileHint.choices, label="Profile")
    disco = django_filters.ModelChoiceFilter(
        field_name=_DISCO, queryset=Disco.objects.all(), label="DISCO"
    )
    # each level narrows the next in the page (static/js/hierarchy-filter.js)
    circle = node_filter(
        field_name=_CIRCLE, queryset=Circle.objects.all(), label="Circle",
        parent="disco_id", parent_select="disco",
    )
    division = node_filter(
        field_name=_DIVISION, queryset=Division.objects.all(), label="Division",
        parent="circle_id", parent_select="circle",
    )
    subdivision = node_filter(
        field_name=_SUBDIVISION, queryset=Subdivision.objects.all(), label="Subdivision",
        parent="division_id", parent_select="division",
    )
    feeder = node_filter(
        field_name=_FEEDER, queryset=Feeder.objects.all(), label="Feeder",
        parent="subdivision_id", parent_select="subdivision",
    )
    transformer = node_filter(
        field_name="transformer", queryset=Transformer.objects.all(), label="Transformer",
        parent="feeder_id", parent_select="feeder",
    )
    consumer = django_filters.CharFilter(
        field_name="consumer__reference_no", lookup_expr="iexact", label="Consumer reference"
    )
    mdc_code = django_filters.CharFilter(
        field_name="mdc__code", lookup_expr="iexact", label="MDC code"
    )
    device_prefix = django_filters.CharFilter(
        field_name="global_device_id", lookup_expr="startswith", label="Device id starts with"
    )

    class Meta:
        model = Meter
        fields = [
            "search",
            "mdc",
            "activation_status",
            "device_type",
            "phase",
            "meter_type",
            "relay_state",
            "profile_hint",
            "disco",
            "circle",
            "division",
            "subdivision",
            "feeder",
            "transformer",
            "consumer",
            "mdc_code",
            "device_prefix",
        ]

    def filter_search(self, queryset, name, value):
        condition = Q(global_device_id__icontains=value)
        if value.isascii() and value.isdigit() and len(value) <= 18:  # "²".isdigit() is True
            condition |= Q(msn=int(value)) if len(value) > 6 else Q(msn__startswith=value)
        return queryset.filter(condition)


class ConsumerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    tariff = django_filters.CharFilter(lookup_expr="iexact")
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    connection_status = django_filters.ChoiceFilter(choices=ConnectionStatus.choices)

    class Meta:
        model = Consumer
        fields = ["search", "tariff", "phase", "connection_status"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(reference_no__icontains=value)
            | Q(name__icontains=value)
            | Q(address__icontains=value)
        )


class _NodeFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class DiscoFilter(_NodeFilter):
    class Meta:
        model = Disco
        fields = ["search"]


class CircleFilter(_NodeFilter):
    class Meta:
        model = Circle
        fields = ["search", "disco"]


class DivisionFilter(_NodeFilter):
    class Meta:
        model = Division
        fields = ["search", "circle"]


class SubdivisionFilter(_NodeFilter):
    class Meta:
        model = Subdivision
        fields = ["search", "division"]


class FeederFilter(_NodeFilter):
    class Meta:
        model = Feeder
        fields = ["search", "subdivision"]


class TransformerFilter(_NodeFilter):
    class Meta:
        model = Transformer
        fields = ["search", "feeder"]
