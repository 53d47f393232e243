"""Commands end to end over real HTTP against the embedded simulator (``live_server``).

The Celery tasks are run in the test's process (``task.apply``): their code is the real one,
only no worker is needed. Dispatch is enqueued on commit into the real Redis broker too.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.commands.choices import Outcome, RequestState, TransactionState
from apps.commands.services import (
    command_request_create,
    mdc_client_for,
)
from apps.commands.tests.e2e import dispatch_all, outcomes, poll
from apps.registry.models import Meter
from apps.simulator.models import SimCommand, SimMeter

pytestmark = pytest.mark.django_db(transaction=True)


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
