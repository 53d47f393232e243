"""The UDIL wire (section 4): form-encoded requests, JSON or XML responses.

MDM (client) side: :func:`encode_request`, :func:`decode_response`,
:func:`parse_status`, :func:`response_devices`, :func:`response_rows`.
MDC (server) side: :func:`decode_request`, :func:`encode_response`.

Bodies from the other side are untrusted: size is checked before parsing, XML
is parsed with defusedxml (no DTD, no entities), nesting depth is bounded, and
every failure is a :class:`~apps.udil.errors.MalformedBody`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

from .catalog import Service, get_service
from .errors import FieldError, MalformedBody, UdilError, ValidationErrors
from .validators import transactionid as check_transactionid
from .values import format_value

try:  # orjson is much faster; stdlib json is the fallback
    import orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    orjson = None  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
#: XML elements whose empty content means an empty list, not "".
ARRAY_TAGS = frozenset({"data", "response_data"})
JSON_CONTENT_TYPE = "application/json"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_LEADING_WS = re.compile(rb"[ \t\r\n]*")
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BOM = b"\xef\xbb\xbf"


# =================================================================== client side
def encode_request(
    service: str | Service,
    params: Mapping[str, Any] | None = None,
    *,
    transactionid: str | None = None,
    privatekey: str | None = None,
    credentials_in: str = "headers",
    validate: bool = True,
) -> tuple[dict[str, str], dict[str, str]]:
    """Build ``(headers, form)`` for a request.

    Arrays become JSON text in form fields; numbers and datetimes become
    strings; ``transactionid`` and ``privatekey`` are headers. For
    ``authorization_service`` the username/password/code go in the headers or
    the form, per ``credentials_in`` ("headers", "form" or "both"). For
    ``transaction_status`` one id goes in the header, several as a JSON array
    in the form field (ids from ``params["transactionid"]`` or ``transactionid``).
    Values are validated first (``validate=False`` to send as given).
    """
    svc = get_service(service)
    params = dict(params or {})
    if svc.kind == "status" and "transactionid" not in params and transactionid is not None:
        params["transactionid"] = [transactionid]
        transactionid = None
    typed = svc.validate(params) if validate else params
    headers: dict[str, str] = {}
    form: dict[str, str] = {}
    for p in svc.params:
        value = typed.get(p.name)
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        form[p.name] = p.encode(value)
    if svc.kind == "auth":
        if credentials_in not in ("headers", "form", "both"):
            raise ValueError(f"credentials_in must be headers, form or both: {credentials_in!r}")
        if credentials_in == "headers":
            headers.update(form)
            form = {}
        elif credentials_in == "both":
            headers.update(form)
    elif svc.kind == "status":
        ids = typed.get("transactionid")
        if isinstance(ids, str):
            ids = [ids]
        if ids and len(ids) == 1:
            headers["transactionid"] = ids[0]
            form.pop("transactionid", None)
    if svc.needs_transactionid:
        if transactionid is None:
            raise FieldError("transactionid", "is required")
        headers["transactionid"] = check_transactionid(transactionid)
    elif transactionid is not None and svc.kind != "status":
        headers["transactionid"] = check_transactionid(transactionid)
    if privatekey is not None and svc.kind != "auth":
        headers["privatekey"] = privatekey
    return headers, form


def _content_format(content_type: str | None) -> str | None:
    if not content_type:
        return None
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct.endswith("json") or ct.endswith("+json"):
        return "json"
    if ct.endswith("xml"):
        return "xml"
    return None


def _sniff(body: bytes) -> str | None:
    start = _LEADING_WS.match(body).end()
    first = body[start : start + 1]
    if first in (b"{", b"["):
        return "json"
    if first == b"<":
        return "xml"
    return None


def decode_response(
    body: bytes | str,
    content_type: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stringify: bool = True,
) -> dict[str, Any]:
    """Body -> plain dict (lists, dicts and strings).

    The format comes from Content-Type; when that is absent, unknown or plainly
    contradicted by the body's first byte, the body is sniffed. ``stringify``
    turns JSON numbers/booleans/nulls into strings ("1", "1"/"0", "") so that
    JSON and XML decode alike; pass False on the bulk path (the data set text
    path accepts numbers). Raises MalformedBody.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes | bytearray | memoryview):
        raise MalformedBody(f"body must be bytes, got {type(body).__name__}")
    if len(body) > max_bytes:
        raise MalformedBody(f"body of {len(body)} bytes exceeds the limit of {max_bytes} bytes")
    body = bytes(body)
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    sniffed = _sniff(body)
    declared = _content_format(content_type)
    fmt = declared if declared and (sniffed is None or sniffed == declared) else sniffed
    if fmt == "json":
        payload = decode_json(body, stringify=stringify)
    elif fmt == "xml":
        payload = decode_xml(body)
    elif not body.strip():
        raise MalformedBody("empty body")
    else:
        raise MalformedBody(
            f"body is neither JSON nor XML (Content-Type {content_type!r}, starts {body[:20]!r})"
        )
    return payload


