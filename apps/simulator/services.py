"""Simulator writes and the MDC side of every UDIL service (views only call these).

Entry points for tests and tools:

- :func:`sim_mdc_create` builds a simulated MDC and its fleet (deterministic from ``seed``);
  :func:`sim_meter_add` adds one meter; :func:`sim_faults_update` changes fault settings.
- :func:`sim_authorize`, :func:`sim_command_submit`, :func:`sim_transaction_status`,
  :func:`sim_transaction_cancel`, :func:`sim_read` are what the HTTP views call; they take
  ``now`` so a test can move time.
- :func:`sim_transactions_advance` moves commands through status levels 0..5 by the time elapsed
  (idempotent; effects apply exactly once, when a device reaches level 5).
- :func:`apps.simulator.tabular.sim_tabular_sync` fills the tables of a tabular MDC.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import zlib
from collections.abc import Iterable
from decimal import Decimal
from random import Random
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Case, F, Func, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils import timezone

from apps.audit.services import audit_record
from apps.simulator import generator as gen
from apps.simulator.models import (
    CredentialsIn,
    Format,
    Profile,
    SimCommand,
    SimMdc,
    SimMeter,
    SimPrivateKey,
    SimTransaction,
    Tamper,
    Transport,
)
from apps.udil.datasets import (
    CANCELLABLE_STATUS_LEVELS,
    DATASETS,
    ON_DEMAND_TYPES,
    TRANSACTION_STATUS,
)
from apps.udil.timefmt import PKT, format_datetime, format_time

log = logging.getLogger(__name__)
Q3 = Decimal("0.001")
#: The longest window one read or on-demand request may ask for.
MAX_READ_DAYS = 366
#: Per on-demand type: monthly and daily billing snapshots are few rows a month, so a year
#: is a sane window (a DISCO asks for months of MBIL); load profile and events are dense,
#: so they stay bounded (31 days of 15-minute rows is ~3,000 rows a meter).
MAX_ON_DEMAND_DAYS = {"LPRO": 31, "EVNT": 92, "BILL": 366, "MBIL": 366}


class SimError(Exception):
    """A request the simulator refuses as a whole: ``http_status`` 400 or 401, ``message``
    naming the parameter."""

    def __init__(self, http_status: int, message: str):
        self.http_status = http_status
        self.message = message
        super().__init__(message)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()).astimezone(PKT).replace(microsecond=0)


def _midnight(value: dt.datetime) -> dt.datetime:
    local = value.astimezone(PKT)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# ================================================================== fleet
PROFILE_MIX = (
    (Profile.DOMESTIC, 70),
    (Profile.COMMERCIAL, 18),
    (Profile.INDUSTRIAL, 7),
    (Profile.AGRICULTURAL, 5),
)
BASE_LOAD_W = {
    Profile.DOMESTIC: (300, 1500),
    Profile.COMMERCIAL: (1500, 9000),
    Profile.INDUSTRIAL: (20000, 150000),
    Profile.AGRICULTURAL: (3000, 9000),
}


def _id_prefix(seed: int, code: str) -> int:
    """Two digits that start a fleet's device numbers, free among simulated MDCs."""
    taken = set(
        SimMeter.objects.exclude(mdc__code=code)
        .filter(global_device_id__regex=r"^m[0-9]{8}$")
        .order_by()
        .values_list(Substr("global_device_id", 2, 2), flat=True)
        .distinct()
    )
    start = gen.mix(seed, zlib.crc32(code.encode())) % 90
    for step in range(90):
        prefix = 10 + (start + step) % 90
        if f"{prefix:02d}" not in taken:
            return prefix
    return 10 + start


def _meter_attributes(
    seed: int, index: int, *, lp_interval: int | None, data_start: dt.datetime
) -> dict[str, Any]:
    rng = Random(gen.mix(seed, index, 17))
    roll = rng.randrange(100)
    profile = Profile.DOMESTIC
    for choice, share in PROFILE_MIX:
        if roll < share:
            profile = choice
            break
        roll -= share
    if profile == Profile.INDUSTRIAL:
        phase, meter_type, has_relay = 3, rng.choice((3, 4)), False
    elif profile == Profile.COMMERCIAL:
        phase = rng.choice((1, 3))
        meter_type, has_relay = (2 if phase == 3 else 1), rng.random() < 0.9
    elif profile == Profile.AGRICULTURAL:
        phase, meter_type, has_relay = 3, 2, rng.random() < 0.8
    else:
        phase = 3 if rng.random() < 0.12 else 1
        meter_type, has_relay = 1, rng.random() < 0.95
    low, high = BASE_LOAD_W[profile]
    tamper, tamper_start = Tamper.NONE, None
    if rng.random() < 0.03:
        tamper = rng.choice((Tamper.CT_BYPASS, Tamper.REVERSE_ENERGY, Tamper.REVERSE_POLARITY))
        tamper_start = data_start + dt.timedelta(
            days=rng.randrange(1, 10), minutes=15 * rng.randrange(96)
        )
    meter_seed = gen.mix(seed, index, 23) & ((1 << 62) - 1)
    return {
        "profile": profile,
        "phase": phase,
        "meter_type": meter_type,
        "has_relay": has_relay,
        "base_load_w": rng.randrange(low, high),
        "power_factor": Decimal(rng.randrange(820, 985)) / 1000,
        "initial_kwh": (Decimal(rng.randrange(500_000, 60_000_000)) / 1000).quantize(Q3),
        "seed": meter_seed,
        "tamper": tamper,
        "tamper_start": tamper_start,
        "mdi_reset_date": 1,
        "communication_type": rng.choice((0, 0, 0, 1)),
        "sim_number": f"03{rng.randrange(10**9):09d}",
        "sim_id": f"8992{rng.randrange(10**15):015d}",
        "lp_interval": lp_interval or (30 if rng.random() < 0.2 else 15),
        "clock_offset": rng.choice((0, 0, 0, rng.randrange(-300, 300))),
        "active": 0 if rng.random() < 0.01 else 1,
        "primary_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "primary_port": 4059,
    }


