"""The MDC's side of write commands and on-demand requests: accept or refuse each device at
once (:func:`sim_command_submit`), then move the (transaction, device) rows through status
levels 0..5 by the time elapsed (:func:`sim_transactions_advance`), applying their effects
(:mod:`.effects`) exactly once, at level 5."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from typing import Any, NamedTuple

import orjson
from django.db import connection, transaction
from django.db.models import Q

from apps.simulator import generator as gen
from apps.simulator.models import SimCommand, SimMdc, SimMeter, SimTransaction
from apps.udil.catalog_v33 import ON_DEMAND_SYNC_SECONDS

from .common import (
    MAX_ON_DEMAND_DAYS,
    MAX_READ_DAYS,
    PENDING_COLUMNS,
    PendingRow,
    SimError,
    _jsonable,
    _known_from,
    _now,
    _pk_any,
)
from .effects import _effects_apply_isolated, _meters_response
from .handlers import ACCEPTED_REMARK, HANDLERS

#: The acceptance message of each command (apps.simulator.services.handlers).
SUCCESS_MESSAGES = {name: h.message for name, h in HANDLERS.items()}
UNREACHABLE = "meter unreachable: no connection could be established"
#: The meter columns a command's acceptance reads.
_SUBMIT_METER_COLUMNS = (
    "id",
    "global_device_id",
    "msn",
    "data_start",
    "has_relay",
    "history",
    "settings",
)


class Device(NamedTuple):
    """A device a command names (``dsn``: its serial number, for device_creation only)."""

    global_device_id: str
    dsn: int | None


class Refusal(NamedTuple):
    global_device_id: str
    why: str


class NewRow(NamedTuple):
    """A TRANSACTION_STATUS row a command writes for one device, in the columns of
    :func:`_transaction_rows_insert`."""

    meter_id: int | None
    global_device_id: str
    msn: str
    indv_status: int
    done: bool
    message: str
    fail_level: int | None


class Level(NamedTuple):
    reached: int
    failed: bool


class Move(NamedTuple):
    """Rows of one command that move to the same level together."""

    command_id: int
    level: int
    failed: bool


# ------------------------------------------------------------------ acceptance
def _active_at(meter: SimMeter, now_epoch: int) -> int:
    """The meter's activation status at ``now_epoch`` from its dated history (default 1)."""
    return next(
        (
            v
            for t, k, v in sorted(meter.history, key=lambda h: h[0])[::-1]
            if k == "active" and t <= now_epoch
        ),
        1,
    )


def _refusal(service: str, meter: SimMeter | None, params: dict, now_epoch: int) -> str | None:
    """Why a device refuses this command (None: accepted); ``service`` is the command's
    common name (its handler in :data:`HANDLERS`)."""
    if service == "device_creation":
        return None
    if meter is None or _known_from(meter) > now_epoch:
        return "is not known to this MDC"
    if service != "meter_status_update" and _active_at(meter, now_epoch) == 0:
        return "is inactive (meter_activation_status 0): the MDC does not entertain it"
    handler = HANDLERS[service]
    if handler.needs_relay and not meter.has_relay:
        return "has no relay connected to it"
    return handler.refuse(params) if handler.refuse else None


class _CreationCheck:
    """Why a device_creation refuses a device: it exists, its msn is another device's, a
    creation in flight will make it, or the request names it twice."""

    def __init__(self, mdc: SimMdc, devices: list[Device]):
        self.taken_msns = set(
            SimMeter.objects.filter(mdc=mdc, msn__in=[d.dsn for d in devices]).values_list(
                "msn", flat=True
            )
        )
        self.creating = _creations_in_flight(mdc, devices)
        self.seen_gdis: set[str] = set()
        self.seen_msns: set[int | None] = set()

    def why(self, device: Device, meter: SimMeter | None) -> str | None:
        gdi, dsn = device
        why = None
        if meter is not None:
            why = "already exists"
        elif dsn in self.taken_msns:
            why = f"cannot take msn {dsn}: it belongs to another device"
        elif gdi in self.creating or f"msn:{dsn}" in self.creating:
            tid = self.creating.get(gdi) or self.creating[f"msn:{dsn}"]
            why = f"is already being created by transaction {tid}"
        elif gdi in self.seen_gdis or dsn in self.seen_msns:
            why = "appears twice in this request"
        self.seen_gdis.add(gdi)
        self.seen_msns.add(dsn)
        return why


