"""Permissions follow the documented roles: Administrator everything, Operator sends commands,
Revenue Officer billing, Viewer reads. Registry administration is for Administrators."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from apps.registry.models import Meter
from apps.registry.tests.factories import MdcFactory, MeterFactory, TransformerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter():
    return MeterFactory(mdc=MdcFactory(code="home-mdc"), msn=4098562412)


def _patch(client, meter, body):
    return client.patch(f"/api/registry/meters/{meter.pk}/", body, content_type="application/json")


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


# --- the role matrix: every URL pattern and API action, for every role ----------------------------
# Derived from the resolver, so a new view is walked without being listed here. The expectations
# are the README's roles: Administrator everything, Operator sends commands (and places meters and
# handles quarantined rows), Revenue Officer billing, Viewer reads; a user without a role reaches
# only their own account pages; anonymous callers reach the login page alone.

ROLE_NAMES = ("Administrator", "Operator", "Revenue Officer", "Viewer")
NO_ROLE, ANONYMOUS = "(no role)", "(anonymous)"
MISSING = "999999"  # no object has this id: a permitted caller gets 404, a refused one 401/403
METHODS = ("get", "post", "put", "patch", "delete")

# Any logged-in user: their own session, password, API tokens (pages and accounts-api) and
# background exports (each user sees and downloads only their own), the
# dashboard, the API docs and the API's index pages.
PERSONAL = {
    "home",
    "logout",
    "password_change",
    "api-token-list",
    "api-token-revoke",
    "export-list",
    "export-download",
    "table-config",  # each user's own column choices and saved filters (#15)
    "saved-filter-create",
    "saved-filter-delete",
    "saved-filter-list",  # My saved filters: each user's own (#15)
    "saved-filter-edit",
    "saved-filter-default",
    "api-docs",
    "api-schema",
}
# Writes (and the pages that are forms for them) an Operator may use.
OPERATOR_WRITES = {
    "commands:request-new",
    "commands:request-cancel",
    "commands:request-retry",
    "commands-api:request-list",
    "commands-api:request-cancel",
    "commands-api:request-retry",
    "registry:meter-edit",
    "registry-api:meter-detail",
    "warehouse:quarantine-resolve",
    "warehouse:quarantine-reload",
    "warehouse-api:quarantine-reprocess",
    "warehouse-api:quarantine-resolve",
    "analytics:silent",  # sends a read or a sync to silent meters: a command
    "analytics:reports",  # runs a report (Viewers read and download them)
    "analytics-api-report-list",
    "analytics:events-list",  # acknowledges events
}
# Commercial-procedure orders check the acting role per workflow step inside their services
# (apps.workflows), after the body is read: a refused role's empty POST answers 400/404 there.
# For their writes the matrix checks logins and the view permission (roles without any role,
# anonymous callers); apps/workflows' own tests cover the per-step roles.
STEP_CHECKED_NAMESPACES = {"workflows", "workflows-api"}
# VEE exceptions (estimates, edits) are acted on by Operators and Revenue Officers.
VEE_NAMESPACES = {"vee", "vee-api"}
# Billing runs, cycles, accounts and the mirror are the Revenue Officers' (Operators only read).
BILLING_NAMESPACES = {"billing", "billing-api"}
# Page names that are forms or actions, not reading (a GET of them shows a form).
WRITE_PAGE = re.compile(
    r"(create|edit|import|new|add|test|pull-now|schedule-update|cancel|retry|approve|reject"
    r"|resolve|reload|reprocess|revoke)$"
)
_ROUTE_PARAMS = {"int": MISSING, "slug": "no-such-code", "str": "disco", "path": MISSING}


@dataclass(frozen=True)
class Endpoint:
    path: str
    name: str
    methods: tuple[str, ...]
    api: bool
    udil: bool  # the simulator's UDIL services: a UDIL private key, not a login


def _concrete(pattern: str) -> str:
    """A request path for a route or router regex, every parameter filled in."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", MISSING, pattern)
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: _ROUTE_PARAMS[m.group(1) or "str"], path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def _methods(callback) -> tuple[str, ...]:
    if getattr(callback, "actions", None):
        return tuple(m for m in METHODS if m in callback.actions)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return ("get",)
    return tuple(m for m in METHODS if hasattr(cls, m) and m in cls.http_method_names)


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
            )
            continue
        pattern = prefix + str(entry.pattern)
        if "format" in pattern:  # ".json" twins of the same views
            continue
        name = f"{namespace}:{entry.name}" if namespace else (entry.name or pattern)
        callback = entry.callback
        yield Endpoint(
            path=_concrete(pattern),
            name=name,
            methods=_methods(callback),
            api=pattern.startswith("api/"),
            udil=name.startswith("simulator:")
            and getattr(callback, "login_required", True) is False,
        )