def _build_meter(
    mdc: SimMdc, *, gdi: str, msn: int, data_start: dt.datetime, attrs: dict[str, Any]
) -> SimMeter:
    start_epoch = gen.epoch_of(data_start)
    attrs = dict(attrs)
    lp = attrs.pop("lp_interval")
    clock = attrs.pop("clock_offset")
    active = attrs.pop("active")
    return SimMeter(
        mdc=mdc,
        global_device_id=gdi,
        msn=msn,
        data_start=data_start,
        lp_interval=lp,
        activation_status=active,
        history=gen.initial_history(
            data_start=start_epoch, lp_interval=lp, clock_offset=clock, active=active
        ),
        **attrs,
    )


@transaction.atomic
def sim_mdc_create(
    *,
    code: str,
    fmt: str = Format.JSON,
    transport: str = Transport.API,
    meters: int = 10,
    days: int = 7,
    seed: int = 1,
    history_start: dt.datetime | None = None,
    lp_interval: int | None = None,
    now: dt.datetime | None = None,
    actor=None,
    **settings: Any,
) -> tuple[SimMdc, list[SimMeter]]:
    """Create a simulated MDC with ``meters`` meters whose data starts ``days`` days before
    ``now`` (at local midnight) or at ``history_start``.

    Device ids are ``m`` + 8 digits, serial numbers ``40`` + the same 8 digits. Other keyword
    arguments set SimMdc fields (``command_pace_seconds=0``, ``failure_rate=0``,
    ``offline_rate=0``, ``gap_rate=0``, ``username`` ... ). ``lp_interval`` forces every
    meter's load profile interval (else 15 or 30 by meter).
    """
    now = _now(now)
    start = history_start or _midnight(now - dt.timedelta(days=days))
    mdc = SimMdc(
        code=code,
        name=settings.pop("name", f"Simulated MDC {code}"),
        fmt=fmt,
        transport=transport,
        seed=seed,
        history_start=start,
        **settings,
    )
    mdc.full_clean()
    mdc.save()
    prefix = _id_prefix(seed, code)
    fleet = []
    for i in range(meters):
        number = prefix * 1_000_000 + i + 1
        attrs = _meter_attributes(seed, i, lp_interval=lp_interval, data_start=start)
        fleet.append(
            _build_meter(
                mdc, gdi=f"m{number:08d}", msn=4_000_000_000 + number, data_start=start, attrs=attrs
            )
        )
    SimMeter.objects.bulk_create(fleet, batch_size=2000)
    audit_record(
        actor=actor,
        action="simulator.mdc.create",
        target=mdc,
        summary=f"simulated MDC {code}: {meters} meters, {fmt}/{transport}",
        detail={"meters": meters, "days": days, "seed": seed},
    )
    return mdc, fleet


@transaction.atomic
def sim_meter_add(
    *,
    mdc: SimMdc,
    global_device_id: str,
    msn: int,
    data_start: dt.datetime | None = None,
    seed: int | None = None,
    lp_interval: int = 15,
    active: int = 1,
    actor=None,
    **fields: Any,
) -> SimMeter:
    """Add one meter. Unset attributes are drawn from ``seed`` (default: from the msn);
    ``fields`` override them (``profile``, ``phase``, ``has_relay``, ``tamper`` ...)."""
    start = data_start or mdc.history_start
    attrs = _meter_attributes(
        seed if seed is not None else mdc.seed, msn, lp_interval=lp_interval, data_start=start
    )
    attrs["active"] = active
    attrs["clock_offset"] = fields.pop("clock_offset", attrs["clock_offset"])
    attrs.update(fields)
    meter = _build_meter(mdc, gdi=global_device_id, msn=msn, data_start=start, attrs=attrs)
    meter.save()
    audit_record(
        actor=actor,
        action="simulator.meter.add",
        target=meter,
        summary=f"{global_device_id} on {mdc.code}",
    )
    return meter


FAULT_FIELDS = (
    "latency_ms",
    "error_500_rate",
    "malformed_rate",
    "truncated_rate",
    "number_style",
    "quirk_id_whitespace",
    "quirk_shuffle_fields",
    "quirk_extra_fields",
    "key_lifetime_seconds",
    "command_pace_seconds",
    "failure_rate",
    "offline_rate",
    "gap_rate",
    "credentials_in",
)


#: Sane maxima of fault values: a fault simulates a slow or flaky vendor, it must not be able
#: to hold a web thread for hours or make commands take days.
MAX_LATENCY_MS = 30_000
FAULT_LIMITS: dict[str, tuple[float, float, str]] = {
    "latency_ms": (0, MAX_LATENCY_MS, "milliseconds"),
    "key_lifetime_seconds": (60, 86_400, "seconds"),
    "command_pace_seconds": (0, 600, "seconds a level"),
}


