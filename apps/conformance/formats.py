"""Strict wire formats of UDIL fields (NOTES.md "Keys and types"): what an MDC must send, as
opposed to what the MDM's decoder tolerates. Every rule comes from the field's kind in the
protocol package's data set definitions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from apps.udil.datasets import DataSet, Field
from apps.udil.values import DECIMAL_MAX_INT_DIGITS, DECIMAL_PLACES

_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)
_DECIMAL = re.compile(
    rf"-?\d{{1,{DECIMAL_MAX_INT_DIGITS}}}(?:\.\d{{1,{DECIMAL_PLACES}}})?", re.ASCII
)
_INT = {"int": re.compile(r"-?\d{1,9}", re.ASCII), "bigint": re.compile(r"-?\d{1,18}", re.ASCII)}
NO_VALUE = frozenset({"", "0000-00-00 00:00:00"})


def value_problem(f: Field, value: Any, *, required: bool) -> str | None:
    """Why ``value`` is not a conforming wire value of ``f`` (None when it is)."""
    if value is None:
        return "is missing" if required else None
    if not isinstance(value, str):
        # "All Input and Output Parameters are of string type or array"
        return f"must be a string, got {type(value).__name__} {value!r}"[:120]
    if (value.strip() in NO_VALUE and f.kind == "datetime") or value == "":
        return "is empty (key field)" if required else None
    if required and value != value.strip():
        return f"has surrounding whitespace: {value[:40]!r}"
    if f.kind == "datetime" and not _DATETIME.fullmatch(value):
        return f"must be yyyy-MM-dd HH:mm:ss, got {value[:40]!r}"
    if f.kind == "decimal" and not _DECIMAL.fullmatch(value):
        return f"must be a decimal with at most {DECIMAL_PLACES} places, got {value[:40]!r}"
    if f.kind in _INT and not _INT[f.kind].fullmatch(value):
        return f"must be an integer, got {value[:40]!r}"
    if f.kind == "str" and f.max_length is not None and len(value) > f.max_length:
        return f"is longer than {f.max_length} characters"
    return None


def row_problems(ds: DataSet, raw: Any) -> list[str]:
    """Every problem of one wire row: not an object, fields absent, values out of format."""
    if not isinstance(raw, Mapping):
        return [f"row must be an object, got {type(raw).__name__}"]
    problems = []
    key = set(ds.key)
    missing = [f.name for f in ds.fields if f.name not in raw and not set(f.aliases) & set(raw)]
    if missing:
        problems.append(
            f"fields absent: {', '.join(missing[:10])}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        )
    known = {f.name for f in ds.fields} | {a for f in ds.fields for a in f.aliases}
    extra = sorted(str(k) for k in raw if k not in known)
    if extra:
        problems.append(f"fields not in {ds.table}: {', '.join(extra[:10])}")
    for f in ds.fields:
        value = raw.get(f.name)
        if value is None:
            value = next((raw[a] for a in f.aliases if a in raw), None)
        if f.name in missing and f.name not in key:
            continue
        problem = value_problem(f, value, required=f.name in key)
        if problem:
            problems.append(f"{f.name} {problem}")
    return problems


def rows_problems(ds: DataSet, rows: list[Any], *, limit: int = 10) -> list[str]:
    """Problems of many rows, each prefixed with its row number, at most ``limit``."""
    found: list[str] = []
    for i, raw in enumerate(rows, 1):
        for problem in row_problems(ds, raw):
            found.append(f"row {i}: {problem}")
            if len(found) >= limit:
                return found
    return found
