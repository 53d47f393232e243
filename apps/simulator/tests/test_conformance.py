"""What an independent UDIL conformance client checks of the simulated MDC, over real HTTP:
devices made by device_creation are known at once, one bad command never stalls the others,
datetimes are strict, on-demand windows fit their type, faults bite only after authentication
and stay bounded."""

import datetime as dt
import json
import time

import httpx
import pytest
from django.core.exceptions import ValidationError

from apps.simulator.models import SimMeter, SimPrivateKey
from apps.simulator.services import sim_faults_update, sim_meter_add
from apps.simulator.testing import freeze_clock

from .test_http import EX_KEY, EX_NOW, example_mdc

pytestmark = pytest.mark.django_db(transaction=True)

NEW = {"dsn": "4099999999", "global_device_id": "m99999999"}
CREATION = {
    "device_type": "1",
    "request_datetime": "2018-10-15 16:45:00",
    "communication_mode": "1",
    "phase": "1",
    "meter_type": "1",
}


class Client:
    """A conformance client of one simulated MDC whose clock the test moves."""

    def __init__(self, base: str, monkeypatch):
        self.base, self.monkeypatch, self.now = base, monkeypatch, EX_NOW

    def at(self, seconds: int) -> None:
        self.now = EX_NOW + dt.timedelta(seconds=seconds)
        freeze_clock(self.monkeypatch, self.now)

    def post(self, service: str, form: dict, tid: str | None = None, key: str = EX_KEY):
        headers = {"privatekey": key} if key else {}
        if tid:
            headers["transactionid"] = tid
        return httpx.post(self.base + service, headers=headers, data=form, timeout=60)

    def levels(self, tid: str) -> list[tuple[str, str, str]]:
        response = self.post("transaction_status", {}, tid)
        assert response.status_code == 200, response.text
        return [
            (row["global_device_id"], row["status_level"], row["indv_status"])
            for row in response.json()["data"]
        ]


@pytest.fixture
def client(live_server, monkeypatch):
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc("conf", "json")  # pace: 10 s a level
    return mdc, Client(f"{live_server.url}/sim/{mdc.code}/", monkeypatch)


def create_device(client: Client, tid: str, device=NEW):
    form = {**CREATION, "device_identity": json.dumps([device])}
    return client.post("device_creation", form, tid)


def test_a_created_device_is_known_at_level_5_and_has_data_from_its_creation(client):
    _, c = client
    assert create_device(c, "DC1").json()["data"][0]["indv_status"] == "1"
    c.at(50)  # 16:46:20, level 5
    assert c.levels("DC1") == [("m99999999", "5", "1")]
    relay = c.post(
        "aux_relay_operations",
        {
            "global_device_id": '["m99999999"]',
            "relay_operate": "0",
            "request_datetime": "2018-10-15 16:46:20",
        },
        "R1",
    )
    assert relay.json()["data"][0]["indv_status"] == "1", relay.json()["message"]
    read = c.post("instantaneous_data", {"global_device_id": '["m99999999"]'})
    assert "unknown" not in read.json()["message"]
    on_demand = c.post(
        "on_demand_request", {"global_device_id": '["m99999999"]', "type": "INST"}, "OD1"
    )
    assert on_demand.json()["data"][0]["indv_status"] == "1"
    c.at(50 + 60)
    assert c.levels("R1") == [("m99999999", "5", "1")]
    assert c.levels("OD1") == [("m99999999", "5", "1")]
    SimPrivateKey.objects.filter(key=EX_KEY).update(expires_at=EX_NOW + dt.timedelta(days=1))
    c.at(4 * 3600)
    rows = c.post(
        "load_profile_data",
        {
            "global_device_id": '["m99999999"]',
            "start_datetime": "2018-10-15 00:00:00",
            "end_datetime": "2018-10-15 19:00:00",
        },
    ).json()["data"]
    times = [row["meter_datetime"] for row in rows]
    # created 16:46:20: the first whole interval after it is 17:00-17:15
    assert times[0] == "2018-10-15 17:15:00"
    assert times[-1] == "2018-10-15 19:00:00"
    assert len(times) == 8


def test_a_second_creation_of_a_device_in_flight_is_refused_and_stalls_nothing(client):
    mdc, c = client
    create_device(c, "DC1")
    again = create_device(c, "DC2").json()
    assert again["data"][0]["indv_status"] == "0"
    assert "already being created by transaction DC1" in again["message"]
    other_msn = create_device(c, "DC3", {"dsn": "4099999999", "global_device_id": "m99999998"})
    assert other_msn.json()["data"][0]["indv_status"] == "0"
    inst = c.post("on_demand_request", {"global_device_id": '["m98562412"]', "type": "INST"}, "I1")
    assert inst.status_code == 200
    c.at(60)
    assert c.levels("DC1") == [("m99999999", "5", "1")]
    assert c.levels("I1") == [("m98562412", "5", "1")]
    assert SimMeter.objects.filter(mdc=mdc, msn=4099999999).count() == 1


