"""The MDC form edits its JSON settings as rows (#15), and "Test connection" tries the unsaved
form against a simulated MDC over real HTTP, with what fails marked on the field concerned."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.registry.connection import udil_error_fields
from apps.registry.models import Mdc
from apps.registry.tests.factories import MdcFactory
from apps.simulator.testing import make_sim_mdc, sim_base_url

pytestmark = pytest.mark.django_db


def _form(**overrides) -> dict:
    data = {
        "code": "gamma",
        "name": "Gamma head end",
        "vendor": "Gamma",
        "udil_profile": "2019",
        "transport": "api",
        "base_url": "http://127.0.0.1:9/gamma/",
        "data_format": "json",
        "credentials_in": "headers",
        "username": "mdm",
        "password": "pw",
        "auth_code": "code",
        "timeout_seconds": "5",
        "batch_size": "100",
        "key_lifetime_minutes": "30",
        "lp_energy_kind": "register",
        "energy_register_max": "1000000000",
        "enabled": "on",
        "window_minutes-rows": "1",
        "window_minutes-key": ["load_profile", "events"],
        "window_minutes-value": ["720", "1440"],
        "pull_intervals-rows": "1",
        "pull_intervals-key": ["events", ""],
        "pull_intervals-value": ["15", ""],
        "path_overrides-rows": "1",
        "path_overrides-key": ["events"],
        "path_overrides-value": ["v2/events"],
        "tabular_views-rows": "1",
    }
    data.update(overrides)
    return data


def _field_errors(page: str, field: str) -> list[str]:
    """The messages shown under one field of the form."""
    block = re.search(rf'for="id_{field}">(.*?)(?:<div class="mb-3 row">|</form>)', page, re.S)
    assert block, f"no field {field} on the page"
    return re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', block.group(1), re.S)


def test_the_form_shows_rows_not_json(client_as):
    mdc = MdcFactory(window_minutes={"load_profile": 720}, path_overrides={"events": "v2/ev"})
    page = client_as("Administrator").get(reverse("registry:mdc-edit", args=[mdc.pk]))
    text = page.content.decode()
    assert 'name="window_minutes-key"' in text
    assert '<option value="load_profile" selected>' in text
    assert 'name="path_overrides-value" value="v2/ev"' in text
    assert "key-value-rows.js" in text
    assert '"load_profile": 720' not in text and "{&quot;" not in text
    assert 'name="password" value' not in text.replace('name="password" value=""', "")


def test_rows_are_saved_as_the_api_json(client_as):
    response = client_as("Administrator").post(reverse("registry:mdc-create"), _form())
    assert response.status_code == 302, response.content.decode()[:3000]
    mdc = Mdc.objects.get(code="gamma")
    assert mdc.window_minutes == {"load_profile": 720, "events": 1440}
    assert mdc.pull_intervals == {"events": 15}  # the blank row is dropped
    assert mdc.path_overrides == {"events": "v2/events"}
    assert mdc.tabular_views == {}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"window_minutes-value": ["0", "1440"]},
            "window_minutes",
            "Load profile data: minutes must be at least 1.",
        ),
        (
            {"window_minutes-value": ["ten", "1440"]},
            "window_minutes",
            "Load profile data: minutes must be a whole number.",
        ),
        ({"window_minutes-key": ["events", "events"]}, "window_minutes", "Events: given twice."),
        (
            {"pull_intervals-key": ["nonsense", ""]},
            "pull_intervals",
            "nonsense: not one of the choices.",
        ),
        (
            {"path_overrides-value": ["http://evil/x"]},
            "path_overrides",
            "events: path must be a relative path",
        ),
        ({"path_overrides-key": [""]}, "path_overrides", "Row 1: choose a udil service."),
    ],
)
def test_a_bad_row_is_explained_next_to_its_field(client_as, overrides, field, message):
    response = client_as("Administrator").post(reverse("registry:mdc-create"), _form(**overrides))
    assert response.status_code == 200
    errors = _field_errors(response.content.decode(), field)
    assert any(message in error for error in errors), errors
    assert not Mdc.objects.filter(code="gamma").exists()


def test_the_mdc_page_shows_settings_as_labelled_rows(client_as):
    mdc = MdcFactory(window_minutes={"load_profile": 720}, pull_intervals={"events": 15})
    page = client_as("Viewer").get(mdc.get_absolute_url()).content.decode()
    assert "{'" not in page
    assert re.search(r"Load profile data</t[dh]>\s*<td[^>]*>720 min", page)
    assert re.search(r"Events</t[dh]>\s*<td[^>]*>every 15 min", page)


# --- test connection before saving ------------------------------------------------------------


@pytest.fixture
def sim(live_server):
    sim_mdc, _ = make_sim_mdc(code="draftsim", meters=1, days=1, credentials_in="headers")
    return sim_mdc, sim_base_url(live_server, sim_mdc)


def _draft(sim_mdc, base_url, **overrides):
    values = {
        "action": "test",
        "base_url": base_url,
        "data_format": sim_mdc.fmt,
        "credentials_in": "headers",
        "username": sim_mdc.username,
        "password": sim_mdc.password,
        "auth_code": sim_mdc.auth_code,
    }
    return _form(**{**values, **overrides})


def test_unsaved_settings_connect_and_nothing_is_saved(client_as, sim):
    sim_mdc, url = sim
    response = client_as("Administrator").post(reverse("registry:mdc-create"), _draft(sim_mdc, url))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Connection OK" in text and "Nothing was saved." in text
    assert not Mdc.objects.exists()
    assert AuditEntry.objects.filter(action="registry.mdc.test_draft").count() == 1
    # what was typed stays in the form for the save that follows
    assert f'value="{sim_mdc.password}"' in text


def test_an_empty_authorization_code_is_named_on_its_field(client_as, sim):
    sim_mdc, url = sim
    response = client_as("Administrator").post(
        reverse("registry:mdc-create"), _draft(sim_mdc, url, auth_code="", code="", name="")
    )
    text = response.content.decode()
    assert "Connection failed" in text
    assert _field_errors(text, "auth_code") == [
        "The authorization code is empty: the MDC needs it to connect."
    ]
    assert _field_errors(text, "code") == []  # a draft may be tested before it has a code


def test_credentials_sent_where_the_mdc_does_not_look_point_at_the_fields(client_as, sim):
    sim_mdc, url = sim
    elsewhere = "form"  # the simulated MDC reads them from the headers
    response = client_as("Administrator").post(
        reverse("registry:mdc-create"), _draft(sim_mdc, url, credentials_in=elsewhere)
    )
    text = response.content.decode()
    assert "Connection failed" in text
    (message,) = _field_errors(text, "auth_code")
    assert "The MDC received no authorization code (&#x27;code: is required&#x27;)" in message


def test_wrong_code_marks_the_credentials(client_as, sim):
    sim_mdc, url = sim
    response = client_as("Administrator").post(
        reverse("registry:mdc-create"), _draft(sim_mdc, url, auth_code="wrong")
    )
    text = response.content.decode()
    for field in ("username", "password", "auth_code"):
        assert any("refused these credentials" in e for e in _field_errors(text, field)), field


def test_editing_tests_with_the_stored_secret_when_left_blank(client_as, sim):
    sim_mdc, url = sim
    mdc = MdcFactory(
        code="stored",
        base_url=url,
        username=sim_mdc.username,
        password=sim_mdc.password,
        auth_code=sim_mdc.auth_code,
        data_format=sim_mdc.fmt,
        credentials_in="headers",
    )
    response = client_as("Administrator").post(
        reverse("registry:mdc-edit", args=[mdc.pk]),
        _draft(sim_mdc, url, code="stored", password="", auth_code="", name="Renamed"),
    )
    text = response.content.decode()
    assert "Connection OK" in text
    assert Mdc.objects.get(pk=mdc.pk).name != "Renamed"  # not saved
    assert sim_mdc.password not in text  # the stored secret is never sent back


def test_an_address_the_registry_refuses_is_not_probed(client_as):
    response = client_as("Administrator").post(
        reverse("registry:mdc-create"),
        _form(action="test", base_url="http://169.254.169.254/latest/"),
    )
    text = response.content.decode()
    assert _field_errors(text, "base_url"), text[:2000]
    assert not AuditEntry.objects.filter(action="registry.mdc.test_draft").exists()


def test_only_administrators_test_drafts(client_as):
    response = client_as("Operator").post(reverse("registry:mdc-create"), _form(action="test"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("The MDC answered with an error: HTTP 401: code: is required", "auth_code"),
        ("HTTP 401: username: is required; password: is required", "username"),
        ("MdcUnavailable: connection refused", "base_url"),
    ],
)
def test_udil_messages_map_to_form_fields(message, field):
    assert field in udil_error_fields(message, transport="api")
