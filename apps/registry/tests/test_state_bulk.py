"""meters_state_record: state confirmed by one transaction, for many meters, set-based."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEntry
from apps.registry import services
from apps.registry.models import Meter
from apps.registry.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=datetime.UTC)


def test_many_meters_in_one_update_and_one_audit_row(mdc, django_assert_max_num_queries):
    meters = MeterFactory.create_batch(200, mdc=mdc)
    keep = {"ip_port": {"value": {"primary_port": 1}, "transactionid": "old", "at": "x"}}
    Meter.objects.filter(pk=meters[0].pk).update(device_settings=keep)
    audits = AuditEntry.objects.count()
    with django_assert_max_num_queries(4):  # savepoint, UPDATE, audit INSERT, release
        count = services.meters_state_record(
            actor=None,
            meters=[m.pk for m in meters[:150]],
            transactionid="tx-bulk",
            at=AT,
            relay_state="disconnected",
            load_limit_kw=Decimal("2.5"),
            activation_status=0,
            settings={"load_shedding": {"start_datetime": "2025-03-01 00:00:00"}},
        )
    assert count == 150
    assert AuditEntry.objects.count() == audits + 1
    entry = AuditEntry.objects.latest("pk")
    assert entry.action == "registry.meters.state"
    assert entry.detail["meters"] == 150 and entry.detail["transactionid"] == "tx-bulk"
    first = Meter.objects.get(pk=meters[0].pk)
    assert (first.relay_state, first.load_limit_kw, first.activation_status) == (
        "disconnected",
        Decimal("2.500"),
        0,
    )
    assert first.device_settings == {
        **keep,
        "load_shedding": {
            "value": {"start_datetime": "2025-03-01 00:00:00"},
            "transactionid": "tx-bulk",
            "at": AT.isoformat(),
        },
    }
    untouched = Meter.objects.get(pk=meters[-1].pk)
    assert untouched.relay_state != "disconnected" and untouched.device_settings == {}


def test_same_format_as_the_single_meter_service(mdc):
    one, many = MeterFactory(mdc=mdc), MeterFactory(mdc=mdc)
    settings = {"ip_port": {"primary_ip_address": "10.0.0.1", "primary_port": 4059}}
    services.meter_state_record(
        actor=None, meter=one, transactionid="t", at=AT, relay_state="connected", settings=settings
    )
    services.meters_state_record(
        actor=None,
        meters=Meter.objects.filter(pk=many.pk),
        transactionid="t",
        at=AT,
        relay_state="connected",
        settings=settings,
    )
    one.refresh_from_db()
    many.refresh_from_db()
    assert one.device_settings == many.device_settings
    assert one.relay_state == many.relay_state == "connected"


def test_rejects_bad_input_and_does_nothing_without_changes(mdc):
    meter = MeterFactory(mdc=mdc)
    with pytest.raises(ValidationError):
        services.meters_state_record(
            actor=None, meters=[meter.pk], transactionid="t", at=AT, relay_state="half"
        )
    with pytest.raises(ValidationError):
        services.meters_state_record(
            actor=None, meters=[meter], transactionid="t", at=AT.replace(tzinfo=None)
        )
    assert services.meters_state_record(actor=None, meters=[meter], transactionid="t", at=AT) == 0