def endpoints() -> list[Endpoint]:
    return sorted(_walk(get_resolver().url_patterns), key=lambda e: (e.path, e.name))


def expected_allowed(role: str, endpoint: Endpoint, method: str) -> bool:
    name = endpoint.name
    if name == "login":
        return True
    if role == ANONYMOUS:
        return False
    if name.startswith("admin:"):
        return False  # the Django admin is for staff accounts (see the superuser test)
    if role == "Administrator":
        return True
    if name in PERSONAL or name.startswith("accounts-api:") or name.endswith(":api-root"):
        return True
    if role == NO_ROLE:
        return False
    writing = method != "get" or (not endpoint.api and bool(WRITE_PAGE.search(name)))
    if not writing:
        return True
    if name.split(":")[0] in VEE_NAMESPACES:  # validation and estimation feed the bills
        return role in {"Operator", "Revenue Officer"}
    if name.split(":")[0] in BILLING_NAMESPACES:
        return role == "Revenue Officer"
    return role == "Operator" and name in OPERATOR_WRITES


def _refusal(role: str, endpoint: Endpoint, response) -> bool:
    if response.status_code in {401, 403}:
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return "/login/" in location and "next=" in location  # not logout's own redirect


def _call(client, method: str, path: str):
    call = getattr(client, method)
    if method == "get":
        return call(path)
    return call(path, {}, content_type="application/json")


@pytest.fixture
def role_clients(make_user, settings):
    """``request(role, method, path)`` through one logged-in client per role."""
    settings.API_RATE_USER = "off"  # the matrix makes hundreds of calls per role
    users = {role: make_user(role) for role in ROLE_NAMES}
    users[NO_ROLE] = make_user(None)
    clients = {}
    for role in (*users, ANONYMOUS):
        # a 500 is a finding to list, not the end of the walk
        clients[role] = Client(raise_request_exception=False)
        if role in users:
            clients[role].force_login(users[role])

    def request(role: str, method: str, path: str):
        response = _call(clients[role], method, path)
        if role in users and "_auth_user_id" not in clients[role].session:
            clients[role].force_login(users[role])  # that was the logout
        return response

    return request


def test_every_url_and_api_action_follows_the_roles(role_clients):
    walked = [e for e in endpoints() if not e.udil]
    assert len(walked) > 60, "the resolver walk found too few URLs"
    wrong = []
    for endpoint in walked:
        if endpoint.name.startswith("admin:") and endpoint.name != "admin:index":
            continue  # the admin's own permission checks; its door is admin:index (below)
        for method in endpoint.methods:
            for role in (*ROLE_NAMES, NO_ROLE, ANONYMOUS):
                response = role_clients(role, method, endpoint.path)
                if response.status_code >= 500:
                    wrong.append(f"{role} {method.upper()} {endpoint.path}: 5xx")
                    continue
                refused = _refusal(role, endpoint, response)
                if (
                    endpoint.name.split(":")[0] in STEP_CHECKED_NAMESPACES
                    and method != "get"
                    and role in {"Operator", "Revenue Officer", "Viewer"}
                ):
                    continue
                if refused == expected_allowed(role, endpoint, method):
                    wrong.append(
                        f"{role} {method.upper()} {endpoint.path} ({endpoint.name}): "
                        f"{response.status_code}, expected {'allowed' if refused else 'refused'}"
                    )
                elif (
                    refused
                    and role == ANONYMOUS
                    and endpoint.api
                    and (response.status_code != 401 or not response.has_header("WWW-Authenticate"))
                ):
                    wrong.append(f"anonymous {method.upper()} {endpoint.path}: not a 401")
    assert not wrong, "\n".join(wrong)


def test_the_django_admin_is_for_staff_accounts_only(client, make_user):
    for role in ROLE_NAMES:
        client.force_login(make_user(role))
        response = client.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], role
    client.force_login(make_user("Administrator", is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200


def test_udil_services_of_the_simulator_need_the_udil_key_not_a_login(client):
    for endpoint in (e for e in endpoints() if e.udil):
        response = client.post(endpoint.path, {})
        assert 400 <= response.status_code < 500, (endpoint.path, response.status_code)
