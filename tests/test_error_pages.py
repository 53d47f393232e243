"""403, 404 and 500: pages in the portal's layout, JSON under /api/, never the debug page."""

import pytest
from django.test import Client

LAYOUT = 'class="navbar-brand"'


@pytest.mark.django_db
def test_404_page_uses_the_portal_layout_and_lists_no_urls(client_as):
    client = client_as("Viewer")
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert LAYOUT in body
    assert "Page not found" in body
    assert "/no/such/page/" in body
    # Django's debug page lists the URL patterns it tried; the portal's page must not.
    assert "URLconf" not in body and "api/registry/" not in body


@pytest.mark.django_db
def test_403_page_uses_the_portal_layout(client_as):
    # A Viewer may not register MDCs.
    response = client_as("Viewer").get("/registry/mdcs/add/")
    assert response.status_code == 403
    body = response.content.decode()
    assert LAYOUT in body
    assert "Access denied" in body


@pytest.mark.django_db
def test_api_404_and_403_stay_json(client_as):
    client = client_as("Viewer")
    missing = client.get("/api/no-such-endpoint/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")
    assert missing.json() == {"detail": "Not found."}
    refused = client.post("/api/ingestion/pulls/", {"mdc": 1})
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/json")
    assert "detail" in refused.json()


@pytest.mark.django_db
@pytest.mark.urls("tests.error_urls")
def test_500_is_a_layout_page_and_json_under_api(make_user):
    client = Client(raise_request_exception=False)
    client.force_login(make_user("Viewer"))
    page = client.get("/test-crash/")
    assert page.status_code == 500
    assert LAYOUT in page.content.decode()
    assert "Server error" in page.content.decode()
    api = client.get("/api/test-crash/")
    assert api.status_code == 500
    assert api.json() == {"detail": "Internal server error."}
