"""Fleet writes: a simulated MDC and its meters (deterministic from a seed), fault settings,
and where the tabular schemas live. Nothing here speaks UDIL; the MDC's protocol handlers are
in :mod:`.protocol`, :mod:`.commands` and :mod:`.transactions`."""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Substr

from apps.audit.services import audit_record
from apps.simulator import generator as gen
from apps.simulator.models import Format, Profile, SimMdc, SimMeter, Tamper, Transport

from .common import Q3, _midnight, _now

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


class SimFleet(NamedTuple):
    """What :func:`sim_mdc_create` made (unpacks as ``mdc, meters``)."""

    mdc: SimMdc
    meters: list[SimMeter]


class Wiring(NamedTuple):
    phase: int
    meter_type: int
    has_relay: bool


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


# The _draw_* steps consume the meter's random stream in a fixed order: reordering them would
# give every seeded fleet (and the tests' expected values) different meters.
def _draw_profile(rng: Random) -> str:
    roll = rng.randrange(100)
    for choice, share in PROFILE_MIX:
        if roll < share:
            return choice
        roll -= share
    return Profile.DOMESTIC


def _draw_wiring(rng: Random, profile: str) -> Wiring:
    if profile == Profile.INDUSTRIAL:
        return Wiring(3, rng.choice((3, 4)), False)
    if profile == Profile.COMMERCIAL:
        phase = rng.choice((1, 3))
        return Wiring(phase, 2 if phase == 3 else 1, rng.random() < 0.9)
    if profile == Profile.AGRICULTURAL:
        return Wiring(3, 2, rng.random() < 0.8)
    phase = 3 if rng.random() < 0.12 else 1
    return Wiring(phase, 1, rng.random() < 0.95)


def _draw_tamper(rng: Random, data_start: dt.datetime) -> tuple[str, dt.datetime | None]:
    """About 3% of meters are tampered with, from a moment in their first ten days."""
    if rng.random() >= 0.03:
        return Tamper.NONE, None
    tamper = rng.choice((Tamper.CT_BYPASS, Tamper.REVERSE_ENERGY, Tamper.REVERSE_POLARITY))
    start = data_start + dt.timedelta(days=rng.randrange(1, 10), minutes=15 * rng.randrange(96))
    return tamper, start


def _meter_attributes(
    seed: int, index: int, *, lp_interval: int | None, data_start: dt.datetime
) -> dict[str, Any]:
    rng = Random(gen.mix(seed, index, 17))
    profile = _draw_profile(rng)
    wiring = _draw_wiring(rng, profile)
    low, high = BASE_LOAD_W[profile]
    tamper, tamper_start = _draw_tamper(rng, data_start)
    meter_seed = gen.mix(seed, index, 23) & ((1 << 62) - 1)
    return {
        "profile": profile,
        "phase": wiring.phase,
        "meter_type": wiring.meter_type,
        "has_relay": wiring.has_relay,
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
        # drawn last: the draws above (and every seeded fleet's data) stay as they were
        "secondary_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "secondary_port": 4059,
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
) -> SimFleet:
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
    return SimFleet(mdc, fleet)


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


class FaultLimit(NamedTuple):
    low: float
    high: float
    unit: str


#: Sane maxima of fault values: a fault simulates a slow or flaky vendor, it must not be able
#: to hold a web thread for hours or make commands take days.
MAX_LATENCY_MS = 30_000
FAULT_LIMITS: dict[str, FaultLimit] = {
    "latency_ms": FaultLimit(0, MAX_LATENCY_MS, "milliseconds"),
    "key_lifetime_seconds": FaultLimit(60, 86_400, "seconds"),
    "command_pace_seconds": FaultLimit(0, 600, "seconds a level"),
}


def _faults_check(changes: dict[str, Any]) -> None:
    errors = {}
    for name, limit in FAULT_LIMITS.items():
        value = changes.get(name)
        if value is not None and not limit.low <= value <= limit.high:
            errors[name] = (
                f"Must be between {limit.low} and {limit.high} {limit.unit}, got {value}."
            )
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


def tabular_dsn() -> str:
    """A libpq DSN of the database the simulator's tabular schemas live in (the project's)."""
    s = connection.settings_dict
    parts = {
        "dbname": s["NAME"],
        "user": s.get("USER"),
        "password": s.get("PASSWORD"),
        "host": s.get("HOST"),
        "port": s.get("PORT"),
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)
