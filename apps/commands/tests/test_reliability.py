"""Defects found by outside testing (issues 8 and 16): requests over several MDCs finish when
their polls are applied at the same moment in different worker processes, retry sends only
what can succeed, cancel before dispatch makes no separate request, the two-person rule counts
over a rolling window, and bad ids on actions are 4xx."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.commands.choices import Outcome, RequestState
from apps.commands.models import CommandRequest
from apps.commands.services import (
    command_cancel,
    command_request_create,
    command_retry_failed,
    transactions_poll,
)
from apps.commands.tasks import commands_tick
from apps.commands.tests.e2e import dispatch_all, sim_registered
from apps.registry.models import Meter
from apps.registry.tests.factories import MdcFactory, MeterFactory

SLOW_TRIGGER = "commands_test_commit_rendezvous"


def _registered(live_server, code: str, meters: int, **settings):
    env = sim_registered(live_server, code, meters, **settings)
    return env.mdc, env.meters


def _poll_in_child(mdc_id: int, barrier, results) -> None:
    """A worker process: its own database connection, then one poll cycle of one MDC."""
    from apps.commands import services

    # The parent closed its connections before forking; drop the parent's cached HTTP clients
    # (their sockets belong to the parent) without closing them.
    services._clients.clear()
    try:
        barrier.wait(timeout=120)
        result = transactions_poll(mdc_id=mdc_id, due_only=False)
        results.put((mdc_id, result.devices_changed, result.errors))
    except Exception as exc:  # reported to the test, which fails on it
        results.put((mdc_id, -1, [repr(exc)]))
    finally:
        connections.close_all()


# At COMMIT of a poll's apply (a deferred constraint trigger on its transaction rows), wait
# until the other worker is committing too, at most 10 s: both have then decided whether the
# request is finished before either's writes are visible, which is the moment two busy MDCs'
# polls collide in production, whatever the machine's speed.
RENDEZVOUS = f"""
CREATE OR REPLACE FUNCTION {SLOW_TRIGGER}() RETURNS trigger AS $$
BEGIN
    PERFORM set_config('application_name', '{SLOW_TRIGGER}', true);
    FOR i IN 1..100 LOOP
        PERFORM pg_stat_clear_snapshot();  -- else the activity view is read once per transaction
        EXIT WHEN (SELECT count(*) FROM pg_stat_activity
                   WHERE application_name = '{SLOW_TRIGGER}') >= 2;
        PERFORM pg_sleep(0.1);
    END LOOP;
    PERFORM pg_sleep(0.3);  -- stay visible while the other worker looks
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


@pytest.fixture
def commits_rendezvous(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(RENDEZVOUS)

    def on() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE CONSTRAINT TRIGGER {SLOW_TRIGGER} AFTER UPDATE "
                "ON commands_commandtransaction DEFERRABLE INITIALLY DEFERRED "
                f"FOR EACH ROW EXECUTE FUNCTION {SLOW_TRIGGER}()"
            )

    yield on
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {SLOW_TRIGGER} ON commands_commandtransaction")
        cursor.execute(f"DROP FUNCTION IF EXISTS {SLOW_TRIGGER}()")


