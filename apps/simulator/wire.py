"""Response bodies of a simulated MDC: the fast path for read rows, vendor quirks and faults.

Conforming read responses are built from text templates (one ``%`` per row, no per-row dict);
anything with quirks goes through plain dicts and :func:`apps.udil.codec.encode_response`.
"""

from __future__ import annotations

import random
import re
from typing import Any

import orjson

from apps.simulator.generator import NUMERIC_FIELDS
from apps.simulator.models import NumberStyle, SimMdc
from apps.udil.catalog import Service
from apps.udil.codec import JSON_CONTENT_TYPE, XML_CONTENT_TYPE, encode_response
from apps.udil.errors import ValidationErrors
from apps.udil.validators import unquote

_rng = random.Random()
_SAFE = re.compile(r'^[^"\\<>&\x00-\x1f]*$')
_TEMPLATES: dict[tuple[str, tuple[str, ...]], str] = {}
EXTRA_FIELDS = {"vendor_status_flag": "OK", "firmware_version": "v2.7.1"}


#: Fields whose text may hold quotes, newlines or markup (the template path does not escape).
_FREE_TEXT = frozenset(
    {
        "meter_ls_schedule_slabs",
        "message_log",
        "picture_1",
        "picture_2",
        # 3.3 visuals' JSON arrays
        "lsch_load_shedding_slabs",
        "tiou_day_profile",
    }
)


def _template(fmt: str, fields: tuple[str, ...]) -> str:
    key = (fmt, fields)
    tpl = _TEMPLATES.get(key)
    if tpl is None:
        if fmt == "json":
            tpl = "{" + ",".join(f'"{name}":"%s"' for name in fields) + "}"
        else:
            tpl = "<element>" + "".join(f"<{n}>%s</{n}>" for n in fields) + "</element>"
        _TEMPLATES[key] = tpl
    return tpl


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rows_body(
    mdc: SimMdc, fields: tuple[str, ...], rows: list[tuple[str, ...]], message: str
) -> tuple[bytes, str]:
    """A read response ``{"status": "1", "message": ..., "data": [rows]}``."""
    fast = (
        not mdc.has_quirks
        # visuals carry JSON text, communication history a multi-line log: escape them
        and _FREE_TEXT.isdisjoint(fields)
        and all(_SAFE.match(gdi) for gdi in {row[1] for row in rows})
    )
    if not fast:
        return payload_body(
            mdc,
            {
                "status": "1",
                "message": message,
                "data": [dict(zip(fields, r, strict=True)) for r in rows],
            },
        )
    tpl = _template(mdc.fmt, fields)
    if mdc.fmt == "json":
        body = ",".join([tpl % row for row in rows])
        text = (
            '{"status":"1","message":' + orjson.dumps(message).decode() + ',"data":[' + body + "]}"
        )
        return text.encode(), JSON_CONTENT_TYPE
    body = "".join([tpl % row for row in rows])
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<root><status>1</status>'
        f"<message>{_xml_escape(message)}</message><data>{body}</data></root>"
    )
    return text.encode(), XML_CONTENT_TYPE


def _quirk_value(name: str, value: Any, style: str, salt: int) -> Any:
    as_number = style == NumberStyle.NUMBER or (
        style == NumberStyle.MIXED and (salt + len(name)) % 2
    )
    if as_number and isinstance(value, str) and name in NUMERIC_FIELDS and value:
        try:
            return int(value) if "." not in value else float(value)
        except ValueError:
            return value
    return value


def _apply_quirks(mdc: SimMdc, obj: Any, depth: int = 0) -> Any:
    if isinstance(obj, list):
        return [_apply_quirks(mdc, item, depth + 1) for item in obj]
    if not isinstance(obj, dict):
        return obj
    items = []
    for i, (key, value) in enumerate(obj.items()):
        if isinstance(value, list | dict):
            value = _apply_quirks(mdc, value, depth + 1)
        elif mdc.fmt == "json" and mdc.number_style != NumberStyle.STRING and depth > 0:
            value = _quirk_value(key, value, mdc.number_style, i)
        if mdc.quirk_id_whitespace and key == "global_device_id" and isinstance(value, str):
            value = f" {value}  "
        items.append((key, value))
    if depth > 0 and mdc.quirk_extra_fields and "global_device_id" in obj:
        items.extend(EXTRA_FIELDS.items())
    if mdc.quirk_shuffle_fields:
        _rng.shuffle(items)
    return dict(items)


def payload_body(mdc: SimMdc, payload: dict[str, Any]) -> tuple[bytes, str]:
    """Any response payload, with the MDC's quirks, encoded in its format."""
    if mdc.has_quirks:
        payload = _apply_quirks(mdc, payload)
    return encode_response(payload, mdc.fmt)


def error_body(mdc: SimMdc | None, message: str, transactionid: str | None = None):
    payload: dict[str, Any] = {"status": "0"}
    if transactionid:
        payload["transactionid"] = transactionid
    payload["message"] = message
    return encode_response(payload, mdc.fmt if mdc else "json")


def corrupt(mdc: SimMdc, body: bytes) -> bytes:
    """Malformed or truncated bodies at the MDC's rates (both 0: unchanged)."""
    roll = _rng.random()
    if roll < mdc.truncated_rate:
        return body[: max(1, len(body) * 2 // 3)]
    if _rng.random() < mdc.malformed_rate:
        if mdc.fmt == "json":
            return body.replace(b'"', b"'", 7)
        for closing in (b"</data>", b"</message>", b"</root>"):
            if closing in body:
                return body.replace(closing, closing[:-2] + b"x>", 1)
        return body + b"<unclosed>"
    return body


_STRICT_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def strict_datetimes(service: Service, form: dict[str, list[str]]) -> None:
    """An MDC checks datetimes as the spec writes them (``yyyy-MM-dd HH:mm:ss``, Pakistan
    time): the protocol package is liberal for the MDM's sake (dates alone, ISO ``T``,
    offsets), the simulated MDC is not, so a conformance client's malformed value is a 400
    naming the parameter. Blank and ``0000-00-00 00:00:00`` ("no value") are left to the
    service's own required-check."""
    errors = {}
    for param in service.params:
        if param.kind != "datetime" or param.name not in form:
            continue
        text = unquote((form[param.name] or [""])[-1])
        if text and not _STRICT_DATETIME.match(text):
            errors[param.name] = f"must be a datetime 'yyyy-MM-dd HH:mm:ss', got {text[:40]!r}"
    if errors:
        raise ValidationErrors(errors)


def should_fail(mdc: SimMdc) -> bool:
    return mdc.error_500_rate > 0 and _rng.random() < mdc.error_500_rate
