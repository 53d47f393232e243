"""Coercers from wire values (strings, or numbers from a lax JSON encoder) to
Python values.

"All Input and Output Parameters are of string type or array": numbers arrive
as strings (``"20"``) and must be parsed, not trusted. Each coercer takes the
raw value and the field name (for the error), strips whitespace, maps ``""``
and None to None (the caller decides whether the field is required) and raises
:class:`~apps.udil.errors.FieldError` otherwise.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import FieldError
from .timefmt import format_datetime, format_time

#: varchar columns are 50 characters (NOTES.md).
VARCHAR_MAX = 50
#: Decimals have 3 digits after the point; columns are numeric(18, 3).
DECIMAL_PLACES = 3
DECIMAL_MAX_INT_DIGITS = 15
_QUANT = Decimal(1).scaleb(-DECIMAL_PLACES)
_DEC_LIMIT = Decimal(10) ** DECIMAL_MAX_INT_DIGITS

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_DEC_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def show(value: object) -> str:
    """repr() of a value for error messages, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_blank(value: object) -> bool:
    """None, or a string that is empty after stripping."""
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar_text(value: object, field: str, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    raise FieldError(field, f"must be {what}, got {show(value)}")


def parse_decimal(value: object, field: str = "value") -> Decimal | None:
    """Decimal quantized to 3 places (half up). Accepts int, float, Decimal, str."""
    if isinstance(value, bool):
        raise FieldError(field, f"must be a decimal number, got {show(value)}")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        dec = (
            Decimal(repr(value))
            if value == value and value not in (float("inf"), float("-inf"))
            else None
        )
        if dec is None:
            raise FieldError(field, f"must be a finite decimal number, got {show(value)}")
    else:
        text = _scalar_text(value, field, "a decimal number")
        if text is None:
            return None
        if _DEC_RE.fullmatch(text) is None:
            raise FieldError(field, f"must be a decimal number, got {show(value)}")
        try:
            dec = Decimal(text)
        except InvalidOperation:  # pragma: no cover - regex already checked
            raise FieldError(field, f"must be a decimal number, got {show(value)}") from None
    if not dec.is_finite():
        raise FieldError(field, f"must be a finite decimal number, got {show(value)}")
    if abs(dec) >= _DEC_LIMIT:
        raise FieldError(
            field, f"must have at most {DECIMAL_MAX_INT_DIGITS} integer digits, got {show(value)}"
        )
    return dec.quantize(_QUANT, rounding=ROUND_HALF_UP)


def _parse_integer(value: object, field: str, lo: int, hi: int, what: str) -> int | None:
    if isinstance(value, bool):
        raise FieldError(field, f"must be {what}, got {show(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise FieldError(field, f"must be {what}, got {show(value)}")
        number = int(value)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise FieldError(field, f"must be {what}, got {show(value)}")
        number = int(value)
    else:
        text = _scalar_text(value, field, what)
        if text is None:
            return None
        if _INT_RE.fullmatch(text) is None or len(text) > 25:
            raise FieldError(field, f"must be {what}, got {show(value)}")
        number = int(text)
    if not lo <= number <= hi:
        raise FieldError(field, f"is out of range for {what}, got {show(value)}")
    return number


def parse_int(value: object, field: str = "value") -> int | None:
    """32-bit signed integer."""
    return _parse_integer(value, field, INT_MIN, INT_MAX, "an integer")


def parse_bigint(value: object, field: str = "value") -> int | None:
    """64-bit signed integer (``msn``)."""
    return _parse_integer(value, field, BIGINT_MIN, BIGINT_MAX, "a big integer")


def parse_str(value: object, field: str = "value", max_len: int | None = VARCHAR_MAX) -> str | None:
    """Stripped text, at most ``max_len`` characters (None: unlimited); "" -> None.

    Numbers are accepted and turned into text. NUL characters are refused
    (PostgreSQL text cannot hold them).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(field, f"must be text, got {show(value)}")
    if isinstance(value, int | float | Decimal):
        value = str(value)
    if not isinstance(value, str):
        raise FieldError(field, f"must be text, got {show(value)}")
    text = value.strip()
    if not text:
        return None
    if "\x00" in text:
        raise FieldError(field, "must not contain NUL characters")
    if max_len is not None and len(text) > max_len:
        raise FieldError(field, f"must be at most {max_len} characters, got {len(text)}")
    return text


def parse_flag(value: object, field: str = "value") -> int | None:
    """0/1 flag: "1"/1/True -> 1, "0"/0/False -> 0 (whitespace stripped)."""
    if value is True or value is False:
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text in ("0", "1"):
            return int(text)
    elif value is None:
        return None
    raise FieldError(field, f"must be 0 or 1, got {show(value)}")


def parse_int_range(value: object, field: str, lo: int, hi: int) -> int | None:
    """Integer in ``lo..hi`` inclusive (message names the range)."""
    number = parse_int(value, field)
    if number is not None and not lo <= number <= hi:
        raise FieldError(field, f"must be between {lo} and {hi}, got {show(value)}")
    return number


def format_decimal(value: Decimal | int | float | None) -> str:
    """Decimal -> plain text without exponent, 3 places kept as given ("" for None)."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, int):
        return str(value)
    return format(value, "f")


def format_value(value: object) -> str:
    """Any scalar -> its wire text (None -> "", datetimes in PKT, bool -> "1"/"0")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return format_decimal(value)
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if isinstance(value, time):
        return format_time(value)
    return str(value)