@pytest.mark.django_db(transaction=True)
def test_request_over_two_mdcs_polled_in_two_processes_finishes(
    live_server, make_user, commits_rendezvous
):
    mdc_a, meters_a = _registered(live_server, "race_a", 3)
    mdc_b, meters_b = _registered(live_server, "race_b", 3)
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=meters_a + meters_b,
    )
    assert dispatch_all(request) == ["sent", "sent"]
    commits_rendezvous()
    connections.close_all()  # the children open their own connections
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_poll_in_child, args=(mdc.pk, barrier, results))
        for mdc in (mdc_a, mdc_b)
    ]
    for worker in workers:
        worker.start()
    outcome = sorted(results.get(timeout=180) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert outcome == [(mdc_a.pk, 3, []), (mdc_b.pk, 3, [])]
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert request.finished_at is not None
    assert set(request.devices.values_list("outcome", flat=True)) == {Outcome.EXECUTED}


@pytest.mark.django_db
def test_the_tick_sweeps_requests_left_open_with_nothing_pending(make_user):
    """Whatever left a request open (a worker killed between its writes), the beat closes it."""
    mdc = MdcFactory()
    meters = [MeterFactory(mdc=mdc, transformer=None, consumer=None) for _ in range(2)]
    request = command_request_create(
        actor=make_user("Operator"), command="time_synchronization", params={}, meters=meters
    )
    CommandRequest.objects.filter(pk=request.pk).update(state=RequestState.IN_PROGRESS)
    request.devices.update(outcome=Outcome.EXECUTED, finished_at=timezone.now())
    assert commands_tick.apply().get()["swept"] == 1
    request.refresh_from_db()
    assert (request.state, request.finished_at is not None) == (RequestState.COMPLETED, True)


@pytest.mark.django_db(transaction=True)
def test_retry_resends_only_what_can_succeed_and_says_why(live_server, make_user):
    mdc, meters = _registered(live_server, "retry_a", 3, failure_rate=1.0)
    unknown = Meter.objects.create(global_device_id="m77777777", msn=4077777777, mdc=mdc)
    operator = make_user("Operator")
    request = command_request_create(
        actor=operator,
        command="time_synchronization",
        params={},
        meters=[*meters, unknown],
    )
    dispatch_all(request)
    transactions_poll(mdc_id=mdc.pk, due_only=False)
    outcomes = dict(request.devices.values_list("global_device_id", "outcome"))
    assert outcomes == {
        **{m.global_device_id: Outcome.FAILED for m in meters},
        "m77777777": Outcome.REFUSED,
    }
    inactive = meters[0]
    Meter.objects.filter(pk=inactive.pk).update(activation_status=0)
    client = Client()
    client.force_login(operator)
    response = client.post(
        reverse("commands-api:request-retry", args=[request.pk]), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    retry = CommandRequest.objects.get(pk=body["id"])
    assert sorted(retry.devices.values_list("global_device_id", flat=True)) == sorted(
        m.global_device_id for m in meters[1:]
    )
    left_out = {item["global_device_id"]: item["reason"] for item in body["left_out"]}
    assert set(left_out) == {"m77777777", inactive.global_device_id}
    assert left_out["m77777777"].startswith("refused by the MDC:")
    assert "is not known to this MDC" in left_out["m77777777"]
    assert "inactive" in left_out[inactive.global_device_id]


@pytest.mark.django_db
def test_retry_with_nothing_that_can_succeed_says_so(make_user):
    mdc = MdcFactory()
    meter = MeterFactory(mdc=mdc, transformer=None, consumer=None)
    request = command_request_create(
        actor=make_user("Operator"), command="time_synchronization", params={}, meters=[meter]
    )
    request.devices.update(outcome=Outcome.REFUSED, message="the meter is inactive")
    with pytest.raises(ValidationError) as exc:
        command_retry_failed(actor=make_user("Operator"), request=request)
    assert "refused by the MDC" in exc.value.messages[0]


@pytest.mark.django_db
def test_cancel_before_dispatch_makes_no_cancel_request_and_no_pending_approval(
    make_user, settings
):
    settings.TWO_PERSON_THRESHOLD = 1
    mdc = MdcFactory()
    meters = [MeterFactory(mdc=mdc, transformer=None, consumer=None) for _ in range(3)]
    operator = make_user("Operator")
    request = command_request_create(
        actor=operator,
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=meters,
    )
    assert request.state == RequestState.AWAITING_APPROVAL
    result = command_cancel(actor=operator, request=request)
    assert (result.request, result.cancelled_locally, result.sent) == (None, 3, 0)
    assert CommandRequest.objects.count() == 1  # no separate "Cancel" request in the history
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED
    assert request.finished_at is not None
    client = Client()
    client.force_login(operator)
    page = client.get(request.get_absolute_url()).content.decode()
    assert "awaiting a second person" not in page
    assert "not needed any more" in page


@pytest.mark.django_db
def test_two_person_rule_counts_a_requesters_disconnects_over_the_window(make_user, settings):
    settings.TWO_PERSON_THRESHOLD = 50
    settings.TWO_PERSON_WINDOW_MINUTES = 60
    mdc = MdcFactory(batch_size=1000)
    meters = [MeterFactory(mdc=mdc, transformer=None, consumer=None) for _ in range(90)]
    operator, other = make_user("Operator"), make_user("Operator")

    def disconnect(actor, chosen):
        return command_request_create(
            actor=actor,
            command="aux_relay_operations",
            params={"relay_operate": "0"},
            meters=chosen,
        )

    first = disconnect(operator, meters[:45])
    assert first.approval_required is False
    # someone else's 45 are theirs, and a reconnect never counts
    assert disconnect(other, meters[45:]).approval_required is False
    reconnect = command_request_create(
        actor=operator, command="aux_relay_operations", params={"relay_operate": "1"}, meters=meters
    )
    assert reconnect.approval_required is False
    second = disconnect(operator, meters[45:])
    assert second.approval_required is True
    assert second.state == RequestState.AWAITING_APPROVAL
    deactivate = command_request_create(
        actor=operator,
        command="meter_status_update",
        params={"meter_activation_status": "0"},
        meters=meters[:10],
    )
    assert deactivate.approval_required is True  # 45 + 10 > 50
    # Out of the window, the first no longer counts.
    CommandRequest.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=61)
    )
    assert disconnect(operator, meters[:45]).approval_required is False


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["cancel", "retry", "approve", "reject", "devices", "detail"])
@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "-1", "%00"])
def test_bad_ids_on_command_actions_are_404_with_a_message(make_user, action, pk):
    client = Client()
    client.force_login(make_user("Administrator"))
    base = "/api/commands/requests/"
    url = f"{base}{pk}/" if action == "detail" else f"{base}{pk}/{action}/"
    if action in ("devices", "detail"):
        response = client.get(url)
    else:
        response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 404, response.content[:200]
    assert response.json()["detail"]
