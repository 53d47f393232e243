"""How a UDIL data set is defined and read: :class:`Field`, :class:`Row` and :class:`DataSet`
(the definitions themselves are in :mod:`apps.udil.datasets`).

Each :class:`DataSet` knows its fields and key, and decodes rows two ways:

* :meth:`DataSet.decode_row` -> :class:`Row` of typed values (Decimal, int,
  aware datetime in PKT, str, None), unknown fields kept in ``row.extras``;
* :meth:`DataSet.text_row` -> tuple of text (or None) in ``fields`` order,
  ready for PostgreSQL COPY. It validates a whole row with one precompiled
  regular expression and only falls back to per-field conversion for values
  that are not already canonical;
* :meth:`DataSet.copy_rows` -> the same for many rows at once, the fast path of
  bulk ingestion: rows are lists of text in ``fields`` order with ``""`` for
  NULL (the loader's COPY reads ``''`` as NULL; no value of a data set is ever
  the empty string), so clean values pass through untouched; datetimes go
  through a small cache (load profiles repeat the same timestamps across
  meters), each distinct text being parsed and checked once.

and encodes them for the wire (MDC side) with :meth:`DataSet.encode_row`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import FieldError, MalformedBody, UdilError
from .timefmt import datetime_text, parse_datetime
from .values import (
    VARCHAR_MAX,
    format_value,
    parse_bigint,
    parse_decimal,
    parse_int,
    parse_str,
    show,
)

KINDS = ("decimal", "int", "bigint", "datetime", "str")
_SEP = "\x1f"  # unit separator: joins a row's values for the one-regex check


@dataclass(frozen=True)
class Field:
    """One column: ``kind`` is one of decimal, int, bigint, datetime, str.

    ``max_length`` applies to str (None: unlimited). ``aliases`` are other
    names a vendor may use for the column (used only when the name is absent).
    ``description`` is the spec's wording; ``label`` a human name for pages (the description
    when empty) and ``unit`` its unit ("kWh"), together :attr:`verbose_name`.
    """

    name: str
    kind: str
    description: str = ""
    max_length: int | None = VARCHAR_MAX
    aliases: tuple[str, ...] = ()
    label: str = ""
    unit: str = ""
    #: The warehouse column the value is stored in when it is not ``name`` (a 3.3 load profile's
    #: ``active_energy_pos_tl`` is the register 2019 calls ``active_energy_tl``).
    column: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")

    @property
    def stored_as(self) -> str:
        return self.column or self.name

    @property
    def verbose_name(self) -> str:
        """ "Active energy import, total (kWh)": label (or description) and unit."""
        text = self.label or self.description or self.name.replace("_", " ")
        return f"{text} ({self.unit})" if self.unit else text


class Row(dict):
    """A decoded row: field name -> typed value (every field present, None when
    absent or empty). Fields the data set does not define are in ``extras``."""

    extras: dict[str, Any]

    def __init__(self, values: Mapping[str, Any] = (), extras: Mapping[str, Any] | None = None):
        super().__init__(values)
        self.extras = dict(extras or {})

    def __repr__(self) -> str:
        return f"Row({dict.__repr__(self)}, extras={self.extras!r})"


# ---------------------------------------------------------------- converters
_TYPED: dict[str, Callable[..., Any]] = {
    "decimal": parse_decimal,
    "int": parse_int,
    "bigint": parse_bigint,
    "datetime": parse_datetime,
}

# Canonical text accepted as-is by the fast path; anything else goes through the
# per-field slow path (same result up to formatting: "007" vs "7"). Possessive
# quantifiers keep the one-regex-per-row check linear and cheap.
_DEC_CANON = r"-?+\d{1,15}+(?:\.\d{1,3}+)?+"
_INT_CANON = r"-?+\d{1,9}+"
_BIGINT_CANON = r"-?+\d{1,18}+"
_DT_CANON = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_dec_canon = re.compile(_DEC_CANON).fullmatch


def _str_canon(max_length: int | None, json: bool = False) -> str:
    # first and last characters not blank (already stripped), no NUL, no separator; inside a
    # JSON string, no quote, backslash or control character either (no escape: the text is the
    # value)
    count = "++" if max_length is None else f"{{1,{max_length}}}+"  # never empty: "" is NULL
    excluded = r"\x00-\x1f\"\\" if json else r"\x00\x1f"
    return rf"(?=\S)[^{excluded}]{count}(?<=\S)"


def _canon_pattern(f: Field, required: bool, json: bool = False) -> str:
    body = {
        "decimal": _DEC_CANON,
        "int": _INT_CANON,
        "bigint": _BIGINT_CANON,
        "datetime": _DT_CANON,
    }.get(f.kind) or _str_canon(f.max_length, json)
    return f"(?:{body})" if required else f"(?:{body})?+"


def _json_row_pattern(fields: tuple[Field, ...], keyset: frozenset[str]) -> str:
    """One JSON object with every field, in ``fields`` order, each a string of canonical text
    (captured): what a well-behaved MDC writes for a row."""
    members = ",".join(
        f'"{re.escape(f.name)}":"({_canon_pattern(f, f.name in keyset, json=True)})"'
        for f in fields
    )
    return r"\{" + members + r"\}"


class _Slow(Exception):  # internal control flow, never escapes
    """A row that is not canonical: take the per-field path."""


#: Canonical wire datetime text -> COPY text ("" for "no value"); filled by :func:`_dt_learn`,
#: emptied when full (memory stays bounded whatever the pull).
_DT_CACHE: dict[str, str] = {"": ""}
_DT_CACHE_MAX = 1 << 16
#: "yyyy-mm-dd" -> the UTC offset its local times all have ("+05:00"), "" for the "no value"
#: date 0000-00-00, None when the date is not valid or its offset changes during the day.
_DATE_SUFFIX: dict[str, str | None] = {}


def _date_suffix(date: str) -> str | None:
    try:
        first = datetime_text(f"{date} 00:00:00")
        last = datetime_text(f"{date} 23:59:59")
    except ValueError:
        suffix = None
    else:
        if first is None:
            suffix = ""
        else:
            suffix = first[19:] if last is not None and first[19:] == last[19:] else None
    if len(_DATE_SUFFIX) >= _DT_CACHE_MAX:
        _DATE_SUFFIX.clear()
    _DATE_SUFFIX[date] = suffix
    return suffix


def _dt_learn(text: str) -> str | None:
    """COPY text of a canonical datetime (``yyyy-mm-dd HH:MM:SS``, shape already checked) not
    yet in the cache; None when it is not a valid datetime. Same result as ``datetime_text``:
    the date's offset is computed once per date, the time of day checked by comparing digits."""
    date = text[:10]
    suffix = _DATE_SUFFIX[date] if date in _DATE_SUFFIX else _date_suffix(date)
    if suffix is None or not (text[11:13] < "24" and text[14:16] < "60" and text[17:19] < "60"):
        try:  # an invalid date or time, or a day with an offset change: the full parser
            out = datetime_text(text) or ""
        except ValueError:
            return None
    else:
        out = text + suffix if suffix else ""
    if len(_DT_CACHE) >= _DT_CACHE_MAX:
        _DT_CACHE.clear()
        _DT_CACHE[""] = ""
    _DT_CACHE[text] = out
    return out


