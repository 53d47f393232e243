"""Following an MDC's open transactions (``transaction_status``) to a final outcome per
device, applying effects and loading on-demand rows; timing out devices that never finish."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.commands.choices import Outcome, TransactionState
from apps.commands.models import CommandDevice, CommandTransaction
from apps.commands.spec import answer_of
from apps.registry.models import Mdc
from apps.udil.codec import response_rows
from apps.udil.datasets import TRANSACTION_STATUS
from apps.udil.errors import MalformedBody, MdcUnavailable, UdilError
from apps.udil.profiles import Profile, get_profile

from ._shared import mdc_client_for
from .effects import DeviceAnswer, DeviceRows, _effects_apply, _on_demand_load, _parameters_record
from .progress import _requests_refresh


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


class StatusAnswer(NamedTuple):
    """An MDC's transaction_status answer: its rows, and per-device notes of its message."""

    rows: list[dict]
    notes: dict[str, str]


def _status_rows_fetch(mdc, tids: list[str], result: PollResult) -> StatusAnswer | None:
    client = mdc_client_for(mdc)
    result.http_requests += 1
    try:
        payload = client.call("transaction_status", {"transactionid": tids})
        return StatusAnswer(response_rows(payload), _device_notes(payload.get("message")))
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
    step = max(1, settings.COMMAND_POLL_MAX_TRANSACTIONS)
    for start in range(0, len(due), step):
        chunk = due[start : start + step]
        fetched = _status_rows_fetch(mdc, [tid for _, tid in chunk], result)
        ids = [pk for pk, _ in chunk]
        if fetched is None:
            _poll_backoff(ids, timezone.now())
            continue
        result.transactions += len(chunk)
        result.status_rows += len(fetched.rows)
        _status_apply(
            mdc=mdc, transaction_ids=ids, rows=fetched.rows, notes=fetched.notes, result=result
        )
    return result


def _backed_off(seconds: int) -> int:
    """The next poll interval when nothing changed: doubled, within the configured bounds."""
    base, top = settings.COMMAND_POLL_BASE_SECONDS, settings.COMMAND_POLL_MAX_SECONDS
    return min(max(base, seconds * 2), top)


def _poll_backoff(transaction_ids: list[int], now: datetime) -> None:
    """The MDC could not answer: try these transactions again later (doubling, capped)."""
    with transaction.atomic():
        txs = list(CommandTransaction.objects.select_for_update().filter(pk__in=transaction_ids))
        for tx in txs:
            tx.poll_interval_seconds = _backed_off(tx.poll_interval_seconds)
            tx.next_poll_at = now + timedelta(seconds=tx.poll_interval_seconds)
        CommandTransaction.objects.bulk_update(txs, ["poll_interval_seconds", "next_poll_at"])


@dataclass
class _Merge:
    """What one batch of status rows changes: the devices' new states, the transactions that
    moved, the meters that executed and the on-demand rows to load (per transaction pk)."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    changed_txs: set[int] = field(default_factory=set)
    executed: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    on_demand: dict[int, list[DeviceRows]] = field(default_factory=lambda: defaultdict(list))
    parameters: dict[int, list[DeviceAnswer]] = field(default_factory=lambda: defaultdict(list))


def _open_transactions(transaction_ids: list[int]) -> dict[str, CommandTransaction]:
    """The batch's transactions still open, locked, by transactionid."""
    return {
        tx.transactionid: tx
        for tx in CommandTransaction.objects.select_for_update(of=("self",))
        .select_related("request")
        .filter(pk__in=transaction_ids, state=TransactionState.OPEN)
    }


def _devices_of(txs: dict[str, CommandTransaction]) -> dict[tuple[int, str], dict[str, Any]]:
    """The transactions' devices as stored, by (transaction pk, global_device_id)."""
    devices: dict[tuple[int, str], dict[str, Any]] = {}
    for values in CommandDevice.objects.filter(
        transaction_id__in=[t.pk for t in txs.values()]
    ).values(
        "id", "transaction_id", "meter_id", "global_device_id", "response_rows", *_DEVICE_COLUMNS
    ):
        devices[(values["transaction_id"], values["global_device_id"])] = values
    return devices


