"""Commands end to end over real HTTP against the embedded simulator (``live_server``).

The Celery tasks are run in the test's process (``task.apply``): their code is the real one,
only no worker is needed. Dispatch is enqueued on commit into the real Redis broker too.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

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
    transactions_poll,
)
from apps.commands.tasks import command_dispatch_task, commands_tick, transactions_poll_task
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimCommand, SimMdc, SimMeter, SimTransaction
from apps.simulator.testing import freeze_clock, make_sim_mdc, sim_base_url

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Env:
    sim: SimMdc
    mdc: Mdc
    meters: list[Meter]

    def sim_meter(self, meter: Meter) -> SimMeter:
        return SimMeter.objects.get(mdc=self.sim, global_device_id=meter.global_device_id)

    def visuals(self, meter: Meter) -> dict:
        rows = mdc_client_for(self.mdc).read("meter_visuals", [meter.global_device_id])
        assert len(rows) == 1
        return rows[0]


@pytest.fixture
def sim_env(live_server):
    made = []

    def make(code: str = "sima", meters: int = 3, batch_size: int = 100, **settings) -> Env:
        sim, fleet = make_sim_mdc(code=code, meters=meters, days=1, **settings)
        mdc = Mdc.objects.create(
            code=code,
            name=f"Registry view of {code}",
            base_url=sim_base_url(live_server, sim),
            username=sim.username,
            password=sim.password,
            auth_code=sim.auth_code,
            batch_size=batch_size,
        )
        registered = Meter.objects.bulk_create(
            [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet]
        )
        env = Env(sim=sim, mdc=mdc, meters=registered)
        made.append(env)
        return env

    yield make
    from mdm.celery import app

    app.control.purge()  # the dispatches enqueued on commit: no worker consumes them here


def dispatch_all(request: CommandRequest) -> list[str]:
    """Run the dispatch task of every pending transaction, as a worker would."""
    txs = request.transactions.filter(state=TransactionState.PENDING).order_by("pk")
    return [command_dispatch_task.apply(args=[tx.pk]).get() for tx in txs]


def poll(env: Env):
    return transactions_poll(mdc_id=env.mdc.pk, due_only=False)


def outcomes(request: CommandRequest) -> dict[str, str]:
    return dict(request.devices.values_list("global_device_id", "outcome"))


FUTURE = (timezone.localtime() + dt.timedelta(days=2)).replace(microsecond=0)
F = FUTURE.strftime("%Y-%m-%d %H:%M:%S")
F2 = (FUTURE + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")


def _check_relay(env, meter, request, tid):
    assert meter.relay_state == "disconnected"
    assert meter.device_settings["relay"]["value"] == 0
    assert env.sim_meter(meter).relay_state == 0
    assert env.visuals(meter)["last_contactor_off_datetime"] != ""


def _check_time_sync(env, meter, request, tid):
    assert meter.device_settings["time_synchronized"]["transactionid"] == tid
    assert any(key == "clock" for _, key, _ in env.sim_meter(meter).history)


def _check_load_limit(env, meter, request, tid):
    assert meter.load_limit_kw == Decimal("20.000")
    assert meter.device_settings["sanctioned_load"]["value"]["maximum_retries"] == "10"
    assert env.sim_meter(meter).load_limit == Decimal("20.000")
    assert env.visuals(meter)["meter_load_limit_set"] == "20.000"


def _check_load_shedding(env, meter, request, tid):
    value = meter.device_settings["load_shedding"]["value"]
    assert value["start_datetime"] == F
    assert value["load_shedding_slabs"] == [
        {"action_time": "03:00:00", "relay_operate": "0"},
        {"action_time": "06:00:00", "relay_operate": "1"},
    ]
    later = mdc_client_for(env.mdc).read("meter_visuals", [meter.global_device_id])[0]
    assert later["meter_ls_schedule_startdatetime"] == F


def _check_tou(env, meter, request, tid):
    assert meter.device_settings["time_of_use"]["value"]["time_slab"] == ["08:00", "17:00"]
    history = [v for _, key, v in env.sim_meter(meter).history if key == "tou"]
    assert history[-1]["slabs"] == [["08:00", "17:00", 1]]


def _check_ip(env, meter, request, tid):
    assert meter.device_settings["ip_port"]["value"] == {
        "primary_ip_address": "192.168.100.120",
        "primary_port": "8080",
    }
    sim_meter = env.sim_meter(meter)
    assert (sim_meter.primary_ip, sim_meter.primary_port) == ("192.168.100.120", 8080)


def _check_sampling(env, meter, request, tid):
    value = meter.device_settings["sampling_lpro"]["value"]
    assert value["sampling_interval"] == "30"
    assert env.sim_meter(meter).lp_interval == 30


def _check_optical(env, meter, request, tid):
    assert meter.device_settings["optical_port"]["value"]["optical_port_off_datetime"] == F2
    assert (
        timezone.localtime(env.sim_meter(meter).optical_port_off).strftime("%Y-%m-%d %H:%M:%S")
        == F2
    )


def _check_wakeup(env, meter, request, tid):
    assert meter.device_settings["wake_up_numbers"]["value"] == {
        "wakeup_number_1": "03001234567",
        "wakeup_number_2": "03007654321",
    }
    assert env.sim_meter(meter).wakeup_numbers == ["03001234567", "03007654321", ""]


def _check_status(env, meter, request, tid):
    assert meter.activation_status == 0
    assert env.sim_meter(meter).activation_status == 0
    assert env.visuals(meter)["meter_activation_status"] == "0"


COMMANDS = [
    ("aux_relay_operations", {"relay_operate": "0"}, _check_relay),
    ("time_synchronization", {}, _check_time_sync),
    (
        "sanctioned_load_control",
        {
            "load_limit": "20",
            "maximum_retries": "10",
            "retry_interval": "60",
            "threshold_duration": "30",
            "retry_clear_interval": "3600",
        },
        _check_load_limit,
    ),
    (
        "load_shedding_scheduling",
        {
            "start_datetime": F,
            "end_datetime": F2,
            "load_shedding_slabs": json.dumps(
                [
                    {"action_time": "03:00:00", "relay_operate": "0"},
                    {"action_time": "06:00:00", "relay_operate": "1"},
                ]
            ),
        },
        _check_load_shedding,
    ),
    (
        "time_of_use_change",
        {
            "season": "1",
            "days": "1",
            "time_slab": '["08:00","17:00"]',
            "tariff_identification": "1",
            "activation_datetime": F,
        },
        _check_tou,
    ),
    (
        "update_ip_port",
        {"primary_ip_address": "192.168.100.120", "primary_port": "8080"},
        _check_ip,
    ),
    (
        "meter_data_sampling",
        {
            "activation_datetime": F,
            "data_type": "LPRO",
            "sampling_interval": "30",
            "sampling_initial_time": "0",
        },
        _check_sampling,
    ),
    (
        "activate_meter_optical_port",
        {"optical_port_on_datetime": F, "optical_port_off_datetime": F2},
        _check_optical,
    ),
    (
        "wake_up_sim_number_update",
        {"wakeup_number_1": "03001234567", "wakeup_number_2": "03007654321"},
        _check_wakeup,
    ),
    ("meter_status_update", {"meter_activation_status": "0"}, _check_status),
]


@pytest.mark.parametrize(("command", "params", "check"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_each_write_command_end_to_end(sim_env, make_user, command, params, check):
    env = sim_env(meters=3, batch_size=2)
    operator = make_user("Operator")
    request = command_request_create(
        actor=operator, command=command, params=params, meters=env.meters
    )
    assert request.transactions.count() == 2  # 3 meters in batches of 2
    assert dispatch_all(request) == ["sent", "sent"]
    request.refresh_from_db()
    assert request.state == RequestState.IN_PROGRESS
    # The MDC got exactly one command per transaction, with our transactionids.
    tids = set(request.transactions.values_list("transactionid", flat=True))
    assert set(SimCommand.objects.filter(mdc=env.sim).values_list("transactionid", flat=True)) == (
        tids
    )
    result = poll(env)
    assert result.http_requests == 1  # both transactionids in one transaction_status call
    assert (result.transactions, result.devices_changed, result.executed) == (2, 3, 3)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert set(outcomes(request).values()) == {Outcome.EXECUTED}
    devices = list(request.devices.all())
    assert {d.status_level for d in devices} == {5}
    assert all(d.status_5_datetime is not None and d.status_1_datetime for d in devices)
    assert set(request.transactions.values_list("state", flat=True)) == {TransactionState.DONE}
    for device in devices:
        meter = Meter.objects.get(pk=device.meter_id)
        check(env, meter, request, device.transaction.transactionid)
    # Polling again finds nothing open and changes nothing.
    again = poll(env)
    assert (again.http_requests, again.devices_changed) == (0, 0)


def test_device_creation_end_to_end(sim_env, make_user):
    env = sim_env(code="simc", meters=1)
    new = Meter.objects.create(global_device_id="m77000001", msn=4077000001, mdc=env.mdc)
    request = command_request_create(
        actor=make_user("Operator"),
        command="device_creation",
        params={
            "device_type": "1",
            "communication_mode": "1",
            "communication_type": "0",
            "phase": "3",
            "meter_type": "2",
            "mdi_reset_date": "1",
            "mdi_reset_time": "00:00:00",
            "sim_number": "03211234567",
        },
        meters=[new.pk],
    )
    assert dispatch_all(request) == ["sent"]
    command = SimCommand.objects.get(mdc=env.sim)
    assert command.params["device_identity"] == [
        {"dsn": 4077000001, "global_device_id": "m77000001"}
    ]
    poll(env)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    created = SimMeter.objects.get(mdc=env.sim, global_device_id="m77000001")
    assert (created.msn, created.phase, created.meter_type) == (4077000001, 3, 2)
    new.refresh_from_db()
    assert new.device_settings["mdc_registration"]["value"]["sim_number"] == "03211234567"
    assert (created.last_command, created.last_command_resp) == ("device_creation", "executed")


def test_on_demand_read_lands_in_the_warehouse(sim_env, make_user):
    from apps.warehouse.schema import table_for

    env = sim_env(code="simd", meters=2)
    request = command_request_create(
        actor=make_user("Operator"),
        command="on_demand_request",
        params={"type": "VISL"},
        meters=env.meters,
    )
    assert request.on_demand_type == "VISL"
    dispatch_all(request)
    result = poll(env)
    assert result.warehouse_rows == 2
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert set(request.devices.values_list("response_rows", flat=True)) == {1}
    table = table_for("meter_visuals")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT global_device_id, last_command FROM {table.name} "
            "WHERE mdc_id = %s ORDER BY global_device_id",
            [env.mdc.pk],
        )
        stored = cursor.fetchall()
    assert stored == [(m.global_device_id, "on_demand_request") for m in env.meters]


def test_on_demand_events_window(sim_env, make_user):
    from django.db import connection

    from apps.warehouse.schema import table_for

    env = sim_env(code="sime", meters=2)
    end = timezone.localtime().replace(microsecond=0)
    start = end - dt.timedelta(days=1)
    request = command_request_create(
        actor=make_user("Operator"),
        command="on_demand_request",
        params={
            "type": "LPRO",
            "start_datetime": start.strftime("%Y-%m-%d %H:%M:%S"),
            "end_datetime": end.strftime("%Y-%m-%d %H:%M:%S"),
        },
        meters=env.meters,
    )
    dispatch_all(request)
    result = poll(env)
    rows = list(request.devices.values_list("response_rows", flat=True))
    assert all(n and n > 20 for n in rows)  # a day of 15/30-minute load profile
    assert result.warehouse_rows == sum(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table_for('load_profile').name} WHERE mdc_id = %s",
            [env.mdc.pk],
        )
        assert cursor.fetchone()[0] == sum(rows)


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