def _text_converter(f: Field) -> Callable[[Any], str | None]:
    """Slow-path converter of one field: raw value -> COPY text or None."""
    name = f.name
    if f.kind == "decimal":

        def conv(value: Any) -> str | None:
            if value.__class__ is str and _dec_canon(value):
                return value
            dec = parse_decimal(value, name)
            return None if dec is None else format(dec, "f")

    elif f.kind in ("int", "bigint"):
        parse = parse_int if f.kind == "int" else parse_bigint

        def conv(value: Any) -> str | None:
            number = parse(value, name)
            return None if number is None else str(number)

    elif f.kind == "datetime":

        def conv(value: Any) -> str | None:
            if isinstance(value, str):
                try:
                    return datetime_text(value)
                except ValueError as exc:
                    raise FieldError(name, f"{exc}, got {show(value)}") from None
            dt = parse_datetime(value, name)
            return None if dt is None else dt.isoformat(sep=" ")

    else:
        max_length = f.max_length

        def conv(value: Any) -> str | None:
            return parse_str(value, name, max_length)

    return conv


@dataclass(frozen=True, eq=False)
class DataSet:
    """A UDIL table (section 3.1) and how to read it.

    ``code``: our identifier ("load_profile"); ``table``: spec TABLE ID;
    ``read_path``: path of its read API (NOTES.md); ``on_demand_type``: the
    on_demand_request ``type`` that returns it; ``key``: fields identifying a row
    (all required); ``extra_key``: fields that complete the identity when present
    (load profile ``channel_id``); ``time_field``: the row's time (None for visuals).
    """

    code: str
    table: str
    read_path: str | None
    on_demand_type: str | None
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    time_field: str | None
    description: str = ""
    extra_key: tuple[str, ...] = ()
    label: str = ""
    #: Tabular 3.3: the MDC's auto-increment row id column (pull by id when set) and the
    #: column the MDM sets to 1 once a row is committed (the MDC may then purge it).
    id_column: str | None = None
    synced_column: str | None = None
    _names: tuple[str, ...] = field(init=False, repr=False)
    _by_name: dict[str, Field] = field(init=False, repr=False)
    _known: frozenset[str] = field(init=False, repr=False)
    _typed_plan: tuple = field(init=False, repr=False)
    _text_plan: tuple = field(init=False, repr=False)
    _row_match: Callable[[str], Any] = field(init=False, repr=False)
    _json_row: Callable[..., Any] = field(init=False, repr=False)
    _getter: Callable[[Any], Any] = field(init=False, repr=False)
    _dt_idx: tuple[int, ...] = field(init=False, repr=False)
    _dt_plan: tuple[tuple[int, bool], ...] = field(init=False, repr=False)
    _key_idx: frozenset[int] = field(init=False, repr=False)
    _aliased: tuple[tuple[str, tuple[str, ...]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = tuple(f.name for f in self.fields)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.code}: duplicate field names")
        for k in (*self.key, *self.extra_key):
            if k not in names:
                raise ValueError(f"{self.code}: key field {k!r} not in fields")
        keyset = frozenset(self.key)
        setattr_ = object.__setattr__
        setattr_(self, "_names", names)
        setattr_(self, "_by_name", {f.name: f for f in self.fields})
        setattr_(self, "_known", frozenset(names) | {a for f in self.fields for a in f.aliases})
        setattr_(
            self,
            "_typed_plan",
            tuple(
                (
                    f.name,
                    f.aliases,
                    f.name in keyset,
                    _TYPED.get(f.kind) or (lambda v, n, _m=f.max_length: parse_str(v, n, _m)),
                )
                for f in self.fields
            ),
        )
        setattr_(
            self,
            "_text_plan",
            tuple((f.name, f.aliases, f.name in keyset, _text_converter(f)) for f in self.fields),
        )
        pattern = "\\x1f".join(_canon_pattern(f, f.name in keyset) for f in self.fields)
        setattr_(self, "_row_match", re.compile(pattern).fullmatch)
        setattr_(self, "_json_row", re.compile(_json_row_pattern(self.fields, keyset)).match)
        getter = operator.itemgetter(*names)
        if len(names) == 1:  # itemgetter of one name returns the value, not a tuple
            getter = lambda raw, _g=getter: (_g(raw),)  # noqa: E731
        setattr_(self, "_getter", getter)
        setattr_(
            self,
            "_dt_idx",
            tuple(i for i, f in enumerate(self.fields) if f.kind == "datetime"),
        )
        setattr_(self, "_key_idx", frozenset(names.index(k) for k in self.key))
        setattr_(self, "_dt_plan", tuple((i, i in self._key_idx) for i in self._dt_idx))
        setattr_(self, "_aliased", tuple((f.name, f.aliases) for f in self.fields if f.aliases))

    # ------------------------------------------------------------ metadata
    @property
    def field_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def wire_order(self) -> tuple[str, ...]:
        """Field names as a well-behaved MDC writes a row: the identity first (``msn``,
        ``global_device_id``, the row's time), then the others in definition order."""
        lead = tuple(n for n in ("msn", "global_device_id", self.time_field) if n in self._by_name)
        return lead + tuple(n for n in self._names if n not in lead)

    @property
    def unique_key(self) -> tuple[str, ...]:
        """``key`` plus ``extra_key``: the identity of a stored row."""
        return self.key + self.extra_key

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def __repr__(self) -> str:
        return f"DataSet({self.code!r}, {len(self.fields)} fields)"

    # ------------------------------------------------------------ decoding
    @staticmethod
    def _value(raw: Mapping[str, Any], name: str, aliases: tuple[str, ...]) -> Any:
        value = raw.get(name)
        if value is None and aliases:
            for alias in aliases:
                if alias in raw:
                    return raw[alias]
        return value

    def _check_mapping(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise MalformedBody(f"{self.code} row must be an object, got {type(raw).__name__}")

    def decode_row(self, raw: Mapping[str, Any]) -> Row:
        """Wire row -> :class:`Row` of typed values. Raises FieldError naming the
        field (a missing or empty key field is an error; other fields become None)."""
        self._check_mapping(raw)
        values: dict[str, Any] = {}
        for name, aliases, is_key, conv in self._typed_plan:
            value = conv(self._value(raw, name, aliases), name)
            if value is None and is_key:
                raise FieldError(name, "is required (key field) but missing or empty")
            values[name] = value
        known = self._known
        extras = {k: v for k, v in raw.items() if k not in known}
        return Row(values, extras)

    def _text_row_slow(self, raw: Mapping[str, Any]) -> tuple[str | None, ...]:
        out = []
        for name, aliases, is_key, conv in self._text_plan:
            value = conv(self._value(raw, name, aliases))
            if value is None and is_key:
                raise FieldError(name, "is required (key field) but missing or empty")
            out.append(value)
        return tuple(out)

    def text_row(self, raw: Mapping[str, Any]) -> tuple[str | None, ...]:
        """Wire row -> tuple of COPY-ready text (None for NULL) in ``fields`` order.

        Decimals and integers are validated and passed as text, datetimes become
        ``yyyy-mm-dd HH:MM:SS+05:00``, strings are stripped, "" and
        ``0000-00-00 00:00:00`` become None. Raises FieldError on a bad value.
        Extra fields are ignored (see :meth:`decode_row` to keep them).
        """
        try:
            get = raw.get
        except AttributeError:
            self._check_mapping(raw)
            raise
        for name, aliases in self._aliased:
            if name not in raw and any(a in raw for a in aliases):
                return self._text_row_slow(raw)
        try:
            vals = self._getter(raw)
        except KeyError:  # some fields absent: they are NULL
            vals = [get(n, "") for n in self._names]
        try:
            joined = _SEP.join(vals)
        except TypeError:  # a non-string value (number, list, None): slow path
            return self._text_row_slow(raw)
        if self._row_match(joined) is None:
            return self._text_row_slow(raw)
        out = [v or None for v in vals]
        key_idx = self._key_idx
        for i in self._dt_idx:
            value = out[i]
            if value is not None:
                try:
                    text = datetime_text(value)
                except ValueError:
                    return self._text_row_slow(raw)  # raises with the field name
                if text is None and i in key_idx:
                    return self._text_row_slow(raw)
                out[i] = text
        return tuple(out)

    def split_rows(
        self, raw_rows: Iterable[Any]
    ) -> tuple[list[tuple[str | None, ...]], list[tuple[Any, str]]]:
        """Convert many rows: ``(good_text_rows, rejects)`` where each reject is
        ``(raw_row, reason)``. Nothing is dropped silently. Rows are as
        :meth:`text_row` gives them (None for NULL); see :meth:`copy_rows` for
        the bulk path."""
        good, rejects = self.copy_rows(raw_rows)
        return [tuple([v or None for v in row]) for row in good], rejects

    def copy_rows(self, raw_rows: Iterable[Any]) -> tuple[list[list[str]], list[tuple[Any, str]]]:
        """The bulk path of :meth:`split_rows`: ``(good, rejects)`` where each
        good row is a list of text in ``fields`` order with ``""`` for NULL
        (values exactly as :meth:`text_row` gives them, None written ``""``).

        A row whose values are all canonical text (what a well-behaved MDC
        sends) is checked by one regular expression and passed on as it came;
        only its datetimes are rewritten (through a cache). Any other row takes
        the per-field path of :meth:`text_row`, which names the bad field.
        """
        good: list[list[str]] = []
        rejects: list[tuple[Any, str]] = []
        append = good.append
        getter = self._getter
        match = self._row_match
        dt_plan = self._dt_plan
        cached = _DT_CACHE.get
        join = _SEP.join
        slow = self._copy_row_slow
        aliased = self._aliased
        for raw in raw_rows:
            try:
                if aliased and any(
                    name not in raw and any(a in raw for a in names) for name, names in aliased
                ):
                    raise _Slow
                vals = getter(raw)
                if match(join(vals)) is None:
                    raise _Slow
                row = list(vals)
                for i, required in dt_plan:
                    text = cached(row[i])
                    if text is None:
                        text = _dt_learn(row[i])
                    if not text and (required or text is None):
                        raise _Slow
                    row[i] = text
                append(row)
            except (_Slow, KeyError, TypeError, AttributeError):
                try:
                    append(slow(raw))
                except UdilError as exc:
                    rejects.append((raw, str(exc)))
        return good, rejects

    def copy_rows_json(
        self, body: bytes
    ) -> tuple[dict[str, Any], list[list[str]], list[tuple[Any, str]]] | None:
        """:meth:`copy_rows` straight from a JSON read answer, without building a dict per row:
        ``(payload without its rows, good, rejects)``, or None when the body is not in the
        usual shape (then decode it with ``codec.decode_response`` and use :meth:`copy_rows`;
        the result is the same).

        The usual shape: ``"data":[`` then rows that each have every field, in ``fields``
        order, as a string of canonical text (no escape, so the JSON text is the value), and
        nothing else between them. One regular expression reads and checks a row; the rest of
        the body (status, message) is parsed by orjson as usual.
        """
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        start = text.find('"data":[')
        if start < 0:
            return None
        start += 7  # the "["
        position = start + 1
        match = self._json_row
        found: list[tuple[str, ...]] = []
        append = found.append
        if text.startswith("]", position):
            end = position
        else:
            while True:
                row = match(text, position)
                if row is None:
                    return None
                append(row.groups())
                position = row.end()
                follows = text[position : position + 1]
                if follows == ",":
                    position += 1
                elif follows == "]":
                    end = position
                    break
                else:
                    return None
        rest = text[:start] + "[]" + text[end + 1 :]
        del text
        if rest.count('"data"') != 1 or "\\" in rest:  # escapes could spell another "data"
            return None
        try:
            payload = orjson.loads(rest)
        except orjson.JSONDecodeError:
            return None
        if payload.__class__ is not dict or payload.get("data") != []:
            return None
        good: list[list[str]] = []
        rejects: list[tuple[Any, str]] = []
        keep = good.append
        dt_plan = self._dt_plan
        cached = _DT_CACHE.get
        for values in found:
            row = list(values)
            for i, required in dt_plan:
                stamp = cached(row[i])
                if stamp is None:
                    stamp = _dt_learn(row[i])
                if not stamp and (required or stamp is None):
                    break
                row[i] = stamp
            else:
                keep(row)
                continue
            raw = dict(zip(self._names, values, strict=True))
            try:  # a datetime that is not a valid date: the per-field path names it
                keep(self._copy_row_slow(raw))
            except UdilError as exc:
                rejects.append((raw, str(exc)))
        return payload, good, rejects

    def _copy_row_slow(self, raw: Any) -> list[str]:
        return ["" if v is None else v for v in self.text_row(raw)]

    # ------------------------------------------------------------ encoding
    def encode_row(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Typed (or text) values -> wire row: every field as a string, datetimes
        ``yyyy-MM-dd HH:mm:ss`` PKT, None -> "". Unknown keys are ignored."""
        get = values.get
        return {name: format_value(get(name)) for name in self._names}