def _faults_check(changes: dict[str, Any]) -> None:
    errors = {}
    for name, (low, high, unit) in FAULT_LIMITS.items():
        value = changes.get(name)
        if value is not None and not low <= value <= high:
            errors[name] = f"Must be between {low} and {high} {unit}, got {value}."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sim_faults_update(*, mdc: SimMdc, actor=None, **changes: Any) -> SimMdc:
    """Change fault injection and realism settings at run time (names in FAULT_FIELDS).
    Values outside :data:`FAULT_LIMITS` raise ValidationError naming the field."""
    unknown = set(changes) - set(FAULT_FIELDS)
    if unknown:
        raise ValueError(f"not fault settings: {sorted(unknown)}")
    _faults_check(changes)
    before = {name: getattr(mdc, name) for name in changes}
    for name, value in changes.items():
        setattr(mdc, name, value)
    mdc.full_clean()
    mdc.save()
    audit_record(
        actor=actor,
        action="simulator.faults.update",
        target=mdc,
        summary=f"faults of {mdc.code}: " + ", ".join(f"{k}={v}" for k, v in changes.items()),
        detail={
            "before": {k: str(v) for k, v in before.items()},
            "after": {k: str(v) for k, v in changes.items()},
        },
    )
    return mdc


# ================================================================== authorization
def sim_authorize(
    *,
    mdc: SimMdc,
    username: str | None,
    password: str | None,
    code: str | None,
    now: dt.datetime | None = None,
) -> SimPrivateKey:
    """Check the credentials and issue a private key (SimError 401 when they are wrong)."""
    now = _now(now)
    if (username, password, code) != (mdc.username, mdc.password, mdc.auth_code):
        raise SimError(401, "username, password or code is wrong")
    SimPrivateKey.objects.filter(mdc=mdc, expires_at__lt=now - dt.timedelta(days=1)).delete()
    return SimPrivateKey.objects.create(
        mdc=mdc,
        key=secrets.token_hex(16),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=mdc.key_lifetime_seconds),
    )


def sim_key_check(*, mdc: SimMdc, key: str | None, now: dt.datetime | None = None) -> None:
    """SimError 401 unless ``key`` is a live private key of ``mdc``."""
    if not key:
        raise SimError(401, "privatekey: is required")
    found = SimPrivateKey.objects.filter(mdc=mdc, key=key).only("expires_at").first()
    if found is None:
        raise SimError(401, "privatekey: is not valid")
    if found.expires_at <= _now(now):
        raise SimError(401, "privatekey: has expired, call authorization_service again")


