"""Login everywhere; roles carry their permissions."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.roles import ROLES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/audit/", "/api/audit/entries/", "/api/docs/", "/admin/"])
def test_anonymous_users_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code in {302, 401, 403}
    if response.status_code == 302:
        assert "/login/" in response["Location"]


def test_login_page_renders_without_login(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_login_with_password_reaches_dashboard(client, make_user):
    user = make_user("Viewer")
    response = client.post(
        reverse("login"), {"username": user.username, "password": "pw-Secret-123"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_the_four_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_viewer_can_read_audit_but_a_user_without_role_cannot(client_as):
    assert client_as("Viewer").get("/audit/").status_code == 200
    assert client_as(None).get("/audit/").status_code == 403


def test_api_requires_view_permission(client_as):
    assert client_as(None).get("/api/audit/entries/").status_code == 403
    assert client_as("Viewer").get("/api/audit/entries/").status_code == 200


def test_audit_api_is_read_only_even_for_administrators(client_as):
    client = client_as("Administrator")
    response = client.post("/api/audit/entries/", {"action": "forged"})
    assert response.status_code == 405


def test_static_assets_are_local(client_as):
    html = client_as("Viewer").get("/").content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert "/static/vendor/plotly/plotly.min.js" in html
