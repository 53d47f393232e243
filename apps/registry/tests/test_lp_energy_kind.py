"""What an MDC sends as load profile energy (registers or per-interval values) and where its
registers roll over: MDC settings like the others, in the API, the form, the table and the audit."""

from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.registry.models import Mdc

pytestmark = pytest.mark.django_db


def test_api_registers_and_changes_the_energy_kind(client_as):
    client = client_as("Administrator")
    response = client.post(
        "/api/registry/mdcs/",
        {"code": "ivl", "name": "Interval vendor", "base_url": "https://ivl.example"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["lp_energy_kind"], Decimal(body["energy_register_max"])) == (
        "register",
        Decimal(10**9),
    )
    response = client.patch(
        f"/api/registry/mdcs/{body['id']}/",
        {"lp_energy_kind": "interval", "energy_register_max": "999999.999"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    mdc = Mdc.objects.get(pk=body["id"])
    assert (mdc.lp_energy_kind, mdc.energy_register_max) == ("interval", Decimal("999999.999"))
    entry = AuditEntry.objects.filter(action="registry.mdc.update").latest("pk")
    assert "lp_energy_kind" in entry.summary


@pytest.mark.parametrize(
    "change, field",
    [({"lp_energy_kind": "per-hour"}, "lp_energy_kind"), ({"energy_register_max": "0"}, None)],
)
def test_api_refuses_a_bad_energy_setting_with_a_message(client_as, change, field):
    client = client_as("Administrator")
    response = client.post(
        "/api/registry/mdcs/",
        {"code": "bad-kind", "name": "Bad", "base_url": "https://bad.example", **change},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert (field or next(iter(change))) in response.json()
    assert not Mdc.objects.filter(code="bad-kind").exists()


def test_form_and_pages_show_the_energy_kind(client_as):
    client = client_as("Administrator")
    form = client.get("/registry/mdcs/add/").content.decode()
    assert 'name="lp_energy_kind"' in form and 'name="energy_register_max"' in form
    response = client.post(
        "/registry/mdcs/add/",
        {
            "code": "form-ivl",
            "name": "Form interval vendor",
            "udil_profile": "2019",
            "transport": "api",
            "base_url": "https://form.example",
            "data_format": "json",
            "credentials_in": "headers",
            "timeout_seconds": 30,
            "batch_size": 100,
            "key_lifetime_minutes": 30,
            "lp_energy_kind": "interval",
            "energy_register_max": "100000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mdc = Mdc.objects.get(code="form-ivl")
    assert (mdc.lp_energy_kind, mdc.energy_register_max) == ("interval", Decimal("100000"))
    detail = client.get(mdc.get_absolute_url()).content.decode()
    assert "Per-interval consumption" in detail and "100000.000 kWh" in detail
    listing = client.get("/registry/mdcs/").content.decode()
    assert "Per-interval consumption" in listing