# ================================================================== commands
SUCCESS_MESSAGES = {
    "aux_relay_operations": "Relay will be operated for meters with indv_status 1",
    "time_synchronization": "Time will be updated for requested meters according to system time",
    "sanctioned_load_control": "Limits for provided meters will be changed",
    "load_shedding_scheduling": "Load Shedding Schedule will be programmed in meters with "
    "indv_status 1",
    "time_of_use_change": "Tariff will be applied to all meters with indv_status 1",
    "device_creation": "Meters with indv_status 1 are created Successfully",
    "update_ip_port": "IP Addresses will be updated in all meters with indv_status 1",
    "meter_data_sampling": "Sampling interval in meter with indv_status 1 will be changed "
    "accordingly",
    "activate_meter_optical_port": "Optical Port will be activated for indv_status 1",
    "wake_up_sim_number_update": "Wakeup numbers will be updated for indv_status 1",
    "meter_status_update": "Meter Status will be updated for indv_status 1",
    "on_demand_request": "MDC will send all data of Meter with indv_status 1",
}
NEEDS_RELAY = {"aux_relay_operations", "load_shedding_scheduling", "sanctioned_load_control"}
PARAMETERIZATION = {
    "sanctioned_load_control",
    "load_shedding_scheduling",
    "time_of_use_change",
    "update_ip_port",
    "meter_data_sampling",
    "activate_meter_optical_port",
    "wake_up_sim_number_update",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.time):
        return format_time(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _known_from(meter: SimMeter) -> int:
    """Epoch from which the MDC knows a meter: its creation by device_creation (level 5), else
    the start of its data. A created meter records data from the next tick on, but it is known
    (commands, reads) at once: the MDM sends its first commands right after level 5."""
    created = (meter.settings or {}).get("created_epoch")
    return created if isinstance(created, int) else gen.epoch_of(meter.data_start)


def _refusal(service: str, meter: SimMeter | None, params: dict, now_epoch: int) -> str | None:
    """Why a device refuses this command (None: accepted)."""
    if service == "device_creation":
        return None
    if meter is None or _known_from(meter) > now_epoch:
        return "is not known to this MDC"
    spec_active = next(
        (
            v
            for t, k, v in sorted(meter.history, key=lambda h: h[0])[::-1]
            if k == "active" and t <= now_epoch
        ),
        1,
    )
    if service != "meter_status_update" and spec_active == 0:
        return "is inactive (meter_activation_status 0): the MDC does not entertain it"
    if service in NEEDS_RELAY and not meter.has_relay:
        return "has no relay connected to it"
    if (
        service == "meter_data_sampling"
        and params["data_type"] == "LPRO"
        and params["sampling_interval"] not in gen.SUPPORTED_INTERVALS
    ):
        supported = ", ".join(str(i) for i in gen.SUPPORTED_INTERVALS)
        return (
            f"does not support a load profile interval of {params['sampling_interval']} "
            f"minutes (supported: {supported})"
        )
    if service == "time_of_use_change" and params["tariff_identification"] not in (
        "1",
        "2",
        "3",
        "4",
    ):
        return "has tariff registers 1 to 4 only (tariff_identification)"
    return None


def _fail_level(mdc: SimMdc, tid: str, gdi: str, service: str) -> int | None:
    """Deterministic: does this device fail (meter unreachable), and at which level."""
    if service == "device_creation" or mdc.failure_rate <= 0:
        return None
    roll = gen.mix(mdc.seed, zlib.crc32(f"{tid}/{gdi}".encode())) % 1_000_000
    return 2 if roll < mdc.failure_rate * 1_000_000 else None


def _device_message(refused: list[tuple[str, str]], service: str) -> str:
    if not refused:
        return SUCCESS_MESSAGES[service]
    parts = [
        f"Command for global_device_id:{gdi} cannot be entertained as the meter {why}"
        for gdi, why in refused
    ]
    return "; ".join(parts) + f". {SUCCESS_MESSAGES[service]}"


def _pk_any(model: type[models.Model], ids: Iterable[int]) -> RawSQL:
    """``<table>.id = ANY(%s)``: a set of ids as one array parameter, whatever its size."""
    table = connection.ops.quote_name(model._meta.db_table)
    return RawSQL(f'{table}."id" = ANY(%s)', (list(ids),), output_field=models.BooleanField())


class _JsonbConcat(Func):
    """``a || b`` of two jsonb values (arrays: appended; objects: keys of b replace a's)."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = models.JSONField()


def _jsonb(value: Any) -> Value:
    return Value(value, output_field=models.JSONField())


_METER_COMMAND_FIELDS = (
    "last_command",
    "last_command_datetime",
    "last_command_resp",
    "last_command_resp_datetime",
)


def sim_command_submit(
    *,
    mdc: SimMdc,
    service: str,
    params: dict[str, Any],
    transactionid: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A write command or on-demand request: record it per device and answer at once.

    Resending a known ``transactionid`` returns the first answer and does nothing else.
    Set-based: whatever the number of devices, the meters are read in one query, the
    transaction rows written in one INSERT and the meters marked in one UPDATE.
    """
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    with transaction.atomic():
        existing = (
            SimCommand.objects.select_for_update()
            .filter(mdc=mdc, transactionid=transactionid)
            .first()
        )
        if existing is not None:
            if existing.service != service:
                raise SimError(
                    400, f"transactionid: {transactionid} was already used for {existing.service}"
                )
            return existing.response
        if service == "on_demand_request" and params.get("start_datetime"):
            span = params["end_datetime"] - params["start_datetime"]
            limit = MAX_ON_DEMAND_DAYS.get(params["type"], MAX_READ_DAYS)
            if span > dt.timedelta(days=limit):
                raise SimError(400, f"end_datetime: the window may span at most {limit} days")
        if service == "device_creation":
            devices = [(d["global_device_id"], d["dsn"]) for d in params["device_identity"]]
        else:
            devices = [(gdi, None) for gdi in params["global_device_id"]]
        gdis = [gdi for gdi, _ in devices]
        meters = {
            m.global_device_id: m
            for m in SimMeter.objects.filter(mdc=mdc, global_device_id__in=gdis).only(
                "id", "global_device_id", "msn", "data_start", "has_relay", "history", "settings"
            )
        }
        command = SimCommand.objects.create(
            mdc=mdc,
            transactionid=transactionid,
            service=service,
            params=_jsonable(params),
            received_at=now,
        )
        now_epoch = gen.epoch_of(now)
        type_code = params["type"] if service == "on_demand_request" else service.upper()
        type_parameters = orjson.dumps(
            {
                k: v
                for k, v in _jsonable(params).items()
                if k not in ("global_device_id", "device_identity")
            }
        ).decode()
        data, refused, rows, accepted_meters = [], [], [], []
        taken_msns: set[int] = set()
        creating: dict[str, str] = {}
        if service == "device_creation":
            taken_msns = set(
                SimMeter.objects.filter(mdc=mdc, msn__in=[m for _, m in devices]).values_list(
                    "msn", flat=True
                )
            )
            creating = _creations_in_flight(mdc, devices)
        seen_gdis: set[str] = set()
        seen_msns: set[int] = set()
        for gdi, dsn in devices:
            meter = meters.get(gdi)
            why = _refusal(service, meter, params, now_epoch)
            if service == "device_creation":
                if meter is not None:
                    why = "already exists"
                elif dsn in taken_msns:
                    why = f"cannot take msn {dsn}: it belongs to another device"
                elif gdi in creating or f"msn:{dsn}" in creating:
                    tid = creating.get(gdi) or creating[f"msn:{dsn}"]
                    why = f"is already being created by transaction {tid}"
                elif gdi in seen_gdis or dsn in seen_msns:
                    why = "appears twice in this request"
                seen_gdis.add(gdi)
                seen_msns.add(dsn)
            msn = str(dsn) if dsn is not None else (str(meter.msn) if meter else "")
            data.append({"global_device_id": gdi, "msn": msn, "indv_status": "0" if why else "1"})
            if why:
                refused.append((gdi, why))
                if meter is None and service != "device_creation":
                    continue
            rows.append(
                (
                    meter.pk if meter is not None else None,
                    gdi,
                    msn,
                    0 if why else 1,
                    bool(why),
                    (f"refused: meter {why}" if why else "")[:200],
                    _fail_level(mdc, transactionid, gdi, service),
                )
            )
            if meter is not None and not why:
                accepted_meters.append(meter.pk)
        _transaction_rows_insert(command, rows, type_code, type_parameters, now)
        if accepted_meters:
            SimMeter.objects.filter(_pk_any(SimMeter, accepted_meters)).update(
                last_command=service,
                last_command_datetime=now,
                last_command_resp="pending",
                last_command_resp_datetime=None,
            )
        response = {
            "status": "1",
            "transactionid": transactionid,
            "data": data,
            "message": _device_message(refused, service),
        }
        command.response = response
        command.save(update_fields=["response"])
    sim_transactions_advance(mdc=mdc, now=now)
    return response


def _creations_in_flight(mdc: SimMdc, devices: list[tuple[str, int]]) -> dict[str, str]:
    """Device ids and msns (``"msn:<n>"``) of these devices that an accepted device_creation
    not yet executed will create, with its transactionid: a second creation of the same device
    must be refused now, not collide with the first when both reach level 5."""
    gdis = [gdi for gdi, _ in devices]
    msns = {str(dsn) for _, dsn in devices}
    found: dict[str, str] = {}
    for gdi, msn, tid in (
        SimTransaction.objects.filter(mdc=mdc, type="DEVICE_CREATION", done=False, indv_status=1)
        .filter(Q(global_device_id__in=gdis) | Q(msn__in=msns))
        .values_list("global_device_id", "msn", "transactionid")
    ):
        found.setdefault(gdi, tid)
        found.setdefault(f"msn:{msn}", tid)
    return found


def _transaction_rows_insert(
    command: SimCommand, rows: list[tuple], type_code: str, type_parameters: str, now: dt.datetime
) -> int:
    """One INSERT ... SELECT FROM unnest(arrays) of a command's TRANSACTION_STATUS rows.

    ``rows``: ``(meter_id, global_device_id, msn, indv_status, done, message, fail_level)``;
    the rest is the same for every row (a model instance per row would cost more than the
    database's work at thousands of devices).
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


def _level_of(
    received: dt.datetime, fail_level: int | None, pace: float, now: dt.datetime
) -> tuple[int, bool]:
    """(level reached, failed?) at ``now`` of a row received at ``received``."""
    reached = 5 if pace <= 0 else min(5, int((now - received).total_seconds() // pace))
    if fail_level is not None and reached > fail_level:
        return fail_level, True
    return reached, False


UNREACHABLE = "meter unreachable: no connection could be established"


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
    if not due:
        return 0
    step = dt.timedelta(seconds=pace)
    moved = 0
    with transaction.atomic():
        pending = list(
            SimTransaction.objects.select_for_update(skip_locked=True)
            .filter(due, mdc=mdc, done=False)
            .order_by("command_receiving_datetime", "id")
            .values_list(
                "id",
                "command_id",
                "meter_id",
                "global_device_id",
                "command_receiving_datetime",
                "fail_level",
                "effects_applied",
            )
        )
        # (command, level, failed) -> rows, in the order the commands arrived
        moves: dict[tuple[int, int, bool], list[tuple]] = {}
        for row in pending:
            level, failed = _level_of(row[4], row[5], pace, now)
            moves.setdefault((row[1], level, failed), []).append(row)
        needed = {cmd for (cmd, level, failed) in moves if failed or level == 5}
        commands = SimCommand.objects.in_bulk(needed) if needed else {}
        for (command_id, level, failed), rows in moves.items():
            received = rows[0][4]
            update: dict[str, Any] = {"status_level": level}
            for n in range(1, level + 1):
                update[f"status_{n}_datetime"] = received + step * n
            if failed:
                update.update(indv_status=0, done=True, message=UNREACHABLE)
            elif level == 5:
                update.update(done=True, effects_applied=True)
            ids = [r[0] for r in rows]
            moved += SimTransaction.objects.filter(_pk_any(SimTransaction, ids)).update(**update)
            if failed:
                _meters_response(
                    commands[command_id].service,
                    [r[2] for r in rows],
                    "failed",
                    received + step * (level + 1),
                )
            elif level == 5:
                todo = [r for r in rows if not r[6]]
                if todo:
                    _effects_apply_isolated(mdc, commands[command_id], todo, received + step * 5)
    return moved


def _effects_apply_isolated(
    mdc: SimMdc, command: SimCommand, rows: list[tuple], t5: dt.datetime
) -> None:
    """Apply one command's effects in a savepoint. If they cannot be applied (a database
    constraint, a value the meter cannot take), that command's devices fail at level 4 with the
    reason; the error must not roll back every advance of the MDC, which would leave all its
    later commands stuck below level 5 (what a conformance client saw)."""
    try:
        with transaction.atomic():
            _effects_apply(mdc, command, rows, t5)
    except Exception as exc:  # any failure of one command stays that command's
        log.warning("simulator %s: effects of %s failed: %s", mdc.code, command.transactionid, exc)
        SimTransaction.objects.filter(_pk_any(SimTransaction, [r[0] for r in rows])).update(
            status_level=4,
            status_5_datetime=None,
            indv_status=0,
            effects_applied=False,
            message=f"the meter could not execute the command: {exc}"[:200],
        )
        _meters_response(command.service, [r[2] for r in rows], "failed", t5)


def _meters_response(service: str, meter_ids: list, resp: str, when: dt.datetime) -> int:
    """The meters' answer to their last command (when that command is ``service``)."""
    ids = [m for m in meter_ids if m is not None]
    if not ids:
        return 0
    return SimMeter.objects.filter(_pk_any(SimMeter, ids), last_command=service).update(
        last_command_resp=resp, last_command_resp_datetime=when
    )


