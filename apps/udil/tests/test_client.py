"""MdcClient against a real local HTTP server (no mocks of httpx)."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from apps.udil.client import MdcClient
from apps.udil.codec import decode_response, encode_response, response_devices
from apps.udil.datasets import LOAD_PROFILE
from apps.udil.errors import MalformedBody, MdcUnavailable, UdilStatusError, ValidationErrors

LP_ROW = {
    "global_device_id": "m1",
    "msn": "4098562412",
    "meter_datetime": "2024-01-01 00:15:00",
    "active_energy_tl": "12.5",
    "interval": "15",
}


class FakeMdc(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.valid_keys: set[str] = set()
        self.issued = 0
        self.calls: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: FakeMdc

    def log_message(self, *args):  # keep test output clean
        pass

    def reply(self, code: int, payload: dict, raw: bytes | None = None):
        fmt = "xml" if "xml" in (self.headers.get("Accept") or "") else "json"
        body, ctype = (
            (raw, "application/json") if raw is not None else encode_response(payload, fmt)
        )
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.strip("/")
        with self.server.lock:
            self.server.calls.append((path, headers, form))
        if path == "authorization_service":
            creds = {k: headers.get(k) or form.get(k) for k in ("username", "password", "code")}
            if creds != {"username": "mdm", "password": "secret", "code": "223"}:
                return self.reply(401, {"status": "0", "message": "Invalid credentials"})
            with self.server.lock:
                self.server.issued += 1
                key = f"key{self.server.issued}"
                self.server.valid_keys.add(key)
            return self.reply(200, {"status": "1", "privatekey": key, "message": "ok"})
        if path == "boom":
            return self.reply(503, {"status": "0", "message": "down"})
        if path == "slow":
            time.sleep(1.5)
            return self.reply(200, {"status": "1", "data": []})
        if path == "huge":
            return self.reply(200, {}, raw=b'{"status":"1","data":"' + b"x" * 2_000_000 + b'"}')
        if path == "garbage":
            return self.reply(200, {}, raw=b"<html>oops")
        if headers.get("privatekey") not in self.server.valid_keys or path == "always401":
            return self.reply(401, {"status": "0", "message": "Unauthorized"})
        if path == "load_profile_data":
            ids = json.loads(form["global_device_id"])
            if form.get("start_datetime") != "2024-01-01 00:00:00":
                return self.reply(400, {"status": "0", "message": "bad window"})
            rows = [dict(LP_ROW, global_device_id=i) for i in ids]
            return self.reply(200, {"status": "1", "message": "", "data": rows})
        if path == "time_synchronization":
            ids = json.loads(form["global_device_id"])
            data = [{"global_device_id": i, "msn": "1", "indv_status": "1"} for i in ids]
            return self.reply(
                200,
                {
                    "status": "1",
                    "transactionid": headers["transactionid"],
                    "data": data,
                    "message": "ok",
                },
            )
        if path == "transaction_status":
            ids = (
                json.loads(form["transactionid"])
                if "transactionid" in form
                else [headers["transactionid"]]
            )
            data = [
                {"transactionid": t, "global_device_id": "m1", "status_level": "5"} for t in ids
            ]
            return self.reply(200, {"status": "1", "data": data})
        if path == "meter_status_update":
            return self.reply(200, {"status": "0", "message": "meter unknown"})
        return self.reply(404, {"status": "0", "message": "no such service"})


@pytest.fixture
def mdc():
    server = FakeMdc()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_client(mdc, **kw):
    host, port = mdc.server_address
    kw.setdefault("username", "mdm")
    kw.setdefault("password", "secret")
    kw.setdefault("code", "223")
    return MdcClient(f"http://{host}:{port}/", **kw)


def test_read_authorizes_once_and_caches_key(mdc):
    with make_client(mdc) as client:
        rows = client.read(
            "load_profile", ["m1", "m2"], "2024-01-01 00:00:00", "2024-01-02 00:00:00"
        )
        rows2 = client.read("load_profile", ["m3"], "2024-01-01 00:00:00", "2024-01-02 00:00:00")
    assert [r["global_device_id"] for r in rows + rows2] == ["m1", "m2", "m3"]
    assert rows[0]["active_energy_tl"] == "12.5"
    assert [c[0] for c in mdc.calls] == [
        "authorization_service",
        "load_profile_data",
        "load_profile_data",
    ]
    auth_headers = mdc.calls[0][1]
    assert (auth_headers["username"], auth_headers["code"]) == ("mdm", "223")
    assert mdc.calls[1][1]["privatekey"] == "key1"
    assert mdc.calls[1][2]["global_device_id"] == '["m1","m2"]'
    assert client.authorizations == 1


def test_credentials_in_form_and_xml(mdc):
    with make_client(mdc, credentials_in="form", fmt="xml") as client:
        rows = client.read("load_profile", ["m1"], "2024-01-01 00:00:00", "2024-01-01 06:00:00")
        assert rows == [LP_ROW]
        body, ctype = client.read_raw(
            "load_profile", ["m1"], "2024-01-01 00:00:00", "2024-01-01 06:00:00"
        )
    assert ctype.startswith("application/xml")
    assert LOAD_PROFILE.split_rows(decode_response(body, ctype)["data"])[1] == []
    path, headers, form = mdc.calls[0]
    assert path == "authorization_service"
    assert "username" not in headers
    assert form == {"username": "mdm", "password": "secret", "code": "223"}


def test_401_renews_once_and_retries(mdc):
    with make_client(mdc) as client:
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
        mdc.valid_keys.clear()  # the MDC forgets the key early
        rows = client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
    assert rows == [LP_ROW]
    assert [c[0] for c in mdc.calls] == [
        "authorization_service",
        "load_profile_data",
        "load_profile_data",
        "authorization_service",
        "load_profile_data",
    ]
    assert [c[1].get("privatekey") for c in mdc.calls if c[0] != "authorization_service"] == [
        "key1",
        "key1",
        "key2",
    ]
    assert client.authorizations == 2


def test_persistent_401_is_a_status_error_after_one_retry(mdc):
    with (
        make_client(mdc, path_overrides={"load_profile_data": "/always401"}) as client,
        pytest.raises(UdilStatusError) as info,
    ):
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
    assert (info.value.http_status, info.value.message) == (401, "Unauthorized")
    assert [c[0] for c in mdc.calls] == [
        "authorization_service",
        "always401",
        "authorization_service",
        "always401",
    ]


def test_key_renewed_before_expiry(mdc):
    clock = Clock()
    with make_client(
        mdc, clock=clock, key_lifetime=timedelta(minutes=30), renew_margin=timedelta(minutes=2)
    ) as client:
        assert client.privatekey() == "key1"
        clock.now += 27 * 60
        assert client.privatekey() == "key1"
        clock.now += 60 + 1  # 28 min + 1 s: inside the 2-minute margin
        assert client.privatekey() == "key2"
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
    assert [c[0] for c in mdc.calls] == [
        "authorization_service",
        "authorization_service",
        "load_profile_data",
    ]
    assert mdc.calls[-1][1]["privatekey"] == "key2"


def test_bad_credentials(mdc):
    with make_client(mdc, password="wrong") as client, pytest.raises(UdilStatusError) as info:
        client.authorize()
    assert (info.value.http_status, info.value.message) == (401, "Invalid credentials")


def test_5xx_timeout_and_connection_errors_are_unavailable(mdc):
    with (
        make_client(mdc, path_overrides={"load_profile_data": "boom"}) as client,
        pytest.raises(MdcUnavailable) as info,
    ):
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
    assert info.value.http_status == 503
    with make_client(mdc, timeout=0.3, path_overrides={"load_profile_data": "slow"}) as client:
        start = time.perf_counter()
        with pytest.raises(MdcUnavailable, match="timeout"):
            client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
        assert time.perf_counter() - start < 1.4
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with (
        MdcClient(
            f"http://127.0.0.1:{port}", username="u", password="p", code="c", timeout=2
        ) as client,
        pytest.raises(MdcUnavailable),
    ):
        client.authorize()


def test_400_and_status_zero(mdc):
    with make_client(mdc) as client:
        with pytest.raises(UdilStatusError) as info:
            client.read("load_profile", ["m1"], "2024-01-05 00:00:00")
        assert (info.value.http_status, info.value.message) == (400, "bad window")
        with pytest.raises(UdilStatusError) as info:
            client.send_command(
                "meter_status_update",
                {"global_device_id": ["m1"], "meter_activation_status": 0},
                "T-1",
            )
        assert (info.value.http_status, info.value.message) == (200, "meter unknown")
        assert info.value.payload == {"status": "0", "message": "meter unknown"}


def test_bad_bodies(mdc):
    with (
        make_client(
            mdc,
            max_bytes=1_000_000,
            path_overrides={"load_profile_data": "http://{}:{}/huge".format(*mdc.server_address)},
        ) as client,
        pytest.raises(MalformedBody, match="exceeds the limit"),
    ):
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")
    with (
        make_client(mdc, path_overrides={"load_profile_data": "garbage"}) as client,
        pytest.raises(MalformedBody),
    ):
        client.read("load_profile", ["m1"], "2024-01-01 00:00:00")


def test_commands_and_transactions(mdc):
    with make_client(mdc) as client:
        payload = client.send_command(
            "time_synchronization", {"global_device_id": ["m1", "m2"]}, "T-100"
        )
        assert response_devices(payload) == [("m1", "1", 1), ("m2", "1", 1)]
        _, headers, form = mdc.calls[-1]
        assert headers["transactionid"] == "T-100"
        assert len(form["request_datetime"]) == 19  # defaulted to now, wire format
        rows = client.transaction_status("T-100")
        assert rows == [{"transactionid": "T-100", "global_device_id": "m1", "status_level": "5"}]
        assert mdc.calls[-1][1]["transactionid"] == "T-100"
        rows = client.transaction_status(["A1", "B2"])
        assert [r["transactionid"] for r in rows] == ["A1", "B2"]
        assert mdc.calls[-1][2] == {"transactionid": '["A1","B2"]'}
        with pytest.raises(ValidationErrors):
            client.send_command(
                "aux_relay_operations", {"global_device_id": ["m1"], "relay_operate": 7}, "T-101"
            )
    assert sum(1 for c in mdc.calls if c[0] == "aux_relay_operations") == 0
