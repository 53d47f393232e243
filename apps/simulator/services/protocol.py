"""The MDC's protocol handlers for authorization and the read APIs (what the views call;
every handler takes ``now`` so a test can move time)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import NamedTuple

from apps.simulator import generator as gen
from apps.simulator.models import SimMdc, SimMeter, SimPrivateKey
from apps.udil.profiles import get_profile

from .commands import sim_transactions_advance
from .common import MAX_READ_DAYS, SimError, _known_from, _now


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


class ReadResult(NamedTuple):
    """What a read API serves (unpacks as ``fields, rows, message``)."""

    fields: tuple[str, ...]
    rows: list
    message: str


def _read_message(rows: list, unknown: list[str], inactive: list[str]) -> str:
    notes = []
    if unknown:
        notes.append(f"unknown global_device_id: {', '.join(unknown)}")
    if inactive:
        notes.append(f"inactive, not read: {', '.join(inactive)}")
    return "; ".join(notes) or f"{len(rows)} rows"


def sim_read(
    *,
    mdc: SimMdc,
    dataset: str,
    global_device_ids: Iterable[str],
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime | None = None,
) -> ReadResult:
    """Rows of a read API: ``(field names, row tuples of wire text, message)``.

    Meters are fetched in one query; rows are generated on the fly. Windows are inclusive
    (``start <= meter_datetime <= end``); only rows the MDC has stored by ``now`` are served
    (late meters' rows appear later, gaps never). Inactive meters are not read. Meter visuals
    ignore the window.
    """
    now = _now(now)
    sim_transactions_advance(mdc=mdc, now=now)
    if dataset not in get_profile(mdc.udil_profile).datasets:
        raise SimError(400, f"unknown data set {dataset}")
    fields, row_function = gen.layout(mdc.udil_profile, dataset)
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
            row = gen.visuals_row_of(mdc.udil_profile)(spec, meter, now_e)
            if row:
                rows.append(row)
            continue
        if spec.at("active", now_e) == 0:
            inactive.append(gdi)
        rows.extend(row_function(spec, start_e, end_e, now_e))
    return ReadResult(fields, rows, _read_message(rows, unknown, inactive))