def _stringify(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedBody(f"nesting deeper than {MAX_DEPTH} levels")
    cls = value.__class__
    if cls is str:
        return value
    if cls is dict:
        return {k: _stringify(v, depth + 1) for k, v in value.items()}
    if cls is list:
        return [_stringify(v, depth + 1) for v in value]
    if value is None:
        return ""
    if value is True or value is False:
        return "1" if value else "0"
    if cls is float:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def decode_json(body: bytes, *, stringify: bool = True) -> dict[str, Any]:
    """JSON body -> dict (see :func:`decode_response`). Raises MalformedBody."""
    try:
        payload = orjson.loads(body) if orjson is not None else json.loads(body)
    except RecursionError:
        raise MalformedBody("invalid JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedBody(f"JSON body must be an object, got {type(payload).__name__}")
    if stringify:
        payload = _stringify(payload)
    return payload


def _local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments / processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


def _xml_value(el: Element, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedBody(f"XML nested deeper than {MAX_DEPTH} levels")
    children = [c for c in el if _local(c.tag)]
    tag = _local(el.tag)
    if not children:
        text = el.text or ""
        if tag in ARRAY_TAGS and not text.strip():
            return []
        return text
    if all(_local(c.tag) == "element" for c in children):
        return [_xml_value(c, depth + 1) for c in children]
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in children:
        name = _local(child.tag)
        value = _xml_value(child, depth + 1)
        if name in out:  # repeated tag: an array written without <element>
            if name not in repeated:
                out[name] = [out[name]]
                repeated.add(name)
            out[name].append(value)
        else:
            out[name] = value
    return out


def decode_xml(body: bytes) -> dict[str, Any]:
    """XML body (``<root>`` with one child per field, arrays as
    ``<data><element>...``) -> dict of strings. Raises MalformedBody."""
    try:
        root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise MalformedBody(
            f"XML refused ({type(exc).__name__}): DTDs and entities are not allowed"
        ) from None
    except (ParseError, ValueError, UnicodeError, RecursionError) as exc:
        raise MalformedBody(f"invalid XML: {exc}") from None
    value = _xml_value(root, 0)
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise MalformedBody("XML root must contain one element per field")
    return value


def _status_value(value: Any, what: str) -> int:
    if value is True or value is False:
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().strip('"')
        if text in ("I", "l", "|"):  # OCR damage in the spec's examples
            return 1
        if text.isdigit() and len(text) < 4:
            return int(text)
    raise MalformedBody(f"{what} must be 0 or 1, got {value!r:.60}")


def parse_status(payload: Mapping[str, Any] | Any) -> int:
    """``status`` of a response (payload dict, or the value itself) -> int.

    Tolerates 1, "1", " 1 " and the OCR's "I"/"l"/"|". MalformedBody if absent/garbage.
    """
    if isinstance(payload, Mapping):
        if "status" not in payload:
            raise MalformedBody("response has no status")
        payload = payload["status"]
    return _status_value(payload, "status")


def response_rows(payload: Mapping[str, Any], key: str = "data") -> list[dict[str, Any]]:
    """``payload[key]`` as a list of row dicts ("" or absent -> []). MalformedBody
    if it is anything else."""
    if not isinstance(payload, Mapping):
        raise MalformedBody(f"response must be an object, got {type(payload).__name__}")
    rows = payload.get(key)
    if rows is None or rows == "":
        return []
    if isinstance(rows, dict):  # a single row written without an array
        rows = [rows]
    if not isinstance(rows, list):
        raise MalformedBody(f"{key} must be an array, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MalformedBody(f"{key}[{i}] must be an object, got {type(row).__name__}")
    return rows


class DeviceStatus(NamedTuple):
    """One device in a command response: ``indv_status`` 1 accepted, 0 refused."""

    global_device_id: str
    msn: str
    indv_status: int


def response_devices(payload: Mapping[str, Any]) -> list[DeviceStatus]:
    """``data`` of a command response -> [(global_device_id, msn, indv_status)]."""
    out = []
    for i, row in enumerate(response_rows(payload)):
        device_id = row.get("global_device_id")
        if not isinstance(device_id, str) or not device_id.strip():
            raise MalformedBody(f"data[{i}] has no global_device_id")
        msn = row.get("msn")
        msn_text = (
            "" if msn is None else str(msn).strip() if not isinstance(msn, dict | list) else ""
        )
        out.append(
            DeviceStatus(
                device_id.strip(),
                msn_text,
                _status_value(row.get("indv_status"), f"data[{i}].indv_status"),
            )
        )
    return out


# =================================================================== server side
def _lower_keys(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    if not mapping:
        return {}
    return {str(k).lower(): v for k, v in mapping.items()}


def _form_value(value: Any, is_array: bool) -> Any:
    """Form values may come as lists (repeated keys, dict(QueryDict))."""
    if isinstance(value, list | tuple):
        if not value:
            return None
        if is_array and len(value) > 1:
            return list(value)
        return value[-1]
    return value


def decode_request(
    service: str | Service, headers: Mapping[str, Any] | None, form: Mapping[str, Any] | None
) -> tuple[dict[str, Any], str | None, str | None]:
    """MDC side: ``(typed params, transactionid, privatekey)`` of a request.

    ``transactionid`` and ``privatekey`` are read from headers or form fields;
    for ``transaction_status`` the ids are ``params["transactionid"]`` (a list:
    the form's JSON array, else the header's single id). Auth credentials are
    read from headers or form. Raises ValidationErrors (a FieldError) listing
    every bad field, including a missing or malformed transactionid.
    """
    svc = get_service(service)
    hdrs = _lower_keys(headers)
    fields = dict(form or {})

    def pick(name: str, is_array: bool = False) -> Any:
        value = _form_value(fields.get(name), is_array)
        if value is None or (isinstance(value, str) and not value.strip()):
            header = hdrs.get(name)
            if header is not None and (not isinstance(header, str) or header.strip()):
                return header
        return value

    errors: dict[str, str] = {}
    raw = {p.name: _form_value(fields.get(p.name), p.is_array) for p in svc.params}
    if svc.kind == "auth":
        raw = {p.name: pick(p.name) for p in svc.params}
    tid_raw = pick("transactionid", svc.kind == "status")
    tid: str | None = None
    if svc.kind == "status":
        raw["transactionid"] = tid_raw
        if isinstance(hdrs.get("transactionid"), str):
            tid = hdrs["transactionid"].strip() or None
    elif svc.needs_transactionid or tid_raw not in (None, ""):
        if tid_raw is None or (isinstance(tid_raw, str) and not tid_raw.strip()):
            if svc.needs_transactionid:
                errors["transactionid"] = "is required"
        else:
            try:
                tid = check_transactionid(tid_raw)
            except FieldError as exc:
                errors["transactionid"] = exc.reason
    privatekey = pick("privatekey")
    if isinstance(privatekey, str):
        privatekey = privatekey.strip() or None
    elif privatekey is not None:
        privatekey = None
    try:
        typed = svc.validate(raw)
    except ValidationErrors as exc:
        errors.update(exc.errors)
        typed = None
    if errors:
        raise ValidationErrors(errors)
    return typed, tid, privatekey


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal | datetime | date | time):
        return format_value(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _xml_text(value: Any) -> str:
    text = value if isinstance(value, str) else format_value(value)
    if _XML_BAD_CHARS.search(text):
        raise UdilError("value contains characters XML 1.0 cannot carry")
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _xml_write(out: list[str], tag: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UdilError(f"payload nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        out.append(f"<{tag}>")
        for key, item in value.items():
            if (
                not isinstance(key, str)
                or not _XML_NAME.fullmatch(key)
                or key.lower().startswith("xml")
            ):
                raise UdilError(f"{key!r} cannot be an XML element name")
            _xml_write(out, key, item, depth + 1)
        out.append(f"</{tag}>")
    elif isinstance(value, list | tuple):
        out.append(f"<{tag}>")
        for item in value:
            _xml_write(out, "element", item, depth + 1)
        out.append(f"</{tag}>")
    elif value is None or value == "":
        out.append(f"<{tag}></{tag}>")
    else:
        out.append(f"<{tag}>{_xml_text(value)}</{tag}>")


def encode_response(payload: Mapping[str, Any], fmt: str = "json") -> tuple[bytes, str]:
    """MDC side: payload -> ``(body, content_type)`` in the section-4 shapes.

    JSON via orjson (Decimal/datetime/time become wire strings); XML as
    ``<?xml version="1.0" encoding="UTF-8"?><root>...`` with lists as
    ``<element>`` children. Pass strings (see DataSet.encode_row) to keep the
    spec's "everything is a string" rule; ints and None are written as JSON
    numbers/null.
    """
    if not isinstance(payload, Mapping):
        raise UdilError(f"payload must be a mapping, got {type(payload).__name__}")
    fmt = fmt.lower()
    if fmt == "json":
        if orjson is not None:
            body = orjson.dumps(
                payload, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME
            )
            return body, JSON_CONTENT_TYPE
        text = json.dumps(payload, default=_json_default, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8"), JSON_CONTENT_TYPE
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        _xml_write(out, "root", payload, 0)
        return "".join(out).encode("utf-8"), XML_CONTENT_TYPE
    raise ValueError(f"fmt must be 'json' or 'xml', got {fmt!r}")


def error_response(
    message: str, fmt: str = "json", *, transactionid: str | None = None
) -> tuple[bytes, str]:
    """A ``status`` 0 body (use with HTTP 400 or 401)."""
    payload: dict[str, Any] = {"status": "0"}
    if transactionid:
        payload["transactionid"] = transactionid
    payload["message"] = message
    return encode_response(payload, fmt)
