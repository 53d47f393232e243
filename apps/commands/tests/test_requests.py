"""Creating requests: validation, fan-out into transactions and devices, the two-person rule."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEntry
from apps.commands.choices import Outcome, RequestState, TransactionState
from apps.commands.models import CommandDevice, CommandTransaction
from apps.commands.services import (
    command_request_approve,
    command_request_create,
    command_request_reject,
    transactionid_new,
)
from apps.registry.models import Meter
from apps.registry.tests.factories import MdcFactory, MeterFactory

pytestmark = pytest.mark.django_db


def _meters(mdc, n):
    return [MeterFactory(mdc=mdc, transformer=None, consumer=None) for _ in range(n)]


def test_transactionid_is_32_urlsafe_characters_and_unique():
    ids = {transactionid_new() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(t) == 32 and t.replace("-", "").replace("_", "").isalnum() for t in ids)


def test_request_fans_out_per_mdc_and_batch(make_user, django_capture_on_commit_callbacks):
    operator = make_user("Operator")
    mdc_a = MdcFactory(batch_size=3)
    mdc_b = MdcFactory(batch_size=100)
    meters = _meters(mdc_a, 7) + _meters(mdc_b, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        request = command_request_create(
            actor=operator,
            command="aux_relay_operations",
            params={"relay_operate": "1"},
            meters=[m.global_device_id for m in meters],
        )
    assert request.state == RequestState.DISPATCHING
    assert (request.device_count, request.mdc_count) == (9, 2)
    assert request.params == {"relay_operate": "1"}
    txs = list(CommandTransaction.objects.filter(request=request).order_by("mdc_id", "batch_index"))
    assert [(t.mdc_id, t.batch_index, t.device_count) for t in txs] == [
        (mdc_a.pk, 0, 3),
        (mdc_a.pk, 1, 3),
        (mdc_a.pk, 2, 1),
        (mdc_b.pk, 0, 2),
    ]
    assert all(t.state == TransactionState.PENDING for t in txs)
    per_tx = {t.pk: t.devices.count() for t in txs}
    assert sorted(per_tx.values()) == [1, 2, 3, 3]
    devices = CommandDevice.objects.filter(request=request)
    assert devices.count() == 9
    assert set(devices.values_list("outcome", flat=True)) == {Outcome.PENDING}
    assert set(devices.values_list("global_device_id", flat=True)) == {
        m.global_device_id for m in meters
    }
    assert len(callbacks) == 1  # dispatch enqueued on commit
    entry = AuditEntry.objects.get(action="commands.request.create")
    assert entry.actor == operator
    assert entry.target_id == str(request.pk)
    assert entry.detail["devices"] == 9


def test_params_are_validated_with_field_messages(make_user):
    operator = make_user("Operator")
    meter = MeterFactory(transformer=None, consumer=None)
    with pytest.raises(ValidationError) as caught:
        command_request_create(
            actor=operator,
            command="sanctioned_load_control",
            params={"load_limit": "-3", "maximum_retries": "x"},
            meters=[meter.pk],
        )
    errors = caught.value.message_dict
    assert errors["load_limit"] == ["must be greater than 0, got '-3'"]
    assert "maximum_retries" in errors
    assert errors["retry_interval"] == ["is required"]
    with pytest.raises(ValidationError) as caught:
        command_request_create(
            actor=operator, command="time_synchronization", params={"bogus": "1"}, meters=[1]
        )
    assert caught.value.message_dict == {"bogus": ["Not a parameter of this command."]}


def test_unknown_device_ids_are_refused(make_user):
    with pytest.raises(ValidationError) as caught:
        command_request_create(
            actor=make_user("Operator"),
            command="time_synchronization",
            params={},
            meters=["m00000001x"],
        )
    assert caught.value.message_dict == {"meters": ["1 unknown device ids: m00000001x"]}


def test_viewer_cannot_send(make_user):
    meter = MeterFactory(transformer=None, consumer=None)
    with pytest.raises(PermissionDenied):
        command_request_create(
            actor=make_user("Viewer"), command="time_synchronization", params={}, meters=[meter.pk]
        )


@pytest.fixture
def threshold_2(settings):
    settings.TWO_PERSON_THRESHOLD = 2


def test_two_person_rule_for_large_disconnects(
    make_user, threshold_2, django_capture_on_commit_callbacks
):
    operator, admin = make_user("Operator"), make_user("Administrator")
    mdc = MdcFactory()
    meters = _meters(mdc, 3)
    ids = [m.pk for m in meters]
    with django_capture_on_commit_callbacks() as callbacks:
        request = command_request_create(
            actor=operator,
            command="aux_relay_operations",
            params={"relay_operate": "0"},
            meters=ids,
        )
    assert request.approval_required is True
    assert request.state == RequestState.AWAITING_APPROVAL
    assert callbacks == []  # nothing dispatched
    # Two meters is not above the threshold; a reconnect never needs approval.
    small = command_request_create(
        actor=operator,
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=ids[:2],
    )
    connect = command_request_create(
        actor=operator, command="aux_relay_operations", params={"relay_operate": "1"}, meters=ids
    )
    deactivate = command_request_create(
        actor=operator,
        command="meter_status_update",
        params={"meter_activation_status": "0"},
        meters=ids,
    )
    assert (small.approval_required, connect.approval_required) == (False, False)
    assert deactivate.state == RequestState.AWAITING_APPROVAL
    # The requester cannot approve, even as an administrator; an operator may not approve.
    with pytest.raises(PermissionDenied):
        command_request_approve(actor=operator, request=request)
    self_approver = make_user("Administrator")
    own = command_request_create(
        actor=self_approver,
        command="aux_relay_operations",
        params={"relay_operate": "0"},
        meters=ids,
    )
    with pytest.raises(PermissionDenied):
        command_request_approve(actor=self_approver, request=own)
    with django_capture_on_commit_callbacks() as callbacks:
        approved = command_request_approve(actor=admin, request=request, note="ok, planned")
    assert approved.state == RequestState.DISPATCHING
    assert approved.decided_by == admin
    assert len(callbacks) == 1
    with pytest.raises(ValidationError):
        command_request_approve(actor=admin, request=request)
    rejected = command_request_reject(actor=admin, request=deactivate, note="wrong feeder")
    assert rejected.state == RequestState.REJECTED
    assert set(rejected.devices.values_list("outcome", flat=True)) == {Outcome.CANCELLED}
    actions = list(
        AuditEntry.objects.filter(action__startswith="commands.request.")
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert ("commands.request.approve", admin.username) in actions
    assert ("commands.request.reject", admin.username) in actions


def test_scheduled_request_waits(make_user, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    from apps.commands.services import command_requests_release_due

    meter = MeterFactory(transformer=None, consumer=None)
    later = timezone.now() + datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks() as callbacks:
        request = command_request_create(
            actor=make_user("Operator"),
            command="time_synchronization",
            params={},
            meters=Meter.objects.filter(pk=meter.pk),
            scheduled_at=later,
        )
    assert request.state == RequestState.SCHEDULED
    assert callbacks == []
    assert command_requests_release_due() == 0
    with django_capture_on_commit_callbacks() as callbacks:
        released = command_requests_release_due(now=later + datetime.timedelta(seconds=1))
    assert released == 1
    request.refresh_from_db()
    assert request.state == RequestState.DISPATCHING
    assert len(callbacks) == 1
