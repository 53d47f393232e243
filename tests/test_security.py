"""Logins are throttled and locked out, the API challenges anonymous callers and limits rates,
Basic auth is off in production, and every page carries a strict Content-Security-Policy."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "pw-Secret-123"  # the make_user fixture's password


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


# --- login lockout (django-axes) -----------------------------------------------------------------


def test_form_login_locks_the_account_out_after_the_failure_limit(client, make_user, settings):
    user = make_user("Viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, user.username, "wrong").status_code == 200
    locked = _login(client, user.username, "wrong")
    assert locked.status_code == 429
    assert "locked for 15 minutes" in locked.content.decode()
    # the right password does not get in while the lock lasts
    after = _login(client, user.username, PASSWORD)
    assert after.status_code == 429
    assert client.get("/").status_code == 302


def test_basic_auth_failures_count_and_lock_the_api_out(client, make_user, settings):
    user = make_user("Viewer")
    url = "/api/audit/entries/"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.get(url, **_basic(user.username, "wrong")).status_code == 401
    locked = client.get(url, **_basic(user.username, "wrong"))
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 15 * 60
    assert client.get(url, **_basic(user.username, PASSWORD)).status_code == 429


def test_form_and_basic_failures_add_up_and_other_accounts_stay_open(client, make_user, settings):
    victim, bystander = make_user("Viewer"), make_user("Viewer")
    half = settings.AXES_FAILURE_LIMIT // 2
    for _ in range(half):
        _login(client, victim.username, "wrong")
    for _ in range(settings.AXES_FAILURE_LIMIT - half):
        client.get("/api/audit/entries/", **_basic(victim.username, "wrong"))
    assert _login(client, victim.username, PASSWORD).status_code == 429
    bystander_call = client.get("/api/audit/entries/", **_basic(bystander.username, PASSWORD))
    assert bystander_call.status_code == 200
    assert _login(client, bystander.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(client, make_user, settings):
    user = make_user("Viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, user.username, "wrong")
    assert _login(client, user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, user.username, "wrong").status_code == 200
    assert _login(client, user.username, PASSWORD).status_code == 302


# --- API authentication and rate limits -----------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/audit/entries/", "/api/registry/meters/", "/api/schema/", "/api/registry/mdcs/1/"]
)
def test_anonymous_api_calls_get_401_with_a_challenge(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_api_rate_limit_per_user_answers_429(client_as, settings):
    settings.API_RATE_USER = "3/minute"
    client = client_as("Viewer")
    for _ in range(3):
        assert client.get("/api/audit/entries/").status_code == 200
    limited = client.get("/api/audit/entries/")
    assert limited.status_code == 429
    assert "throttled" in limited.json()["detail"].lower()
    assert int(limited["Retry-After"]) > 0


def test_rate_limits_are_settings_and_can_be_switched_off(client_as, settings):
    settings.API_RATE_USER = "off"
    client = client_as("Viewer")
    assert all(client.get("/api/audit/entries/").status_code == 200 for _ in range(5))


def _settings_in(env_overrides: dict[str, str]) -> dict[str, str]:
    """Settings as another process with this environment sees them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        SECRET_KEY="k" * 20 + "-production-test-secret-key-" + "z" * 20,
        ALLOWED_HOSTS="mdm.example.org",
        DATABASE_URL=django_settings.DATABASE_URL,
        REDIS_URL=django_settings.REDIS_URL,
        MDM_CREDENTIALS_KEYS=Fernet.generate_key().decode(),
    )
    env.update(env_overrides)
    code = (
        "from django.conf import settings as s;"
        "print(s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']);"
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), s.API_RATE_USER)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    classes, figures = result.stdout.strip().splitlines()[-2:]
    return {"classes": classes, "figures": figures}


def test_basic_auth_is_off_in_production_and_limits_come_from_the_environment():
    production = _settings_in(
        {
            "MDM_ENV": "production",
            "MDM_LOGIN_FAILURE_LIMIT": "3",
            "MDM_LOGIN_LOCKOUT_MINUTES": "30",
            "MDM_API_RATE_USER": "100/hour",
        }
    )
    assert "BasicAuthentication" not in production["classes"]
    assert production["figures"] == "3 1800 100/hour"
    assert "BasicAuthentication" in _settings_in({"MDM_ENV": "development"})["classes"]


def test_basic_auth_cannot_be_switched_on_in_production():
    production = _settings_in({"MDM_ENV": "production", "MDM_API_BASIC_AUTH": "true"})
    assert "BasicAuthentication" not in production["classes"]


# --- Content-Security-Policy ----------------------------------------------------------------------

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
_EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/api/docs/", "/registry/meters/"])
def test_pages_carry_a_strict_content_security_policy(client_as, url):
    response = client_as("Administrator").get(url)
    assert response.status_code == 200
    policy = _directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("http" in source for sources in policy.values() for source in sources)
    html = response.content.decode()
    # the policy refuses inline script, so the portal has none
    assert not _INLINE_SCRIPT.search(html), _INLINE_SCRIPT.search(html).group(0)
    assert not _EVENT_HANDLER.search(html.split("<body", 1)[-1])


def test_swagger_ui_script_is_served_as_a_file(client_as):
    client = client_as("Viewer")
    html = client.get("/api/docs/").content.decode()
    script_url = re.findall(r'<script src="([^"]+)"', html)[-1].replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
