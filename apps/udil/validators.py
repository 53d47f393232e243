"""Validators of UDIL request parameters: wire values (strings, JSON text for arrays) to typed
values, or a FieldError naming the parameter. Used by the services of :mod:`apps.udil.catalog`."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from .errors import FieldError
from .timefmt import parse_datetime, parse_time
from .values import (
    format_value,
    parse_bigint,
    parse_decimal,
    parse_flag,
    parse_int,
    parse_str,
    show,
)

SERVICE_KINDS = ("auth", "write", "on_demand", "status", "cancel", "read")

#: The spec's own examples use 33-character transaction ids; we accept up to 64.
TRANSACTIONID_MAX = 64
_TID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{TRANSACTIONID_MAX}}}", re.ASCII)
_PHONE_RE = re.compile(r"\+?\d{7,15}", re.ASCII)
#: A bare id is accepted as a one-element array; anything JSON-looking is parsed.
_JSONISH = re.compile(r'[\[\]{}",]')

Validator = Callable[[Any, str], Any]


# ------------------------------------------------------------------ helpers
def unquote(value: Any) -> Any:
    """Strip whitespace and surrounding double quotes (``'"0"'`` -> ``'0'``), as
    people copy the section-4 tables literally. Non-strings pass through."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    while len(text) >= 2 and text[0] in '"“”' and text[-1] in '"“”':
        text = text[1:-1].strip()
    return text


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not unquote(value)
    return isinstance(value, list | tuple) and not value