def _effect(service: str, p: dict, t5: dt.datetime) -> tuple[list[list], dict[str, Any]]:
    """What a command does to each of its meters at level 5 (time t5): the dated history
    entries to append (``[epoch, key, value]``) and the fields to set. The same for every
    meter of the command."""
    history: list[list] = []
    fields: dict[str, Any] = {}

    def dated(when: dt.datetime, key: str, value: Any) -> None:
        history.append([gen.epoch_of(when), key, value])

    if service == "aux_relay_operations":
        value = int(p["relay_operate"])
        dated(t5, "relay", value)
        fields["relay_state"] = value
    elif service == "time_synchronization":
        dated(t5, "clock", 0)
    elif service == "sanctioned_load_control":
        dated(t5, "load_limit", p["load_limit"])
        fields["load_limit"] = Decimal(p["load_limit"])
        control = {
            k: p[k]
            for k in (
                "load_limit",
                "maximum_retries",
                "retry_interval",
                "threshold_duration",
                "retry_clear_interval",
            )
        }
        fields["settings"] = _JsonbConcat(F("settings"), _jsonb({"load_control": control}))
    elif service == "load_shedding_scheduling":
        start = gen.epoch_of(_parse(p["start_datetime"]))
        end = gen.epoch_of(_parse(p["end_datetime"]))
        slabs = [[s["action_time"], int(s["relay_operate"])] for s in p["load_shedding_slabs"]]
        dated(t5, "ls", {"start": start, "end": end, "slabs": slabs})
    elif service == "time_of_use_change":
        slab = p["time_slab"]
        tariff = int(p["tariff_identification"])
        pairs = [[slab[i][:5], slab[i + 1][:5], tariff] for i in range(0, len(slab), 2)]
        when = max(t5, _parse(p["activation_datetime"]))
        dated(
            when,
            "tou",
            {
                "slabs": pairs,
                "default": 1 if tariff != 1 else 2,
                "season": p.get("season"),
                "days": p.get("days"),
            },
        )
    elif service == "update_ip_port":
        fields["primary_ip"] = p["primary_ip_address"]
        fields["secondary_ip"] = p.get("secondary_ip_address") or ""
        fields["primary_port"] = p["primary_port"]
        fields["secondary_port"] = p.get("secondary_port")
    elif service == "meter_data_sampling":
        when = max(t5, _parse(p["activation_datetime"]))
        interval = int(p["sampling_interval"])
        if p["data_type"] == "LPRO":
            dated(when, "lp", [interval, int(p["sampling_initial_time"]) % interval])
            fields["lp_interval"] = interval
        else:
            dated(when, "inst" if p["data_type"] == "INST" else "bill", interval)
    elif service == "activate_meter_optical_port":
        fields["optical_port_on"] = _parse(p["optical_port_on_datetime"])
        fields["optical_port_off"] = _parse(p["optical_port_off_datetime"])
    elif service == "wake_up_sim_number_update":
        fields["wakeup_numbers"] = _jsonb([p.get(f"wakeup_number_{i}") or "" for i in (1, 2, 3)])
    elif service == "meter_status_update":
        value = int(p["meter_activation_status"])
        dated(t5, "active", value)
        fields["activation_status"] = value
    if service in PARAMETERIZATION:
        dated(t5, "param", service)
    return history, fields


