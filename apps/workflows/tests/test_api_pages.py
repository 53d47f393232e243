"""The REST API and pages of work orders: same permissions as the services, filters shared,
bad input a 4xx with a message, overdue orders highlighted, the consumer page's history."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.commands.choices import RequestState
from apps.commands.services import command_request_approve
from apps.workflows.choices import WorkOrderState
from apps.workflows.models import WorkOrder
from apps.workflows.tests.conftest import drive

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/workflows/orders/"


def api_as(make_user, role):
    client = APIClient()
    user = make_user(role)
    client.force_authenticate(user)
    return client, user


def test_api_create_follow_act_with_permissions(wf_env, make_user):
    env = wf_env(code="wfapi", meters=2)
    ref = env.consumers[0].reference_no
    viewer, _ = api_as(make_user, "Viewer")
    denied = viewer.post(URL, {"procedure": "cp6", "consumer": ref}, format="json")
    assert denied.status_code == 403
    assert "workflows.start_field_order" in denied.json()["detail"]
    assert APIClient().get(URL).status_code in (401, 403)

    operator, _ = api_as(make_user, "Operator")
    bad = operator.post(URL, {"procedure": "cp6", "consumer": "nobody"}, format="json")
    assert bad.status_code == 400 and "nobody" in str(bad.json())
    assert (
        operator.post(URL, {"procedure": "cp99", "consumer": ref}, format="json").status_code == 400
    )
    assert operator.get(f"{URL}x1/").status_code == 404

    made = operator.post(
        URL, {"procedure": "cp6", "consumer": ref, "note": "meter check"}, format="json"
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["state"], body["current_step"], body["subdivision"]) == (
        "waiting",
        "reading",
        "SD1",
    )
    assert body["steps"][0]["command_request"] is not None
    assert body["created_at"].endswith("+05:00")
    again = operator.post(URL, {"procedure": "cp3", "consumer": ref}, format="json")
    assert again.status_code == 400 and "already has work order" in str(again.json())

    listed = viewer.get(URL, {"state": "waiting", "procedure": "cp6", "subdivision_code": "sd1"})
    assert [o["id"] for o in listed.json()["results"]] == [body["id"]]
    assert viewer.get(URL, {"state": "completed"}).json()["results"] == []
    drive(WorkOrder.objects.get(pk=body["id"]))
    followed = viewer.get(f"{URL}{body['id']}/").json()
    assert followed["state"] == "completed"
    assert followed["steps"][0]["result"]["active_energy_pos_tl"]

    # CP13 approval by the API: the SDO only.
    revenue, _ = api_as(make_user, "Revenue Officer")
    cp13 = revenue.post(
        URL, {"procedure": "cp13", "consumer": env.consumers[1].reference_no}, format="json"
    ).json()
    assert operator.post(f"{URL}{cp13['id']}/approve/", {}, format="json").status_code == 403
    sdo, _ = api_as(make_user, "SDO")
    approved = sdo.post(f"{URL}{cp13['id']}/approve/", {"note": "go"}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "waiting"
    cancel = revenue.post(f"{URL}{cp13['id']}/cancel/", {}, format="json")
    assert cancel.status_code == 400  # a reason is required
    cancelled = revenue.post(f"{URL}{cp13['id']}/cancel/", {"reason": "paid"}, format="json")
    assert cancelled.json()["state"] == "cancelled"


def test_cp13_bulk_from_defaulters_with_the_two_person_rule(wf_env, make_user, settings):
    from apps.billing.models import MirrorBill

    settings.TWO_PERSON_THRESHOLD = 1
    env = wf_env(code="wfbulk", meters=3)
    for consumer, arrears in zip(env.consumers, ["9000.00", "7000.00", "0.00"], strict=True):
        MirrorBill.objects.create(
            consumer=consumer,
            month=dt.date(2026, 10, 1),
            billed_units=Decimal("100.000"),
            bill_amount=Decimal("3000.00"),
            due_date=dt.date(2026, 10, 20),
            arrears=Decimal(arrears),
        )
    revenue, _ = api_as(make_user, "Revenue Officer")
    started = revenue.post(
        f"{URL}bulk/", {"procedure": "cp13", "defaulters_as_of": "2026-11-01"}, format="json"
    )
    assert started.status_code == 201, started.json()
    ids = started.json()["started"]
    orders = list(WorkOrder.objects.filter(pk__in=ids).order_by("consumer__reference_no"))
    assert [o.consumer for o in orders] == sorted(env.consumers[:2], key=lambda c: c.reference_no)
    sdo, _ = api_as(make_user, "SDO")
    for order in orders:
        assert sdo.post(f"{URL}{order.pk}/approve/", {}, format="json").status_code == 200
    # The second disconnect of the same SDO in the window needs a second person.
    requests = [o.steps.get(key="disconnect").command_request for o in orders]
    assert [r.state for r in requests] == [RequestState.DISPATCHING, RequestState.AWAITING_APPROVAL]
    drive(*orders)
    assert [o.state for o in orders] == [WorkOrderState.COMPLETED, WorkOrderState.WAITING]
    command_request_approve(actor=make_user("Administrator"), request=requests[1])
    drive(*orders)
    assert [o.state for o in orders] == [WorkOrderState.COMPLETED] * 2
    bad = revenue.post(f"{URL}bulk/", {"procedure": "cp4", "consumers": ["x"]}, format="json")
    assert bad.status_code == 400


def test_pages_list_overdue_and_consumer_history(wf_env, make_user, client, settings):
    from apps.workflows.services import work_order_start

    settings.WORKFLOW_STEP_DUE_HOURS = 24
    env = wf_env(code="wfpage", meters=2)
    revenue = make_user("Revenue Officer")
    late = work_order_start(actor=revenue, procedure="cp13", consumer=env.consumers[0])
    fresh = work_order_start(actor=revenue, procedure="cp13", consumer=env.consumers[1])
    WorkOrder.objects.filter(pk=late.pk).update(step_since=timezone.now() - dt.timedelta(hours=30))
    assert client.get("/workflows/").status_code == 302  # login first
    client.force_login(make_user("Viewer"))
    page = client.get("/workflows/", {"state": "open", "current_step": "sdo_execute"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("table-danger") == 1 and f'href="/workflows/{late.pk}/"' in html
    assert f'href="/workflows/{fresh.pk}/"' in html
    assert client.get("/workflows/", {"older_than_days": "abc"}).status_code == 200
    export = client.get("/workflows/", {"_export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    overdue = {row["#"]: row["Overdue"] for row in rows}
    assert (overdue[str(late.pk)], overdue[str(fresh.pk)]) == ("yes", "")
    detail = client.get(f"/workflows/{late.pk}/").content.decode()
    assert "SDO orders the work in the field" in detail and "overdue" in detail
    # The Viewer cannot act: a message, not a 500.
    refused = client.post(f"/workflows/{late.pk}/approve/", follow=True)
    assert "workflows.approve_sdo" in refused.content.decode()
    assert client.post(f"/workflows/{late.pk}/explode/").status_code == 404

    consumer_page = client.get(f"/workflows/consumers/{env.consumers[0].pk}/").content.decode()
    assert env.meters[0].global_device_id in consumer_page
    assert f"#{late.pk} CP13" in consumer_page and "Relay disconnect" in consumer_page
    assert '<select name="procedure"' not in consumer_page  # a Viewer starts nothing

    client.force_login(make_user("Operator"))
    other = env.consumers[1]
    WorkOrder.objects.filter(pk=fresh.pk).update(state=WorkOrderState.CANCELLED)
    started = client.post(
        f"/workflows/consumers/{other.pk}/",
        {"procedure": "cp6", "meter": str(env.meters[1].pk)},
    )
    order = WorkOrder.objects.filter(consumer=other, procedure="cp6").get()
    assert started.status_code == 302 and started.url == f"/workflows/{order.pk}/"


def test_the_registry_consumer_list_links_to_the_consumer_page(db, client, make_user):
    from apps.registry.models import Consumer

    consumer = Consumer.objects.create(reference_no="LINK1", name="Linked")
    client.force_login(make_user("Viewer"))
    html = client.get("/registry/consumers/").content.decode()
    assert f'href="/workflows/consumers/{consumer.pk}/"' in html
    assert client.get(f"/workflows/consumers/{consumer.pk}/").status_code == 200


def test_groups_and_the_beat_tick_exist_after_migrate(db):
    from django.contrib.auth.models import Group
    from django_celery_beat.models import PeriodicTask

    sdo = set(Group.objects.get(name="SDO").permissions.values_list("codename", flat=True))
    assert {"approve_sdo", "send_commandrequest", "view_workorder"} <= sdo
    assert "approve_billing_control" not in sdo
    bcs = Group.objects.get(name="Billing Control Section").permissions
    assert bcs.filter(codename="approve_billing_control").exists()
    assert not bcs.filter(codename="send_commandrequest").exists()
    tick = PeriodicTask.objects.get(task="apps.workflows.tasks.workflows_tick")
    assert tick.enabled and tick.interval.every > 0
