import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEntry
from apps.registry import selectors, services
from apps.registry.models import Meter
from apps.registry.tests.factories import (
    ConsumerFactory,
    MdcFactory,
    MeterFactory,
    TransformerFactory,
)

pytestmark = pytest.mark.django_db


def test_mdc_register_validates_and_audits_without_secrets(admin_user):
    mdc = services.mdc_register(
        actor=admin_user,
        code="vendor-a",
        name="Vendor A",
        base_url="https://mdc.example.pk/udil",
        username="mdm",
        password="p4ss-w0rd",
        auth_code="c0de-123",
        path_overrides={"events": "v2/events"},
        window_minutes={"load_profile": 720},
    )
    assert mdc.udil_profile == "2019"
    assert mdc.batch_size == 100
    assert mdc.key_lifetime_minutes == 30
    entry = AuditEntry.objects.get(action="registry.mdc.register")
    assert entry.actor == admin_user
    assert entry.detail["password"] == "(changed)"
    assert "p4ss-w0rd" not in str(entry.detail) and "c0de-123" not in str(entry.detail)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"window_minutes": {"nonsense": 10}}, "window_minutes"),
        ({"pull_intervals": {"events": 0}}, "pull_intervals"),
        ({"path_overrides": {"events": "http://evil/x"}}, "path_overrides"),
        ({"tabular_views": {"NOPE": "v"}}, "tabular_views"),
        ({"udil_profile": "3.2"}, "udil_profile"),  # a revision not implemented
        ({"base_url": ""}, "base_url"),
        ({"transport": "tabular"}, "tabular_database_url"),
        ({"code": "not a slug!"}, "code"),
    ],
)
def test_mdc_update_rejects_bad_settings(admin_user, mdc, changes, field):
    with pytest.raises(ValidationError) as info:
        services.mdc_update(actor=admin_user, mdc=mdc, **changes)
    assert field in info.value.message_dict


def test_mdc_update_keeps_secret_when_none_and_audits_change(admin_user, mdc):
    services.mdc_update(actor=admin_user, mdc=mdc, password=None, name="Renamed")
    mdc.refresh_from_db()
    assert mdc.password == "secret-pass"
    assert mdc.name == "Renamed"
    entry = AuditEntry.objects.get(action="registry.mdc.update")
    assert entry.detail == {"name": "Renamed"}


def test_mdc_register_duplicate_code_is_a_field_error(admin_user, mdc):
    with pytest.raises(ValidationError) as info:
        services.mdc_register(actor=admin_user, code="acme", name="x", base_url="http://x")
    assert "code" in info.value.message_dict


def test_meter_register_assigns_id_and_audits(admin_user, mdc):
    transformer = TransformerFactory()
    meter = services.meter_register(
        actor=admin_user, msn=4098562412, mdc=mdc, transformer=transformer, phase=3
    )
    assert meter.global_device_id.startswith("m")
    assert len(meter.global_device_id) == 9
    assert meter.phase == 3
    assert AuditEntry.objects.filter(
        action="registry.meter.register", target_id=str(meter.pk)
    ).exists()


def test_meter_register_rejects_duplicate_msn_and_bad_values(admin_user, mdc):
    services.meter_register(actor=admin_user, msn=1001, mdc=mdc)
    with pytest.raises(ValidationError) as info:
        services.meter_register(actor=admin_user, msn=1001, mdc=mdc)
    assert "msn" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.meter_register(actor=admin_user, msn=1002, mdc=mdc, mdi_reset_date=29)
    assert "mdi_reset_date" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.meter_register(actor=admin_user, msn=1003, mdc=mdc, relay_state="connected")
    assert "relay_state" in info.value.message_dict


def test_meter_update_and_state_record(admin_user):
    meter = MeterFactory()
    services.meter_update(actor=admin_user, meter=meter, activation_status=0)
    meter.refresh_from_db()
    assert meter.activation_status == 0
    at = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=datetime.UTC)
    services.meter_state_record(
        actor=None,
        meter=meter,
        transactionid="tx-1",
        at=at,
        relay_state="disconnected",
        load_limit_kw=Decimal("2.500"),
        settings={"ip_port": {"primary_ip_address": "10.0.0.1", "primary_port": 4059}},
    )
    meter.refresh_from_db()
    assert meter.relay_state == "disconnected"
    assert meter.load_limit_kw == Decimal("2.500")
    assert meter.device_settings["ip_port"]["transactionid"] == "tx-1"
    assert meter.device_settings["ip_port"]["value"]["primary_port"] == 4059
    with pytest.raises(ValidationError):
        services.meter_update(actor=admin_user, meter=meter, relay_state="connected")


def test_hierarchy_services_and_queryset(admin_user, mdc):
    disco = services.disco_create(actor=admin_user, code="LESCO", name="Lahore")
    circle = services.circle_create(actor=admin_user, disco=disco, code="C1", name="Circle 1")
    with pytest.raises(ValidationError):
        services.circle_create(actor=admin_user, disco=disco, code="C1", name="again")
    transformer = services.hierarchy_path_ensure(
        actor=admin_user,
        disco="LESCO",
        circle="C1",
        division="DV1",
        subdivision="SD1",
        feeder="F1",
        transformer="T1",
    )
    assert transformer.feeder.subdivision.division.circle == circle
    # same codes again: nothing new
    assert (
        services.hierarchy_path_ensure(
            actor=admin_user,
            disco="LESCO",
            circle="C1",
            division="DV1",
            subdivision="SD1",
            feeder="F1",
            transformer="T1",
        )
        == transformer
    )
    inside = MeterFactory(mdc=mdc, transformer=transformer)
    MeterFactory(mdc=mdc)
    MeterFactory(mdc=mdc, transformer=transformer, activation_status=0)
    assert list(Meter.objects.in_hierarchy(disco=disco).active()) == [inside]
    assert Meter.objects.in_hierarchy(circle=circle.pk, transformer=transformer).count() == 2
    assert Meter.objects.for_mdc(mdc).count() == 3
    assert Meter.objects.for_mdc("acme").count() == 3
    assert selectors.meter_hierarchy_path(inside)[0] == disco


def test_consumer_services(admin_user):
    consumer = services.consumer_create(
        actor=admin_user, reference_no="R-1", name="A", sanctioned_load_kw=Decimal("4.5")
    )
    services.consumer_update(actor=admin_user, consumer=consumer, tariff="B-2")
    consumer.refresh_from_db()
    assert consumer.tariff == "B-2"
    assert consumer.sanctioned_load_kw == Decimal("4.500")
    with pytest.raises(ValidationError):
        services.consumer_create(actor=admin_user, reference_no="R-1", name="dup")


def test_meter_batches_respect_batch_size():
    mdc = MdcFactory(batch_size=2)
    for _ in range(5):
        MeterFactory(mdc=mdc, transformer=None, consumer=None)
    MeterFactory(mdc=mdc, transformer=None, consumer=None, activation_status=0)
    batches = selectors.meter_batches(mdc)
    assert [len(b) for b in batches] == [2, 2, 1]


def test_meter_counts_by_mdc(mdc):
    MeterFactory(mdc=mdc)
    MeterFactory(mdc=mdc, activation_status=0)
    counts = {c.mdc.code: (c.total, c.active) for c in selectors.meter_counts_by_mdc()}
    assert counts["acme"] == (2, 1)


def test_factories_build_full_branch():
    meter = MeterFactory()
    assert meter.transformer.feeder.subdivision.division.circle.disco.pk
    assert ConsumerFactory().reference_no
