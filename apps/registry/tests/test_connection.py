"""Test connection against real local servers: an HTTP MDC in a thread, and PostgreSQL."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from apps.audit.models import AuditEntry
from apps.registry import services
from apps.registry.tests.factories import MdcFactory

pytestmark = pytest.mark.django_db


class FakeMdc(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        creds = {
            name: self.headers.get(name) or form.get(name) for name in ("username", "password")
        }
        creds["code"] = self.headers.get("code") or form.get("code")
        type(self).seen.append({"path": self.path, **creds})
        if self.path.rstrip("/").endswith("authorization_service") and creds == {
            "username": "mdm",
            "password": "right-pass",
            "code": "right-code",
        }:
            status, body = 200, {"status": "1", "privatekey": "k", "message": "ok"}
        elif self.path.rstrip("/").endswith("authorization_service"):
            status, body = 401, {"status": "0", "message": "bad credentials"}
        else:
            status, body = 404, {"status": "0", "message": "no such service"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_mdc_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMdc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeMdc.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_api_transport_authorizes(admin_user, fake_mdc_url):
    mdc = MdcFactory(base_url=fake_mdc_url, password="right-pass", auth_code="right-code")
    result = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert result.ok, result.message
    assert result.latency_ms >= 0
    assert FakeMdc.seen[-1]["path"] == "/authorization_service"
    entry = AuditEntry.objects.get(action="registry.mdc.test_connection")
    assert entry.detail["ok"] is True
    assert "right-pass" not in json.dumps(entry.detail)


def test_credentials_in_form_and_path_override(admin_user, fake_mdc_url):
    mdc = MdcFactory(
        base_url=fake_mdc_url,
        password="right-pass",
        auth_code="right-code",
        credentials_in="form",
        path_overrides={"authorization_service": "v2/authorization_service"},
    )
    assert services.mdc_test_connection(actor=admin_user, mdc=mdc).ok
    assert FakeMdc.seen[-1]["path"] == "/v2/authorization_service"


def test_wrong_credentials_give_a_401_result(admin_user, fake_mdc_url):
    mdc = MdcFactory(base_url=fake_mdc_url, password="wrong", auth_code="right-code")
    result = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert not result.ok
    assert "401" in result.message
    assert "wrong" not in result.message


def test_unreachable_mdc_is_a_failed_result(admin_user):
    mdc = MdcFactory(base_url="http://127.0.0.1:9/udil", timeout_seconds=2)
    result = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert not result.ok
    assert result.message


def test_tabular_transport_runs_select_one(admin_user):
    keys = ("dbname", "user", "password", "host", "port")
    params = {k: v for k, v in connection.get_connection_params().items() if k in keys and v}
    url = make_conninfo(**params)
    mdc = MdcFactory(transport="tabular", base_url="", tabular_database_url=url)
    result = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert result.ok, result.message
    bad = MdcFactory(
        transport="tabular", base_url="", tabular_database_url=make_conninfo(url, dbname="nope")
    )
    result = services.mdc_test_connection(actor=admin_user, mdc=bad)
    assert not result.ok


def test_test_connection_button_shows_result(client_as, fake_mdc_url):
    client = client_as("Administrator")
    mdc = MdcFactory(base_url=fake_mdc_url, password="right-pass", auth_code="right-code")
    response = client.post(f"/registry/mdcs/{mdc.pk}/test/", follow=True)
    html = response.content.decode()
    assert "Connection OK" in html and " ms)" in html
    bad = MdcFactory(base_url=fake_mdc_url, password="nope", auth_code="x")
    html = client.post(f"/registry/mdcs/{bad.pk}/test/", follow=True).content.decode()
    assert "Connection failed" in html and "401" in html
    assert client.get(f"/registry/mdcs/{mdc.pk}/test/").status_code == 405


def test_test_connection_api(client_as, fake_mdc_url):
    mdc = MdcFactory(base_url=fake_mdc_url, password="right-pass", auth_code="right-code")
    response = client_as("Administrator").post(f"/api/registry/mdcs/{mdc.pk}/test_connection/")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert (
        client_as("Viewer").post(f"/api/registry/mdcs/{mdc.pk}/test_connection/").status_code == 403
    )
