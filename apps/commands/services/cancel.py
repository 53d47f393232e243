"""Cancelling a request's devices (here, or through ``transaction_cancel``) and retrying the
devices that failed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import audit_record
from apps.commands.choices import (
    CANCEL,
    RETRYABLE_OUTCOMES,
    Command,
    Outcome,
    RequestState,
    TransactionState,
)
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.registry.models import Meter
from apps.udil.datasets import CANCELLABLE_STATUS_LEVELS

from ._shared import (
    CANCEL_PERMISSION,
    _actor_name,
    _enqueue_dispatch,
    _require,
    transactionid_new,
)
from .progress import _requests_refresh
from .requests import command_request_create


@dataclass
class CancelResult:
    """``request``: the cancel request made (None when nothing could be cancelled);
    ``sent``: devices asked of the MDCs; ``cancelled_locally``: devices not yet sent, cancelled
    here; ``not_cancellable``: ``[(global_device_id, reason)]``."""

    request: CommandRequest | None
    sent: int = 0
    cancelled_locally: int = 0
    not_cancellable: list[tuple[str, str]] = field(default_factory=list)


class CancelItem(NamedTuple):
    """A device of the request being cancelled."""

    device_id: int
    global_device_id: str
    msn: int | None
    meter_id: int | None
    transaction_id: int
    mdc_id: int


class CancelSort(NamedTuple):
    """The devices asked for: ``local`` (not sent yet), ``remote`` (at their MDC, at a level
    that can be cancelled) and ``refused`` (``(global_device_id, reason)``)."""

    local: list[CancelItem]
    remote: list[CancelItem]
    refused: list[tuple[str, str]]


def _cancel_request_create(*, actor, request: CommandRequest, remote: list[CancelItem]):
    """The transaction_cancel request for devices already at their MDC: one transaction per
    target transaction (it travels with the target's transactionid), dispatched like any."""
    now = timezone.now()
    cancel = CommandRequest.objects.create(
        command=CANCEL,
        parent=request,
        requested_by=actor,
        requested_by_name=_actor_name(actor),
        state=RequestState.DISPATCHING,
        dispatched_at=now,
        device_count=len(remote),
        mdc_count=len({item.mdc_id for item in remote}),
    )
    by_target: dict[int, list[CancelItem]] = defaultdict(list)
    for item in remote:
        by_target[item.transaction_id].append(item)
    cancel_txs = [
        CommandTransaction(
            request=cancel,
            mdc_id=items[0].mdc_id,
            batch_index=index,
            target_id=target_id,
            transactionid=transactionid_new(),
            device_count=len(items),
        )
        for index, (target_id, items) in enumerate(sorted(by_target.items()))
    ]
    CommandTransaction.objects.bulk_create(cancel_txs)
    tx_of_target = {t.target_id: t for t in cancel_txs}
    CommandDevice.objects.bulk_create(
        [
            CommandDevice(
                request=cancel,
                transaction=tx_of_target[item.transaction_id],
                meter_id=item.meter_id,
                global_device_id=item.global_device_id,
                msn=item.msn,
                target_device_id=item.device_id,
                outcome=Outcome.PENDING,
            )
            for item in remote
        ],
        batch_size=2000,
    )
    _enqueue_dispatch([t.pk for t in cancel_txs])
    return cancel


def _cancel_sort(request: CommandRequest, devices) -> CancelSort:
    """Sort the request's devices (all, or ``devices``: global device ids or CommandDevice
    ids) by what a cancel can do with them."""
    rows = CommandDevice.objects.filter(request=request)
    if devices is not None:
        items = list(devices)
        ids = [d for d in items if isinstance(d, int)]
        gdids = [d for d in items if isinstance(d, str)]
        rows = rows.filter(Q(pk__in=ids) | Q(global_device_id__in=gdids))
    listed = rows.values_list(
        "pk",
        "global_device_id",
        "msn",
        "meter_id",
        "outcome",
        "status_level",
        "transaction_id",
        "transaction__state",
        "transaction__mdc_id",
    )
    sort = CancelSort([], [], [])
    for pk, gdid, msn, meter_id, outcome, level, tx_id, tx_state, mdc_id in listed:
        item = CancelItem(pk, gdid, msn, meter_id, tx_id, mdc_id)
        if outcome != Outcome.PENDING:
            sort.refused.append((gdid, f"already final: {Outcome(outcome).label.lower()}"))
        elif tx_state == TransactionState.PENDING:
            sort.local.append(item)
        elif level is None or level in CANCELLABLE_STATUS_LEVELS:
            sort.remote.append(item)
        else:
            sort.refused.append((gdid, f"at status level {level}; only levels 0, 1 and 2 can be"))
    return sort


def _cancel_locally(*, actor, local: list[CancelItem], now: datetime) -> None:
    """Devices not sent yet: nothing to ask of an MDC, so no separate cancel request; they are
    cancelled here (and the caller's audit row says so)."""
    reason = f"Cancelled by {_actor_name(actor)} before it was sent"
    CommandDevice.objects.filter(pk__in=[i.device_id for i in local]).update(
        outcome=Outcome.CANCELLED,
        request_cancelled=True,
        cancel_reason=reason,
        cancel_datetime=now,
        message=reason,
        finished_at=now,
    )
    CommandTransaction.objects.filter(
        pk__in={i.transaction_id for i in local}, state=TransactionState.PENDING
    ).exclude(devices__outcome=Outcome.PENDING).update(state=TransactionState.DONE, finished_at=now)


@transaction.atomic
def command_cancel(*, actor, request: CommandRequest, devices=None) -> CancelResult:
    """Cancel a request for all its devices, or for ``devices`` (global device ids or
    CommandDevice ids). Devices not sent yet (awaiting approval, scheduled, not dispatched) are
    cancelled here, with no separate cancel request; devices at status level 0, 1 or 2 are
    cancelled through a ``transaction_cancel`` request (dispatched like any command); the
    others are reported as not cancellable, with the reason."""
    _require(actor, CANCEL_PERMISSION)
    request = CommandRequest.objects.select_for_update().get(pk=request.pk)
    if request.is_cancel:
        raise ValidationError("A cancel cannot be cancelled.")
    now = timezone.now()
    sort = _cancel_sort(request, devices)
    result = CancelResult(request=None, not_cancellable=sort.refused)
    if sort.local:
        _cancel_locally(actor=actor, local=sort.local, now=now)
        result.cancelled_locally = len(sort.local)
    if sort.remote:
        result.request = _cancel_request_create(actor=actor, request=request, remote=sort.remote)
        result.sent = len(sort.remote)
    _requests_refresh([request.pk], now)
    audit_record(
        actor=actor,
        action="commands.request.cancel",
        target=request,
        summary=(
            f"Cancel of #{request.pk}: {result.cancelled_locally} cancelled before sending, "
            f"{result.sent} sent to the MDCs, {len(sort.refused)} not cancellable"
        ),
        detail={
            "cancel_request": result.request.pk if result.request else None,
            "not_cancellable": sort.refused[:100],
        },
    )
    return result


@dataclass
class RetryResult:
    """``request``: the retry request; ``left_out``: ``[(global_device_id, reason)]`` of the
    devices not sent again because they cannot succeed."""

    request: CommandRequest
    left_out: list[tuple[str, str]] = field(default_factory=list)


def _reason_for(gdid: str, message: str) -> str:
    """The part of an MDC's message about one device (MDCs list refusals per device)."""
    for part in (message or "").split(";"):
        if gdid in part:
            return part.strip()[:300]
    return (message or "refused").strip()[:300]


def _retry_sort(request: CommandRequest) -> tuple[list[int], list[tuple[str, str]]]:
    """``(meter ids to send again, [(global_device_id, reason left out)])``."""
    rows = (
        request.devices.filter(outcome__in=RETRYABLE_OUTCOMES)
        .order_by("global_device_id")
        .values_list(
            "global_device_id", "meter_id", "outcome", "message", "meter__activation_status"
        )
    )
    retry_ids: list[int] = []
    left_out: list[tuple[str, str]] = []
    reactivates = request.command == Command.METER_STATUS_UPDATE
    for gdid, meter_id, outcome, message, activation in rows:
        if meter_id is None:
            left_out.append((gdid, "no longer registered"))
        elif outcome == Outcome.REFUSED:
            left_out.append((gdid, f"refused by the MDC: {_reason_for(gdid, message)}"))
        elif activation == 0 and not reactivates:
            left_out.append((gdid, "inactive in the registry (meter_activation_status 0)"))
        else:
            retry_ids.append(meter_id)
    return retry_ids, left_out


@transaction.atomic
def command_retry_failed(*, actor, request: CommandRequest) -> RetryResult:
    """A new request, same command and parameters, for the devices that can succeed now:
    failed at the meter or timed out. Left out, with the reason: devices the MDC refused
    (unknown to it, inactive, no relay ...: it would refuse them again), meters inactive in the
    registry (except for the command that reactivates them) and meters no longer registered.
    The two-person rule applies again."""
    if request.is_cancel:
        raise ValidationError("Retry the original request, not its cancel.")
    retry_ids, left_out = _retry_sort(request)
    if not retry_ids:
        shown = "; ".join(f"{g}: {why}" for g, why in left_out[:5])
        raise ValidationError(
            "No failed or timed-out devices that can succeed now."
            + (f" Left out {len(left_out)}: {shown}" if left_out else "")
        )
    retry = command_request_create(
        actor=actor,
        command=request.command,
        params=dict(request.params),
        meters=Meter.objects.filter(pk__in=sorted(set(retry_ids))),
        parent=request,
        note=f"Retry of #{request.pk}"
        + (f"; {len(left_out)} devices left out (refused or inactive)" if left_out else ""),
    )
    if left_out:
        audit_record(
            actor=actor,
            action="commands.request.retry_left_out",
            target=retry,
            summary=f"Retry of #{request.pk}: {len(left_out)} devices left out",
            detail={"left_out": left_out[:500]},
        )
    return RetryResult(request=retry, left_out=left_out)
