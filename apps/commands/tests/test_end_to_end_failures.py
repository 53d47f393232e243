"""Commands end to end against the simulator over HTTP: refusals, failures, retries, crashes,
timeouts, cancels, the two-person rule and the tick."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.commands.choices import Outcome, RequestState, TransactionState
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.commands.services import (
    command_cancel,
    command_request_create,
    command_retry_failed,
    mdc_client_for,
)
from apps.commands.tasks import command_dispatch_task, commands_tick, transactions_poll_task
from apps.commands.tests.e2e import dispatch_all, outcomes, poll
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimCommand, SimMeter, SimTransaction
from apps.simulator.testing import freeze_clock

pytestmark = pytest.mark.django_db(transaction=True)

FUTURE = (timezone.localtime() + dt.timedelta(days=2)).replace(microsecond=0)
F = FUTURE.strftime("%Y-%m-%d %H:%M:%S")


def test_refused_devices_are_final_with_the_reason(sim_env, make_user):
    env = sim_env(code="simr", meters=3)
    no_relay = env.meters[1]
    SimMeter.objects.filter(mdc=env.sim, global_device_id=no_relay.global_device_id).update(
        has_relay=False
    )
    request = command_request_create(
        actor=make_user("Operator"),
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=env.meters,
    )
    dispatch_all(request)
    refused = request.devices.get(global_device_id=no_relay.global_device_id)
    assert refused.outcome == Outcome.REFUSED
    assert refused.indv_status == 0
    assert "has no relay connected to it" in refused.message
    assert refused.finished_at is not None
    poll(env)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED_WITH_ERRORS
    assert sorted(outcomes(request).values()) == ["executed", "executed", "refused"]
    no_relay.refresh_from_db()
    assert no_relay.relay_state == "unknown"  # the registry does not claim what did not happen
    # A retry would be refused again (the meter has no relay): nothing to retry, and why.
    with pytest.raises(ValidationError) as exc:
        command_retry_failed(actor=make_user("Operator"), request=request)
    assert f"{no_relay.global_device_id}: refused by the MDC" in exc.value.messages[0]
    assert "has no relay connected to it" in exc.value.messages[0]


def test_failures_at_the_meter(sim_env, make_user):
    env = sim_env(code="simf", meters=2, failure_rate=1.0)
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=env.meters,
    )
    assert dispatch_all(request) == ["sent"]
    assert set(request.devices.values_list("indv_status", flat=True)) == {1}  # accepted first
    poll(env)
    request.refresh_from_db()
    assert request.state == RequestState.FAILED
    for device in request.devices.all():
        assert (device.outcome, device.indv_status, device.status_level) == ("failed", 0, 2)
        assert device.message == "meter unreachable: no connection could be established"


def test_mdc_down_then_retry_with_the_same_transactionid(sim_env, make_user, monkeypatch):
    env = sim_env(code="simu", meters=2)
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=env.meters,
    )
    tx = request.transactions.get()
    good_url = env.mdc.base_url
    Mdc.objects.filter(pk=env.mdc.pk).update(base_url="http://127.0.0.1:9/down/")
    from apps.commands.services import command_dispatch

    first = command_dispatch(transaction_id=tx.pk)
    assert first.status == "retry"
    assert first.retry_in == settings.COMMAND_DISPATCH_BACKOFF_SECONDS
    tx.refresh_from_db()
    assert (tx.state, tx.attempts) == (TransactionState.PENDING, 1)
    assert "MdcUnavailable" in tx.last_error
    Mdc.objects.filter(pk=env.mdc.pk).update(base_url=good_url)
    assert command_dispatch(transaction_id=tx.pk).status == "sent"
    tx.refresh_from_db()
    assert (tx.state, tx.attempts) == (TransactionState.OPEN, 2)
    assert SimCommand.objects.get(mdc=env.sim).transactionid == tx.transactionid
    # After too many attempts a transaction fails, with its devices.
    monkeypatch.setattr(settings, "COMMAND_DISPATCH_MAX_ATTEMPTS", 1)
    other = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=env.meters[:1],
    )
    Mdc.objects.filter(pk=env.mdc.pk).update(base_url="http://127.0.0.1:9/down/")
    assert dispatch_all(other) == ["failed"]
    other.refresh_from_db()
    assert other.state == RequestState.FAILED
    assert other.devices.get().message.startswith("Not sent after 1 attempts.")


def test_dispatch_retried_after_a_worker_crash_does_not_act_twice(sim_env, make_user):
    """The worker sent the command, the MDC acted, then the worker died before recording the
    answer. The task runs again: it resends the same transactionid; the MDC acts once."""
    env = sim_env(code="simk", meters=2)
    request = command_request_create(
        actor=make_user("Operator"),
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=env.meters,
    )
    tx = request.transactions.get()
    # What the crashed worker did: the send, with nothing recorded on our side.
    from apps.commands.services import _send_params

    devices = list(tx.devices.values_list("global_device_id", "msn"))
    mdc_client_for(env.mdc).send_command(
        "aux_relay_operations", _send_params(request, devices), tx.transactionid
    )
    tx.refresh_from_db()
    assert (tx.state, tx.attempts) == (TransactionState.PENDING, 0)
    # The task is redelivered (acks_late) and runs again; then once more for good measure.
    assert command_dispatch_task.apply(args=[tx.pk]).get() == "sent"
    assert command_dispatch_task.apply(args=[tx.pk]).get() == "skipped"
    assert SimCommand.objects.filter(mdc=env.sim, transactionid=tx.transactionid).count() == 1
    assert SimTransaction.objects.filter(transactionid=tx.transactionid).count() == 2
    poll(env)
    for meter in env.meters:
        relay_changes = [h for h in env.sim_meter(meter).history if h[1] == "relay"]
        assert len(relay_changes) == 2  # the initial state and one disconnect, not two
        assert relay_changes[-1][2] == 0
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED


def test_timeouts(sim_env, make_user, monkeypatch):
    monkeypatch.setattr(settings, "COMMAND_TIMEOUT_MINUTES", 5)
    env = sim_env(code="simt", meters=2, command_pace_seconds=3600)
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=env.meters,
    )
    dispatch_all(request)
    poll(env)
    assert set(request.devices.values_list("status_level", flat=True)) == {0}
    assert set(outcomes(request).values()) == {Outcome.PENDING}
    CommandTransaction.objects.filter(request=request).update(
        sent_at=timezone.now() - dt.timedelta(minutes=6)
    )
    result = poll(env)
    assert result.timed_out == 2
    request.refresh_from_db()
    assert request.state == RequestState.FAILED
    device = request.devices.first()
    assert device.outcome == Outcome.TIMED_OUT
    assert device.message == "No final status from the MDC within 5 minutes."
    assert request.transactions.get().state == TransactionState.DONE


def test_cancel_allowed_and_disallowed_levels(sim_env, make_user, monkeypatch):
    env = sim_env(code="simx", meters=4, command_pace_seconds=60)
    operator = make_user("Operator")
    early = command_request_create(
        actor=operator,
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=env.meters[:2],
    )
    late = command_request_create(
        actor=operator,
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=env.meters[2:],
    )
    dispatch_all(early)
    dispatch_all(late)
    # Move the simulator's clock: both at level 0 now; move the late one's rows to level 3.
    late_tid = late.transactions.get().transactionid
    SimTransaction.objects.filter(transactionid=late_tid).update(
        command_receiving_datetime=timezone.now() - dt.timedelta(seconds=60 * 3 + 30)
    )
    poll(env)
    assert set(early.devices.values_list("status_level", flat=True)) == {0}
    assert set(late.devices.values_list("status_level", flat=True)) == {3}

    result = command_cancel(actor=operator, request=early)
    assert (result.sent, result.cancelled_locally, result.not_cancellable) == (2, 0, [])
    cancel = result.request
    assert cancel.command == "transaction_cancel" and cancel.parent == early
    assert dispatch_all(cancel) == ["sent"]
    early.refresh_from_db()
    assert early.state == RequestState.CANCELLED
    assert set(outcomes(early).values()) == {Outcome.CANCELLED}
    assert all(d.request_cancelled for d in early.devices.all())
    cancel.refresh_from_db()
    assert cancel.state == RequestState.COMPLETED
    assert (
        SimTransaction.objects.filter(
            transactionid=early.transactions.get().transactionid, request_cancelled=1
        ).count()
        == 2
    )

    refused = command_cancel(actor=operator, request=late)
    assert refused.request is None
    assert sorted(refused.not_cancellable) == sorted(
        (m.global_device_id, "at status level 3; only levels 0, 1 and 2 can be")
        for m in env.meters[2:]
    )
    # The MDC is the judge: a device we last saw at level 2 but now further is refused by it.
    CommandDevice.objects.filter(request=late).update(status_level=2)
    raced = command_cancel(actor=operator, request=late)
    assert raced.sent == 2
    dispatch_all(raced.request)
    rows = list(raced.request.devices.values_list("outcome", "message"))
    assert {o for o, _ in rows} == {Outcome.REFUSED}
    assert all("status_level 3" in m for _, m in rows)
    # The late request goes on to execute; the early one never acted.
    freeze_clock(monkeypatch, timezone.now() + dt.timedelta(minutes=10))
    poll(env)
    late.refresh_from_db()
    assert late.state == RequestState.COMPLETED
    assert [env.sim_meter(m).relay_state for m in env.meters] == [1, 1, 0, 0]


def test_cancel_before_sending_and_progress_through_levels(sim_env, make_user, monkeypatch):
    env = sim_env(code="simp", meters=3, command_pace_seconds=60, batch_size=1)
    operator = make_user("Operator")
    request = command_request_create(
        actor=operator, command="time_synchronization", params={}, meters=env.meters
    )
    third = request.transactions.order_by("batch_index")[2]
    result = command_cancel(
        actor=operator,
        request=request,
        devices=[third.devices.get().global_device_id],
    )
    assert (result.cancelled_locally, result.sent) == (1, 0)
    assert command_dispatch_task.apply(args=[third.pk]).get() == "skipped"
    assert dispatch_all(request) == ["sent", "sent"]
    assert SimCommand.objects.filter(mdc=env.sim).count() == 2  # the cancelled one never went
    start = timezone.now()
    seen = []
    for minutes in (1.5, 2.5, 3.5, 4.5, 5.5):
        freeze_clock(monkeypatch, start + dt.timedelta(minutes=minutes))
        poll(env)
        seen.append(
            sorted(
                request.devices.exclude(outcome="cancelled").values_list("status_level", flat=True)
            )
        )
    assert seen == [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED_WITH_ERRORS
    assert sorted(outcomes(request).values()) == ["cancelled", "executed", "executed"]


def test_two_person_rule_end_to_end(sim_env, make_user, settings):
    settings.TWO_PERSON_THRESHOLD = 2
    env = sim_env(code="sim2", meters=3)
    operator, admin = make_user("Operator"), make_user("Administrator")
    request = command_request_create(
        actor=operator,
        command="meter_status_update",
        params={"meter_activation_status": "0"},
        meters=env.meters,
    )
    assert request.state == RequestState.AWAITING_APPROVAL
    assert dispatch_all(request) == ["skipped"]  # nothing goes out before approval
    assert not SimCommand.objects.filter(mdc=env.sim).exists()
    from apps.commands.services import command_request_approve

    command_request_approve(actor=admin, request=request)
    assert dispatch_all(request) == ["sent"]
    poll(env)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert set(Meter.objects.filter(mdc=env.mdc).values_list("activation_status", flat=True)) == {0}


def test_tick_polls_due_mdcs_and_survives_restarts(sim_env, make_user):
    """All state is in the database: the beat tick finds what is due, whatever ran before."""
    env = sim_env(code="simb", meters=2)
    request = command_request_create(
        actor=make_user("Operator"),
        command="time_synchronization",
        params={},
        meters=env.meters,
    )
    tx = request.transactions.get()
    # The dispatch task was lost (the broker restarted): the tick enqueues it again later.
    CommandRequest.objects.filter(pk=request.pk).update(
        dispatched_at=timezone.now() - dt.timedelta(minutes=10)
    )
    tick = commands_tick.apply().get()
    assert tick == {"released": 0, "redispatched": 1, "swept": 0, "polls": 0}
    command_dispatch_task.apply(args=[tx.pk]).get()
    tx.refresh_from_db()
    assert tx.state == TransactionState.OPEN
    assert commands_tick.apply().get()["polls"] == 0  # not due yet
    CommandTransaction.objects.filter(pk=tx.pk).update(next_poll_at=timezone.now())
    assert commands_tick.apply().get()["polls"] == 1
    polled = transactions_poll_task.apply(args=[env.mdc.pk]).get()
    assert polled["http_requests"] == 1 and polled["devices_changed"] == 2
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED


def test_beat_entry_is_registered():
    from django_celery_beat.models import PeriodicTask

    from apps.commands.schedule import TICK_TASK, TICK_TASK_NAME

    entry = PeriodicTask.objects.get(name=TICK_TASK_NAME)
    assert entry.task == TICK_TASK
    assert entry.enabled is True
    assert entry.interval.every == 10
