"""The console and the API: permissions, the generated parameter form, review and confirm."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.commands.choices import RequestState
from apps.commands.models import CommandRequest
from apps.registry.tests.factories import MdcFactory, MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(make_user):
    """A separate logged-in client per role (``client_as`` reuses one client)."""

    def make(role):
        client = Client()
        client.force_login(make_user(role))
        return client

    return make


@pytest.fixture
def fleet():
    mdc_a, mdc_b = MdcFactory(code="mdc-a"), MdcFactory(code="mdc-b")
    meters = [MeterFactory(mdc=mdc_a, transformer=None, consumer=None) for _ in range(3)]
    meters += [MeterFactory(mdc=mdc_b, transformer=None, consumer=None) for _ in range(2)]
    return mdc_a, mdc_b, meters


@pytest.mark.parametrize(
    ("role", "new_page", "history"),
    [
        ("Viewer", 403, 200),
        ("Operator", 200, 200),
        ("Administrator", 200, 200),
        ("Revenue Officer", 403, 200),
    ],
)
def test_page_permissions(client_as, role, new_page, history):
    client = client_as(role)
    assert client.get(reverse("commands:request-new")).status_code == new_page
    assert client.get(reverse("commands:request-list")).status_code == history


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("commands:request-list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_select_shows_count_and_mdcs(client_as, fleet):
    mdc_a, _, _ = fleet
    response = client_as("Operator").get(reverse("commands:request-new"), {"mdc": mdc_a.pk})
    selection = response.context["selection"]
    assert selection.count == 3
    assert selection.mdcs == [("mdc-a", 3)]
    # No criterion selects nothing, never the whole fleet.
    response = client_as("Operator").get(reverse("commands:request-new"), {"search": ""})
    assert response.context["selection"].count == 0


def test_console_params_review_confirm(client_as, fleet, django_capture_on_commit_callbacks):
    _, _, meters = fleet
    client = client_as("Operator")
    url = reverse("commands:request-new")
    pasted = "\n".join(m.global_device_id for m in meters[:2]) + f"\n{meters[4].msn}\nnope1"
    base = {"command": "sanctioned_load_control", "pasted": pasted, "selection": ""}
    page = client.post(url, {**base, "step": "params"})
    assert page.context["step"] == "params"
    assert page.context["selection"].count == 3
    assert page.context["selection"].unknown_ids == ["nope1"]
    names = list(page.context["params_form"].fields)
    assert names == [
        "load_limit",
        "maximum_retries",
        "retry_interval",
        "threshold_duration",
        "retry_clear_interval",
        "scheduled_at",
    ]
    assert page.context["params_form"].fields["load_limit"].help_text == "Threshold limit in kW"
    # Bad values: the protocol package's messages, on their fields.
    bad = client.post(url, {**base, "step": "review", "load_limit": "abc", "maximum_retries": "3"})
    form = bad.context["params_form"]
    assert bad.context["step"] == "params"
    assert form.errors["retry_interval"] == ["is required"]
    assert "load_limit" in form.errors
    assert b"is required" in bad.content
    params = {
        "load_limit": "20",
        "maximum_retries": "10",
        "retry_interval": "60",
        "threshold_duration": "30",
        "retry_clear_interval": "3600",
    }
    review = client.post(url, {**base, "step": "review", **params})
    assert review.context["step"] == "review"
    assert review.context["wire_params"] == params
    assert review.context["needs_approval"] is False
    assert CommandRequest.objects.count() == 0
    with django_capture_on_commit_callbacks() as callbacks:
        done = client.post(url, {**base, "step": "confirm", **params})
    created = CommandRequest.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("commands:request-detail", args=[created.pk])
    assert (created.command, created.device_count, created.mdc_count) == (
        "sanctioned_load_control",
        3,
        2,
    )
    assert created.params == params
    assert len(callbacks) == 1
    detail = client.get(done["Location"])
    assert detail.status_code == 200
    assert detail.context["progress"].total == 3
    assert detail.context["progress"].by_outcome["pending"] == 3
    progress = client.get(reverse("commands:progress", args=[created.pk])).json()
    assert progress["total"] == 3 and progress["percent"] == 0
    assert progress["by_level"]["unknown"] == 3
    fragment = client.get(done["Location"], {"fragment": "devices"})
    assert b'id="device-table-wrap"' in fragment.content
    assert meters[0].global_device_id.encode() in fragment.content


def test_review_warns_about_two_person_rule(login, fleet, settings):
    settings.TWO_PERSON_THRESHOLD = 2
    _, _, meters = fleet
    client = login("Operator")
    pasted = " ".join(m.global_device_id for m in meters)
    base = {"command": "aux_relay_operations", "pasted": pasted, "relay_operate": "0"}
    review = client.post(reverse("commands:request-new"), {**base, "step": "review"})
    assert review.context["needs_approval"] is True
    assert b'id="two-person"' in review.content
    client.post(reverse("commands:request-new"), {**base, "step": "confirm"})
    created = CommandRequest.objects.get()
    assert created.state == RequestState.AWAITING_APPROVAL
    # The operator cannot approve; an administrator can, from the page.
    url = reverse("commands:request-approve", args=[created.pk])
    assert client.post(url).status_code == 403
    admin = login("Administrator")
    detail = admin.get(created.get_absolute_url())
    assert detail.context["can_approve"] is True
    admin.post(url, {"note": "checked"})
    created.refresh_from_db()
    assert created.state == RequestState.DISPATCHING
    assert created.decision_note == "checked"


def test_viewer_cannot_post_actions(client_as, fleet, make_user):
    from apps.commands.services import command_request_create

    _, _, meters = fleet
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=[m.pk for m in meters],
    )
    viewer = client_as("Viewer")
    assert viewer.get(request.get_absolute_url()).status_code == 200
    for name in ("commands:request-cancel", "commands:request-retry", "commands:request-approve"):
        assert viewer.post(reverse(name, args=[request.pk])).status_code == 403
    assert viewer.post(reverse("commands:request-new"), {"step": "params"}).status_code == 403


def test_history_filters(client_as, fleet, make_user):
    from apps.commands.services import command_request_create

    _, _, meters = fleet
    operator = make_user("Operator")
    sync = command_request_create(
        actor=operator, command="time_synchronization", params={}, meters=[meters[0].pk]
    )
    relay = command_request_create(
        actor=operator,
        command="aux_relay_operations",
        params={"relay_operate": "1"},
        meters=[meters[1].pk],
    )
    client = client_as("Viewer")
    url = reverse("commands:request-list")
    listed = client.get(url, {"command": "aux_relay_operations"}).context["table"].data
    assert [r.pk for r in listed] == [relay.pk]
    listed = client.get(url, {"search": meters[0].global_device_id}).context["table"].data
    assert [r.pk for r in listed] == [sync.pk]
    listed = client.get(url, {"search": f"#{relay.pk}"}).context["table"].data
    assert [r.pk for r in listed] == [relay.pk]


# --- API ---------------------------------------------------------------------------------------


def test_api_permissions_and_create(login, fleet, django_capture_on_commit_callbacks):
    mdc_a, _, meters = fleet
    url = reverse("commands-api:request-list")
    body = {
        "command": "meter_data_sampling",
        "params": {
            "activation_datetime": "2025-01-01 00:00:00",
            "data_type": "lpro",
            "sampling_interval": "30",
            "sampling_initial_time": "0",
        },
        "meters": [m.global_device_id for m in meters[:2]],
    }
    viewer = login("Viewer")
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, body, content_type="application/json").status_code == 403
    operator = login("Operator")
    bad = operator.post(
        url, {**body, "params": {"sampling_interval": "90"}}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json()["sampling_interval"] == ["must be between 1 and 59, got '90'"]
    assert bad.json()["data_type"] == ["is required"]
    with django_capture_on_commit_callbacks() as callbacks:
        created = operator.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["params"]["data_type"] == "LPRO"
    assert data["device_count"] == 2
    assert data["progress"]["by_outcome"]["pending"] == 2
    assert len(data["transactions"]) == 1
    assert len(data["transactions"][0]["transactionid"]) == 32
    assert len(callbacks) == 1
    by_filter = operator.post(
        url,
        {"command": "time_synchronization", "meter_filter": {"mdc": str(mdc_a.pk)}},
        content_type="application/json",
    )
    assert by_filter.status_code == 201
    assert by_filter.json()["device_count"] == 3
    pk = data["id"]
    detail = viewer.get(reverse("commands-api:request-detail", args=[pk]))
    assert detail.json()["state"] == "dispatching"
    devices = viewer.get(reverse("commands-api:request-devices", args=[pk])).json()
    assert devices["count"] == 2
    # Viewer can neither cancel nor approve; operator cannot approve.
    cancel_url = reverse("commands-api:request-cancel", args=[pk])
    assert viewer.post(cancel_url, {}, content_type="application/json").status_code == 403
    approve_url = reverse("commands-api:request-approve", args=[pk])
    assert operator.post(approve_url, {}, content_type="application/json").status_code == 403
    admin = login("Administrator")
    not_waiting = admin.post(approve_url, {}, content_type="application/json")
    assert not_waiting.status_code == 400
    cancelled = operator.post(cancel_url, {}, content_type="application/json")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_locally"] == 2
    assert viewer.get(reverse("commands-api:request-detail", args=[pk])).json()["state"] == (
        "cancelled"
    )


def test_api_two_person_rule(login, fleet, settings):
    settings.TWO_PERSON_THRESHOLD = 1
    _, _, meters = fleet
    url = reverse("commands-api:request-list")
    operator = login("Operator")
    created = operator.post(
        url,
        {
            "command": "meter_status_update",
            "params": {"meter_activation_status": "0"},
            "meters": [m.global_device_id for m in meters[:2]],
        },
        content_type="application/json",
    ).json()
    assert created["state"] == "awaiting_approval"
    assert created["approval_required"] is True
    approve = reverse("commands-api:request-approve", args=[created["id"]])
    approved = login("Administrator").post(approve, {"note": "ok"}, content_type="application/json")
    assert approved.status_code == 200
    assert approved.json()["state"] == "dispatching"
    assert approved.json()["decision_note"] == "ok"
