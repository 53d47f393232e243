"""Reading a tabular MDC: the views it exposes (UDIL 3.1), by ``db_datetime``, in chunks.

One server-side cursor per pull reads ``db_datetime > watermark`` in ``db_datetime`` order,
``chunk_rows`` rows at a time, so memory stays bounded whatever the backlog. Columns are cast
to text in the MDC's database (datetimes in Pakistan time, ``yyyy-MM-dd HH:mm:ss``), so rows
arrive in the same shape as the API's and take the loader's fast path.

A chunk's ``complete_through`` is the latest ``db_datetime`` whose rows have all been read
(rows sharing the chunk's last ``db_datetime`` may continue in the next chunk), so a watermark
set to it never skips a row. Views without ``db_datetime`` (meter visuals: one current row per
device) are read whole on every pull.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from apps.registry.models import Mdc
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT

WATERMARK_COLUMN = "db_datetime"
_TIME_OIDS = frozenset({1082, 1114, 1184})  # date, timestamp, timestamptz
_CURSOR_NAME = "mdm_ingestion_pull"


class TabularConfigError(Exception):
    """The MDC's tabular settings do not say where to read a data set."""


@dataclass
class TabularChunk:
    rows: list[dict[str, Any]]
    complete_through: dt.datetime | None


def view_of(mdc: Mdc, dataset_code: str) -> str:
    table = DATASETS[dataset_code].table
    views = mdc.tabular_views or {}
    view = views.get(table) or views.get(dataset_code)
    if not view:
        raise TabularConfigError(f"MDC {mdc.code} names no view for {table} (tabular_views).")
    return view


def _identifier(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=PKT) if value.tzinfo is None else value


def tabular_chunks(
    mdc: Mdc,
    dataset_code: str,
    *,
    after: dt.datetime | None,
    device_ids: list[str],
    chunk_rows: int = 5000,
) -> Iterator[TabularChunk]:
    """Chunks of raw rows (field name -> text) of the data set's view, oldest first."""
    dataset = DATASETS[dataset_code]
    view = _identifier(view_of(mdc, dataset_code))
    wanted = {name for field in dataset.fields for name in (field.name, *field.aliases)}
    with psycopg.connect(
        mdc.tabular_database_url, connect_timeout=mdc.timeout_seconds, autocommit=False
    ) as conn:
        conn.execute("SET TIME ZONE 'Asia/Karachi'")
        conn.execute("SET TRANSACTION READ ONLY")
        with conn.cursor() as probe:
            probe.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(view))
            columns = [(col.name, col.type_code) for col in probe.description or ()]
        names = [name for name, _ in columns if name in wanted]
        if "global_device_id" not in names:
            raise TabularConfigError(f"View {view_of(mdc, dataset_code)} has no global_device_id.")
        incremental = any(name == WATERMARK_COLUMN for name, _ in columns)
        selected = []
        for name, oid in columns:
            if name not in wanted:
                continue
            column = sql.Identifier(name)
            if oid in _TIME_OIDS:
                selected.append(sql.SQL("to_char({}, 'YYYY-MM-DD HH24:MI:SS')").format(column))
            else:
                selected.append(sql.SQL("{}::text").format(column))
        conditions = [sql.SQL("global_device_id = ANY(%s)")]
        params: list[Any] = [device_ids]
        order = sql.SQL("")
        if incremental:
            selected.append(sql.Identifier(WATERMARK_COLUMN))
            conditions.append(sql.SQL("{} IS NOT NULL").format(sql.Identifier(WATERMARK_COLUMN)))
            if after is not None:
                conditions.append(sql.SQL("{} > %s").format(sql.Identifier(WATERMARK_COLUMN)))
                params.append(after)
            order = sql.SQL(" ORDER BY {}").format(sql.Identifier(WATERMARK_COLUMN))
        query = sql.SQL("SELECT {} FROM {} WHERE {}{}").format(
            sql.SQL(", ").join(selected), view, sql.SQL(" AND ").join(conditions), order
        )
        width = len(names)
        with conn.cursor(name=_CURSOR_NAME) as cursor:
            cursor.itersize = chunk_rows
            cursor.execute(query, params)
            complete: dt.datetime | None = None
            group: dt.datetime | None = None
            while True:
                fetched = cursor.fetchmany(chunk_rows)
                if not fetched:
                    break
                rows = [dict(zip(names, record[:width], strict=True)) for record in fetched]
                if incremental:
                    for record in fetched:
                        value = record[width]
                        if value != group:
                            complete, group = group, value
                yield TabularChunk(rows, _aware(complete) if complete is not None else None)
            if incremental and group is not None:
                yield TabularChunk([], _aware(group))
