"""Sending one transaction to its MDC and recording the immediate answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.commands.choices import Command, Outcome, RequestState, TransactionState
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.commands.spec import answer_of
from apps.udil.codec import response_devices, response_rows
from apps.udil.errors import MalformedBody, MdcUnavailable, UdilError, UdilStatusError

from ._shared import mdc_client_for
from .effects import DeviceAnswer, DeviceRows, _on_demand_load, _parameters_record
from .progress import _requests_refresh


@dataclass(frozen=True)
class DispatchResult:
    """``status``: sent, failed, retry (try again in ``retry_in`` seconds), skipped."""

    status: str
    detail: str = ""
    retry_in: int = 0
    accepted: int = 0
    refused: int = 0


class Answer(NamedTuple):
    """The MDC's immediate answer to a send: its message and the devices it took or refused."""

    message: str
    accepted: list[str]
    refused: list[str]


def _send_params(request: CommandRequest, devices: list[tuple[str, int | None]]) -> dict:
    """The wire parameters of a send: the request's, plus its ``(global_device_id, msn)``s."""
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


def _dispatch_claim(transaction_id: int) -> tuple[CommandTransaction | None, DispatchResult | None]:
    """Lock the transaction if it is still to be sent: ``(tx, None)``, or ``(None, skipped)``."""
    tx = (
        CommandTransaction.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("request", "mdc", "target")
        .filter(pk=transaction_id)
        .first()
    )
    if tx is None:
        return None, DispatchResult("skipped", "another worker holds it")
    if tx.state != TransactionState.PENDING:
        return None, DispatchResult("skipped", f"already {tx.state}")
    if tx.request.state not in (RequestState.DISPATCHING, RequestState.IN_PROGRESS):
        return None, DispatchResult("skipped", f"request is {tx.request.state}")
    return tx, None


def _send(client, tx: CommandTransaction, devices: list[tuple[str, int | None]]) -> dict:
    """One call to the MDC: the command, or transaction_cancel with the target's id."""
    if tx.target_id:
        return client.transaction_cancel(tx.target.transactionid, [gdid for gdid, _ in devices])
    return client.send_command(
        tx.request.command, _send_params(tx.request, devices), tx.transactionid
    )


def _unreachable(tx: CommandTransaction, exc: Exception, now: datetime) -> DispatchResult:
    """The MDC did not answer usably: try again later (doubling), or give up after
    ``DISPATCH_MAX_ATTEMPTS``."""
    reason = f"{type(exc).__name__}: {exc}"
    if tx.attempts >= settings.COMMAND_DISPATCH_MAX_ATTEMPTS:
        _transaction_fail(tx, f"Not sent after {tx.attempts} attempts. {reason}", now)
        _requests_refresh([tx.request_id], now)
        _audit_send(tx, f"gave up after {tx.attempts} attempts: {reason}")
        return DispatchResult("failed", reason)
    retry_in = settings.COMMAND_DISPATCH_BACKOFF_SECONDS * 2 ** (tx.attempts - 1)
    tx.last_error = reason
    tx.next_attempt_at = now + timedelta(seconds=retry_in)
    tx.save()
    return DispatchResult("retry", reason, retry_in=retry_in)


def _refused(tx: CommandTransaction, exc: Exception, now: datetime) -> DispatchResult:
    """The MDC refused the whole request: every pending device fails with its message."""
    message = getattr(exc, "message", "") or str(exc)
    tx.response_status = 0
    tx.response_message = message
    _transaction_fail(tx, f"The MDC refused the request: {message}", now)
    _requests_refresh([tx.request_id], now)
    _audit_send(tx, f"refused by the MDC: {message}")
    return DispatchResult("failed", message)


def _answer_record(tx: CommandTransaction, answer: Answer, now: datetime) -> None:
    """Devices refused are final with the MDC's message; the transaction is open for polling
    while any device is pending (a cancel transaction is done at once)."""
    tx.response_status = 1
    tx.response_message = answer.message
    tx.sent_at = now
    tx.last_error = ""
    tx.next_attempt_at = None
    if tx.target_id:
        _cancel_answer_record(tx, answer.accepted, answer.refused, answer.message, now)
        tx.state, tx.finished_at = TransactionState.DONE, now
    else:
        pending = tx.devices.filter(outcome=Outcome.PENDING)
        pending.filter(global_device_id__in=answer.refused).update(
            indv_status=0,
            outcome=Outcome.REFUSED,
            message=(answer.message or "Refused by the MDC (indv_status 0).")[:2000],
            finished_at=now,
        )
        pending.filter(global_device_id__in=answer.accepted).update(indv_status=1)
        if pending.exists():
            tx.state = TransactionState.OPEN
            tx.poll_interval_seconds = settings.COMMAND_POLL_BASE_SECONDS
            tx.next_poll_at = now + timedelta(seconds=settings.COMMAND_POLL_BASE_SECONDS)
        else:
            tx.state, tx.finished_at = TransactionState.DONE, now
    tx.save()


