"""Building blocks every part of the simulated MDC shares: its refusal error, the clock, and
the set-based SQL helpers (one array parameter, jsonb concatenation) that keep a command to
thousands of devices at a few statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, models
from django.db.models import Func, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.simulator import generator as gen
from apps.simulator.models import SimMeter
from apps.udil.timefmt import PKT, format_datetime, format_time

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


def _parse(text: str) -> dt.datetime:
    """A wire datetime (``yyyy-MM-dd HH:mm:ss``, Pakistan time) as stored in command params."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PKT)


def _jsonable(value: Any) -> Any:
    """Command parameters as JSON (datetimes, times and decimals as their wire text)."""
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


class PendingRow(NamedTuple):
    """A (transaction, device) row not yet done, as the advance reads it."""

    id: int
    command_id: int
    meter_id: int | None
    global_device_id: str
    received: dt.datetime
    fail_level: int | None
    effects_applied: bool


#: The SimTransaction columns a :class:`PendingRow` is read from, in its order.
PENDING_COLUMNS = (
    "id",
    "command_id",
    "meter_id",
    "global_device_id",
    "command_receiving_datetime",
    "fail_level",
    "effects_applied",
)