def _creations_in_flight(mdc: SimMdc, devices: list[Device]) -> dict[str, str]:
    """Device ids and msns (``"msn:<n>"``) of these devices that an accepted device_creation
    not yet executed will create, with its transactionid: a second creation of the same device
    must be refused now, not collide with the first when both reach level 5."""
    gdis = [d.global_device_id for d in devices]
    msns = {str(d.dsn) for d in devices}
    found: dict[str, str] = {}
    for gdi, msn, tid in (
        SimTransaction.objects.filter(mdc=mdc, type="DEVICE_CREATION", done=False, indv_status=1)
        .filter(Q(global_device_id__in=gdis) | Q(msn__in=msns))
        .values_list("global_device_id", "msn", "transactionid")
    ):
        found.setdefault(gdi, tid)
        found.setdefault(f"msn:{msn}", tid)
    return found


def _fail_level(mdc: SimMdc, tid: str, gdi: str, service: str) -> int | None:
    """Deterministic: does this device fail (meter unreachable), and at which level."""
    if service == "device_creation" or mdc.failure_rate <= 0:
        return None
    roll = gen.mix(mdc.seed, zlib.crc32(f"{tid}/{gdi}".encode())) % 1_000_000
    return 2 if roll < mdc.failure_rate * 1_000_000 else None


def _device_message(refused: list[Refusal], service: str) -> str:
    if not refused:
        return SUCCESS_MESSAGES[service]
    parts = [
        f"Command for global_device_id:{r.global_device_id} cannot be entertained as the "
        f"meter {r.why}"
        for r in refused
    ]
    return "; ".join(parts) + f". {SUCCESS_MESSAGES[service]}"


def _replayed(mdc: SimMdc, service: str, transactionid: str) -> dict[str, Any] | None:
    """The first answer to a transactionid sent again (locked), None for a new one."""
    existing = (
        SimCommand.objects.select_for_update().filter(mdc=mdc, transactionid=transactionid).first()
    )
    if existing is None:
        return None
    if existing.service != service:
        raise SimError(
            400, f"transactionid: {transactionid} was already used for {existing.service}"
        )
    return existing.response


def _window_check(service: str, params: dict[str, Any]) -> None:
    if service == "on_demand_request" and params.get("start_datetime"):
        span = params["end_datetime"] - params["start_datetime"]
        limit = MAX_ON_DEMAND_DAYS.get(params["type"], MAX_READ_DAYS)
        if span > dt.timedelta(days=limit):
            raise SimError(400, f"end_datetime: the window may span at most {limit} days")


def _devices_of(service: str, params: dict[str, Any]) -> list[Device]:
    if service == "device_creation":
        return [Device(d["global_device_id"], d["dsn"]) for d in params["device_identity"]]
    return [Device(gdi, None) for gdi in params["global_device_id"]]


class _Answer(NamedTuple):
    """A command's answer per device: wire data, refusals, rows to write, meters accepted."""

    data: list[dict[str, str]]
    refused: list[Refusal]
    rows: list[NewRow]
    accepted_meters: list[int]


def _devices_answer(
    mdc: SimMdc,
    command: SimCommand,
    params: dict[str, Any],
    devices: list[Device],
    now,
    remarks: bool = False,
) -> _Answer:
    """Accept or refuse every device of a command (its meters read in one query); ``params``
    as decoded (the command stores them as JSON)."""
    service, transactionid = command.service, command.transactionid
    meters = {
        m.global_device_id: m
        for m in SimMeter.objects.filter(
            mdc=mdc, global_device_id__in=[d.global_device_id for d in devices]
        ).only(*_SUBMIT_METER_COLUMNS)
    }
    now_epoch = gen.epoch_of(now)
    creation = _CreationCheck(mdc, devices) if service == "device_creation" else None
    answer = _Answer([], [], [], [])
    for device in devices:
        gdi, dsn = device
        meter = meters.get(gdi)
        why = _refusal(service, meter, params, now_epoch)
        if creation is not None:
            why = creation.why(device, meter)
        msn = str(dsn) if dsn is not None else (str(meter.msn) if meter else "")
        item = {"global_device_id": gdi, "msn": msn, "indv_status": "0" if why else "1"}
        if remarks:  # 3.3: each device's answer has its remarks
            item["remarks"] = f"The meter {why}" if why else ACCEPTED_REMARK
        answer.data.append(item)
        if why:
            answer.refused.append(Refusal(gdi, why))
            if meter is None and service != "device_creation":
                continue
        answer.rows.append(
            NewRow(
                meter_id=meter.pk if meter is not None else None,
                global_device_id=gdi,
                msn=msn,
                indv_status=0 if why else 1,
                done=bool(why),
                message=(f"refused: meter {why}" if why else "")[:200],
                fail_level=_fail_level(mdc, transactionid, gdi, service),
            )
        )
        if meter is not None and not why:
            answer.accepted_meters.append(meter.pk)
    return answer


