"""The MDC's TRANSACTION_STATUS and cancellation handlers (both advance the MDC's commands
first, so what they answer is what the elapsed time gives)."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from django.db import transaction

from apps.simulator.models import SimCommand, SimMdc, SimTransaction
from apps.udil.catalog_v33 import PARAMETER_READ_COLUMNS as PARAMETER_READ_TYPES
from apps.udil.datasets import CANCELLABLE_STATUS_LEVELS, ON_DEMAND_TYPES, TRANSACTION_STATUS
from apps.udil.timefmt import format_datetime

from .commands import sim_transactions_advance
from .common import SimError, _now, _pk_any
from .effects import _meters_response

# The spec's TRANSACTION_STATUS fields, in their order (the protocol package defines them).
TRANSACTION_FIELDS = TRANSACTION_STATUS.field_names


def transaction_row(row: SimTransaction | dict[str, Any]) -> dict[str, Any]:
    """A TRANSACTION_STATUS row (a SimTransaction or a dict of its values) as wire text
    (datetimes "" when not reached)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    out = {}
    for name in TRANSACTION_FIELDS:
        value = get(name)
        if isinstance(value, dt.datetime):
            value = format_datetime(value)
        elif value is None:
            value = "0000-00-00 00:00:00" if name == "request_cancel_datetime" else ""
        out[name] = str(value)
    return out


def sim_transaction_status(
    *, mdc: SimMdc, transactionids: list[str], now: dt.datetime | None = None
) -> dict[str, Any]:
    """TRANSACTION_STATUS rows of these transactions (after advancing them): one query."""
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    rows = list(
        SimTransaction.objects.filter(mdc=mdc, transactionid__in=transactionids)
        .order_by("command_receiving_datetime", "id")
        .values(*TRANSACTION_FIELDS, "message", "response_data", "done")
    )
    found = {r["transactionid"] for r in rows}
    unknown = [t for t in transactionids if t not in found]
    if unknown and not rows:
        raise SimError(400, f"transactionid: unknown transaction {', '.join(unknown)}")
    data = []
    notes = []
    v33 = mdc.udil_profile == "3.3"
    for row in rows:
        item = transaction_row(row)
        if row["type"] in ON_DEMAND_TYPES or row["type"] in PARAMETER_READ_TYPES:
            item["response_data"] = row["response_data"] or []
        if v33:
            _as_3_3(item, row)
        data.append(item)
        if row["message"]:
            notes.append(f"{row['global_device_id']}: {row['message']}")
    message = "; ".join(notes) or "Transaction status of requested transactions"
    if unknown:
        message = f"unknown transactionid {', '.join(unknown)}; {message}"
    return {"status": "1", "transactionid": transactionids[0], "data": data, "message": message}


def _as_3_3(item: dict[str, Any], row: dict[str, Any]) -> None:
    """A row as 3.3 writes it (3.4.3): ``indv_status`` 0 in progress, 1 done, 2 failed (or
    cancelled, or refused); a write's per-device remarks in ``response_data``; no
    cancellation datetime is empty (docs/udil-notes.md, "3.3 services")."""
    executed = row["status_level"] == 5 and row["indv_status"] == 1
    finished = row["done"] or row["request_cancelled"]
    item["indv_status"] = "1" if executed else "2" if finished else "0"
    if not row["request_cancel_datetime"]:
        item["request_cancel_datetime"] = ""
    if "response_data" not in item:
        item["response_data"] = row["message"] or (
            "Command executed successfully on meter" if executed else "Command is in process"
        )


class CancelRow(NamedTuple):
    """A device's row of the transaction to cancel, as the cancel reads it (locked)."""

    global_device_id: str
    id: int
    msn: str
    meter_id: int | None
    status_level: int
    done: bool
    request_cancelled: int


def _cancel_refusal(row: CancelRow | None, already: bool) -> str | None:
    """Why a device's row cannot be cancelled (None: it can)."""
    if row is None:
        return "is not part of this transaction"
    if row.request_cancelled or already:
        return "was already cancelled"
    if row.done and row.status_level == 5:
        return "has already executed the command (status_level 5)"
    if row.done:
        return "has already failed or been refused"
    if row.status_level not in CANCELLABLE_STATUS_LEVELS:
        return f"is at status_level {row.status_level}: only levels 0, 1 and 2 can be cancelled"
    return None


def _rows_cancel(mdc: SimMdc, transactionid: str, cancel: list[CancelRow], now) -> None:
    """One UPDATE of the rows cancelled; their meters answer "cancelled"."""
    SimTransaction.objects.filter(_pk_any(SimTransaction, [r.id for r in cancel])).update(
        request_cancelled=1,
        request_cancel_reason="Cancelled on MDM request",
        request_cancel_datetime=now,
        done=True,
    )
    service = (
        SimCommand.objects.filter(mdc=mdc, transactionid=transactionid)
        .values_list("service", flat=True)
        .first()
    )
    _meters_response(service, [r.meter_id for r in cancel], "cancelled", now)


def sim_transaction_cancel(
    *, mdc: SimMdc, transactionid: str, global_device_ids: list[str], now: dt.datetime | None = None
) -> dict[str, Any]:
    """Cancel a transaction for devices still at status level 0, 1 or 2 (the rows asked for
    are read and locked in one query, the cancellable ones cancelled in one UPDATE)."""
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    with transaction.atomic():
        rows = {
            values[0]: CancelRow._make(values)
            for values in SimTransaction.objects.select_for_update()
            .filter(mdc=mdc, transactionid=transactionid, global_device_id__in=global_device_ids)
            .values_list(*CancelRow._fields)
        }
        if not rows:
            known = SimTransaction.objects.filter(mdc=mdc, transactionid=transactionid).exists()
            if not known:
                raise SimError(400, f"transactionid: unknown transaction {transactionid}")
        data, notes, cancel = [], [], {}
        for gdi in global_device_ids:
            row = rows.get(gdi)
            why = _cancel_refusal(row, gdi in cancel)
            data.append(
                {
                    "global_device_id": gdi,
                    "msn": row.msn if row else "",
                    "indv_status": "0" if why else "1",
                }
            )
            if why:
                notes.append(f"Cancel for global_device_id:{gdi} refused: the device {why}")
                continue
            cancel[gdi] = row
        if cancel:
            _rows_cancel(mdc, transactionid, list(cancel.values()), now)
    message = "; ".join(notes) or "Transaction cancelled for devices with indv_status 1"
    return {"status": "1", "transactionid": transactionid, "data": data, "message": message}
