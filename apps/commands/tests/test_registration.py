"""Registering a meter (page, API, CSV import) can create it at its MDC with device_creation,
through the command service; the meter page shows whether the MDC confirmed it. Over real HTTP
with the simulator as the MDC."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from apps.commands.choices import Outcome, TransactionState
from apps.commands.models import CommandDevice, CommandRequest
from apps.commands.services import command_request_create, transactions_poll
from apps.commands.tasks import command_dispatch_task
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimMeter
from apps.simulator.testing import make_sim_mdc, sim_base_url

pytestmark = pytest.mark.django_db(transaction=True)

REGISTRATION = {
    "device_type": 1,
    "phase": 1,
    "meter_type": 1,
    "communication_mode": 1,
    "communication_type": 0,
    "mdi_reset_date": 1,
    "mdi_reset_time": "00:00:00",
    "activation_status": 1,
    "profile_hint": "domestic",
}


@pytest.fixture
def vendor(live_server):
    sim, _ = make_sim_mdc(code="reg_a", meters=1, days=1)
    mdc = Mdc.objects.create(
        code="reg_a",
        name="Vendor A",
        base_url=sim_base_url(live_server, sim),
        username=sim.username,
        password=sim.password,
        auth_code=sim.auth_code,
    )
    return sim, mdc


@pytest.fixture
def admin(make_user):
    client = Client()
    user = make_user("Administrator")
    client.force_login(user)
    return client, user


def _run(mdc: Mdc) -> None:
    """What the workers do: dispatch what is pending, then poll the MDC."""
    for request in CommandRequest.objects.filter(command="device_creation"):
        for tx in request.transactions.filter(state=TransactionState.PENDING):
            command_dispatch_task.apply(args=[tx.pk]).get()
    transactions_poll(mdc_id=mdc.pk, due_only=False)


def _state_on_page(client: Client, meter: Meter) -> str:
    html = client.get(meter.get_absolute_url()).content.decode()
    start = html.index('id="mdc-confirmation"')
    return html[start : start + 400]


def test_api_registration_creates_the_meter_at_its_mdc(vendor, admin):
    sim, mdc = vendor
    client, user = admin
    response = client.post(
        "/api/registry/meters/",
        {"msn": 4055500001, "mdc": mdc.pk, "send_device_creation": True, **REGISTRATION},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    meter = Meter.objects.get(msn=4055500001)
    device = CommandDevice.objects.get(meter=meter, request__command="device_creation")
    assert device.outcome == Outcome.PENDING
    assert "pending" in _state_on_page(client, meter)
    _run(mdc)
    device.refresh_from_db()
    assert (device.outcome, device.status_level) == (Outcome.EXECUTED, 5)
    assert "confirmed" in _state_on_page(client, meter)
    created = SimMeter.objects.get(mdc=sim, global_device_id=meter.global_device_id)
    assert created.msn == meter.msn
    # the MDC knows it now: a later command to it executes
    sync = command_request_create(
        actor=user, command="time_synchronization", params={}, meters=[meter.pk]
    )
    for tx in sync.transactions.all():
        command_dispatch_task.apply(args=[tx.pk]).get()
    transactions_poll(mdc_id=mdc.pk, due_only=False)
    assert sync.devices.get().outcome == Outcome.EXECUTED


def test_api_registration_without_the_option_sends_nothing(vendor, admin):
    _, mdc = vendor
    client, _ = admin
    response = client.post(
        "/api/registry/meters/",
        {"msn": 4055500002, "mdc": mdc.pk, **REGISTRATION},
        content_type="application/json",
    )
    assert response.status_code == 201
    meter = Meter.objects.get(msn=4055500002)
    assert not CommandRequest.objects.exists()
    assert "not sent" in _state_on_page(client, meter)


def test_page_offers_it_and_a_refusal_by_the_mdc_shows_failed(vendor, admin):
    sim, mdc = vendor
    client, _ = admin
    taken = SimMeter.objects.filter(mdc=sim).first()  # its msn belongs to another device
    response = client.post(
        "/registry/meters/add/",
        {"msn": taken.msn, "mdc": mdc.pk, "send_device_creation": "on", **REGISTRATION},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    meter = Meter.objects.get(msn=taken.msn)
    _run(mdc)
    state = _state_on_page(client, meter)
    assert "failed" in state
    assert "cannot take msn" in state


def test_csv_import_can_create_the_meters_at_their_mdc(vendor, admin):
    sim, mdc = vendor
    client, _ = admin
    upload = io.BytesIO(b"msn,phase\n4055500011,1\n4055500012,3\n")
    upload.name = "meters.csv"
    response = client.post(
        "/api/registry/meters/import/",
        {"file": upload, "mdc": mdc.code, "send_device_creation": True},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == 2
    assert len(body["device_creation_requests"]) == 2  # two phases: two parameter sets
    _run(mdc)
    for msn in (4055500011, 4055500012):
        meter = Meter.objects.get(msn=msn)
        assert "confirmed" in _state_on_page(client, meter)
        assert SimMeter.objects.filter(mdc=sim, global_device_id=meter.global_device_id).exists()
