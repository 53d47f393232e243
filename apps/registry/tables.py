"""List page tables. Columns outside ``Meta.default_columns`` are hidden on the page but kept
in CSV exports."""

from __future__ import annotations

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse

from apps.core.tables import BadgeColumn, MdmTable
from apps.registry.choices import ActivationStatus, ConnectionStatus, RelayState
from apps.registry.field_lists import METER_FIELDS, METER_IDENTITY
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

_ATTRS = {"class": "table table-sm table-hover"}


def _consumer_url(pk) -> str:
    return reverse(settings.REGISTRY_CONSUMER_PAGE or "registry:consumer-edit", args=[pk])


class RegistryTable(MdmTable):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = getattr(getattr(type(self), "Meta", None), "default_columns", None)
        if default:
            for column in self.columns.iterall():
                if column.name not in default:
                    self.columns.hide(column.name)


class MdcTable(RegistryTable):
    code = tables.Column(linkify=True)
    base_url = tables.Column(accessor="base_url_shown", order_by="base_url")
    meter_count = tables.Column(verbose_name="Meters", orderable=True)

    class Meta:
        model = Mdc
        fields = (
            "code",
            "name",
            "vendor",
            "udil_profile",
            "transport",
            "data_format",
            "base_url",
            "batch_size",
            "lp_energy_kind",
            "enabled",
        )
        sequence = (*fields, "meter_count")
        default_columns = (
            "code",
            "name",
            "vendor",
            "udil_profile",
            "transport",
            "lp_energy_kind",
            "enabled",
        )
        default_columns = (*default_columns, "meter_count")
        attrs = _ATTRS


class MeterTable(RegistryTable):
    global_device_id = tables.Column(linkify=True)
    mdc = tables.Column(
        accessor="mdc__code",
        verbose_name="MDC",
        order_by="mdc__code",
        linkify=lambda record: reverse("registry:mdc-detail", args=[record.mdc_id]),
    )
    activation_status = BadgeColumn(ActivationStatus)
    relay_state = BadgeColumn(RelayState)
    transformer = tables.Column(
        accessor="transformer__code",
        order_by="transformer__code",
        linkify=lambda record: reverse(
            "registry:node-detail", args=["transformer", record.transformer_id]
        ),
    )
    consumer = tables.Column(
        accessor="consumer__reference_no",
        order_by="consumer__reference_no",
        linkify=lambda record: _consumer_url(record.consumer_id),
    )

    class Meta:
        model = Meter
        # the registration's fields (declared once in field_lists), then the meter's state
        fields = (*METER_IDENTITY, *METER_FIELDS, "relay_state", "load_limit_kw", "updated_at")
        sequence = fields
        default_columns = (
            "global_device_id",
            "msn",
            "mdc",
            "device_type",
            "phase",
            "activation_status",
            "relay_state",
            "transformer",
            "consumer",
            "profile_hint",
        )
        attrs = _ATTRS


class ConsumerTable(RegistryTable):
    # The consumer's page (its meters, work orders, readings) lives in a higher app, named by
    # settings.REGISTRY_CONSUMER_PAGE; without one, the edit form.
    reference_no = tables.Column(
        linkify=lambda record: reverse(
            settings.REGISTRY_CONSUMER_PAGE or "registry:consumer-edit",
            args=[record.pk],
        )
    )
    connection_status = BadgeColumn(ConnectionStatus)
    meter_count = tables.Column(verbose_name="Meters")

    class Meta:
        model = Consumer
        fields = (
            "reference_no",
            "name",
            "address",
            "tariff",
            "sanctioned_load_kw",
            "phase",
            "connection_status",
        )
        sequence = (*fields, "meter_count")
        default_columns = (
            "reference_no",
            "name",
            "tariff",
            "sanctioned_load_kw",
            "phase",
            "connection_status",
            "meter_count",
        )
        attrs = _ATTRS


class _NodeTable(RegistryTable):
    code = tables.Column(linkify=True)
    meter_count = tables.Column(verbose_name="Meters")


class DiscoTable(_NodeTable):
    class Meta:
        model = Disco
        fields = ("code", "name", "meter_count")
        attrs = _ATTRS


class CircleTable(_NodeTable):
    disco = tables.Column(linkify=True)

    class Meta:
        model = Circle
        fields = ("disco", "code", "name", "meter_count")
        attrs = _ATTRS


class DivisionTable(_NodeTable):
    circle = tables.Column(linkify=True)

    class Meta:
        model = Division
        fields = ("circle", "code", "name", "meter_count")
        attrs = _ATTRS


class SubdivisionTable(_NodeTable):
    division = tables.Column(linkify=True)

    class Meta:
        model = Subdivision
        fields = ("division", "code", "name", "meter_count")
        attrs = _ATTRS


class FeederTable(_NodeTable):
    subdivision = tables.Column(linkify=True)

    class Meta:
        model = Feeder
        fields = ("subdivision", "code", "name", "meter_count")
        attrs = _ATTRS


class TransformerTable(_NodeTable):
    feeder = tables.Column(linkify=True)

    class Meta:
        model = Transformer
        fields = ("feeder", "code", "name", "capacity_kva", "meter_count")
        attrs = _ATTRS