@transaction.atomic
def command_dispatch(*, transaction_id: int) -> DispatchResult:
    """Send one transaction to its MDC and record the immediate answer.

    Idempotent: a transaction already sent is skipped, and a retry (after a timeout, a 5xx or a
    crash before the answer was recorded) resends the same transactionid, which the MDC must
    not act on twice. Devices the MDC refuses (``indv_status`` 0) are final with its message.
    A cancel transaction sends ``transaction_cancel`` with the target's transactionid.
    """
    tx, skipped = _dispatch_claim(transaction_id)
    if tx is None:
        return skipped
    request = tx.request
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
        payload = _send(client, tx, devices)
        sync = _sync_rows(tx, payload)
        answered = response_devices(payload) if sync is None else []
    except (MdcUnavailable, MalformedBody) as exc:
        return _unreachable(tx, exc, now)
    except (UdilStatusError, UdilError) as exc:
        return _refused(tx, exc, now)
    if sync is not None:
        return _sync_record(tx, payload, sync, now)
    answer = Answer(
        message=payload.get("message") if isinstance(payload.get("message"), str) else "",
        accepted=[d.global_device_id for d in answered if d.indv_status == 1],
        refused=[d.global_device_id for d in answered if d.indv_status != 1],
    )
    _answer_record(tx, answer, now)
    if request.state == RequestState.DISPATCHING:
        request.state = RequestState.IN_PROGRESS
        request.save(update_fields=["state"])
    _requests_refresh([request.pk], now)
    summary = f"{len(answer.accepted)} accepted, {len(answer.refused)} refused. {answer.message}"
    _audit_send(tx, summary.strip())
    return DispatchResult(
        "sent", answer.message, accepted=len(answer.accepted), refused=len(answer.refused)
    )


def _sync_rows(tx: CommandTransaction, payload: dict) -> list[dict] | None:
    """The rows of a synchronous on-demand answer (3.3, 3.4: the meter was online within the
    limit, so ``data`` holds the rows, not devices with ``indv_status``), else None."""
    if tx.target_id or answer_of(tx.request.command) is None:
        return None
    rows = response_rows(payload)
    if rows and all("indv_status" not in row for row in rows):
        return rows
    return None


def _sync_record(
    tx: CommandTransaction, payload: dict, rows: list[dict], now: datetime
) -> DispatchResult:
    """A synchronous on-demand answer: the rows are loaded (data) or recorded (parameters) at
    once and the devices are executed; nothing is left to poll."""
    message = payload.get("message") if isinstance(payload.get("message"), str) else ""
    by_device: dict[str, list[dict]] = {}
    for row in rows:
        by_device.setdefault(str(row.get("global_device_id", "")).strip(), []).append(row)
    pending = list(
        tx.devices.filter(outcome=Outcome.PENDING).values("pk", "global_device_id", "meter_id")
    )
    if answer_of(tx.request.command) == "rows":
        _on_demand_load(
            tx=tx,
            per_device=[
                DeviceRows(d["pk"], by_device.get(d["global_device_id"], [])) for d in pending
            ],
            mdc=tx.mdc,
        )
    else:
        answers = [
            DeviceAnswer(d["meter_id"], by_device[d["global_device_id"]][0])
            for d in pending
            if d["meter_id"] and by_device.get(d["global_device_id"])
        ]
        _parameters_record(tx=tx, answers=answers, now=now)
    tx.devices.filter(outcome=Outcome.PENDING).update(
        status_level=5,
        status_5_datetime=now,
        indv_status=1,
        outcome=Outcome.EXECUTED,
        message="Answered at once (synchronous on-demand read).",
        finished_at=now,
    )
    tx.response_status, tx.response_message = 1, message
    tx.sent_at, tx.last_error, tx.next_attempt_at = now, "", None
    tx.state, tx.finished_at = TransactionState.DONE, now
    tx.save()
    if tx.request.state == RequestState.DISPATCHING:
        tx.request.state = RequestState.IN_PROGRESS
        tx.request.save(update_fields=["state"])
    _requests_refresh([tx.request_id], now)
    _audit_send(tx, f"answered synchronously with {len(rows)} rows. {message}".strip())
    return DispatchResult("sent", message, accepted=len(pending))


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