def _type_parameters(params: dict[str, Any]) -> str:
    """TRANSACTION_STATUS ``type_parameters``: the command's parameters but its devices."""
    return orjson.dumps(
        {
            k: v
            for k, v in _jsonable(params).items()
            if k not in ("global_device_id", "device_identity")
        }
    ).decode()


def sim_command_submit(
    *,
    mdc: SimMdc,
    service: str,
    params: dict[str, Any],
    transactionid: str,
    now: dt.datetime | None = None,
    wire_name: str | None = None,
) -> dict[str, Any]:
    """A write command or on-demand request: record it per device and answer at once.

    ``service`` is the command's common name (its handler), ``wire_name`` the service's name
    in the MDC's profile (3.3's ``update_meter_status``), written as the rows' ``type``. A 3.3
    MDC gives each device its remarks, and answers an on-demand read of a meter online within
    the limit synchronously, with the rows themselves (:func:`_sync_answer`).

    Resending a known ``transactionid`` returns the first answer and does nothing else.
    Set-based: whatever the number of devices, the meters are read in one query, the
    transaction rows written in one INSERT and the meters marked in one UPDATE.
    """
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    with transaction.atomic():
        replayed = _replayed(mdc, service, transactionid)
        if replayed is not None:
            return replayed
        _window_check(service, params)
        devices = _devices_of(service, params)
        command = SimCommand.objects.create(
            mdc=mdc,
            transactionid=transactionid,
            service=service,
            params=_jsonable(params),
            received_at=now,
        )
        is_read = service in ON_DEMAND_SERVICES
        type_code = params["type"] if is_read else (wire_name or service).upper()
        v33 = mdc.udil_profile == "3.3"
        answer = _devices_answer(mdc, command, params, devices, now, remarks=v33)
        _transaction_rows_insert(command, answer.rows, type_code, _type_parameters(params), now)
        if answer.accepted_meters:
            SimMeter.objects.filter(_pk_any(SimMeter, answer.accepted_meters)).update(
                last_command=service,
                last_command_datetime=now,
                last_command_resp="pending",
                last_command_resp_datetime=None,
            )
        response = {
            "status": "1",
            "transactionid": transactionid,
            "data": answer.data,
            "message": _device_message(answer.refused, service),
        }
        if v33 and is_read and answer.accepted_meters:
            response = _sync_answer(mdc, command, response, now)
        command.response = response
        command.save(update_fields=["response"])
    sim_transactions_advance(mdc=mdc, now=now)
    return response


#: Commands that read the meter (their rows come back as response_data).
ON_DEMAND_SERVICES = frozenset({"on_demand_request", "on_demand_parameter_read"})
#: How long (real seconds) the simulator waits for a meter to answer a synchronous on-demand
#: read: a meter that executes within it (5 x command_pace_seconds) is "online" (the spec's
#: limit is ON_DEMAND_SYNC_SECONDS; a simulator does not hold a request that long).
SYNC_WAIT_SECONDS = 3.0


def _sync_answer(mdc: SimMdc, command: SimCommand, response: dict, now) -> dict[str, Any]:
    """3.3 (3.4): a meter online within the limit answers at once: the read's rows in ``data``
    (its transaction rows are done too); otherwise the device answer stands (asynchronous:
    the rows come in transaction_status), with the time-out in its remarks."""
    wait = 5 * max(0.0, mdc.command_pace_seconds)
    if wait > SYNC_WAIT_SECONDS:
        for item in response["data"]:
            if item["indv_status"] == "1":
                item["remarks"] = (
                    f"Request time-out: the meter did not connect within "
                    f"{ON_DEMAND_SYNC_SECONDS} seconds; the data will be in transaction_status"
                )
        return response
    if wait:
        time.sleep(wait)
    sim_transactions_advance(mdc=mdc, now=now + dt.timedelta(seconds=wait))
    rows = [
        row
        for data in SimTransaction.objects.filter(command=command, status_level=5)
        .order_by("id")
        .values_list("response_data", flat=True)
        for row in (data or [])
    ]
    return {
        "status": "1",
        "transactionid": command.transactionid,
        "data": rows,
        "message": f"{len(rows)} rows read from the meter",
    }