def _effects_apply(mdc: SimMdc, command: SimCommand, rows: list[tuple], t5: dt.datetime) -> None:
    """What a command does to its meters when they execute it (at level 5, time t5).

    ``rows`` are ``(id, command_id, meter_id, global_device_id, ...)`` of the command's
    transaction rows reaching level 5 now. One UPDATE of all their meters (history appended
    in SQL, so each meter's dated settings keep every earlier entry); on-demand reads and
    device creation, whose result differs per device, write their rows in bulk.
    """
    service, p = command.service, command.params
    if service == "device_creation":
        _devices_create(mdc, command, rows, t5)
        return
    meter_ids = [r[2] for r in rows if r[2] is not None]
    if not meter_ids:
        return
    if service == "on_demand_request":
        meters = SimMeter.objects.in_bulk(meter_ids)
        SimTransaction.objects.bulk_update(
            [
                SimTransaction(
                    pk=r[0],
                    response_data=on_demand_rows(mdc=mdc, meter=meters[r[2]], params=p, at=t5),
                )
                for r in rows
                if r[2] in meters
            ],
            ["response_data"],
            batch_size=2000,
        )
    history, fields = _effect(service, p, t5)
    if history:
        fields["history"] = _JsonbConcat(F("history"), _jsonb(history))
        fields["version"] = F("version") + len(history)
    executed = Q(last_command=service)
    fields["last_command_resp"] = Case(
        When(executed, then=Value("executed")), default=F("last_command_resp")
    )
    fields["last_command_resp_datetime"] = Case(
        When(executed, then=Value(t5)), default=F("last_command_resp_datetime")
    )
    SimMeter.objects.filter(_pk_any(SimMeter, meter_ids)).update(**fields)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PKT)


