"""Values of a tabular MDC's database, as its driver returns them, turned into the protocol's
wire text: the one place where that happens (:mod:`apps.udil.engines` builds the statements).

Drivers return ``datetime`` naive or aware, ``date``, ``Decimal``, ``float``, ``int``, ``str``,
``bytes``: datetimes become ``yyyy-MM-dd HH:mm:ss`` in Pakistan time (naive values are the
utility's local time, as the spec says), decimals print without exponent, so rows have the
API's shape and take the loader's fast path. Text is passed through untouched: the loader
validates it and quarantines what is bad, with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .timefmt import PKT, format_datetime, parse_datetime

WATERMARK_COLUMN = "db_datetime"


def datetime_text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(PKT)
        return format_datetime(value.replace(tzinfo=None))
    if isinstance(value, dt.date):
        return format_datetime(value)
    return _any_text(value)


def _float_text(value: float) -> str:
    # repr is the shortest text that reads back as the same float (SQLite REAL, Oracle
    # NUMBER without scale); only an exponent needs spelling out
    text = repr(value)
    return text if "e" not in text else format(Decimal(text), "f")


def _number_text(value: Any) -> Any:
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is float:
        return _float_text(value)
    if kind is Decimal:
        text = str(value)  # a fixed-scale column never prints an exponent; spell one out
        return text if "E" not in text else format(value, "f")
    if kind is int:
        return str(value)
    return _any_text(value)


def _int_text(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is int:
        return str(value)
    try:
        if kind in (Decimal, float) and value == int(value):  # Oracle NUMBER, SQLite REAL
            return str(int(value))
    except (ValueError, OverflowError):  # NaN, infinity: the loader refuses the text
        pass
    return _number_text(value)


def _any_text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime | dt.date):
        return datetime_text(value)
    if isinstance(value, float | Decimal):
        return _number_text(value)
    return str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime_text,
    "decimal": _number_text,
    "int": _int_text,
    "bigint": _int_text,
    "str": _any_text,
}


def protocol_text(value: Any, kind: str) -> str | None:
    """A driver's value of a field of ``kind`` (decimal, int, bigint, datetime, str) as the
    protocol's wire text; None stays None (no value)."""
    return _CONVERTERS[kind](value)


def converter(kind: str) -> Callable[[Any], Any]:
    return _CONVERTERS[kind]


def protocol_datetime(value: Any) -> dt.datetime | None:
    """A watermark value as the driver returned it -> aware datetime in Pakistan time."""
    return parse_datetime(value, WATERMARK_COLUMN)