def parse_json_array(value: Any, field: str) -> list[Any]:
    """JSON text (or a list) -> list. FieldError if it is not an array."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise FieldError(field, f"must be a JSON array, got {show(value)}")
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        raise FieldError(field, f"must be a JSON array, got {show(value)}") from None
    if not isinstance(parsed, list):
        raise FieldError(field, f"must be a JSON array, got {show(value)}")
    return parsed


def transactionid(value: Any, field: str = "transactionid") -> str:
    """1..64 characters of ``[A-Za-z0-9_-]``, surrounding whitespace stripped."""
    text = unquote(value) if isinstance(value, str) else value
    if not isinstance(text, str) or not _TID_RE.fullmatch(text):
        raise FieldError(
            field,
            f"must be 1 to {TRANSACTIONID_MAX} characters of A-Z a-z 0-9 _ -, got {show(value)}",
        )
    return text


# ------------------------------------------------------------------ validators
def v_str(max_len: int | None = 50) -> Validator:
    def check(value: Any, field: str) -> str | None:
        return parse_str(unquote(value), field, max_len)

    return check


def v_datetime(value: Any, field: str) -> datetime | None:
    return parse_datetime(unquote(value), field)


def v_time(seconds: bool | None) -> Validator:
    def check(value: Any, field: str) -> time | None:
        return parse_time(unquote(value), field, seconds=seconds)

    return check


def v_flag(value: Any, field: str) -> int | None:
    return parse_flag(unquote(value), field)


def v_int_range(lo: int, hi: int | None = None) -> Validator:
    def check(value: Any, field: str) -> int | None:
        number = parse_int(unquote(value), field)
        if number is not None and (number < lo or (hi is not None and number > hi)):
            if hi is None:
                raise FieldError(field, f"must be {lo} or more, got {show(value)}")
            raise FieldError(field, f"must be between {lo} and {hi}, got {show(value)}")
        return number

    return check


def v_int_choice(choices: tuple[tuple[int, str], ...]) -> Validator:
    allowed = [c for c, _ in choices]

    def check(value: Any, field: str) -> int | None:
        try:
            number = parse_int(unquote(value), field)
        except FieldError:
            number = -(2**40)  # reported below with the allowed values
        if number is None:
            return None
        if number not in allowed:
            if allowed == [0, 1]:
                raise FieldError(field, f"must be 0 or 1, got {show(value)}")
            listed = ", ".join(str(a) for a in allowed)
            raise FieldError(field, f"must be one of {listed}, got {show(value)}")
        return number

    return check


def v_code_choice(choices: tuple[tuple[str, str], ...]) -> Validator:
    allowed = [c for c, _ in choices]

    def check(value: Any, field: str) -> str | None:
        text = unquote(value)
        if text is None or text == "":
            return None
        code = text.upper() if isinstance(text, str) else text
        if code not in allowed:
            raise FieldError(field, f"must be one of {', '.join(allowed)}, got {show(value)}")
        return code

    return check


def v_positive_decimal(value: Any, field: str) -> Decimal | None:
    dec = parse_decimal(unquote(value), field)
    if dec is not None and dec <= 0:
        raise FieldError(field, f"must be greater than 0, got {show(value)}")
    return dec


def v_phone(value: Any, field: str) -> str | None:
    text = unquote(value)
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not _PHONE_RE.fullmatch(text.replace(" ", "")):
        raise FieldError(field, f"must be 7 to 15 digits (a leading + allowed), got {show(value)}")
    return text.replace(" ", "")


def v_ip(value: Any, field: str) -> str | None:
    text = unquote(value)
    if text is None or text == "":
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise FieldError(field, f"must be an IPv4 or IPv6 address, got {show(value)}") from None


def v_device_ids(value: Any, field: str) -> list[str] | None:
    """Non-empty JSON array of device ids (each stripped, 1..50 chars); a bare id
    is taken as a one-element array. Duplicates are dropped, order kept."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not text.startswith("["):
            text = unquote(text)
        items = parse_json_array(text, field) if _JSONISH.search(text) else [text]
    else:
        items = parse_json_array(value, field)
    if not items:
        raise FieldError(field, "must contain at least one device id")
    out: dict[str, None] = {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise FieldError(field, f"item {i} must be a string, got {show(item)}")
        try:
            device_id = parse_str(item, field)
        except FieldError as exc:
            raise FieldError(field, f"item {i} {exc.reason}") from None
        if device_id is None:
            raise FieldError(field, f"item {i} is empty")
        out[device_id] = None
    return list(out)


def v_device_identity(value: Any, field: str) -> list[dict[str, Any]] | None:
    """JSON array of ``{"dsn": msn, "global_device_id": id}``."""
    if _blank(value):
        return None
    items = parse_json_array(value, field)
    if not items:
        raise FieldError(field, "must contain at least one device")
    out = []
    seen: set[str] = set()
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise FieldError(field, f"item {i} must be an object with dsn and global_device_id")
        dsn_raw = item.get("dsn")
        try:
            dsn = parse_bigint(unquote(dsn_raw), "dsn")
        except FieldError:
            dsn = None
        if dsn is None or dsn <= 0:
            raise FieldError(
                field, f"item {i} dsn must be a meter serial number, got {show(dsn_raw)}"
            )
        try:
            device_id = parse_str(item.get("global_device_id"), field)
        except FieldError as exc:
            raise FieldError(field, f"item {i} global_device_id {exc.reason}") from None
        if device_id is None:
            raise FieldError(field, f"item {i} global_device_id is missing")
        if device_id in seen:
            raise FieldError(field, f"item {i} repeats global_device_id {device_id!r}")
        seen.add(device_id)
        out.append({"dsn": dsn, "global_device_id": device_id})
    return out


def v_load_shedding_slabs(value: Any, field: str) -> list[dict[str, Any]] | None:
    """Non-empty JSON array of ``{"action_time": "HH:mm:ss", "relay_operate": 0|1}``."""
    if _blank(value):
        return None
    items = parse_json_array(value, field)
    if not items:
        raise FieldError(field, "must contain at least one slab")
    out = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise FieldError(
                field, f"item {i} must be an object with action_time and relay_operate"
            )
        try:
            action_time = parse_time(item.get("action_time"), "action_time")
            relay = parse_flag(item.get("relay_operate"), "relay_operate")
        except FieldError as exc:
            raise FieldError(field, f"item {i} {exc}") from None
        if action_time is None or relay is None:
            raise FieldError(field, f"item {i} needs action_time and relay_operate")
        out.append({"action_time": action_time, "relay_operate": relay})
    return out


def v_time_slab(value: Any, field: str) -> list[time] | None:
    """JSON array of ``"HH:mm"`` strings, an even number (start, end pairs)."""
    if _blank(value):
        return None
    items = parse_json_array(value, field)
    if not items or len(items) % 2:
        raise FieldError(
            field,
            f"must be a non-empty array of start/end pairs (even length), got {len(items)} items",
        )
    out = []
    for i, item in enumerate(items, 1):
        try:
            slot = parse_time(item, field)
        except FieldError:
            slot = None
        if slot is None:
            raise FieldError(field, f"item {i} must be a time 'HH:mm', got {show(item)}")
        out.append(slot)
    return out


def v_transaction_ids(value: Any, field: str) -> list[str] | None:
    """One transaction id, or a JSON array of them."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        items = parse_json_array(text, field) if _JSONISH.search(text) else [text]
    else:
        items = parse_json_array(value, field)
    if not items:
        raise FieldError(field, "must contain at least one transaction id")
    out: dict[str, None] = {}
    for i, item in enumerate(items, 1):
        try:
            out[transactionid(item, field)] = None
        except FieldError as exc:
            raise FieldError(field, f"item {i} {exc.reason}") from None
    return list(out)


# ------------------------------------------------------------------ encoders
def _encode_item(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _encode_item(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_item(v) for v in value]
    return format_value(value)


def encode_json_text(value: Any) -> str:
    """An array parameter as compact JSON text with every scalar a string."""
    return json.dumps(_encode_item(value), separators=(",", ":"), ensure_ascii=False)
