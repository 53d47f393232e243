"""API tokens for programs: created by the user or an administrator, shown once, stored hashed,
expiring, revocable, audited, and accepted by the API beside session and basic auth."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, api_token_revoke
from apps.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/api/warehouse/meter-visuals/"


def _token_client(secret: str, keyword: str = "Token") -> Client:
    return Client(HTTP_AUTHORIZATION=f"{keyword} {secret}")


def test_a_token_authenticates_with_its_users_roles(make_user):
    viewer = make_user("Viewer")
    _, secret = api_token_create(actor=viewer, user=viewer, name="billing export")
    assert len(secret) == 40
    assert _token_client(secret).get(URL).status_code == 200
    assert _token_client(secret, "Bearer").get(URL).status_code == 200
    # a Viewer's token cannot write
    response = _token_client(secret).post(
        "/api/registry/mdcs/", {"code": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    # without a token: refused, with a challenge naming the scheme
    anonymous = Client().get(URL)
    assert anonymous.status_code == 401
    assert anonymous.has_header("WWW-Authenticate")


def test_only_the_hash_is_stored_and_last_use_is_recorded(make_user):
    user = make_user("Viewer")
    token, secret = api_token_create(actor=user, user=user, name="scada")
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.key_prefix == secret[:8]
    assert secret not in {str(v) for v in ApiToken.objects.values_list(flat=False).get()}
    assert token.last_used_at is None
    _token_client(secret).get(URL)
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("bad", ["", "x" * 40, "Token", "a b"])
def test_wrong_tokens_are_refused_with_a_message(make_user, bad):
    user = make_user("Viewer")
    _, secret = api_token_create(actor=user, user=user, name="p")
    wrong = bad or secret[:8] + "y" * 32
    response = Client(HTTP_AUTHORIZATION=f"Token {wrong}").get(URL)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_revoked_and_expired_tokens_are_refused(make_user):
    user = make_user("Viewer")
    token, secret = api_token_create(actor=user, user=user, name="a")
    api_token_revoke(actor=user, token=token)
    api_token_revoke(actor=user, token=token)  # twice: nothing more
    response = _token_client(secret).get(URL)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    token, secret = api_token_create(
        actor=user, user=user, name="b", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    assert _token_client(secret).get(URL).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = _token_client(secret).get(URL)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    actions = list(
        AuditEntry.objects.filter(action__startswith="accounts.api_token").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == sorted(
        ["accounts.api_token_create", "accounts.api_token_create", "accounts.api_token_revoke"]
    )


def test_a_token_of_an_inactive_user_is_refused(make_user):
    user = make_user("Viewer")
    _, secret = api_token_create(actor=user, user=user, name="a")
    user.is_active = False
    user.save()
    assert _token_client(secret).get(URL).status_code == 401


def test_api_create_shows_the_key_once_and_lists_own_tokens_only(client_as, make_user):
    client = client_as("Operator")
    response = client.post(
        "/api/accounts/tokens/", {"name": "meter reading app"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["key"]
    assert _token_client(secret).get(URL).status_code == 200
    listing = client.get("/api/accounts/tokens/").json()["results"]
    assert [t["name"] for t in listing] == ["meter reading app"]
    assert "key" not in listing[0] and "key_hash" not in listing[0]
    assert client.get(f"/api/accounts/tokens/{created['id']}/").json().get("key") is None
    other = make_user("Viewer")
    api_token_create(actor=other, user=other, name="someone else's")
    assert len(client.get("/api/accounts/tokens/").json()["results"]) == 1
    # not allowed to create for someone else, and says why
    response = client.post(
        "/api/accounts/tokens/",
        {"name": "x", "username": other.username},
        content_type="application/json",
    )
    assert response.status_code == 403
    # a past expiry is a 400 with a message
    response = client.post(
        "/api/accounts/tokens/",
        {"name": "x", "expires_at": "2020-01-01T00:00:00+05:00"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "expires_at" in response.json()
    revoke = client.post(f"/api/accounts/tokens/{created['id']}/revoke/")
    assert revoke.status_code == 200 and revoke.json()["state"] == "revoked"
    assert _token_client(secret).get(URL).status_code == 401


def test_administrator_creates_and_revokes_tokens_for_others(client_as, make_user):
    admin = client_as("Administrator")
    viewer = make_user("Viewer")
    response = admin.post(
        "/api/accounts/tokens/",
        {"name": "for the viewer", "username": viewer.username},
        content_type="application/json",
    )
    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.user == viewer
    assert len(admin.get("/api/accounts/tokens/").json()["results"]) == 1
    assert admin.post(f"/api/accounts/tokens/{token.pk}/revoke/").status_code == 200


def test_page_creates_shows_once_and_revokes(client_as):
    client = client_as("Viewer")
    page = client.get("/accounts/tokens/")
    assert page.status_code == 200 and "No tokens yet" in page.content.decode()
    created = client.post("/accounts/tokens/", {"name": "my script", "expires_at": ""})
    assert created.status_code == 200
    secret = re.search(r'id="new-token">([^<]+)<', created.content.decode()).group(1)
    assert _token_client(secret).get(URL).status_code == 200
    again = client.get("/accounts/tokens/").content.decode()
    assert secret not in again and secret[:8] in again and "my script" in again
    token = ApiToken.objects.get()
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    bad = client.post("/accounts/tokens/", {"name": "", "expires_at": "not a date"})
    assert bad.status_code == 400


def test_anonymous_cannot_reach_the_token_page():
    response = Client().get("/accounts/tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]
