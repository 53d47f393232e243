"""Writes of the commands app. Every function is keyword-only, atomic where it writes, audited.

The life of a command::

    command_request_create  -> CommandRequest, its CommandTransactions (one per MDC and batch,
                               each with its own MDM transactionid) and CommandDevices
    command_request_approve -> (two-person rule) releases it
    command_dispatch        -> sends one transaction (a retry resends the same transactionid)
    transactions_poll       -> follows an MDC's open transactions to a final outcome per device,
                               applies effects to the registry and loads on-demand rows
    command_cancel          -> transaction_cancel for devices still at level 0, 1 or 2
    command_retry_failed    -> a new request for the devices that did not execute and can

Services raise ``django.core.exceptions.ValidationError`` (field -> messages) for bad input and
``PermissionDenied`` when the actor may not do it; views and the API show these messages.
Bulk work never queries per device: sets of devices are read and written in one statement.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.audit.services import audit_record
from apps.commands import conf
from apps.commands.choices import (
    CANCEL,
    FINAL_OUTCOMES,
    ON_DEMAND,
    RETRYABLE_OUTCOMES,
    Command,
    Outcome,
    RequestState,
    TransactionState,
)
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.udil.datasets import CANCELLABLE_STATUS_LEVELS, TRANSACTION_STATUS, by_on_demand_type
from apps.udil.errors import (
    MalformedBody,
    MdcUnavailable,
    UdilError,
    UdilStatusError,
    ValidationErrors,
)
from apps.udil.services import SERVICES

log = logging.getLogger(__name__)

SEND_PERMISSION = "commands.send_commandrequest"
APPROVE_PERMISSION = "commands.approve_commandrequest"
CANCEL_PERMISSION = "commands.cancel_commandrequest"

#: Parameters the MDM fills in itself: the devices (from the selection) and the request time.
AUTO_PARAMS = frozenset({"global_device_id", "device_identity", "request_datetime"})


# --- helpers -----------------------------------------------------------------------------------


def transactionid_new() -> str:
    """A fresh MDM transactionid: 32 URL-safe characters from ``secrets`` (192 random bits)."""
    return secrets.token_urlsafe(24)


def _actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else "system"


def _require(actor, permission: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(permission)):
        raise PermissionDenied(f"You need the permission {permission}.")


def command_params(command: str) -> list:
    """The Params a person fills in for a command (devices and request time are automatic)."""
    return [p for p in SERVICES[command].params if p.name not in AUTO_PARAMS]


def params_validate(command: str, params: dict[str, Any]) -> dict[str, str]:
    """Validate a command's parameters with the protocol package; return them as wire text.

    Raises ValidationError naming each bad field, with the protocol package's reason.
    """
    if command not in Command.values or command == CANCEL:
        raise ValidationError({"command": f"Unknown command {command!r}."})
    if not isinstance(params, dict):
        raise ValidationError({"params": "Must be an object of parameter names to values."})
    service = SERVICES[command]
    wanted = {p.name for p in command_params(command)}
    unknown = sorted(set(params) - wanted)
    if unknown:
        raise ValidationError({name: "Not a parameter of this command." for name in unknown})
    probe = {
        **params,
        "global_device_id": ["probe"],
        "device_identity": [{"dsn": "1", "global_device_id": "probe"}],
        "request_datetime": timezone.now(),
    }
    try:
        typed = service.validate(probe)
    except ValidationErrors as exc:
        raise ValidationError({name: [reason] for name, reason in exc.errors.items()}) from exc
    return {
        p.name: p.encode(typed[p.name])
        for p in command_params(command)
        if typed[p.name] is not None
    }


def _is_two_person(command: str, params: dict[str, str]) -> bool:
    """Disconnects and deactivations are the commands that need a second person when large."""
    if command == Command.AUX_RELAY_OPERATIONS:
        return params.get("relay_operate") == "0"
    if command == Command.METER_STATUS_UPDATE:
        return params.get("meter_activation_status") == "0"
    return False


def two_person_recent(*, actor, now: datetime | None = None) -> int:
    """Meters this requester disconnected or deactivated on their own authority (no second
    person involved) in the rolling window (``MDM_TWO_PERSON_WINDOW_MINUTES``): they count
    together with a new request against the threshold, so splitting 90 meters into 2 x 45
    does not escape the second person. Requests a second person decides are left out."""
    if not getattr(actor, "is_authenticated", False):
        return 0
    since = (now or timezone.now()) - timedelta(minutes=conf.two_person_window_minutes())
    total = (
        CommandRequest.objects.filter(
            requested_by=actor, created_at__gte=since, approval_required=False
        )
        .filter(
            Q(command=Command.AUX_RELAY_OPERATIONS, params__relay_operate="0")
            | Q(command=Command.METER_STATUS_UPDATE, params__meter_activation_status="0")
        )
        .aggregate(n=models.Sum("device_count"))["n"]
    )
    return total or 0


def two_person_needed(*, actor, command: str, params: dict[str, str], devices: int) -> bool:
    """Does a request of ``devices`` meters need a second person (see two_person_recent)."""
    if not _is_two_person(command, params):
        return False
    return devices + two_person_recent(actor=actor) > conf.two_person_threshold()


def _meters_queryset(meters) -> models.QuerySet:
    """A Meter queryset from a queryset, or from meter ids or global device ids."""
    from apps.registry.models import Meter

    if isinstance(meters, models.QuerySet):
        return meters.order_by()
    items = list(meters)
    ids = [m for m in items if isinstance(m, int)]
    gdids = [m.strip() for m in items if isinstance(m, str) and m.strip()]
    objs = [m.pk for m in items if isinstance(m, Meter)]
    qs = Meter.objects.filter(Q(pk__in=ids + objs) | Q(global_device_id__in=gdids))
    if gdids:
        found = set(
            qs.filter(global_device_id__in=gdids).values_list("global_device_id", flat=True)
        )
        missing = [g for g in gdids if g not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ValidationError({"meters": f"{len(missing)} unknown device ids: {shown}"})
    return qs.order_by()


def _enqueue_dispatch(transaction_ids: Iterable[int]) -> None:
    """Enqueue one dispatch task per transaction once the current DB transaction commits."""
    ids = list(transaction_ids)
    if not ids:
        return

    def send() -> None:
        from apps.commands.tasks import command_dispatch_task

        for tx_id in ids:
            command_dispatch_task.delay(tx_id)

    transaction.on_commit(send)


_clients: dict[tuple[int, Any], Any] = {}
_clients_lock = threading.Lock()


def mdc_client_for(mdc):
    """A client of the MDC, shared per process (it caches the MDC's private key)."""
    from apps.registry.selectors import mdc_client
    from apps.udil.profiles import get_profile

    key = (mdc.pk, mdc.updated_at, mdc.base_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for old in [k for k in _clients if k[0] == mdc.pk]:
                _clients.pop(old).close()
            client = mdc_client(
                mdc,
                profile=get_profile(mdc.udil_profile),
                key_lifetime=timedelta(minutes=mdc.key_lifetime_minutes),
            )
            _clients[key] = client
    return client


# --- creating and approving --------------------------------------------------------------------


def _fan_out(request: CommandRequest, meters: models.QuerySet) -> tuple[int, int]:
    """Create the request's transactions (per MDC, per batch of ``mdc.batch_size``) and its
    device rows, in a few statements whatever the number of meters. Returns (devices, MDCs)."""
    from apps.registry.models import Mdc, Meter

    per_mdc = dict(meters.values("mdc_id").annotate(n=Count("id")).values_list("mdc_id", "n"))
    batch_sizes = dict(Mdc.objects.filter(pk__in=per_mdc).values_list("pk", "batch_size"))
    txs = []
    for mdc_id, count in sorted(per_mdc.items()):
        size = max(1, batch_sizes[mdc_id])
        for index, start in enumerate(range(0, count, size)):
            txs.append(
                CommandTransaction(
                    request=request,
                    mdc_id=mdc_id,
                    batch_index=index,
                    transactionid=transactionid_new(),
                    device_count=min(size, count - start),
                )
            )
    CommandTransaction.objects.bulk_create(txs, batch_size=2000)
    meter_sql, meter_params = meters.values("pk").query.sql_with_params()
    device_table = CommandDevice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {device_table} (request_id, transaction_id, meter_id, global_device_id,
                msn, request_cancelled, cancel_reason, message, outcome)
            SELECT %s, t.id, x.id, x.global_device_id, x.msn, false, '', '', %s
            FROM (
                SELECT m.id, m.global_device_id, m.msn, m.mdc_id,
                       (row_number() OVER (PARTITION BY m.mdc_id ORDER BY m.global_device_id)
                        - 1) / c.batch_size AS batch
                FROM {Meter._meta.db_table} m
                JOIN {Mdc._meta.db_table} c ON c.id = m.mdc_id
                WHERE m.id IN ({meter_sql})
            ) x
            JOIN {CommandTransaction._meta.db_table} t
              ON t.request_id = %s AND t.mdc_id = x.mdc_id AND t.batch_index = x.batch
            """,
            [request.pk, Outcome.PENDING, *meter_params, request.pk],
        )
        created = cursor.rowcount
    return created, len(per_mdc)


@transaction.atomic
def command_request_create(
    *,
    actor,
    command: str,
    params: dict[str, Any],
    meters,
    scheduled_at: datetime | None = None,
    parent: CommandRequest | None = None,
    note: str = "",
) -> CommandRequest:
    """Ask for a command to a set of meters (a queryset, or meter ids / global device ids).

    The parameters are validated by the protocol package. A disconnect or deactivation of more
    than ``MDM_TWO_PERSON_THRESHOLD`` meters (with the requester's others in the rolling window,
    ``MDM_TWO_PERSON_WINDOW_MINUTES``) waits for a second person's approval; otherwise
    the request is dispatched when this transaction commits (or at ``scheduled_at``).
    """
    _require(actor, SEND_PERMISSION)
    wire = params_validate(command, params or {})
    if scheduled_at is not None and timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": "Must include a time zone."})
    qs = _meters_queryset(meters)
    now = timezone.now()
    approval = _is_two_person(command, wire)
    recent = 0
    if approval:
        # One requester's disconnects are counted one at a time (a lock on their user row), so
        # two sent at the same moment cannot both see the other as not there yet. Counted
        # before this request exists (it is not part of its own window).
        from django.contrib.auth import get_user_model

        list(get_user_model().objects.select_for_update().filter(pk=actor.pk).values("pk"))
        recent = two_person_recent(actor=actor, now=now)
    request = CommandRequest.objects.create(
        command=command,
        on_demand_type=wire.get("type", "") if command == ON_DEMAND else "",
        params=wire,
        requested_by=actor,
        requested_by_name=_actor_name(actor),
        scheduled_at=scheduled_at,
        parent=parent,
        note=note[:500],
        state=RequestState.DISPATCHING,
    )
    devices, mdcs = _fan_out(request, qs)
    if devices == 0:
        raise ValidationError({"meters": "Choose at least one meter."})
    request.device_count, request.mdc_count = devices, mdcs
    request.approval_required = approval and devices + recent > conf.two_person_threshold()
    if request.approval_required:
        request.state = RequestState.AWAITING_APPROVAL
    elif scheduled_at is not None and scheduled_at > now:
        request.state = RequestState.SCHEDULED
    else:
        request.dispatched_at = now
    request.save()
    if request.state == RequestState.DISPATCHING:
        _enqueue_dispatch(request.transactions.values_list("pk", flat=True))
    audit_record(
        actor=actor,
        action="commands.request.create",
        target=request,
        summary=(
            f"{request.command_label} to {devices} meters on {mdcs} MDCs"
            + (" (awaiting approval)" if request.approval_required else "")
            + (f" (retry of #{parent.pk})" if parent else "")
        ),
        detail={
            "command": command,
            "params": wire,
            "devices": devices,
            "mdcs": mdcs,
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
            "approval_required": request.approval_required,
        },
    )
    return request


def _release(request: CommandRequest, now: datetime) -> None:
    if request.scheduled_at is not None and request.scheduled_at > now:
        request.state = RequestState.SCHEDULED
        return
    request.state = RequestState.DISPATCHING
    request.dispatched_at = now
    _enqueue_dispatch(
        request.transactions.filter(state=TransactionState.PENDING).values_list("pk", flat=True)
    )


@transaction.atomic
def command_request_approve(*, actor, request: CommandRequest, note: str = "") -> CommandRequest:
    """Second person's approval (two-person rule): someone other than the requester, holding
    ``commands.approve_commandrequest``."""
    _require(actor, APPROVE_PERMISSION)
    request = CommandRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != RequestState.AWAITING_APPROVAL:
        raise ValidationError(f"Request #{request.pk} is not awaiting approval.")
    if request.requested_by_id == actor.pk:
        raise PermissionDenied("The two-person rule needs someone other than the requester.")
    now = timezone.now()
    request.decided_by, request.decided_by_name = actor, _actor_name(actor)
    request.decided_at, request.decision_note = now, note[:500]
    _release(request, now)
    request.save()
    audit_record(
        actor=actor,
        action="commands.request.approve",
        target=request,
        summary=f"Approved #{request.pk} {request.command_label} to {request.device_count} meters",
        detail={"note": note},
    )
    return request


@transaction.atomic
def command_request_reject(*, actor, request: CommandRequest, note: str = "") -> CommandRequest:
    """Refuse a request awaiting approval: nothing is sent."""
    _require(actor, APPROVE_PERMISSION)
    request = CommandRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != RequestState.AWAITING_APPROVAL:
        raise ValidationError(f"Request #{request.pk} is not awaiting approval.")
    now = timezone.now()
    reason = f"Rejected by {_actor_name(actor)}" + (f": {note}" if note else "")
    request.devices.filter(outcome=Outcome.PENDING).update(
        outcome=Outcome.CANCELLED, message=reason[:500], finished_at=now
    )
    request.transactions.update(state=TransactionState.DONE, finished_at=now)
    request.state = RequestState.REJECTED
    request.decided_by, request.decided_by_name = actor, _actor_name(actor)
    request.decided_at, request.decision_note, request.finished_at = now, note[:500], now
    request.save()
    audit_record(
        actor=actor,
        action="commands.request.reject",
        target=request,
        summary=f"Rejected #{request.pk} {request.command_label}",
        detail={"note": note},
    )
    return request


@transaction.atomic
def command_requests_release_due(*, now: datetime | None = None) -> int:
    """Release scheduled requests whose time has come. Returns how many."""
    now = now or timezone.now()
    due = list(
        CommandRequest.objects.select_for_update(skip_locked=True).filter(
            state=RequestState.SCHEDULED, scheduled_at__lte=now
        )
    )
    for request in due:
        _release(request, now)
        request.save(update_fields=["state", "dispatched_at"])
        audit_record(
            actor=None,
            action="commands.request.release",
            target=request,
            summary=f"Released scheduled #{request.pk} {request.command_label}",
        )
    return len(due)


def transactions_lost(*, now: datetime | None = None) -> list[int]:
    """Pending transactions of released requests that no dispatch has tried in time (a task lost
    with a broker or worker): their ids, to enqueue again. Dispatch is idempotent."""
    now = now or timezone.now()
    late = now - timedelta(seconds=conf.DISPATCH_GRACE_SECONDS)
    return list(
        CommandTransaction.objects.filter(
            state=TransactionState.PENDING,
            request__state__in=[RequestState.DISPATCHING, RequestState.IN_PROGRESS],
        )
        .filter(
            Q(next_attempt_at__lt=late)
            | Q(next_attempt_at__isnull=True, request__dispatched_at__lt=late)
        )
        .values_list("pk", flat=True)[:5000]
    )


def transactions_redispatch(*, transaction_ids: list[int]) -> None:
    """Enqueue dispatch again for these transactions (see :func:`transactions_lost`)."""
    with transaction.atomic():
        _enqueue_dispatch(transaction_ids)


# --- dispatch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchResult:
    """``status``: sent, failed, retry (try again in ``retry_in`` seconds), skipped."""

    status: str
    detail: str = ""
    retry_in: int = 0
    accepted: int = 0
    refused: int = 0


def _send_params(request: CommandRequest, devices: list[tuple[str, int | None]]) -> dict:
    params: dict[str, Any] = dict(request.params)
    if request.command == Command.DEVICE_CREATION:
        params["device_identity"] = [
            {"dsn": str(msn), "global_device_id": gdid} for gdid, msn in devices
        ]
    else:
        params["global_device_id"] = [gdid for gdid, _ in devices]
    return params


def _transaction_fail(tx: CommandTransaction, reason: str, now: datetime) -> None:
    tx.devices.filter(outcome=Outcome.PENDING).update(
        outcome=Outcome.FAILED, message=reason[:2000], finished_at=now
    )
    tx.state = TransactionState.FAILED
    tx.last_error = reason
    tx.finished_at = now
    tx.next_attempt_at = None
    tx.save()


@transaction.atomic
def command_dispatch(*, transaction_id: int) -> DispatchResult:
    """Send one transaction to its MDC and record the immediate answer.

    Idempotent: a transaction already sent is skipped, and a retry (after a timeout, a 5xx or a
    crash before the answer was recorded) resends the same transactionid, which the MDC must
    not act on twice. Devices the MDC refuses (``indv_status`` 0) are final with its message.
    A cancel transaction sends ``transaction_cancel`` with the target's transactionid.
    """
    tx = (
        CommandTransaction.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("request", "mdc", "target")
        .filter(pk=transaction_id)
        .first()
    )
    if tx is None:
        return DispatchResult("skipped", "another worker holds it")
    if tx.state != TransactionState.PENDING:
        return DispatchResult("skipped", f"already {tx.state}")
    request = tx.request
    if request.state not in (RequestState.DISPATCHING, RequestState.IN_PROGRESS):
        return DispatchResult("skipped", f"request is {request.state}")
    devices = list(
        tx.devices.filter(outcome=Outcome.PENDING)
        .order_by("global_device_id")
        .values_list("global_device_id", "msn")
    )
    now = timezone.now()
    if not devices:  # every device was cancelled before sending
        tx.state, tx.finished_at = TransactionState.DONE, now
        tx.save()
        _requests_refresh([request.pk], now)
        return DispatchResult("skipped", "no pending devices")
    tx.attempts += 1
    tx.last_attempt_at = now
    client = mdc_client_for(tx.mdc)
    try:
        if tx.target_id:
            payload = client.transaction_cancel(
                tx.target.transactionid, [gdid for gdid, _ in devices]
            )
        else:
            payload = client.send_command(
                request.command, _send_params(request, devices), tx.transactionid
            )
        from apps.udil.codec import response_devices

        answered = response_devices(payload)
    except (MdcUnavailable, MalformedBody) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if tx.attempts >= conf.DISPATCH_MAX_ATTEMPTS:
            _transaction_fail(tx, f"Not sent after {tx.attempts} attempts. {reason}", now)
            _requests_refresh([request.pk], now)
            _audit_send(tx, f"gave up after {tx.attempts} attempts: {reason}")
            return DispatchResult("failed", reason)
        retry_in = conf.DISPATCH_BACKOFF_SECONDS * 2 ** (tx.attempts - 1)
        tx.last_error = reason
        tx.next_attempt_at = now + timedelta(seconds=retry_in)
        tx.save()
        return DispatchResult("retry", reason, retry_in=retry_in)
    except (UdilStatusError, UdilError) as exc:
        message = getattr(exc, "message", "") or str(exc)
        tx.response_status = 0
        tx.response_message = message
        _transaction_fail(tx, f"The MDC refused the request: {message}", now)
        _requests_refresh([request.pk], now)
        _audit_send(tx, f"refused by the MDC: {message}")
        return DispatchResult("failed", message)

    message = payload.get("message") if isinstance(payload.get("message"), str) else ""
    refused = [d.global_device_id for d in answered if d.indv_status != 1]
    accepted = [d.global_device_id for d in answered if d.indv_status == 1]
    tx.response_status = 1
    tx.response_message = message
    tx.sent_at = now
    tx.last_error = ""
    tx.next_attempt_at = None
    if tx.target_id:
        _cancel_answer_record(tx, accepted, refused, message, now)
        tx.state, tx.finished_at = TransactionState.DONE, now
    else:
        pending = tx.devices.filter(outcome=Outcome.PENDING)
        pending.filter(global_device_id__in=refused).update(
            indv_status=0,
            outcome=Outcome.REFUSED,
            message=(message or "Refused by the MDC (indv_status 0).")[:2000],
            finished_at=now,
        )
        pending.filter(global_device_id__in=accepted).update(indv_status=1)
        if pending.exists():
            tx.state = TransactionState.OPEN
            tx.poll_interval_seconds = conf.POLL_BASE_SECONDS
            tx.next_poll_at = now + timedelta(seconds=conf.POLL_BASE_SECONDS)
        else:
            tx.state, tx.finished_at = TransactionState.DONE, now
    tx.save()
    if request.state == RequestState.DISPATCHING:
        request.state = RequestState.IN_PROGRESS
        request.save(update_fields=["state"])
    _requests_refresh([request.pk], now)
    _audit_send(tx, f"{len(accepted)} accepted, {len(refused)} refused. {message}".strip())
    return DispatchResult("sent", message, accepted=len(accepted), refused=len(refused))


def _audit_send(tx: CommandTransaction, outcome: str) -> None:
    verb = "cancel" if tx.target_id else "send"
    audit_record(
        actor=None,
        action=f"commands.transaction.{verb}",
        target=tx,
        summary=(
            f"#{tx.request_id} {tx.wire_transactionid} to MDC {tx.mdc.code} "
            f"({tx.device_count} devices, attempt {tx.attempts}): {outcome}"
        ),
        detail={
            "request": tx.request_id,
            "transactionid": tx.wire_transactionid,
            "mdc": tx.mdc.code,
            "attempt": tx.attempts,
            "outcome": outcome,
        },
    )


def _cancel_answer_record(
    tx: CommandTransaction, accepted: list[str], refused: list[str], message: str, now: datetime
) -> None:
    """The MDC's answer to a transaction_cancel: accepted devices are cancelled in the target
    request; refused ones are reported as not cancellable."""
    rows = tx.devices.filter(outcome=Outcome.PENDING)
    by = tx.request.requested_by_name or "system"
    rows.filter(global_device_id__in=accepted).update(
        indv_status=1, outcome=Outcome.EXECUTED, message="Cancelled by the MDC.", finished_at=now
    )
    rows.filter(global_device_id__in=refused).update(
        indv_status=0,
        outcome=Outcome.REFUSED,
        message=f"Not cancellable (MDC refused): {message}"[:2000],
        finished_at=now,
    )
    targets = CommandDevice.objects.filter(
        pk__in=tx.devices.filter(global_device_id__in=accepted).values("target_device_id"),
        outcome=Outcome.PENDING,
    )
    targets.update(
        outcome=Outcome.CANCELLED,
        request_cancelled=True,
        cancel_reason=f"Cancelled by {by}",
        cancel_datetime=now,
        finished_at=now,
    )
    target_tx = tx.target
    if not target_tx.devices.filter(outcome=Outcome.PENDING).exists():
        CommandTransaction.objects.filter(pk=target_tx.pk).update(
            state=TransactionState.DONE, finished_at=now, next_poll_at=None
        )
    _requests_refresh([target_tx.request_id], now)


# --- requests' state ---------------------------------------------------------------------------


def _requests_refresh(request_ids: Iterable[int], now: datetime) -> None:
    """Close requests with no pending device left: completed, completed with errors, failed or
    cancelled. One grouped query for all of them. Must run inside the caller's transaction,
    after its writes (it locks the requests)."""
    ids = set(request_ids)
    if not ids:
        return
    open_states = [
        RequestState.AWAITING_APPROVAL,
        RequestState.SCHEDULED,
        RequestState.DISPATCHING,
        RequestState.IN_PROGRESS,
    ]
    # Lock the requests (in id order, so concurrent callers never deadlock) before counting:
    # two MDCs' polls applied at the same moment each see the other's devices as pending under
    # READ COMMITTED; with the lock the second waits for the first's commit and then counts
    # what is really in the database, so the last apply always closes the request.
    ids = set(
        CommandRequest.objects.select_for_update()
        .filter(pk__in=ids, state__in=open_states)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    still_pending = set(
        CommandDevice.objects.filter(request_id__in=ids, outcome=Outcome.PENDING)
        .values_list("request_id", flat=True)
        .order_by()
        .distinct()
    )
    done = ids - still_pending
    if not done:
        return
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for request_id, outcome, n in (
        CommandDevice.objects.filter(request_id__in=done)
        .values_list("request_id", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[request_id][outcome] = n
    for request_id in done:
        by_outcome = counts[request_id]
        total = sum(by_outcome.values())
        executed = by_outcome.get(Outcome.EXECUTED, 0)
        if total and executed == total:
            state = RequestState.COMPLETED
        elif total and by_outcome.get(Outcome.CANCELLED, 0) == total:
            state = RequestState.CANCELLED
        elif executed:
            state = RequestState.COMPLETED_WITH_ERRORS
        else:
            state = RequestState.FAILED
        CommandRequest.objects.filter(pk=request_id).update(state=state, finished_at=now)


@transaction.atomic
def command_requests_close_finished(*, now: datetime | None = None) -> int:
    """The periodic sweep (beat tick): close every open request that has no pending device
    left, whatever poll or crash left it open. Returns how many were looked at."""
    now = now or timezone.now()
    ids = list(
        CommandRequest.objects.filter(
            state__in=[RequestState.DISPATCHING, RequestState.IN_PROGRESS],
            dispatched_at__lt=now,
        )
        .exclude(devices__outcome=Outcome.PENDING)
        .values_list("pk", flat=True)[:1000]
    )
    _requests_refresh(ids, now)
    return len(ids)


# --- polling -----------------------------------------------------------------------------------


@dataclass
class PollResult:
    """What one poll cycle of one MDC did (the bench prints these)."""

    http_requests: int = 0
    transactions: int = 0
    status_rows: int = 0
    bad_rows: int = 0
    devices_changed: int = 0
    executed: int = 0
    timed_out: int = 0
    rows_touched: int = 0
    warehouse_rows: int = 0
    errors: list[str] = field(default_factory=list)


_DEVICE_COLUMNS = (
    "status_level",
    "command_receiving_datetime",
    "status_1_datetime",
    "status_2_datetime",
    "status_3_datetime",
    "status_4_datetime",
    "status_5_datetime",
    "indv_status",
    "request_cancelled",
    "cancel_reason",
    "cancel_datetime",
    "message",
    "outcome",
    "finished_at",
)
_DEVICE_TYPES = (
    "smallint",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "smallint",
    "boolean",
    "text",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
)


def _plain(value: Any) -> Any:
    """Choices members as their plain values, for the database driver's array adapters."""
    if isinstance(value, str) and type(value) is not str:
        return str(value.value) if hasattr(value, "value") else str(value)
    return value


def _devices_bulk_write(changes: list[dict[str, Any]], now: datetime) -> int:
    """One UPDATE ... FROM unnest(arrays) for every changed device. Returns rows updated."""
    if not changes:
        return 0
    table = CommandDevice._meta.db_table
    assignments = ", ".join(f"{c} = v.{c}" for c in _DEVICE_COLUMNS)
    arrays = ", ".join(f"%s::{t}[]" for t in ("bigint", *_DEVICE_TYPES))
    columns = ", ".join(("id", *_DEVICE_COLUMNS))
    params: list[Any] = [now, [c["id"] for c in changes]]
    params += [[_plain(c[name]) for c in changes] for name in _DEVICE_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET {assignments}, last_polled_at = %s "
            f"FROM unnest({arrays}) AS v({columns}) WHERE d.id = v.id",
            [params[0], *params[1:]],
        )
        return cursor.rowcount


def _device_state(current: dict[str, Any], row: dict[str, Any], now: datetime) -> dict | None:
    """Merge one TRANSACTION_STATUS row into a device; None when nothing changed."""
    new = dict(current)
    level = row.get("status_level")
    if level is not None:
        new["status_level"] = level
    for name in (
        "command_receiving_datetime",
        "status_1_datetime",
        "status_2_datetime",
        "status_3_datetime",
        "status_4_datetime",
        "status_5_datetime",
        "cancel_datetime",
    ):
        wire = "request_cancel_datetime" if name == "cancel_datetime" else name
        if row.get(wire) is not None:
            new[name] = row[wire]
    if row.get("indv_status") is not None:
        new["indv_status"] = row["indv_status"]
    if row.get("request_cancelled") == 1:
        new["request_cancelled"] = True
        new["cancel_reason"] = (row.get("request_cancel_reason") or "")[:500]
    mdc_message = row.get("message") if isinstance(row.get("message"), str) else ""
    if new["request_cancelled"]:
        new["outcome"] = Outcome.CANCELLED
        new["message"] = new["cancel_reason"] or "Cancelled by the MDC."
    elif new["status_level"] == 5 and new["indv_status"] != 0:
        new["outcome"] = Outcome.EXECUTED
    elif new["indv_status"] == 0:
        new["outcome"] = Outcome.FAILED
        new["message"] = (
            mdc_message
            or new["cancel_reason"]
            or f"The MDC reported a failure (indv_status 0) at status level {new['status_level']}."
        )[:2000]
    if new["outcome"] != Outcome.PENDING:
        new["finished_at"] = now
    if all(new[c] == current[c] for c in _DEVICE_COLUMNS):
        return None
    return new


def _device_notes(message: Any) -> dict[str, str]:
    """Per-device notes in a transaction_status message (``"m0001: meter unreachable; ..."``):
    the 2019 table has no message column, so MDCs put them in the overall message."""
    notes: dict[str, str] = {}
    if isinstance(message, str):
        for part in message.split(";"):
            gdid, sep, text = part.strip().partition(": ")
            if sep and gdid and " " not in gdid:
                notes[gdid] = text.strip()
    return notes


def _status_rows_fetch(
    mdc, tids: list[str], result: PollResult
) -> tuple[list[dict], dict[str, str]] | None:
    from apps.udil.codec import response_rows

    client = mdc_client_for(mdc)
    result.http_requests += 1
    try:
        payload = client.call("transaction_status", {"transactionid": tids})
        return response_rows(payload), _device_notes(payload.get("message"))
    except (MdcUnavailable, MalformedBody, UdilError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
        return None


def transactions_poll(*, mdc_id: int, due_only: bool = True) -> PollResult:
    """One poll cycle of one MDC: time out overdue devices, then ask ``transaction_status`` for
    the MDC's open transactions (due ones, or all with ``due_only=False``), a batch of
    transactionids per call, and apply what changed in one bulk write per batch.

    Safe to run twice at once: the apply step locks the transactions and works from the
    database's state, so a second run finds nothing new to do.
    """
    from apps.registry.models import Mdc

    result = PollResult()
    now = timezone.now()
    result.timed_out = _devices_time_out(mdc_id=mdc_id, now=now)
    mdc = Mdc.objects.get(pk=mdc_id)
    open_txs = CommandTransaction.objects.filter(
        mdc_id=mdc_id, state=TransactionState.OPEN, target__isnull=True
    )
    if due_only:
        open_txs = open_txs.filter(next_poll_at__lte=now)
    due = list(open_txs.order_by("next_poll_at", "pk").values_list("pk", "transactionid"))
    step = max(1, conf.POLL_MAX_TRANSACTIONS)
    for start in range(0, len(due), step):
        chunk = due[start : start + step]
        fetched = _status_rows_fetch(mdc, [tid for _, tid in chunk], result)
        ids = [pk for pk, _ in chunk]
        if fetched is None:
            _poll_backoff(ids, timezone.now())
            continue
        rows, notes = fetched
        result.transactions += len(chunk)
        result.status_rows += len(rows)
        _status_apply(mdc=mdc, transaction_ids=ids, rows=rows, notes=notes, result=result)
    return result


def _poll_backoff(transaction_ids: list[int], now: datetime) -> None:
    """The MDC could not answer: try these transactions again later (doubling, capped)."""
    with transaction.atomic():
        txs = list(CommandTransaction.objects.select_for_update().filter(pk__in=transaction_ids))
        for tx in txs:
            tx.poll_interval_seconds = min(
                max(conf.POLL_BASE_SECONDS, tx.poll_interval_seconds * 2), conf.POLL_MAX_SECONDS
            )
            tx.next_poll_at = now + timedelta(seconds=tx.poll_interval_seconds)
        CommandTransaction.objects.bulk_update(txs, ["poll_interval_seconds", "next_poll_at"])


@transaction.atomic
def _status_apply(
    *, mdc, transaction_ids: list[int], rows: list[dict], notes: dict[str, str], result: PollResult
) -> None:
    now = timezone.now()
    txs = {
        tx.transactionid: tx
        for tx in CommandTransaction.objects.select_for_update(of=("self",))
        .select_related("request")
        .filter(pk__in=transaction_ids, state=TransactionState.OPEN)
    }
    result.rows_touched += len(txs)
    devices: dict[tuple[int, str], dict[str, Any]] = {}
    for values in CommandDevice.objects.filter(
        transaction_id__in=[t.pk for t in txs.values()]
    ).values(
        "id", "transaction_id", "meter_id", "global_device_id", "response_rows", *_DEVICE_COLUMNS
    ):
        devices[(values["transaction_id"], values["global_device_id"])] = values
    changes: list[dict[str, Any]] = []
    changed_txs: set[int] = set()
    executed: dict[int, list[int]] = defaultdict(list)  # transaction pk -> meter ids
    on_demand_rows: dict[int, list[tuple[int, list]]] = defaultdict(list)  # tx pk -> devices
    for raw in rows:
        try:
            row = TRANSACTION_STATUS.decode_row(raw)
        except (UdilError, ValueError):
            result.bad_rows += 1
            continue
        tx = txs.get(row["transactionid"])
        current = devices.get((tx.pk, row["global_device_id"])) if tx else None
        if current is None:
            result.bad_rows += 1
            continue
        if current["outcome"] == Outcome.PENDING:
            message = raw.get("message") or notes.get(row["global_device_id"])
            new = _device_state(current, {**row, "message": message}, now)
            if new is not None:
                changes.append(new)
                changed_txs.add(tx.pk)
                devices[(tx.pk, row["global_device_id"])] = new
                if new["outcome"] == Outcome.EXECUTED and current["meter_id"]:
                    executed[tx.pk].append(current["meter_id"])
        response = row.extras.get("response_data") if tx.request.command == ON_DEMAND else None
        if response and current["response_rows"] is None:
            items = response if isinstance(response, list) else [response]
            on_demand_rows[tx.pk].append((current["id"], [r for r in items if isinstance(r, dict)]))
    written = _devices_bulk_write(changes, now)
    result.devices_changed += written
    result.rows_touched += written
    result.executed += sum(len(v) for v in executed.values())
    by_pk = {tx.pk: tx for tx in txs.values()}
    for tx_pk, meter_ids in executed.items():
        result.rows_touched += _effects_apply(tx=by_pk[tx_pk], meter_ids=meter_ids, now=now)
    for tx_pk, per_device in on_demand_rows.items():
        result.warehouse_rows += _on_demand_load(tx=by_pk[tx_pk], per_device=per_device, mdc=mdc)
    pending_by_tx: dict[int, int] = defaultdict(int)
    for values in devices.values():
        if values["outcome"] == Outcome.PENDING:
            pending_by_tx[values["transaction_id"]] += 1
    for tx in txs.values():
        tx.polls += 1
        tx.last_polled_at = now
        if pending_by_tx[tx.pk] == 0:
            tx.state, tx.finished_at, tx.next_poll_at = TransactionState.DONE, now, None
            continue
        if tx.pk in changed_txs:
            tx.poll_interval_seconds = conf.POLL_BASE_SECONDS
        else:
            tx.poll_interval_seconds = min(
                max(conf.POLL_BASE_SECONDS, tx.poll_interval_seconds * 2), conf.POLL_MAX_SECONDS
            )
        tx.next_poll_at = now + timedelta(seconds=tx.poll_interval_seconds)
    CommandTransaction.objects.bulk_update(
        list(txs.values()),
        [
            "polls",
            "last_polled_at",
            "state",
            "finished_at",
            "next_poll_at",
            "poll_interval_seconds",
        ],
    )
    _requests_refresh({tx.request_id for tx in txs.values()}, now)


@transaction.atomic
def _devices_time_out(*, mdc_id: int, now: datetime) -> int:
    """Devices still pending ``MDM_COMMAND_TIMEOUT_MINUTES`` after their transaction was sent
    are timed out (one UPDATE); transactions left with nothing pending are closed."""
    minutes = conf.timeout_minutes()
    cutoff = now - timedelta(minutes=minutes)
    overdue = CommandTransaction.objects.filter(
        mdc_id=mdc_id, state=TransactionState.OPEN, sent_at__lt=cutoff
    )
    count = CommandDevice.objects.filter(transaction__in=overdue, outcome=Outcome.PENDING).update(
        outcome=Outcome.TIMED_OUT,
        finished_at=now,
        message=f"No final status from the MDC within {minutes} minutes.",
    )
    if count:
        closing = list(
            overdue.exclude(devices__outcome=Outcome.PENDING).values_list("pk", "request_id")
        )
        CommandTransaction.objects.filter(pk__in=[pk for pk, _ in closing]).update(
            state=TransactionState.DONE, finished_at=now, next_poll_at=None
        )
        _requests_refresh({request_id for _, request_id in closing}, now)
        audit_record(
            actor=None,
            action="commands.devices.timeout",
            summary=f"{count} devices timed out after {minutes} minutes (MDC id {mdc_id})",
            detail={"mdc_id": mdc_id, "devices": count, "minutes": minutes},
        )
    return count


# --- effects on the registry -------------------------------------------------------------------


def _param_value(request: CommandRequest, name: str) -> Any:
    """A stored parameter for the registry: arrays as JSON, the rest as the wire text."""
    value = request.params.get(name)
    param = SERVICES[request.command].param(name)
    if param.is_array and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _settings_of(request: CommandRequest, *names: str) -> dict[str, Any]:
    return {n: _param_value(request, n) for n in names if request.params.get(n) not in (None, "")}


def registry_effects(request: CommandRequest, at: datetime) -> tuple[dict[str, Any], dict]:
    """What an executed command tells the registry about a meter: ``(field values, settings)``.

    Settings are stored under ``Meter.device_settings[name]`` as ``{"value", "transactionid",
    "at"}`` (the registry's convention, see ``meter_state_record``).
    """
    from apps.registry.choices import RelayState

    c, p = request.command, request.params
    if c == Command.AUX_RELAY_OPERATIONS:
        state = RelayState.CONNECTED if p["relay_operate"] == "1" else RelayState.DISCONNECTED
        return {"relay_state": state}, {"relay": int(p["relay_operate"])}
    if c == Command.METER_STATUS_UPDATE:
        status = int(p["meter_activation_status"])
        return {"activation_status": status}, {"activation_status": status}
    if c == Command.SANCTIONED_LOAD_CONTROL:
        return {"load_limit_kw": Decimal(p["load_limit"])}, {
            "sanctioned_load": _settings_of(
                request,
                "load_limit",
                "maximum_retries",
                "retry_interval",
                "threshold_duration",
                "retry_clear_interval",
            )
        }
    settings_by_command = {
        Command.LOAD_SHEDDING_SCHEDULING: (
            "load_shedding",
            ("start_datetime", "end_datetime", "load_shedding_slabs"),
        ),
        Command.TIME_OF_USE_CHANGE: (
            "time_of_use",
            ("season", "days", "time_slab", "tariff_identification", "activation_datetime"),
        ),
        Command.UPDATE_IP_PORT: (
            "ip_port",
            ("primary_ip_address", "secondary_ip_address", "primary_port", "secondary_port"),
        ),
        Command.WAKE_UP_SIM_NUMBER_UPDATE: (
            "wake_up_numbers",
            ("wakeup_number_1", "wakeup_number_2", "wakeup_number_3"),
        ),
        Command.ACTIVATE_METER_OPTICAL_PORT: (
            "optical_port",
            ("optical_port_on_datetime", "optical_port_off_datetime"),
        ),
        Command.DEVICE_CREATION: (
            "mdc_registration",
            (
                "device_type",
                "communication_mode",
                "communication_type",
                "communication_interval",
                "sim_number",
                "sim_id",
                "mdi_reset_date",
                "mdi_reset_time",
                "phase",
                "meter_type",
            ),
        ),
    }
    if c in settings_by_command:
        name, params = settings_by_command[c]
        return {}, {name: _settings_of(request, *params)}
    if c == Command.METER_DATA_SAMPLING:
        data_type = p.get("data_type", "").lower()
        return {}, {
            f"sampling_{data_type}": _settings_of(
                request, "activation_datetime", "sampling_interval", "sampling_initial_time"
            )
        }
    if c == Command.TIME_SYNCHRONIZATION:
        from apps.udil.timefmt import format_datetime

        return {}, {"time_synchronized": format_datetime(at)}
    return {}, {}


def _effects_apply(*, tx: CommandTransaction, meter_ids: list[int], now: datetime) -> int:
    """Record what the executed command did to these meters, through the registry's set-based
    service (one UPDATE and one audit row for the transaction)."""
    from apps.registry.services import meters_state_record

    fields, settings = registry_effects(tx.request, now)
    if not fields and not settings:
        return 0
    return meters_state_record(
        actor=None,
        meters=meter_ids,
        transactionid=tx.transactionid,
        at=now,
        settings=settings,
        target=tx,
        **fields,
    )


# --- on-demand reads ---------------------------------------------------------------------------


def _on_demand_load(*, tx: CommandTransaction, per_device: list[tuple[int, list]], mdc) -> int:
    """Load the rows an on-demand read returned into the warehouse (the same loader as the
    scheduled pulls: idempotent, bad rows quarantined) and note the count per device."""
    from apps.warehouse.services import rows_load

    dataset = by_on_demand_type(tx.request.on_demand_type)
    raw_rows = [row for _, items in per_device for row in items]
    result = rows_load(
        dataset_code=dataset.code,
        mdc_id=mdc.pk,
        raw_rows=raw_rows,
        source=f"on_demand:{tx.transactionid}",
    )
    CommandDevice.objects.bulk_update(
        [CommandDevice(pk=pk, response_rows=len(items)) for pk, items in per_device],
        ["response_rows"],
    )
    return result.inserted + result.updated + result.unchanged


# --- cancel and retry --------------------------------------------------------------------------


@dataclass
class CancelResult:
    """``request``: the cancel request made (None when nothing could be cancelled);
    ``sent``: devices asked of the MDCs; ``cancelled_locally``: devices not yet sent, cancelled
    here; ``not_cancellable``: ``[(global_device_id, reason)]``."""

    request: CommandRequest | None
    sent: int = 0
    cancelled_locally: int = 0
    not_cancellable: list[tuple[str, str]] = field(default_factory=list)


def _cancel_request_create(*, actor, request: CommandRequest, remote: list[tuple]):
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
        mdc_count=len({item[5] for item in remote}),
    )
    by_target: dict[int, list] = defaultdict(list)
    for item in remote:
        by_target[item[4]].append(item)
    cancel_txs = [
        CommandTransaction(
            request=cancel,
            mdc_id=items[0][5],
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
                transaction=tx_of_target[item[4]],
                meter_id=item[3],
                global_device_id=item[1],
                msn=item[2],
                target_device_id=item[0],
                outcome=Outcome.PENDING,
            )
            for item in remote
        ],
        batch_size=2000,
    )
    _enqueue_dispatch([t.pk for t in cancel_txs])
    return cancel


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
    rows = CommandDevice.objects.filter(request=request)
    if devices is not None:
        items = list(devices)
        ids = [d for d in items if isinstance(d, int)]
        gdids = [d for d in items if isinstance(d, str)]
        rows = rows.filter(Q(pk__in=ids) | Q(global_device_id__in=gdids))
    listed = list(
        rows.values_list(
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
    )
    local, remote, refused = [], [], []
    for pk, gdid, msn, meter_id, outcome, level, tx_id, tx_state, mdc_id in listed:
        item = (pk, gdid, msn, meter_id, tx_id, mdc_id)
        if outcome != Outcome.PENDING:
            refused.append((gdid, f"already final: {Outcome(outcome).label.lower()}"))
        elif tx_state == TransactionState.PENDING:
            local.append(item)
        elif level is None or level in CANCELLABLE_STATUS_LEVELS:
            remote.append(item)
        else:
            refused.append((gdid, f"at status level {level}; only levels 0, 1 and 2 can be"))
    result = CancelResult(request=None, not_cancellable=refused)
    if local:
        # Not sent yet: nothing to ask of an MDC, so no separate cancel request; the devices
        # are cancelled here (and the audit row below says so).
        reason = f"Cancelled by {_actor_name(actor)} before it was sent"
        CommandDevice.objects.filter(pk__in=[i[0] for i in local]).update(
            outcome=Outcome.CANCELLED,
            request_cancelled=True,
            cancel_reason=reason,
            cancel_datetime=now,
            message=reason,
            finished_at=now,
        )
        CommandTransaction.objects.filter(
            pk__in={i[4] for i in local}, state=TransactionState.PENDING
        ).exclude(devices__outcome=Outcome.PENDING).update(
            state=TransactionState.DONE, finished_at=now
        )
        result.cancelled_locally = len(local)
    if remote:
        result.request = _cancel_request_create(actor=actor, request=request, remote=remote)
        result.sent = len(remote)
    _requests_refresh([request.pk], now)
    audit_record(
        actor=actor,
        action="commands.request.cancel",
        target=request,
        summary=(
            f"Cancel of #{request.pk}: {result.cancelled_locally} cancelled before sending, "
            f"{result.sent} sent to the MDCs, {len(refused)} not cancellable"
        ),
        detail={
            "cancel_request": result.request.pk if result.request else None,
            "not_cancellable": refused[:100],
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


@transaction.atomic
def command_retry_failed(*, actor, request: CommandRequest) -> RetryResult:
    """A new request, same command and parameters, for the devices that can succeed now:
    failed at the meter or timed out. Left out, with the reason: devices the MDC refused
    (unknown to it, inactive, no relay ...: it would refuse them again), meters inactive in the
    registry (except for the command that reactivates them) and meters no longer registered.
    The two-person rule applies again."""
    from apps.registry.models import Meter

    if request.is_cancel:
        raise ValidationError("Retry the original request, not its cancel.")
    rows = list(
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


__all__ = [
    "FINAL_OUTCOMES",
    "CancelResult",
    "DispatchResult",
    "PollResult",
    "RetryResult",
    "command_cancel",
    "command_dispatch",
    "command_request_approve",
    "command_request_create",
    "command_request_reject",
    "command_requests_release_due",
    "command_retry_failed",
    "params_validate",
    "transactions_poll",
]
