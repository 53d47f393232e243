"""The VEE FilterSets take an MDC by its code (case insensitively), as the other apps' do; an
old link's internal id still works; an unknown code is a clear 400, not an empty list."""

from __future__ import annotations

import pytest

from .test_queue import fleet  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def test_exceptions_and_validation_runs_filter_by_mdc_code(fleet, client_as):  # noqa: F811
    _a, b = fleet
    client = client_as("Viewer")
    by_code = client.get("/api/vee/exceptions/", {"mdc": "VENDOR-B"}).json()["results"]
    by_id = client.get("/api/vee/exceptions/", {"mdc": b.mdc_id}).json()["results"]
    assert [r["mdc"] for r in by_code] == ["vendor-b"] and by_code == by_id
    assert client.get("/api/vee/exceptions/", {"mdc": "vendor-z"}).status_code == 400
    page = client.get("/vee/exceptions/", {"mdc": "vendor-a"})
    assert page.status_code == 200 and b"vendor-a" in page.content
    runs = client.get("/api/vee/validations/", {"mdc": "vendor-a"})
    assert runs.status_code == 200
    assert client.get("/api/vee/validations/", {"mdc": "vendor-z"}).status_code == 400
