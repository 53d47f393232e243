"""UDIL 3.3 commands end to end: the MDM and a simulated 3.3 MDC over real HTTP, beside a 2019
MDC in the same request (each MDC gets its own wire names and parameters), 3.3's new
commands and their effects, transaction_status with 3.3's indv_status, and on-demand reads
answered synchronously or asynchronously."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.commands.choices import Outcome, RequestState, TransactionState
from apps.commands.forms import CommandParamsForm, SelectionForm
from apps.commands.models import CommandRequest
from apps.commands.services import command_request_create, transactions_poll
from apps.commands.tasks import command_dispatch_task
from apps.commands.tests.e2e import Env, sim_registered
from apps.registry.models import Meter
from apps.simulator.models import SimCommand, SimMdc, SimMeter, SimTransaction
from apps.simulator.testing import freeze_clock
from apps.warehouse.models import InstantaneousReading

pytestmark = pytest.mark.django_db(transaction=True)

TOU_3_3 = {
    "day_profile": json.dumps(
        [
            {"name": "d1", "tariff_slabs": ["08:00", "17:00", "20:00"]},
            {"name": "d4", "tariff_slabs": ["08:00", "12:00"]},
        ]
    ),
    "week_profile": json.dumps([{"name": "w1", "weekly_day_profile": ["d1"] * 5 + ["d4"] * 2}]),
    "season_profile": json.dumps(
        [{"name": "s1", "week_profile_name": "w1", "start_date": "01-01"}]
    ),
    "holiday_profile": json.dumps([{"name": "h1", "date": "14-08", "day_profile_name": "d4"}]),
    "activation_datetime": "2025-01-01 00:00:00",
}


@pytest.fixture
def env_of(live_server):
    def make(code: str, profile: str, meters: int = 2, **settings) -> Env:
        return sim_registered(
            live_server,
            code,
            meters,
            mdc_fields={"udil_profile": profile},
            udil_profile=profile,
            **settings,
        )

    yield make
    from mdm.celery import app

    app.control.purge()


def run(request: CommandRequest, *envs: Env) -> CommandRequest:
    """Dispatch every transaction and poll every MDC until nothing is pending."""
    for tx in request.transactions.filter(state=TransactionState.PENDING).order_by("pk"):
        command_dispatch_task.apply(args=[tx.pk]).get()
    for _ in range(3):
        for env in envs:
            transactions_poll(mdc_id=env.mdc.pk, due_only=False)
    request.refresh_from_db()
    return request


def outcomes(request: CommandRequest) -> set[str]:
    return set(request.devices.values_list("outcome", flat=True))


def test_mixed_profiles_in_one_request_each_mdc_gets_its_own_wire_names(env_of, make_user):
    old, new = env_of("mix19", "2019"), env_of("mix33", "3.3")
    request = command_request_create(
        actor=make_user("Operator"),
        command="meter_status_update",
        params={"meter_activation_status": "1"},
        meters=old.meters + new.meters,
    )
    assert request.transactions.count() == 2
    run(request, old, new)
    assert request.state == RequestState.COMPLETED
    assert outcomes(request) == {Outcome.EXECUTED}
    # one command, each MDC its own service and row type
    assert set(SimTransaction.objects.filter(mdc=old.sim).values_list("type", flat=True)) == {
        "METER_STATUS_UPDATE"
    }
    assert set(SimTransaction.objects.filter(mdc=new.sim).values_list("type", flat=True)) == {
        "UPDATE_METER_STATUS"
    }
    # the 3.3 MDC's answer gave each device its remarks
    answer = SimCommand.objects.get(mdc=new.sim).response
    assert all(d["remarks"] for d in answer["data"])
    assert set(Meter.objects.filter(mdc=new.mdc).values_list("activation_status", flat=True)) == {1}


def test_time_of_use_to_both_profiles_with_each_ones_parameters(env_of, make_user):
    old, new = env_of("tou19", "2019"), env_of("tou33", "3.3")
    both = old.meters + new.meters
    user = make_user("Operator")
    # the 3.3 calendar alone is not enough for the 2019 MDC: its own parameters are required
    with pytest.raises(ValidationError) as caught:
        command_request_create(
            actor=user, command="time_of_use_change", params=TOU_3_3, meters=both
        )
    assert "time_slab" in caught.value.message_dict
    assert "UDIL 2019" in caught.value.message_dict["time_slab"][0]
    params = {
        **TOU_3_3,
        "season": "summer",
        "days": "30",
        "time_slab": '["17:00","21:00"]',
        "tariff_identification": "2",
    }
    request = run(
        command_request_create(
            actor=user, command="time_of_use_change", params=params, meters=both
        ),
        old,
        new,
    )
    assert request.state == RequestState.COMPLETED, list(request.devices.values("message"))
    new_cmd = SimCommand.objects.get(mdc=new.sim)
    old_cmd = SimCommand.objects.get(mdc=old.sim)
    assert "day_profile" in new_cmd.params and "time_slab" not in new_cmd.params
    assert "time_slab" in old_cmd.params and "day_profile" not in old_cmd.params
    meter = Meter.objects.get(pk=new.meters[0].pk)
    tou = meter.device_settings["time_of_use"]["value"]
    assert tou["day_profile"][0]["tariff_slabs"] == ["08:00", "17:00", "20:00"]
    # the simulated meter now runs the calendar's Monday (three tariffs)
    sim_meter = SimMeter.objects.get(mdc=new.sim, global_device_id=meter.global_device_id)
    assert sim_meter.settings["tiou"]["week_profile"][0]["name"] == "w1"


def test_new_3_3_commands_execute_and_are_refused_for_2019(env_of, make_user):
    old, new = env_of("new19", "2019"), env_of("new33", "3.3")
    user = make_user("Operator")
    with pytest.raises(ValidationError) as caught:
        command_request_create(
            actor=user,
            command="update_major_alarms",
            params={"major_alarms_list": "[111,121]"},
            meters=old.meters + new.meters,
        )
    assert "UDIL 2019 has no update_major_alarms" in caught.value.message_dict["command"][0]
    cases = [
        ("update_major_alarms", {"major_alarms_list": "[111,121]"}, "major_alarms"),
        (
            "apms_tripping_events",
            {
                "type": "OVFC",
                "critical_event_threshold_limit": "270",
                "critical_event_log_time": "180",
                "tripping_event_threshold_limit": "300",
                "tripping_event_log_time": "240",
                "enable_tripping": "1",
            },
            "apms_ovfc",
        ),
        (
            "update_device_metadata",
            {
                "communication_mode": "1",
                "bidirectional_device": "1",
                "communication_type": "1",
                "communication_interval": "30",
                "initial_communication_time": "00:05:00",
                "phase": "3",
                "meter_type": "1",
            },
            "device_metadata",
        ),
        (
            "update_mdi_reset_date",
            {"mdi_reset_date": "15", "mdi_reset_time": "06:00:00"},
            "mdi_reset",
        ),
        ("parameterization_cancellation", {"type": "SANC"}, "sanctioned_load"),
    ]
    for command, params, setting in cases:
        request = run(
            command_request_create(actor=user, command=command, params=params, meters=new.meters),
            new,
        )
        assert request.state == RequestState.COMPLETED, (command, request.state)
        meter = Meter.objects.get(pk=new.meters[0].pk)
        assert setting in meter.device_settings, (command, meter.device_settings)
    sim_meter = SimMeter.objects.get(mdc=new.sim, global_device_id=new.meters[0].global_device_id)
    assert (sim_meter.mdi_reset_date, sim_meter.phase, sim_meter.communication_interval) == (
        15,
        3,
        30,
    )
    assert sim_meter.settings["pmal"]["major_alarms_list"] == [111, 121]
    assert sim_meter.load_limit is None  # the sanctioned load was cancelled


def test_3_3_transaction_status_failed_is_2_with_remarks(env_of, make_user):
    new = env_of("fail33", "3.3", failure_rate=1.0)
    request = run(
        command_request_create(
            actor=make_user("Operator"),
            command="time_synchronization",
            params={},
            meters=new.meters,
        ),
        new,
    )
    assert request.state == RequestState.FAILED
    assert outcomes(request) == {Outcome.FAILED}
    assert set(request.devices.values_list("message", flat=True)) == {
        "meter unreachable: no connection could be established"
    }
    # the wire: indv_status 2 (failed), the remark in response_data
    sim = SimMdc.objects.get(pk=new.sim.pk)
    from apps.simulator.services import sim_transaction_status

    tid = request.transactions.get().transactionid
    rows = sim_transaction_status(mdc=sim, transactionids=[tid])["data"]
    assert {(r["indv_status"], r["response_data"]) for r in rows} == {
        ("2", "meter unreachable: no connection could be established")
    }


def test_on_demand_read_synchronous_when_the_meter_is_online(env_of, make_user):
    new = env_of("sync33", "3.3", meters=2)
    request = command_request_create(
        actor=make_user("Operator"),
        command="on_demand_request",
        params={"type": "INST"},
        meters=new.meters,
    )
    # 3.3's on_demand_data_read names one device: one transaction per meter
    assert request.transactions.count() == 2
    for tx in request.transactions.order_by("pk"):
        command_dispatch_task.apply(args=[tx.pk]).get()
    request.refresh_from_db()
    # answered at once: nothing to poll, the rows are in the warehouse
    assert request.state == RequestState.COMPLETED
    assert set(request.transactions.values_list("polls", flat=True)) == {0}
    assert outcomes(request) == {Outcome.EXECUTED}
    ids = [m.global_device_id for m in new.meters]
    assert InstantaneousReading.objects.filter(global_device_id__in=ids).exists()
    assert SimCommand.objects.filter(mdc=new.sim, service="on_demand_request").count() == 2


def test_on_demand_read_asynchronous_when_the_meter_is_late(env_of, make_user, monkeypatch):
    new = env_of("async33", "3.3", meters=1, command_pace_seconds=60)
    start = timezone.now()
    freeze_clock(monkeypatch, start)
    request = command_request_create(
        actor=make_user("Operator"),
        command="on_demand_request",
        params={"type": "INST"},
        meters=new.meters,
    )
    tx = request.transactions.get()
    command_dispatch_task.apply(args=[tx.pk]).get()
    tx.refresh_from_db()
    assert tx.state == TransactionState.OPEN  # timed out: the data will come in the status
    answer = SimCommand.objects.get(mdc=new.sim).response
    assert "time-out" in answer["data"][0]["remarks"]
    freeze_clock(monkeypatch, start + dt.timedelta(minutes=10))
    transactions_poll(mdc_id=new.mdc.pk, due_only=False)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert request.devices.get().response_rows >= 1


def test_on_demand_parameter_read_answers_meter_visuals_columns(env_of, make_user):
    new = env_of("param33", "3.3", meters=1)
    request = run(
        command_request_create(
            actor=make_user("Operator"),
            command="on_demand_parameter_read",
            params={"type": "MTST"},
            meters=new.meters,
        ),
        new,
    )
    assert request.state == RequestState.COMPLETED
    assert request.on_demand_type == "MTST"
    meter = Meter.objects.get(pk=new.meters[0].pk)
    answer = meter.device_settings["read_mtst"]["value"]
    assert answer["mtst_meter_activation_status"] == "1"
    assert answer["mtst_datetime"]


def test_simulator_serves_each_profile_its_own_paths(env_of):
    old, new = env_of("path19", "2019", meters=1), env_of("path33", "3.3", meters=1)
    for env, missing in ((old, "update_time_of_use"), (new, "time_of_use_change")):
        reply = httpx.post(env.mdc.base_url + missing, data={})
        assert reply.status_code == 404
        assert missing in reply.text


def test_console_tou_editor_posts_rows_not_json(env_of):
    form = CommandParamsForm(
        {
            "day_profile-0-name": "d1",
            "day_profile-0-tariff_slabs-0": "08:00",
            "day_profile-0-tariff_slabs-1": "17:00",
            "day_profile-3-name": "d2",
            "day_profile-3-tariff_slabs-0": "06:00",
            "week_profile-0-name": "w1",
            **{f"week_profile-0-weekly_day_profile-{i}": "d1" for i in range(5)},
            "week_profile-0-weekly_day_profile-5": "d2",
            "week_profile-0-weekly_day_profile-6": "d2",
            "season_profile-0-name": "s1",
            "season_profile-0-week_profile_name": "w1",
            "season_profile-0-start_date": "01-04",
            "activation_datetime": "2025-06-01T00:00:00",
        },
        command="time_of_use_change",
        profiles=["3.3"],
    )
    assert form.is_valid(), form.errors
    assert json.loads(form.wire_params["day_profile"]) == [
        {"name": "d1", "tariff_slabs": ["08:00", "17:00"]},
        {"name": "d2", "tariff_slabs": ["06:00"]},
    ]
    html = form["day_profile"].as_widget()
    assert 'type="time"' in html and "tou-add" in html
    # a mistake is shown next to its field, naming the row
    bad = CommandParamsForm(
        {
            "day_profile-0-name": "d1",
            "day_profile-0-tariff_slabs-0": "17:00",
            "day_profile-0-tariff_slabs-1": "08:00",
            "week_profile-0-name": "w1",
            **{f"week_profile-0-weekly_day_profile-{i}": "dx" for i in range(7)},
            "season_profile-0-name": "s1",
            "season_profile-0-week_profile_name": "w1",
            "season_profile-0-start_date": "31-02",
            "activation_datetime": "2025-06-01T00:00:00",
        },
        command="time_of_use_change",
        profiles=["3.3"],
    )
    assert not bad.is_valid()
    assert "ascending" in bad.errors["day_profile"][0]
    assert "item 1 start_date" in bad.errors["season_profile"][0]


def test_registration_creates_meters_at_a_3_3_mdc_in_its_values(env_of, make_user):
    from apps.commands.registration import device_creation_send

    new = env_of("reg33", "3.3", meters=1)
    meter = Meter.objects.create(
        global_device_id="m55500001",
        msn=4055500001,
        mdc=new.mdc,
        device_type=1,
        phase=1,
        meter_type=1,
        communication_mode=1,
        communication_type=0,  # always on: Mode-II keep-alive in 3.3
        mdi_reset_date=1,
    )
    (request,) = device_creation_send(actor=make_user("Operator"), meters=[meter.pk])
    assert request.params["communication_type"] == "2"
    assert request.params["bidirectional_device"] == "0"
    run(request, new)
    assert request.state == RequestState.COMPLETED, list(request.devices.values("message"))
    created = SimMeter.objects.get(mdc=new.sim, global_device_id="m55500001")
    assert created.communication_type == 2


def test_api_offers_each_mdc_the_commands_of_its_profile(env_of, client_as):
    env_of("cat19", "2019", meters=1)
    env_of("cat33", "3.3", meters=1)
    body = client_as("Viewer").get("/api/commands/requests/catalogue/").json()
    assert {m["code"]: m["profile"] for m in body["mdcs"]} == {"cat19": "2019", "cat33": "3.3"}
    by_profile = {
        name: {c["command"]: c for c in commands} for name, commands in body["profiles"].items()
    }
    assert "update_major_alarms" in by_profile["3.3"]
    assert "update_major_alarms" not in by_profile["2019"]
    assert by_profile["3.3"]["meter_status_update"]["service"] == "update_meter_status"
    tou = {p["name"]: p for p in by_profile["3.3"]["time_of_use_change"]["params"]}
    assert tou["day_profile"]["kind"] == "tou"
    one = client_as("Operator").get("/api/commands/requests/catalogue/?mdc=cat33").json()
    assert list(one["profiles"]) == ["3.3"]


def test_console_offers_the_commands_of_the_selected_mdcs_profiles(env_of, client_as):
    from django.urls import reverse

    old, new = env_of("con19", "2019", meters=1), env_of("con33", "3.3", meters=1)
    client = client_as("Operator")

    def offered(env: Env) -> set[str]:
        page = client.get(reverse("commands:request-new"), {"mdc": env.mdc.code})
        assert page.context["selection"].profiles == [env.mdc.udil_profile]
        return {value for value, _ in page.context["form"].fields["command"].choices if value}

    assert "update_major_alarms" in offered(new)
    assert "update_major_alarms" not in offered(old)
    both = {v for v, _ in SelectionForm(profiles=["2019", "3.3"]).fields["command"].choices}
    assert "update_major_alarms" not in both  # every selected MDC must offer it
    assert {"aux_relay_operations", "time_of_use_change"} <= both
    # the parameters step shows the TOU editor for a 3.3 selection, with its script
    page = client.post(
        reverse("commands:request-new"),
        {
            "step": "params",
            "command": "time_of_use_change",
            "pasted": new.meters[0].global_device_id,
        },
    )
    html = page.content.decode()
    assert 'class="tou-rows"' in html and "js/tou-editor.js" in html
    assert 'id="selection-profiles"' in html
