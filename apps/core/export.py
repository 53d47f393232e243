"""CSV export of list pages: streamed, in Pakistan time, safe to open in a spreadsheet.

The rows go from a server-side cursor straight into CSV text sent in chunks, so memory stays
flat however long the range (the old path built every row as an object, then one tablib
dataset, then one string). Columns are the table's columns, as on screen:

* a column that shows a model field as it is (no ``render_``/``value_`` method) is read with
  ``values_list`` and formatted here: datetimes in Pakistan time as ``yyyy-MM-dd HH:mm:ss``
  (as UDIL and the pages write them), decimals as stored, choices by their label;
* any other column falls back to django-tables2's own export value, row by row.

Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or CR) gets a leading apostrophe: a meter's ``sim_number`` of
``=cmd|' /C calc'!A0`` comes out as text. Numbers are written by the MDM itself and are left
as they are (a negative reading stays ``-1.500``).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import django_tables2 as tables
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Case, F, Func, Value, When
from django.db.models.functions import Cast, Coalesce
from django.http import StreamingHttpResponse
from django.utils.encoding import force_str

from apps.core.tables import BadgeColumn

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
# Column classes whose export value is the field value itself (django-tables2 only renders
# them as text): these may be read with values_list.
PLAIN_COLUMNS = (
    tables.Column, tables.DateTimeColumn, tables.DateColumn, tables.BooleanColumn, BadgeColumn,
)  # fmt: skip


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would evaluate as a formula, made plain text."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _local_text(value: datetime.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def cell_text(value: Any) -> str:
    """Any value as a CSV cell: Pakistan time, plain decimals, neutralised text."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return _local_text(value, ZoneInfo(settings.TIME_ZONE))
    if isinstance(value, bool | int | float | Decimal | datetime.date):
        return str(value)
    return neutralise(force_str(value))


def _field_at(model, path: str) -> models.Field | None:
    """The concrete field an accessor like ``mdc.code`` reaches, or None."""
    field = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "concrete", False):
            return None
        model = field.related_model if field.is_relation else None
    if field is not None and field.is_relation:
        return None  # a foreign key itself shows the related object's str(): let it render
    return field


def _formatter(field: models.Field) -> Callable[[Any], str]:
    """A fast converter for one column, chosen once."""
    if field.choices:
        labels = {key: force_str(label) for key, label in field.flatchoices}

        def choice(value):
            return "" if value is None else neutralise(labels.get(value, force_str(value)))

        return choice
    if isinstance(field, models.DateTimeField):
        zone = ZoneInfo(settings.TIME_ZONE)
        seen: dict = {}  # many rows share each reading time

        def when(value):
            if value is None:
                return ""
            text = seen.get(value)
            if text is None:
                if len(seen) > 100_000:
                    seen.clear()
                text = seen[value] = _local_text(value, zone)
            return text

        return when
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
        return lambda value: "" if value is None else str(value)
    return cell_text


def _sql_text(field: models.Field, path: str):
    """The column as CSV text computed by PostgreSQL (no Python object per cell), or None
    for kinds formatted in Python. NULL becomes ""."""
    value = F(path)
    if field.choices:
        cases = [
            When(**{path: key}, then=Value(force_str(label))) for key, label in field.flatchoices
        ]
        text = Case(
            *cases, default=Cast(value, models.TextField()), output_field=models.TextField()
        )
        return Coalesce(_neutralised(text), Value(""), output_field=models.TextField())
    if isinstance(field, models.DateTimeField):
        local = Func(
            value,
            Value(settings.TIME_ZONE),
            arg_joiner=" AT TIME ZONE ",
            template="to_char((%(expressions)s), 'YYYY-MM-DD HH24:MI:SS')",
            output_field=models.TextField(),
        )
        return Coalesce(local, Value(""), output_field=models.TextField())
    if isinstance(field, models.DecimalField | models.IntegerField):
        return Coalesce(Cast(value, models.TextField()), Value(""), output_field=models.TextField())
    if isinstance(field, models.CharField | models.TextField):
        return Coalesce(
            _neutralised(Cast(value, models.TextField())),
            Value(""),
            output_field=models.TextField(),
        )
    return None


def _neutralised(text):
    """SQL of :func:`neutralise`: one regexp_replace, so the text expression appears once."""
    return Func(
        text,
        Value("^([" + "".join(c for c in FORMULA_START if c != "-") + "-])"),
        Value("'\\1"),
        function="regexp_replace",
        output_field=models.TextField(),
    )


class _Column:
    def __init__(self, bound_column, model):
        self.name = bound_column.name
        self.header = force_str(bound_column.header, strings_only=True)
        table = bound_column._table
        plain = type(bound_column.column) in PLAIN_COLUMNS and not (
            hasattr(table, f"render_{self.name}") or hasattr(table, f"value_{self.name}")
        )
        self.path = str(bound_column.accessor).replace(".", "__")
        self.field = _field_at(model, self.path) if plain else None
        self.format = _formatter(self.field) if self.field is not None else cell_text
        self.sql = _sql_text(self.field, self.path) if self.field is not None else None


def export_columns(table: tables.Table, model, exclude: Iterable[str] = ()) -> list[_Column]:
    excluded = set(exclude)
    return [
        _Column(column, model)
        for column in table.columns.iterall()
        if not (column.column.exclude_from_export or column.name in excluded)
    ]


def _fast_rows(queryset, columns: list[_Column]) -> Iterator:
    """Rows read with values_list; cells PostgreSQL can write as text arrive as text."""
    names, formats = [], []
    annotations = {}
    for index, column in enumerate(columns):
        if column.sql is not None:
            name = f"export_cell_{index}"
            annotations[name] = column.sql
            names.append(name)
            formats.append(None)
        else:
            names.append(column.path)
            formats.append(column.format)
    rows = queryset.annotate(**annotations).values_list(*names).iterator(chunk_size=CHUNK_ROWS)
    if all(fmt is None for fmt in formats):
        yield from rows  # tuples of text, straight to the CSV writer
        return
    for row in rows:
        yield [v if fmt is None else fmt(v) for fmt, v in zip(formats, row, strict=True)]


def table_rows(table: tables.Table, queryset, exclude: Iterable[str] = ()) -> Iterator:
    """The header, then every row of ``queryset`` as CSV cells (read in chunks)."""
    columns = export_columns(table, queryset.model, exclude)
    yield [column.header for column in columns]
    if all(column.field is not None for column in columns):
        yield from _fast_rows(queryset, columns)
        return
    for record in queryset.iterator(chunk_size=CHUNK_ROWS):
        bound = tables.rows.BoundRow(record, table=table)
        yield [
            column.format(tables.A(column.path).resolve(record, quiet=True))
            if column.field is not None
            else cell_text(bound.get_cell_value(column.name))
            for column in columns
        ]


def csv_chunks(rows: Iterable[list[str]], rows_per_chunk: int = CHUNK_ROWS) -> Iterator[bytes]:
    """CSV text (UTF-8, no byte-order mark: programs read it too) in chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= rows_per_chunk:
            writer.writerows(batch)
            batch.clear()
            yield _take(buffer)
    if batch:
        writer.writerows(batch)
        yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def csv_response(rows: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
