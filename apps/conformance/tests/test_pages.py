"""Starting a run is for administrators only, on an API MDC and its own meters; bad input is a
4xx with a message and queues nothing."""

from __future__ import annotations

import pytest

from apps.conformance.models import ConformanceRun
from apps.registry.models import Mdc, Meter

pytestmark = pytest.mark.django_db


@pytest.fixture
def mdc():
    mdc = Mdc.objects.create(
        code="vendorx",
        name="Vendor X",
        base_url="https://mdc.example.invalid/udil/",
        username="u",
        password="secret-pass",
        auth_code="223",
    )
    Meter.objects.create(global_device_id="m70000001", msn=4070000001, mdc=mdc)
    other = Mdc.objects.create(code="vendory", name="Vendor Y", base_url="https://y.invalid/")
    Meter.objects.create(global_device_id="m70000002", msn=4070000002, mdc=other)
    return mdc


@pytest.mark.parametrize("role", ["Viewer", "Operator", "Revenue Officer"])
def test_only_administrators_start_runs(client_as, mdc, role):
    client = client_as(role)
    assert client.get(f"/conformance/mdc/{mdc.pk}/run/").status_code == 403
    api = client.post(
        "/api/conformance/runs/",
        {"mdc": mdc.pk, "device_ids": ["m70000001"]},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert client.get("/conformance/").status_code == 200  # every role reads reports
    assert not ConformanceRun.objects.exists()


def test_anonymous_is_sent_to_login(client, mdc):
    assert client.get("/conformance/").status_code == 302
    assert client.get("/api/conformance/runs/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"device_ids": ["m70000002"]}, "device_ids"),  # another MDC's meter
        ({"device_ids": []}, "device_ids"),
        ({"device_ids": ["m70000001"], "commands": ["transaction_status"]}, "commands"),
        ({"device_ids": ["m70000001"], "mdc": 999999}, "mdc"),
    ],
)
def test_bad_input_is_400_with_a_message(client_as, mdc, payload, field):
    client = client_as("Administrator")
    response = client.post(
        "/api/conformance/runs/", {"mdc": mdc.pk, **payload}, content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not ConformanceRun.objects.exists()


def test_the_run_page_warns_that_commands_are_real_and_the_registry_links_it(client_as, mdc):
    client = client_as("Administrator")
    page = client.get(f"/conformance/mdc/{mdc.pk}/run/")
    assert page.status_code == 200
    assert "The commands are real" in page.content.decode()
    assert "m70000001" in page.content.decode()
    assert "m70000002" not in page.content.decode()
    detail = client.get(mdc.get_absolute_url()).content.decode()
    assert f"/conformance/mdc/{mdc.pk}/run/" in detail
    bad = client.post(f"/conformance/mdc/{mdc.pk}/run/", {"device_ids": ["m70000002"]})
    assert bad.status_code == 400
    assert not ConformanceRun.objects.exists()
    ok = client.post(
        f"/conformance/mdc/{mdc.pk}/run/",
        {"device_ids": ["m70000001"], "commands": ["time_synchronization"]},
    )
    run = ConformanceRun.objects.get()
    assert ok.status_code == 302 and ok.url == run.get_absolute_url()
    assert run.commands == ["time_synchronization"] and run.checks.count() == run.total
    progress = client.get(run.get_absolute_url()).content.decode()
    assert 'http-equiv="refresh"' in progress and "0/" in progress


def test_diff_without_runs_is_400(client_as):
    assert client_as("Viewer").get("/conformance/diff/").status_code == 400
