"""Every service over real HTTP (live_server), in JSON and XML, with the section-4 examples."""

import datetime as dt

import httpx
import pytest

from apps.simulator.models import SimMeter, SimPrivateKey
from apps.simulator.services import sim_meter_add, sim_read
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.codec import decode_response, encode_request
from apps.udil.timefmt import PKT

from .conftest import example

pytestmark = pytest.mark.django_db(transaction=True)

EX_NOW = dt.datetime(2018, 10, 15, 16, 45, 30, tzinfo=PKT)
EX_KEY = "7h6g5d4chyhdxg875576v5f5gv8b7bv"
EXAMPLES = [
    "4_02_aux_relay_operations",
    "4_03_time_synchronization",
    "4_04_sanctioned_load_control",
    "4_05_load_shedding_scheduling",
    "4_06_time_of_use_change",
    "4_08_update_ip_port",
    "4_09_meter_data_sampling",
    "4_10_activate_meter_optical_port",
    "4_11_wake_up_sim_number_update",
    "4_12_meter_status_update",
    "4_13_on_demand_request",
]
# m97524158 has no relay in the example fleet (example 4.2 says so): the commands that operate
# the relay refuse it, whatever the illustrative responses of 4.4 and 4.5 show.
NO_RELAY_REFUSALS = {"4_04_sanctioned_load_control", "4_05_load_shedding_scheduling"}


def example_mdc(code: str, fmt: str, *, with_meters: bool = True):
    mdc, _ = make_sim_mdc(
        code=code,
        fmt=fmt,
        meters=0,
        seed=7,
        command_pace_seconds=10.0,
        history_start=dt.datetime(2018, 10, 1, tzinfo=PKT),
        now=EX_NOW,
        username="mdm_user",
        password="WSnt!@SS^I2*",
        auth_code="223",
    )
    if with_meters:
        for gdi, relay in (("m96541254", True), ("m97524158", False), ("m98562412", True)):
            sim_meter_add(
                mdc=mdc,
                global_device_id=gdi,
                msn=int("40" + gdi[1:]),
                has_relay=relay,
                profile="domestic",
                phase=1,
                tamper="none",
            )
    SimPrivateKey.objects.create(
        mdc=mdc, key=EX_KEY, created_at=EX_NOW, expires_at=EX_NOW + dt.timedelta(minutes=30)
    )
    return mdc


def post(base: str, request: dict, **overrides) -> httpx.Response:
    headers = {**request["headers"], **overrides.pop("headers", {})}
    form = {**request["form"], **overrides.pop("form", {})}
    return httpx.post(base + request["path"].lstrip("/"), headers=headers, data=form, timeout=30)


def device_triples(payload: dict) -> list[tuple[str, str, str]]:
    return [
        (d["global_device_id"].strip(), d["msn"].strip(), d["indv_status"].strip())
        for d in payload["data"]
    ]


@pytest.fixture(params=["json", "xml"])
def fmt(request):
    return request.param


@pytest.mark.parametrize("name", EXAMPLES)
def test_section_4_example_requests(live_server, monkeypatch, fmt, name):
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc(f"ex_{fmt}", fmt)
    request = example(f"{name}.request.json")
    expected = example(f"{name}.response.json")
    response = post(f"{live_server.url}/sim/{mdc.code}/", request)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(f"application/{fmt}")
    payload = decode_response(response.content, response.headers["content-type"])
    assert payload["status"] == "1"
    assert payload["transactionid"] == request["headers"]["transactionid"]
    want = device_triples(expected)
    if name in NO_RELAY_REFUSALS:
        want = [(g, m, "0" if g == "m97524158" else s) for g, m, s in want]
    assert device_triples(payload) == want
    if name == "4_02_aux_relay_operations":
        assert "m97524158" in payload["message"]
        assert "no relay" in payload["message"]


def test_authorization_example_json_and_xml(live_server, monkeypatch, fmt):
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc(f"auth_{fmt}", fmt)
    response = post(
        f"{live_server.url}/sim/{mdc.code}/", example("4_01_authorization_service.request.json")
    )
    assert response.status_code == 200
    payload = decode_response(response.content, response.headers["content-type"])
    assert payload["status"] == "1"
    key = SimPrivateKey.objects.get(key=payload["privatekey"])
    assert key.expires_at == EX_NOW + dt.timedelta(minutes=30)
    assert payload["message"].endswith("valid for 30 Minutes")