def _devices_create(mdc: SimMdc, command: SimCommand, rows: list[tuple], t5: dt.datetime) -> None:
    """device_creation at level 5: the new meters (one INSERT), linked to their rows."""
    p = command.params
    dsn_of = {d["global_device_id"]: int(d["dsn"]) for d in p["device_identity"]}
    start_epoch = gen.epoch_of(t5)
    start_epoch += -(start_epoch + gen.PKT_OFFSET) % gen.TICK  # next tick boundary
    start = gen.aware(start_epoch)
    reset_time = p.get("mdi_reset_time") or "00:00:00"
    hh, mm, ss = (int(x) for x in reset_time.split(":"))
    meter_type = int(p["meter_type"])
    fields = {
        "phase": int(p["phase"]),
        "meter_type": meter_type,
        "device_type": int(p["device_type"]),
        "communication_mode": int(p["communication_mode"]),
        "communication_type": int(p.get("communication_type") or 0),
        "communication_interval": p.get("communication_interval"),
        "sim_number": p.get("sim_number") or "",
        "sim_id": p.get("sim_id") or "",
        "mdi_reset_date": int(p.get("mdi_reset_date") or 1),
        "mdi_reset_time": dt.time(hh, mm, ss),
        "has_relay": meter_type in (1, 2),
        "tamper": Tamper.NONE,
        "tamper_start": None,
    }
    if meter_type in (3, 4):
        fields["profile"] = Profile.INDUSTRIAL
    # A device or msn that exists by now (made by other means meanwhile) fails on its own,
    # with the reason; it must never break the insert of the others.
    existing = SimMeter.objects.filter(mdc=mdc).filter(
        Q(global_device_id__in=[r[3] for r in rows]) | Q(msn__in=list(dsn_of.values()))
    )
    taken = {g for g, _ in existing.values_list("global_device_id", "msn")}
    taken_msns = {m for _, m in existing.values_list("global_device_id", "msn")}
    refused = [r for r in rows if r[3] in taken or dsn_of[r[3]] in taken_msns]
    if refused:
        SimTransaction.objects.filter(_pk_any(SimTransaction, [r[0] for r in refused])).update(
            status_level=4,
            status_5_datetime=None,
            indv_status=0,
            effects_applied=False,
            message="device or msn already exists at the MDC: not created",
        )
        rows = [r for r in rows if r not in refused]
    new = []
    for row in rows:
        gdi = row[3]
        msn = dsn_of[gdi]
        seed = gen.mix(mdc.seed, msn) & ((1 << 62) - 1)
        attrs = _meter_attributes(seed, msn, lp_interval=15, data_start=start)
        attrs["active"] = 1
        attrs.update(fields)
        meter = _build_meter(mdc, gdi=gdi, msn=msn, data_start=start, attrs=attrs)
        meter.last_command = "device_creation"
        meter.last_command_datetime = command.received_at
        meter.last_command_resp = "executed"
        meter.last_command_resp_datetime = t5
        meter.settings = {"created_epoch": gen.epoch_of(t5)}
        new.append(meter)
    SimMeter.objects.bulk_create(new)
    SimTransaction.objects.bulk_update(
        [SimTransaction(pk=row[0], meter_id=m.pk) for row, m in zip(rows, new, strict=True)],
        ["meter"],
        batch_size=2000,
    )
    audit_record(
        actor=None,
        action="simulator.meter.add",
        target=command,
        summary=f"{len(new)} meters created on {mdc.code} by device_creation "
        f"{command.transactionid}: " + ", ".join(m.global_device_id for m in new[:20]),
        detail={"transactionid": command.transactionid, "meters": len(new)},
    )


def on_demand_rows(*, mdc: SimMdc, meter: SimMeter, params: dict, at: dt.datetime) -> list:
    """Rows an on-demand request reads from the meter at ``at`` (read now, so stored now)."""
    spec = gen.spec_of(meter, mdc)
    t = gen.epoch_of(at)
    kind = params["type"]
    code = {
        "INST": "instantaneous",
        "BILL": "billing",
        "MBIL": "monthly_billing",
        "LPRO": "load_profile",
        "EVNT": "events",
        "VISL": "meter_visuals",
    }[kind]
    fields = gen.FIELDS[code]
    far = t + 40 * gen.DAY
    if kind == "VISL":
        row = gen.visuals_row(spec, meter, t)
        rows = [row] if row else []
    elif kind == "INST":
        tick = t - (t + gen.PKT_OFFSET) % gen.TICK
        rows = list(gen.instantaneous_rows(spec, tick, tick, far))
    else:
        start = gen.epoch_of(_parse(params["start_datetime"]))
        end = min(gen.epoch_of(_parse(params["end_datetime"])), t)
        rows = list(gen.ROW_FUNCTIONS[code](spec, start, end, far))
    stamp = gen.dt_text(t)
    out = []
    for row in rows:
        item = dict(zip(fields, row, strict=True))
        if "db_datetime" in item:
            item["mdc_read_datetime"] = stamp
            item["db_datetime"] = stamp
        out.append(item)
    return out


# ================================================================== status and cancel
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
        .values(*TRANSACTION_FIELDS, "message", "response_data")
    )
    found = {r["transactionid"] for r in rows}
    unknown = [t for t in transactionids if t not in found]
    if unknown and not rows:
        raise SimError(400, f"transactionid: unknown transaction {', '.join(unknown)}")
    data = []
    notes = []
    for row in rows:
        item = transaction_row(row)
        if row["type"] in ON_DEMAND_TYPES:
            item["response_data"] = row["response_data"] or []
        data.append(item)
        if row["message"]:
            notes.append(f"{row['global_device_id']}: {row['message']}")
    message = "; ".join(notes) or "Transaction status of requested transactions"
    if unknown:
        message = f"unknown transactionid {', '.join(unknown)}; {message}"
    return {"status": "1", "transactionid": transactionids[0], "data": data, "message": message}