def test_a_command_whose_effects_cannot_apply_fails_alone(client):
    """The device appears by other means before the creation executes: that creation fails
    with the reason; before the fix every later call of the MDC answered 500 and every other
    command stayed below level 5 for ever."""
    mdc, c = client
    create_device(c, "DC1")
    optical = {
        "global_device_id": '["m98562412"]',
        "request_datetime": "2018-10-15 16:45:30",
        "optical_port_on_datetime": "2018-10-15 17:00:00",
        "optical_port_off_datetime": "2018-10-15 18:00:00",
    }
    assert c.post("activate_meter_optical_port", optical, "OP1").status_code == 200
    events = {
        "global_device_id": '["m98562412"]',
        "type": "EVNT",
        "start_datetime": "2018-10-14 00:00:00",
        "end_datetime": "2018-10-15 16:00:00",
    }
    assert c.post("on_demand_request", events, "EV1").status_code == 200
    sim_meter_add(mdc=mdc, global_device_id="m99999999", msn=4099999999)
    c.at(60)
    response = c.post("transaction_status", {}, "DC1")
    assert response.status_code == 200, response.text[:300]
    row = response.json()["data"][0]
    assert (row["status_level"], row["indv_status"]) == ("4", "0")
    assert "already exists" in response.json()["message"]
    assert c.levels("OP1") == [("m98562412", "5", "1")]
    assert c.levels("EV1") == [("m98562412", "5", "1")]


@pytest.mark.parametrize(
    ("service", "form", "name", "value"),
    [
        ("time_synchronization", {}, "request_datetime", "2018-10-15"),
        ("time_synchronization", {}, "request_datetime", "2018-10-15T13:00:00"),
        ("time_synchronization", {}, "request_datetime", "2018-10-15 13:00:00+09:00"),
        ("aux_relay_operations", {"relay_operate": "1"}, "request_datetime", "15/10/2018"),
        (
            "on_demand_request",
            {"type": "BILL", "end_datetime": "2018-10-15 00:00:00"},
            "start_datetime",
            "2018-10-01",
        ),
        (
            "activate_meter_optical_port",
            {
                "request_datetime": "2018-10-15 13:00:00",
                "optical_port_off_datetime": "2018-10-15 14:00:00",
            },
            "optical_port_on_datetime",
            "2018-10-15T13:00",
        ),
        ("load_profile_data", {}, "end_datetime", "2018-10-15 13:00"),
    ],
)
def test_malformed_datetimes_are_400_naming_the_parameter(client, service, form, name, value):
    _, c = client
    form = {"global_device_id": '["m98562412"]', **form, name: value}
    response = c.post(service, form, "T-BAD")
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"{name}: must be a datetime 'yyyy-MM-dd HH:mm:ss', got {value!r}"
    )


@pytest.mark.parametrize(
    ("kind", "days", "accepted"),
    [
        ("MBIL", 62, True),
        ("MBIL", 365, True),
        ("BILL", 200, True),
        ("MBIL", 400, False),
        ("LPRO", 62, False),
        ("EVNT", 62, True),
    ],
)
def test_on_demand_windows_fit_their_type(client, kind, days, accepted):
    _, c = client
    end = dt.date(2018, 10, 15)
    form = {
        "global_device_id": '["m98562412"]',
        "type": kind,
        "start_datetime": f"{end - dt.timedelta(days=days):%Y-%m-%d} 00:00:00",
        "end_datetime": f"{end:%Y-%m-%d} 00:00:00",
    }
    response = c.post("on_demand_request", form, f"W-{kind}-{days}")
    assert (response.status_code == 200) is accepted, response.text
    if not accepted:
        assert response.json()["message"].startswith("end_datetime: the window may span")


def test_latency_only_after_authentication(client):
    mdc, c = client
    mdc.latency_ms = 20_000
    mdc.save()
    started = time.monotonic()
    anonymous = c.post("events", {"global_device_id": '["m98562412"]'}, key="")
    assert anonymous.status_code == 401
    wrong = c.post("authorization_service", {"username": "x", "password": "y", "code": "z"})
    assert wrong.status_code == 401
    # 20 s each before the fix; generous bound for a shared machine
    assert time.monotonic() - started < 15


def test_fault_values_are_bounded(client, admin_client):
    mdc, _ = client
    with pytest.raises(ValidationError) as exc:
        sim_faults_update(mdc=mdc, latency_ms=3_600_000)
    assert "latency_ms" in exc.value.message_dict
    page = admin_client.post(
        f"/sim/manage/{mdc.code}/faults/",
        {
            "latency_ms": "99999999",
            "error_500_rate": "0",
            "malformed_rate": "0",
            "truncated_rate": "0",
            "number_style": "string",
            "key_lifetime_seconds": "1800",
            "command_pace_seconds": "10",
            "failure_rate": "0",
            "offline_rate": "0",
            "gap_rate": "0",
            "credentials_in": "both",
        },
    )
    assert page.status_code == 200
    assert "Must be between 0 and 30000 milliseconds" in page.content.decode()
    mdc.refresh_from_db()
    assert mdc.latency_ms == 0


@pytest.mark.django_db(transaction=False)
def test_the_simulator_is_off_in_production_unless_asked_for():
    from tests.test_settings import _production_env, _setting

    assert _setting("SIMULATOR_ENABLED", _production_env(MDM_SIMULATOR_ENABLED=None)) == "False"