def test_device_creation_example_creates_the_devices(live_server, monkeypatch, fmt):
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc(f"new_{fmt}", fmt, with_meters=False)
    request = example("4_07_device_creation.request.json")
    response = post(f"{live_server.url}/sim/{mdc.code}/", request)
    payload = decode_response(response.content, response.headers["content-type"])
    assert device_triples(payload) == device_triples(example("4_07_device_creation.response.json"))
    # pace 10 s: created when they reach level 5, 50 s later
    assert not SimMeter.objects.filter(mdc=mdc).exists()
    freeze_clock(monkeypatch, EX_NOW + dt.timedelta(seconds=50))
    status = post(
        f"{live_server.url}/sim/{mdc.code}/",
        {
            "path": "transaction_status",
            "form": {},
            "headers": {"privatekey": EX_KEY, "transactionid": request["headers"]["transactionid"]},
        },
    )
    rows = decode_response(status.content)["data"]
    assert [(r["global_device_id"], r["status_level"]) for r in rows] == [
        ("m98562412", "5"),
        ("m97524158", "5"),
    ]
    created = SimMeter.objects.get(mdc=mdc, global_device_id="m98562412")
    assert (created.msn, created.phase, created.meter_type, created.sim_number) == (
        4098562412,
        3,
        2,
        "03218090100",
    )
    assert created.data_start == dt.datetime(2018, 10, 15, 17, 0, tzinfo=PKT)


def test_transaction_status_reproduces_example_4_14(live_server, monkeypatch, fmt):
    """Received 16:45:30 at 10 s a level: at 16:46:15 the example's levels and times."""
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc(f"st_{fmt}", fmt)
    tid = "ARbvfg675d5hg85fhjfv47f5d3aRi"
    on_demand = example("4_13_on_demand_request.request.json")
    post(f"{live_server.url}/sim/{mdc.code}/", on_demand, headers={"transactionid": tid})
    freeze_clock(monkeypatch, EX_NOW + dt.timedelta(seconds=45))
    response = post(
        f"{live_server.url}/sim/{mdc.code}/", example("4_14_transaction_status.request.json")
    )
    assert response.status_code == 200
    payload = decode_response(response.content, response.headers["content-type"])
    expected = example("4_14_transaction_status.response.json")
    keys = (
        "transactionid",
        "global_device_id",
        "msn",
        "command_receiving_datetime",
        "status_level",
        "status_1_datetime",
        "status_2_datetime",
        "status_3_datetime",
        "status_4_datetime",
        "indv_status",
        "request_cancelled",
        "request_cancel_datetime",
    )
    assert [{k: r[k] for k in keys} for r in payload["data"]] == [
        {k: r[k] for k in keys} for r in expected["data"]
    ]
    assert [r["type"] for r in payload["data"]] == ["EVNT", "EVNT"]
    assert all(r["status_5_datetime"] == "" and r["response_data"] == [] for r in payload["data"])
    # at level 5 the events of the window come back in response_data
    freeze_clock(monkeypatch, EX_NOW + dt.timedelta(seconds=50))
    payload = decode_response(
        post(
            f"{live_server.url}/sim/{mdc.code}/", example("4_14_transaction_status.request.json")
        ).content
    )
    assert [r["status_level"] for r in payload["data"]] == ["5", "5"]
    later = EX_NOW + dt.timedelta(days=1)
    for row in payload["data"]:
        _, rows, _ = sim_read(
            mdc=mdc,
            dataset="events",
            global_device_ids=[row["global_device_id"]],
            start=dt.datetime(2018, 10, 15, 13, tzinfo=PKT),
            end=EX_NOW + dt.timedelta(seconds=50),
            now=later,
        )
        expected = [(r[1], r[2], r[3]) for r in rows]
        got = [
            (e["global_device_id"], e["event_datetime"], e["event_code"])
            for e in row["response_data"]
        ]
        assert got == expected
        assert all(e["db_datetime"] == "2018-10-15 16:46:20" for e in row["response_data"])