def _status_rows_merge(
    *,
    rows: list[dict],
    notes: dict[str, str],
    txs: dict[str, CommandTransaction],
    devices: dict[tuple[int, str], dict[str, Any]],
    result: PollResult,
    now: datetime,
    profile: Profile,
) -> _Merge:
    """Merge each status row into its device (``devices`` is updated in place); rows of no
    open transaction or device of this batch are counted as bad. ``indv_status`` is read in
    the MDC's profile (3.3: 0 in progress, 1 done, 2 failed) and kept in the 2019 meaning."""
    merge = _Merge()
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
        answer = answer_of(tx.request.command)
        response = row.extras.get("response_data")
        if current["outcome"] == Outcome.PENDING:
            # 3.3 writes a device's remarks in response_data (4.3); 2019 MDCs in the message
            remark = response if isinstance(response, str) and answer is None else None
            message = raw.get("message") or remark or notes.get(row["global_device_id"])
            indv = profile.indv_status(row["indv_status"])
            new = _device_state(current, {**row, "indv_status": indv, "message": message}, now)
            if new is not None:
                merge.changes.append(new)
                merge.changed_txs.add(tx.pk)
                devices[(tx.pk, row["global_device_id"])] = new
                if new["outcome"] == Outcome.EXECUTED and current["meter_id"]:
                    merge.executed[tx.pk].append(current["meter_id"])
        if not response or answer is None or current["response_rows"] is not None:
            continue
        items = [r for r in (response if isinstance(response, list) else [response])]
        items = [r for r in items if isinstance(r, dict)]
        if answer == "rows":
            merge.on_demand[tx.pk].append(DeviceRows(current["id"], items))
        elif items and current["meter_id"]:
            merge.parameters[tx.pk].append(DeviceAnswer(current["meter_id"], items[0]))
            current["response_rows"] = len(items)
    return merge


def _transactions_reschedule(
    txs: list[CommandTransaction],
    devices: dict[tuple[int, str], dict[str, Any]],
    changed_txs: set[int],
    now: datetime,
) -> None:
    """Close transactions with nothing pending; poll the others again soon if they moved,
    later (doubling) if not."""
    pending_by_tx: dict[int, int] = defaultdict(int)
    for values in devices.values():
        if values["outcome"] == Outcome.PENDING:
            pending_by_tx[values["transaction_id"]] += 1
    for tx in txs:
        tx.polls += 1
        tx.last_polled_at = now
        if pending_by_tx[tx.pk] == 0:
            tx.state, tx.finished_at, tx.next_poll_at = TransactionState.DONE, now, None
            continue
        if tx.pk in changed_txs:
            tx.poll_interval_seconds = settings.COMMAND_POLL_BASE_SECONDS
        else:
            tx.poll_interval_seconds = _backed_off(tx.poll_interval_seconds)
        tx.next_poll_at = now + timedelta(seconds=tx.poll_interval_seconds)
    CommandTransaction.objects.bulk_update(
        txs,
        [
            "polls",
            "last_polled_at",
            "state",
            "finished_at",
            "next_poll_at",
            "poll_interval_seconds",
        ],
    )


@transaction.atomic
def _status_apply(
    *, mdc, transaction_ids: list[int], rows: list[dict], notes: dict[str, str], result: PollResult
) -> None:
    now = timezone.now()
    txs = _open_transactions(transaction_ids)
    result.rows_touched += len(txs)
    devices = _devices_of(txs)
    merge = _status_rows_merge(
        rows=rows,
        notes=notes,
        txs=txs,
        devices=devices,
        result=result,
        now=now,
        profile=get_profile(mdc.udil_profile),
    )
    written = _devices_bulk_write(merge.changes, now)
    result.devices_changed += written
    result.rows_touched += written
    result.executed += sum(len(v) for v in merge.executed.values())
    by_pk = {tx.pk: tx for tx in txs.values()}
    for tx_pk, meter_ids in merge.executed.items():
        result.rows_touched += _effects_apply(tx=by_pk[tx_pk], meter_ids=meter_ids, now=now)
    for tx_pk, per_device in merge.on_demand.items():
        result.warehouse_rows += _on_demand_load(tx=by_pk[tx_pk], per_device=per_device, mdc=mdc)
    for tx_pk, answers in merge.parameters.items():
        result.rows_touched += _parameters_record(tx=by_pk[tx_pk], answers=answers, now=now)
    _transactions_reschedule(list(txs.values()), devices, merge.changed_txs, now)
    _requests_refresh({tx.request_id for tx in txs.values()}, now)


@transaction.atomic
def _devices_time_out(*, mdc_id: int, now: datetime) -> int:
    """Devices still pending ``MDM_COMMAND_TIMEOUT_MINUTES`` after their transaction was sent
    are timed out (one UPDATE); transactions left with nothing pending are closed."""
    minutes = settings.COMMAND_TIMEOUT_MINUTES
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
