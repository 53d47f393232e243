"""Date and time on the UDIL wire.

Every datetime, in tables and in APIs, is ``yyyy-MM-dd HH:mm:ss`` in the local
time of the utility: Pakistan Standard Time (UTC+05:00, no daylight saving).
``0000-00-00 00:00:00`` or an empty string means "no value".

Parsing is liberal: a ``T`` separator, trailing fractional seconds, a date
alone (midnight) and an explicit offset (``Z``, ``+05:00``) are accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from .errors import FieldError

PKT = ZoneInfo("Asia/Karachi")
#: Fixed +05:00, used to build datetimes quickly (Pakistan has had no DST since 2009).
PKT_FIXED = timezone(timedelta(hours=5), "PKT")

WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"

_DT_RE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)

_EMPTY = frozenset({"", "0000-00-00 00:00:00", "0000-00-00", "0000-00-00T00:00:00"})


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_dt_text(text: str) -> datetime | None:
    """Parse stripped text; raise ValueError (without a field name) when bad."""
    if text in _EMPTY:
        return None
    m = _DT_RE.fullmatch(text)
    if m is None:
        raise ValueError("must be a datetime 'yyyy-MM-dd HH:mm:ss'")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if year == "0000":
        # "0000-00-00 ..." with a non-zero time is still "no value" in practice.
        if int(month) == 0 and int(day) == 0:
            return None
        raise ValueError("must be a datetime 'yyyy-MM-dd HH:mm:ss' (year 0000)")
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=PKT,
        )
    except ValueError as exc:
        raise ValueError(f"is not a valid datetime ({exc})") from None
    if offset:
        if offset == "Z":
            tz = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            if hours > 23 or minutes > 59:
                raise ValueError(f"has a bad UTC offset {offset!r}")
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        dt = dt.replace(tzinfo=tz).astimezone(PKT)
    return dt


@lru_cache(maxsize=1 << 16)
def datetime_text(text: str) -> str | None:
    """Normalise wire datetime text for PostgreSQL: ``yyyy-mm-dd HH:MM:SS+05:00``
    (fraction kept as ``.ffffff`` when present); None for "no value".

    Cached: load profiles repeat the same timestamps across meters. Raises
    ValueError (no field name) on bad text.
    """
    dt = _parse_dt_text(text.strip())
    if dt is None:
        return None
    return dt.isoformat(sep=" ")


def parse_datetime(value: object, field: str = "datetime") -> datetime | None:
    """Wire value -> aware datetime in PKT, or None for ""/0000-00-00 00:00:00/None.

    Accepts datetime objects too (naive ones are taken as PKT). Raises FieldError.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=PKT)
        return value.astimezone(PKT)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=PKT)
    if not isinstance(value, str):
        raise FieldError(field, f"must be a datetime 'yyyy-MM-dd HH:mm:ss', got {_show(value)}")
    try:
        return _parse_dt_text(value.strip())
    except ValueError as exc:
        raise FieldError(field, f"{exc}, got {_show(value)}") from None


def format_datetime(dt: datetime | date | None) -> str:
    """datetime -> ``yyyy-MM-dd HH:mm:ss`` in PKT (naive = already PKT); None -> ""."""
    if dt is None:
        return ""
    if not isinstance(dt, datetime):
        return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} 00:00:00"
    if dt.tzinfo is not None:
        dt = dt.astimezone(PKT)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )


def parse_time(value: object, field: str = "time", *, seconds: bool | None = None) -> time | None:
    """``HH:mm`` or ``HH:mm:ss`` -> time; "" / None -> None.

    ``seconds=True`` requires the seconds part, ``False`` forbids it, None allows both.
    """
    if value is None:
        return None
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise FieldError(field, f"must be a time 'HH:mm:ss', got {_show(value)}")
    text = value.strip()
    if not text:
        return None
    m = _TIME_RE.fullmatch(text)
    shape = "'HH:mm:ss'" if seconds else "'HH:mm'" if seconds is False else "'HH:mm[:ss]'"
    if m is None or (seconds and m.group(3) is None) or (seconds is False and m.group(3)):
        raise FieldError(field, f"must be a time {shape}, got {_show(value)}")
    hour, minute, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or sec > 59:
        raise FieldError(field, f"is not a valid time {shape}, got {_show(value)}")
    return time(hour, minute, sec)


def format_time(value: time | None, *, seconds: bool = True) -> str:
    """time -> ``HH:mm:ss`` (or ``HH:mm``); None -> ""."""
    if value is None:
        return ""
    if seconds:
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return f"{value.hour:02d}:{value.minute:02d}"


def now_pkt() -> datetime:
    """Current time, aware, in PKT (second precision)."""
    return datetime.now(PKT).replace(microsecond=0)