@pytest.mark.parametrize(
    "path",
    [
        "instantaneous_data",
        "billing_data",
        "monthly_billing_data",
        "load_profile_data",
        "events",
        "meter_visuals",
    ],
)
def test_read_apis(live_server, monkeypatch, fmt, path):
    now = dt.datetime(2018, 11, 3, 12, 0, tzinfo=PKT)
    freeze_clock(monkeypatch, now)
    mdc = example_mdc(f"rd_{fmt}", fmt)
    SimPrivateKey.objects.filter(key=EX_KEY).update(expires_at=now + dt.timedelta(hours=1))
    response = post(
        f"{live_server.url}/sim/{mdc.code}/",
        {
            "path": path,
            "headers": {"privatekey": EX_KEY},
            "form": {
                "global_device_id": '["m98562412","m00000000"]',
                "start_datetime": "2018-10-31 00:00:00",
                "end_datetime": "2018-11-02 00:00:00",
            },
        },
    )
    assert response.status_code == 200, response.text
    payload = decode_response(response.content, response.headers["content-type"])
    assert payload["status"] == "1"
    assert "unknown global_device_id: m00000000" in payload["message"]
    rows = payload["data"]
    assert {r["global_device_id"] for r in rows} == {"m98562412"}
    counts = {
        "instantaneous_data": 2 * 96 + 1,
        "billing_data": 3,
        "monthly_billing_data": 1,
        "load_profile_data": 2 * 96 + 1,
        "meter_visuals": 1,
    }
    if path in counts:
        assert len(rows) == counts[path]
    if path == "monthly_billing_data":
        assert rows[0]["meter_datetime"] == "2018-11-01 00:00:00"
        assert rows[0]["mdi_reset_datetime"] == "2018-11-01 00:00:00"
    if path == "events":
        assert "101" in {r["event_code"] for r in rows}
    if path == "load_profile_data":
        assert rows[0]["meter_datetime"] == "2018-10-31 00:00:00"
        assert rows[-1]["meter_datetime"] == "2018-11-02 00:00:00"


def post_form(base, service, headers=None, form=None):
    return httpx.post(base + service, headers=headers or {}, data=form or {}, timeout=30)


@pytest.fixture
def sim(live_server, monkeypatch):
    freeze_clock(monkeypatch, EX_NOW)
    mdc = example_mdc("authz", "json")
    return mdc, f"{live_server.url}/sim/{mdc.code}/"


def test_credentials_as_headers_or_form_fields(sim):
    _mdc, base = sim
    creds = {"username": "mdm_user", "password": "WSnt!@SS^I2*", "code": "223"}
    for headers, form in ((creds, {}), ({}, creds)):
        response = post_form(base, "authorization_service", headers, form)
        assert response.status_code == 200
        key = response.json()["privatekey"]
        ok = post_form(
            base, "meter_visuals", {"privatekey": key}, {"global_device_id": '["m98562412"]'}
        )
        assert ok.status_code == 200
        as_form = post_form(
            base, "meter_visuals", {}, {"global_device_id": '["m98562412"]', "privatekey": key}
        )
        assert as_form.status_code == 200
        assert as_form.json()["data"][0]["msn"] == "4098562412"


def test_credentials_only_where_the_mdc_accepts_them(sim):
    mdc, base = sim
    mdc.credentials_in = "headers"
    mdc.save()
    creds = {"username": "mdm_user", "password": "WSnt!@SS^I2*", "code": "223"}
    assert post_form(base, "authorization_service", creds).status_code == 200
    refused = post_form(base, "authorization_service", {}, creds)
    assert refused.status_code == 401
    assert refused.json() == {
        "status": "0",
        "message": "username: is required; password: is required; code: is required",
    }


