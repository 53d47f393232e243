"""Permissions follow the documented roles: Administrator everything, Operator sends commands,
Revenue Officer billing, Viewer reads. Registry administration is for Administrators."""

from __future__ import annotations

import pytest

from apps.registry.models import Meter
from apps.registry.tests.factories import MdcFactory, MeterFactory, TransformerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter():
    return MeterFactory(mdc=MdcFactory(code="home-mdc"), msn=4098562412)


def _patch(client, meter, body):
    return client.patch(
        f"/api/registry/meters/{meter.pk}/", body, content_type="application/json"
    )


def test_operator_cannot_move_a_meter_to_another_mdc(client_as, meter):
    other = MdcFactory(code="other-mdc")
    response = _patch(client_as("Operator"), meter, {"mdc": other.pk})
    assert response.status_code == 403
    assert "Administrator" in response.json()["detail"]
    assert Meter.objects.get(pk=meter.pk).mdc_id == meter.mdc_id


def test_operator_cannot_change_a_meters_serial_number(client_as, meter):
    response = _patch(client_as("Operator"), meter, {"msn": 4098562499})
    assert response.status_code == 403
    assert Meter.objects.get(pk=meter.pk).msn == 4098562412


def test_operator_still_places_a_meter_and_may_resend_its_unchanged_mdc(client_as, meter):
    transformer = TransformerFactory()
    response = _patch(
        client_as("Operator"),
        meter,
        {"transformer": transformer.pk, "mdc": meter.mdc_id, "msn": str(meter.msn)},
    )
    assert response.status_code == 200, response.content
    assert Meter.objects.get(pk=meter.pk).transformer_id == transformer.pk


def test_administrator_moves_a_meter_and_corrects_its_msn(client_as, meter):
    other = MdcFactory(code="other-mdc")
    response = _patch(client_as("Administrator"), meter, {"mdc": other.pk, "msn": 4098562499})
    assert response.status_code == 200, response.content
    moved = Meter.objects.get(pk=meter.pk)
    assert (moved.mdc_id, moved.msn) == (other.pk, 4098562499)


@pytest.mark.parametrize("role", ["Viewer", "Revenue Officer"])
def test_readers_cannot_change_meters_at_all(client_as, meter, role):
    assert _patch(client_as(role), meter, {"sim_number": "0300"}).status_code == 403