def sim_transaction_cancel(
    *, mdc: SimMdc, transactionid: str, global_device_ids: list[str], now: dt.datetime | None = None
) -> dict[str, Any]:
    """Cancel a transaction for devices still at status level 0, 1 or 2 (the rows asked for
    are read and locked in one query, the cancellable ones cancelled in one UPDATE)."""
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    with transaction.atomic():
        rows = {
            r[0]: r
            for r in SimTransaction.objects.select_for_update()
            .filter(mdc=mdc, transactionid=transactionid, global_device_id__in=global_device_ids)
            .values_list(
                "global_device_id",
                "id",
                "msn",
                "meter_id",
                "status_level",
                "done",
                "request_cancelled",
            )
        }
        if not rows:
            known = SimTransaction.objects.filter(mdc=mdc, transactionid=transactionid).exists()
            if not known:
                raise SimError(400, f"transactionid: unknown transaction {transactionid}")
        data, notes, cancel = [], [], {}
        for gdi in global_device_ids:
            row = rows.get(gdi)
            why = None
            if row is None:
                why = "is not part of this transaction"
            else:
                _, _, _, _, level, done, cancelled = row
                if cancelled or gdi in cancel:
                    why = "was already cancelled"
                elif done and level == 5:
                    why = "has already executed the command (status_level 5)"
                elif done:
                    why = "has already failed or been refused"
                elif level not in CANCELLABLE_STATUS_LEVELS:
                    why = f"is at status_level {level}: only levels 0, 1 and 2 can be cancelled"
            data.append(
                {
                    "global_device_id": gdi,
                    "msn": row[2] if row else "",
                    "indv_status": "0" if why else "1",
                }
            )
            if why:
                notes.append(f"Cancel for global_device_id:{gdi} refused: the device {why}")
                continue
            cancel[gdi] = row
        if cancel:
            SimTransaction.objects.filter(
                _pk_any(SimTransaction, [r[1] for r in cancel.values()])
            ).update(
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
            _meters_response(service, [r[3] for r in cancel.values()], "cancelled", now)
    message = "; ".join(notes) or "Transaction cancelled for devices with indv_status 1"
    return {"status": "1", "transactionid": transactionid, "data": data, "message": message}


# ================================================================== reads
def sim_read(
    *,
    mdc: SimMdc,
    dataset: str,
    global_device_ids: Iterable[str],
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime | None = None,
) -> tuple[tuple[str, ...], list, str]:
    """Rows of a read API: ``(field names, row tuples of wire text, message)``.

    Meters are fetched in one query; rows are generated on the fly. Windows are inclusive
    (``start <= meter_datetime <= end``); only rows the MDC has stored by ``now`` are served
    (late meters' rows appear later, gaps never). Inactive meters are not read. Meter visuals
    ignore the window.
    """
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    if dataset not in DATASETS:
        raise SimError(400, f"unknown data set {dataset}")
    ids = list(dict.fromkeys(global_device_ids))
    end = end or now
    start = start or end - dt.timedelta(days=1)
    if end - start > dt.timedelta(days=MAX_READ_DAYS):
        raise SimError(400, f"end_datetime: the window may span at most {MAX_READ_DAYS} days")
    meters = {
        m.global_device_id: m for m in SimMeter.objects.filter(mdc=mdc, global_device_id__in=ids)
    }
    now_e, start_e, end_e = gen.epoch_of(now), gen.epoch_of(start), gen.epoch_of(end)
    unknown = [g for g in ids if g not in meters or _known_from(meters[g]) > now_e]
    rows: list = []
    inactive = []
    for gdi in ids:
        meter = meters.get(gdi)
        if meter is None or gdi in unknown:
            continue
        spec = gen.spec_of(meter, mdc)
        if dataset == "meter_visuals":
            row = gen.visuals_row(spec, meter, now_e)
            if row:
                rows.append(row)
            continue
        if spec.at("active", now_e) == 0:
            inactive.append(gdi)
        rows.extend(gen.ROW_FUNCTIONS[dataset](spec, start_e, end_e, now_e))
    notes = []
    if unknown:
        notes.append(f"unknown global_device_id: {', '.join(unknown)}")
    if inactive:
        notes.append(f"inactive, not read: {', '.join(inactive)}")
    message = "; ".join(notes) or f"{len(rows)} rows"
    return gen.FIELDS[dataset], rows, message


def tabular_dsn() -> str:
    """A libpq DSN of the database the simulator's tabular schemas live in (the project's)."""
    from django.db import connection

    s = connection.settings_dict
    parts = {
        "dbname": s["NAME"],
        "user": s.get("USER"),
        "password": s.get("PASSWORD"),
        "host": s.get("HOST"),
        "port": s.get("PORT"),
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


__all__ = [
    "CredentialsIn",
    "SimError",
    "sim_authorize",
    "sim_command_submit",
    "sim_faults_update",
    "sim_key_check",
    "sim_mdc_create",
    "sim_meter_add",
    "sim_read",
    "sim_transaction_cancel",
    "sim_transaction_status",
    "sim_transactions_advance",
    "tabular_dsn",
]