def test_wrong_credentials_and_wrong_or_expired_key_are_401(sim, monkeypatch):
    mdc, base = sim
    bad = post_form(
        base, "authorization_service", {"username": "mdm_user", "password": "nope", "code": "223"}
    )
    assert (bad.status_code, bad.json()["status"]) == (401, "0")
    form = {"global_device_id": '["m98562412"]'}
    missing = post_form(base, "events", {}, form)
    assert (missing.status_code, missing.json()["message"]) == (401, "privatekey: is required")
    wrong = post_form(base, "events", {"privatekey": "not-a-key"}, form)
    assert (wrong.status_code, wrong.json()["message"]) == (401, "privatekey: is not valid")
    freeze_clock(monkeypatch, EX_NOW + dt.timedelta(minutes=30))
    expired = post_form(base, "events", {"privatekey": EX_KEY}, form)
    assert expired.status_code == 401
    assert expired.json()["message"].startswith("privatekey: has expired")
    # a key's lifetime is per MDC
    mdc.key_lifetime_seconds = 60
    mdc.save()
    key = post_form(
        base,
        "authorization_service",
        {"username": "mdm_user", "password": "WSnt!@SS^I2*", "code": "223"},
    ).json()["privatekey"]
    assert post_form(base, "events", {"privatekey": key}, form).status_code == 200
    freeze_clock(monkeypatch, EX_NOW + dt.timedelta(minutes=31))
    assert post_form(base, "events", {"privatekey": key}, form).status_code == 401


@pytest.mark.parametrize(
    ("service", "form", "headers", "message"),
    [
        (
            "aux_relay_operations",
            {
                "global_device_id": '["m98562412"]',
                "relay_operate": "7",
                "request_datetime": "2018-10-15 13:00:00",
            },
            {"transactionid": "T1"},
            "relay_operate: must be 0 or 1, got '7'",
        ),
        (
            "aux_relay_operations",
            {
                "global_device_id": '["m98562412"]',
                "relay_operate": "0",
                "request_datetime": "2018-10-15 13:00:00",
            },
            {},
            "transactionid: is required",
        ),
        (
            "aux_relay_operations",
            {
                "global_device_id": "[broken",
                "relay_operate": "0",
                "request_datetime": "2018-10-15 13:00:00",
            },
            {"transactionid": "T2"},
            "global_device_id: must be a JSON array, got '[broken'",
        ),
        (
            "load_profile_data",
            {"global_device_id": '["m98562412"]', "start_datetime": "yesterday"},
            {},
            "start_datetime: must be a datetime 'yyyy-MM-dd HH:mm:ss', got 'yesterday'",
        ),
        (
            "on_demand_request",
            {"global_device_id": '["m98562412"]', "type": "LPRO"},
            {"transactionid": "T3"},
            "start_datetime: is required for type LPRO; end_datetime: is required for type LPRO",
        ),
        (
            "transaction_status",
            {},
            {"transactionid": "UNKNOWN1"},
            "transactionid: unknown transaction UNKNOWN1",
        ),
        (
            "transaction_cancel",
            {"global_device_id": '["m98562412"]'},
            {"transactionid": "NOPE"},
            "transactionid: unknown transaction NOPE",
        ),
    ],
)
def test_bad_requests_are_400_naming_the_parameter(sim, service, form, headers, message):
    _, base = sim
    response = post_form(base, service, {"privatekey": EX_KEY, **headers}, form)
    assert response.status_code == 400
    assert response.json()["status"] == "0"
    assert response.json()["message"] == message


def test_unknown_mdc_and_service_are_404(live_server, db):
    assert post_form(f"{live_server.url}/sim/nosuch/", "events").status_code == 404
    _mdc, _ = make_sim_mdc(code="s404", meters=1)
    response = post_form(f"{live_server.url}/sim/s404/", "no_such_service")
    assert (response.status_code, response.json()["status"]) == (404, "0")


def test_mdm_client_side_request_encoding_is_understood(sim):
    """A request built by the protocol package's encoder (the MDM side) is accepted."""
    _, base = sim
    headers, form = encode_request(
        "aux_relay_operations",
        {"global_device_id": ["m98562412"], "relay_operate": 1, "request_datetime": EX_NOW},
        transactionid="CLIENT1",
        privatekey=EX_KEY,
    )
    response = post_form(base, "aux_relay_operations", headers, form)
    assert response.status_code == 200
    assert device_triples(response.json()) == [("m98562412", "4098562412", "1")]