def _transaction_rows_insert(
    command: SimCommand, rows: list[NewRow], type_code: str, type_parameters: str, now: dt.datetime
) -> int:
    """One INSERT ... SELECT FROM unnest(arrays) of a command's TRANSACTION_STATUS rows.

    The columns of :class:`NewRow` differ per row; the rest is the same for every row (a model
    instance per row would cost more than the database's work at thousands of devices).
    """
    if not rows:
        return 0
    table = connection.ops.quote_name(SimTransaction._meta.db_table)
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (command_id, mdc_id, transactionid, type, type_parameters,
                command_receiving_datetime, status_level, request_cancelled,
                request_cancel_reason, effects_applied, meter_id, global_device_id, msn,
                indv_status, done, message, fail_level)
            SELECT %s, %s, %s, %s, %s, %s, 0, 0, '', false, v.*
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::smallint[], %s::boolean[],
                        %s::text[], %s::smallint[]) AS v
            """,
            [
                command.pk,
                command.mdc_id,
                command.transactionid,
                type_code,
                type_parameters,
                now,
                *(list(c) for c in columns),
            ],
        )
        return cursor.rowcount


# ------------------------------------------------------------------ advance
def _level_of(
    received: dt.datetime, fail_level: int | None, pace: float, now: dt.datetime
) -> Level:
    """The level reached at ``now`` of a row received at ``received``, and whether it failed."""
    reached = 5 if pace <= 0 else min(5, int((now - received).total_seconds() // pace))
    if fail_level is not None and reached > fail_level:
        return Level(fail_level, True)
    return Level(reached, False)


def _due_groups(mdc: SimMdc, pace: float, now: dt.datetime) -> Q:
    """The (command, level, fail level) groups of pending rows due to move, one grouped query
    (all rows of one command share their receiving time, so they move together)."""
    groups = (
        SimTransaction.objects.filter(mdc=mdc, done=False)
        .order_by()
        .values_list("command_id", "command_receiving_datetime", "status_level", "fail_level")
        .distinct()
    )
    due = Q()
    for command_id, received, level, fail_level in groups:
        target, failed = _level_of(received, fail_level, pace, now)
        if target != level or failed or target == 5:
            due |= Q(command_id=command_id, status_level=level, fail_level=fail_level)
    return due


def _moves(due: Q, mdc: SimMdc, pace: float, now: dt.datetime) -> dict[Move, list[PendingRow]]:
    """The due rows, locked (rows another caller holds are skipped), grouped by where they
    move, in the order the commands arrived."""
    pending = (
        SimTransaction.objects.select_for_update(skip_locked=True)
        .filter(due, mdc=mdc, done=False)
        .order_by("command_receiving_datetime", "id")
        .values_list(*PENDING_COLUMNS)
    )
    moves: dict[Move, list[PendingRow]] = {}
    for values in pending:
        row = PendingRow._make(values)
        level, failed = _level_of(row.received, row.fail_level, pace, now)
        moves.setdefault(Move(row.command_id, level, failed), []).append(row)
    return moves


def _move(mdc: SimMdc, move: Move, rows: list[PendingRow], command, step: dt.timedelta) -> int:
    """One UPDATE of a group of rows to its level; then the meters' answer (failed) or the
    command's effects (level 5, rows whose effects are not applied yet)."""
    received = rows[0].received
    update: dict[str, Any] = {"status_level": move.level}
    for n in range(1, move.level + 1):
        update[f"status_{n}_datetime"] = received + step * n
    if move.failed:
        update.update(indv_status=0, done=True, message=UNREACHABLE)
    elif move.level == 5:
        update.update(done=True, effects_applied=True)
    ids = [r.id for r in rows]
    moved = SimTransaction.objects.filter(_pk_any(SimTransaction, ids)).update(**update)
    if move.failed:
        failed_at = received + step * (move.level + 1)
        _meters_response(command.service, [r.meter_id for r in rows], "failed", failed_at)
    elif move.level == 5:
        todo = [r for r in rows if not r.effects_applied]
        if todo:
            _effects_apply_isolated(mdc, command, todo, received + step * 5)
    return moved


def sim_transactions_advance(*, mdc: SimMdc, now: dt.datetime | None = None) -> int:
    """Move pending (transaction, device) rows to the level their age gives them; apply the
    effects of rows reaching level 5 (exactly once) and finish failed rows. Idempotent.

    Set-based: all rows of one command share their receiving time, so they move together.
    One grouped query finds which (command, level) groups are due; when none is (a poll of
    commands in flight), that is all. Otherwise the due rows are locked (rows another caller
    holds are skipped, as before), each group is moved with one UPDATE, and effects are
    applied with a few statements per command and effect, in the order commands arrived.
    """
    now = _now(now)
    pace = mdc.command_pace_seconds
    due = _due_groups(mdc, pace, now)
    if not due:
        return 0
    step = dt.timedelta(seconds=pace)
    moved = 0
    with transaction.atomic():
        moves = _moves(due, mdc, pace, now)
        needed = {m.command_id for m in moves if m.failed or m.level == 5}
        commands = SimCommand.objects.in_bulk(needed) if needed else {}
        for move, rows in moves.items():
            moved += _move(mdc, move, rows, commands.get(move.command_id), step)
    return moved
