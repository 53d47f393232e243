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


def test_a_run_that_lost_its_worker_is_resumed_and_a_live_one_is_left_alone(
    make_user, mdc, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from apps.conformance.choices import CheckOutcome, RunState
    from apps.conformance.services import conformance_run_create
    from apps.conformance.tasks import conformance_run_task

    mdc.base_url = "http://127.0.0.1:9/udil/"  # nothing listens: every exchange fails fast
    mdc.save()
    admin = make_user("Administrator")
    live = conformance_run_create(actor=admin, mdc=mdc, device_ids=["m70000001"])
    lost = conformance_run_create(actor=admin, mdc=mdc, device_ids=["m70000001"])
    recently = timezone.now() - timedelta(seconds=60)
    long_ago = timezone.now() - timedelta(seconds=settings.CONFORMANCE_TASK_TIME_LIMIT + 60)
    ConformanceRun.objects.filter(pk=live.pk).update(state=RunState.RUNNING, started_at=recently)
    ConformanceRun.objects.filter(pk=lost.pk).update(state=RunState.RUNNING, started_at=long_ago)
    first = lost.checks.order_by("position").first()
    first.outcome, first.summary = CheckOutcome.PASSED, "done by the lost worker"
    first.save()
    ConformanceRun.objects.filter(pk=lost.pk).update(done=1, passed=1)

    assert conformance_run_task.apply(args=[live.pk]).get() == RunState.RUNNING
    assert not live.checks.exclude(outcome=CheckOutcome.PENDING).exists()

    assert conformance_run_task.apply(args=[lost.pk]).get() == RunState.FAILED
    lost.refresh_from_db()
    assert (lost.done, lost.total) == (lost.total, lost.checks.count())
    assert lost.checks.get(pk=first.pk).summary == "done by the lost worker"  # not redone
    assert not lost.checks.filter(outcome=CheckOutcome.PENDING).exists()
    refused = lost.checks.get(code="auth.key_works")
    assert refused.outcome == CheckOutcome.FAILED
    assert "ConnectError" in refused.summary or refused.evidence["exchanges"]


def test_runs_list_filters_by_mdc_code_page_and_api(client_as, mdc):
    other = Mdc.objects.get(code="vendory")
    mine = ConformanceRun.objects.create(mdc=mdc, profile="2019")
    theirs = ConformanceRun.objects.create(mdc=other, profile="2019")
    client = client_as("Viewer")
    for value in ("vendorx", "VENDORX", str(mdc.pk)):  # the code; an id, for old links
        page = client.get("/conformance/", {"mdc": value}).content.decode()
        assert f'href="{mine.get_absolute_url()}"' in page, value
        assert f'href="{theirs.get_absolute_url()}"' not in page, value
        api = client.get("/api/conformance/runs/", {"mdc": value}).json()
        assert [run["id"] for run in api["results"]] == [mine.pk], value
    response = client.get("/conformance/", {"mdc": "nonesuch"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "no MDC has the code or id nonesuch" in page
    assert f'href="{theirs.get_absolute_url()}"' not in page  # a bad filter lists no runs
    assert client.get("/api/conformance/runs/", {"mdc": "nonesuch"}).status_code == 400
    # a "%" in the typed code is text, not a format (it was a 500 in the API)
    answer = client.get("/api/conformance/runs/", {"mdc": "0-10 %"})
    assert answer.status_code == 400 and "0-10 %" in str(answer.json())
