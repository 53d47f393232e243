"""The bulk loader: COPY into a staging table, then set-based SQL.

For one batch of COPY-ready text rows (from ``DataSet.split_rows``):

1. duplicate keys in the batch are resolved in Python (kept: the freshest copy; on a tie the
   later one in the batch), only when there are any (one set of keys tells);
2. fast path: when no stored row can share a key with the batch (one index probe per device:
   none of its devices has a stored row inside the batch's time range), ``COPY`` the rows
   straight into the target inside a savepoint; a unique violation (a concurrent load) rolls the
   savepoint back and falls through to the merge path;
3. merge path: ``COPY`` the rows into a per-connection TEMP staging table (text columns,
   ``ON COMMIT DELETE ROWS``; created once per connection, emptied per batch), then
   ``INSERT … SELECT … ON CONFLICT (key) DO NOTHING`` (casting to the target types): new keys
   are inserted; its row count is the number inserted;
4. only when some staged rows were not inserted (their keys exist), one
   ``UPDATE … FROM staging`` replaces stored rows *of the same MDC* (a merge never changes a
   row's owning MDC) with incoming copies that are at least as new and differ
   (``IS DISTINCT FROM`` on the row); its row count is the number updated. The
   UPDATE is bounded to the batch's months so PostgreSQL prunes partitions.

Rows are sequences of text in ``table.data_columns`` order (a table's view for one profile's
definition of the data set: ``WarehouseTable.view``); NULL is ``""`` (what
``DataSet.copy_rows`` gives) or None (``DataSet.text_row``): no value of a data set is ever the
empty string, so COPY reads ``''`` as NULL (``NULL ''``). COPY text is built by joining the
values (C-speed ``str.join``) and sent in one write; one scan of the joined text proves that no
value holds a tab, newline, carriage return or backslash (the usual case), else the rows are
escaped value by value. Staging columns are text, so values are parsed once, by the INSERT.

(PostgreSQL 16 refuses ``RETURNING xmax`` on a partitioned table, so one
``ON CONFLICT DO UPDATE … RETURNING (xmax = 0)`` cannot tell inserts from updates; the two
statements can, and the common case — new rows — is a single statement.)

Which copy is newer (``freshness``): ``db_datetime`` for the time-series tables; for meter
visuals, the latest of the row's datetimes. An incoming copy replaces the stored one when the
stored freshness is NULL or the incoming one is greater than or equal to it; an incoming copy
without freshness never replaces one that has it. Equal freshness with different values means the
MDC corrected the row in place: the later delivery wins. A row identical to the stored one is
never rewritten, so loading the same rows twice changes nothing.

Keys equal as values but not as text (``"7"`` and ``"007"`` as a channel) are not caught by the
Python check; PostgreSQL then keeps one of them (no error, nothing lost).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cache
from operator import itemgetter

from django.db import connection, transaction
from psycopg import errors as pg_errors

from apps.warehouse.schema import WarehouseTable, quote, sql_type

TextRow = Sequence[str | None]
MIN_TIME = datetime.datetime.min.replace(tzinfo=datetime.UTC)
MAX_TIME = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def staging_name(table: WarehouseTable) -> str:
    return f"warehouse_stage_{table.code}{table.stage_suffix}"


@cache
def staging_create_sql(table: WarehouseTable) -> str:
    columns = ", ".join(f"{quote(column)} text" for column in table.data_columns)
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {quote(staging_name(table))} ({columns}) "
        "ON COMMIT DELETE ROWS"
    )


@cache
def copy_sql(table: WarehouseTable) -> str:
    columns = ", ".join(quote(column) for column in table.data_columns)
    return f"COPY {quote(staging_name(table))} ({columns}) FROM STDIN (NULL '')"


def _freshness(table: WarehouseTable, alias: str) -> str:
    columns = [f"{alias}.{quote(column)}" for column in table.freshness_columns]
    return columns[0] if len(columns) == 1 else f"GREATEST({', '.join(columns)})"


def _staged_select(table: WarehouseTable) -> str:
    """The staged rows as the target stores them (absent channel_id -> 0)."""
    columns = []
    for field in table.dataset.fields:
        column = quote(field.stored_as)
        value = f"{column}::{sql_type(field)}"
        if field.stored_as in table.defaulted_key:
            value = f"COALESCE({value}, 0)"
        columns.append(f"{value} AS {column}")
    return f"SELECT {', '.join(columns)} FROM {quote(staging_name(table))}"


@cache
def insert_sql(table: WarehouseTable) -> str:
    """Insert the staged rows whose keys are new (mdc_id is the one parameter)."""
    columns = ", ".join(quote(column) for column in table.data_columns)
    key = ", ".join(quote(k) for k in table.key)
    return (
        f"INSERT INTO {quote(table.name)} ({columns}, mdc_id, ingested_at) "
        f"SELECT s.*, %s, now() FROM ({_staged_select(table)}) s "
        f"ON CONFLICT ({key}) DO NOTHING"
    )


@cache
def update_sql(table: WarehouseTable) -> str:
    """Replace stored rows of the same MDC with newer, different staged copies. Parameters:
    mdc_id, then (for partitioned tables) the time range of the batch, so only its partitions
    are visited."""
    assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in table.value_columns)
    match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in table.key)
    stored = ", ".join(f"t.{quote(c)}" for c in table.value_columns)
    incoming = ", ".join(f"s.{quote(c)}" for c in table.value_columns)
    stored_freshness, incoming_freshness = _freshness(table, "t"), _freshness(table, "s")
    time_range = ""
    if table.partitioned:
        time = quote(table.time_column)
        time_range = f" AND t.{time} >= %s AND t.{time} < %s"
    # A merge never changes a row's owning MDC: only rows the same MDC delivered are replaced
    # (another head end's copy of the key is left as it is, whatever it claims).
    return (
        f"UPDATE {quote(table.name)} t SET {assignments}, ingested_at = now() "
        f"FROM ({_staged_select(table)}) s WHERE {match} AND t.mdc_id = %s{time_range} "
        f"AND ({stored_freshness} IS NULL OR {incoming_freshness} >= {stored_freshness}) "
        f"AND ({stored}) IS DISTINCT FROM ({incoming})"
    )


def _key_function(table: WarehouseTable):
    names = table.data_columns
    key_of = itemgetter(*(names.index(k) for k in table.key))
    if not table.defaulted_key:
        return key_of
    position = table.key.index(table.defaulted_key[0])

    def key_with_default(row: TextRow) -> tuple:
        # channel_id absent (None) is stored as 0: the same key as "0".
        key = key_of(row)
        return (*key[:position], key[position] or "0", *key[position + 1 :])

    return key_with_default


def _freshness_function(table: WarehouseTable):
    indexes = [table.data_columns.index(c) for c in table.freshness_columns]

    def freshness(row: TextRow) -> str:
        return max((row[i] for i in indexes if row[i]), default="")

    return freshness


def _keys_unique(table: WarehouseTable, rows: Sequence[TextRow]) -> bool:
    """No two of ``rows`` share a key: the keys as text are told apart at C speed; a defaulted
    key column (channel_id: absent is 0) can make texts that differ equal only when two of its
    spellings of 0 ("", None, "0") occur, then the full key function decides."""
    names = table.data_columns
    key_of = itemgetter(*(names.index(k) for k in table.key))
    if len(set(map(key_of, rows))) != len(rows):
        return False
    if table.defaulted_key:
        values = set(map(itemgetter(names.index(table.defaulted_key[0])), rows))
        if len(values & {"", None, "0"}) > 1:
            return len(set(map(_key_function(table), rows))) == len(rows)
    return True


def rows_deduplicated(table: WarehouseTable, rows: Sequence[TextRow]) -> Sequence[TextRow]:
    """``rows`` without duplicate keys: the freshest copy of each key is kept (on a tie, the later
    one). Returns ``rows`` itself when there are no duplicates (the usual case)."""
    if _keys_unique(table, rows):
        return rows
    key_of = _key_function(table)
    freshness = _freshness_function(table)
    kept: dict[tuple, TextRow] = {}
    for row in rows:
        key = key_of(row)
        current = kept.get(key)
        if current is None or freshness(row) >= freshness(current):
            kept[key] = row
    return list(kept.values())


def keys_all_new(cursor, table: WarehouseTable, rows: Sequence[TextRow]) -> bool:
    """True when no stored row can share a key with ``rows``: none of their devices has a row
    in their time range (texts compare as times: ``text_row`` writes them in one offset)."""
    devices = table.data_columns.index("global_device_id")
    device_ids = list({row[devices] for row in rows})
    if not table.partitioned:
        cursor.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM {quote(table.name)} "
            "WHERE global_device_id = ANY(%s))",
            [device_ids],
        )
        return cursor.fetchone()[0]
    index = table.data_columns.index(table.time_column)
    times = [row[index] for row in rows]
    time = quote(table.time_column)
    cursor.execute(
        f"SELECT NOT EXISTS (SELECT 1 FROM {quote(table.name)} WHERE global_device_id = ANY(%s) "
        f"AND {time} >= %s::timestamptz AND {time} <= %s::timestamptz)",
        [device_ids, min(times), max(times)],
    )
    return cursor.fetchone()[0]


@cache
def copy_target_sql(table: WarehouseTable) -> str:
    columns = ", ".join(quote(column) for column in table.data_columns)
    return f"COPY {quote(table.name)} ({columns}, mdc_id) FROM STDIN (NULL '')"


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: Sequence[TextRow], suffix: str = "") -> str:
    """COPY text (format text, ``NULL ''``) of ``rows``, each line ending with ``suffix``
    (more tab-separated columns) and a newline."""
    end = f"{suffix}\n"
    try:
        text = end.join(map("\t".join, rows))
    except TypeError:  # None for NULL (text_row rows)
        rows = [["" if v is None else v for v in row] for row in rows]
        text = end.join(map("\t".join, rows))
    text += end
    if "\\" not in text and "\r" not in text and rows:
        columns = len(rows[0]) + suffix.count("\t")
        if text.count("\n") == len(rows) and text.count("\t") == len(rows) * (columns - 1):
            return text  # no value holds a special character: nothing to escape
    escaped = (
        [v if v.isprintable() and "\\" not in v else v.translate(_ESCAPES) for v in row]
        for row in rows
    )
    return end.join(map("\t".join, escaped)) + end


def _copy_into_target(cursor, table: WarehouseTable, mdc_id: int, rows: Sequence[TextRow]) -> None:
    if table.defaulted_key:  # channel_id absent is stored as 0
        at = table.data_columns.index(table.defaulted_key[0])
        if not all(row[at] for row in rows):
            rows = [row if row[at] else (*row[:at], "0", *row[at + 1 :]) for row in rows]
    text = _copy_text(rows, f"\t{mdc_id}")
    with cursor.copy(copy_target_sql(table)) as copy:
        copy.write(text)


def _copy_into_staging(cursor, table: WarehouseTable, rows: Sequence[TextRow]) -> None:
    text = _copy_text(rows)
    with cursor.copy(copy_sql(table)) as copy:
        copy.write(text)


def merge_text_rows(
    table: WarehouseTable,
    *,
    mdc_id: int,
    rows: Sequence[TextRow],
    time_range: tuple[datetime.datetime, datetime.datetime] | None = None,
) -> tuple[int, int]:
    """Stage and merge ``rows`` (text in ``table.data_columns`` order); returns (inserted,
    updated). ``time_range`` (start, end) covers the batch's rows for a partitioned table.
    Runs in the caller's transaction (``transaction.atomic``)."""
    if not rows:
        return 0, 0
    if not connection.in_atomic_block:
        raise RuntimeError("merge_text_rows must run inside transaction.atomic()")
    rows = rows_deduplicated(table, rows)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        if keys_all_new(cursor, table, rows):
            try:
                with transaction.atomic():
                    _copy_into_target(cursor, table, mdc_id, rows)
                return len(rows), 0
            except pg_errors.UniqueViolation:
                pass  # a concurrent load stored some of these keys first: merge instead
        cursor.execute(staging_create_sql(table))
        cursor.execute(f"TRUNCATE {quote(staging_name(table))}")
        _copy_into_staging(cursor, table, rows)
        cursor.execute(insert_sql(table), [mdc_id])
        inserted = cursor.rowcount
        if inserted == len(rows):
            return inserted, 0
        parameters = [mdc_id]
        if table.partitioned:
            parameters += list(time_range or (MIN_TIME, MAX_TIME))
        cursor.execute(update_sql(table), parameters)
        return inserted, cursor.rowcount
