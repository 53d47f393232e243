"""Reading a tabular MDC: the views it exposes (UDIL 3.1), by ``db_datetime``, in chunks.

The database URL's scheme picks the engine (SQL Server, MySQL/MariaDB, Oracle, PostgreSQL,
SQLite: :mod:`apps.udil.engines`, where their differences are data). One statement per pull
reads ``db_datetime > watermark`` in ``db_datetime`` order (then ``id`` where a UDIL 3.3 table
has one), ``chunk_rows`` rows at a time, through a server-side cursor or the driver's lazy
fetch, so memory stays bounded whatever the backlog. Values are turned into the protocol's
text in one place (``dbvalues.protocol_text``: datetimes ``yyyy-MM-dd HH:mm:ss`` in Pakistan
time), so rows arrive in the same shape as the API's and take the loader's fast path.

A chunk's ``complete_through`` is the latest ``db_datetime`` whose rows have all been read
(rows sharing the chunk's last ``db_datetime`` may continue in the next chunk), so a watermark
set to it never skips a row. Views without ``db_datetime`` (meter visuals: one current row per
device) are read whole on every pull.

UDIL 3.3 tables have an auto-increment ``id``: where the view has one (and ``db_datetime``), the
pull reads ``id > cursor`` in ``id`` order instead, and a chunk's ``cursor_id`` is its last id:
a row the MDC commits late with an older ``db_datetime`` still has a newer id, so no lookback
is needed and none is lost. ``SyncedMarker`` then sets ``is_synced = 1`` on the rows read, after
the MDM committed them, when the MDC's registration allows it (``Mdc.tabular_mark_synced``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from apps.registry.models import Mdc
from apps.udil import dbvalues, engines
from apps.udil.datasets import DataSet
from apps.udil.errors import MdcUnavailable
from apps.udil.profiles import get_profile

WATERMARK_COLUMN = engines.WATERMARK_COLUMN


class TabularConfigError(Exception):
    """The MDC's tabular settings do not say where to read a data set, or the view named
    there cannot be read as one."""


class TabularUnavailable(MdcUnavailable):
    """The MDC's database could not be reached, refused the login or is locked."""


SYNCED_COLUMN = "is_synced"


@dataclass
class TabularChunk:
    rows: list[dict[str, Any]]
    complete_through: dt.datetime | None
    #: pulls by id (UDIL 3.3): every row up to this id has been read; the ids of the chunk
    cursor_id: int | None = None
    ids: list[int] = field(default_factory=list)


def dataset_of(mdc: Mdc, dataset_code: str) -> DataSet:
    """The data set as the MDC's UDIL profile defines it (a 3.3 MDC's views have 3.3 columns)."""
    return get_profile(mdc.udil_profile).datasets[dataset_code]


def view_of(mdc: Mdc, dataset_code: str) -> str:
    table = dataset_of(mdc, dataset_code).table
    views = mdc.tabular_views or {}
    view = views.get(table) or views.get(dataset_code)
    if not view:
        raise TabularConfigError(f"MDC {mdc.code} names no view for {table} (tabular_views).")
    return view


def view_columns(conn: sa.Connection, view: str) -> list[tuple[str, Any]]:
    """The view's columns as the engine reports them, ``(name, driver type code)`` (no rows
    read)."""
    try:
        result = conn.execute(engines.probe_statement(view))
    except sa.exc.OperationalError as exc:
        if "no such table" not in str(exc):  # SQLite reports a missing table this way
            raise
        raise TabularConfigError(
            f"View {view} cannot be read: {engines.describe_error(exc)}"
        ) from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        raise TabularConfigError(
            f"View {view} cannot be read: {engines.describe_error(exc)}"
        ) from exc
    columns = [(d[0], d[1]) for d in result.cursor.description or ()]
    result.close()
    return columns


def tabular_chunks(
    mdc: Mdc,
    dataset_code: str,
    *,
    after: dt.datetime | None,
    device_ids: list[str],
    chunk_rows: int = 5000,
    after_id: int | None = None,
) -> Iterator[TabularChunk]:
    """Chunks of raw rows (field name -> text) of the data set's view, oldest first (by ``id``
    after ``after_id`` where the view has one, see the module's text)."""
    view = view_of(mdc, dataset_code)
    try:
        engine, dialect = engines.open_engine(mdc.tabular_database_url, timeout=mdc.timeout_seconds)
    except engines.EngineError as exc:
        raise TabularConfigError(str(exc)) from exc
    try:
        with engine.connect() as conn:
            yield from _read(
                conn,
                dialect,
                view,
                dataset_of(mdc, dataset_code),
                after,
                device_ids,
                chunk_rows,
                after_id,
            )
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DatabaseError) as exc:
        raise TabularUnavailable(f"{mdc.code}: {engines.describe_error(exc)}") from exc
    finally:
        engine.dispose()


def _read(
    conn: sa.Connection,
    dialect: engines.Dialect,
    view: str,
    dataset: DataSet,
    after: dt.datetime | None,
    device_ids: list[str],
    chunk_rows: int,
    after_id: int | None = None,
) -> Iterator[TabularChunk]:
    kinds = {name: field.kind for field in dataset.fields for name in (field.name, *field.aliases)}
    described = view_columns(conn, view)
    found = [name for name, _ in described]
    timed = {name for name, code in described if code in dialect.time_type_codes}
    matched = engines.match_columns(found, kinds)  # spec name -> column as the engine has it
    if "global_device_id" not in matched:
        raise TabularConfigError(f"View {view} has no global_device_id.")
    id_column = engines.match_columns(found, [engines.ID_COLUMN]).get(engines.ID_COLUMN)
    watermark = matched.get(WATERMARK_COLUMN)
    by_id = id_column is not None and watermark is not None
    names = list(matched)  # the row dict's keys, in the view's order
    columns = [matched[name] for name in names]
    converters = [dbvalues.converter(kinds[name]) for name in names]
    in_sql = dialect.max_in_list is None or len(device_ids) <= dialect.max_in_list
    stmt, params = engines.rows_statement(
        dialect,
        view,
        columns,
        device_column=matched["global_device_id"],
        device_ids=device_ids if in_sql else None,
        watermark_column=watermark,
        after=after,
        id_column=id_column if watermark is not None else None,
        time_columns=frozenset(timed),
        by_id=by_id,
        after_id=after_id,
    )
    # too many devices for one statement: the view's rows after the watermark are streamed
    # and the other devices' rows dropped here
    wanted = None if in_sql else frozenset(device_ids)
    device_at = names.index("global_device_id")
    width = len(names)
    options: dict[str, Any] = {"yield_per": chunk_rows} if dialect.stream_results else {}
    result = conn.execution_options(stream_results=dialect.stream_results, **options).execute(
        stmt, params
    )
    complete: dt.datetime | None = None
    group: Any = None
    try:
        for fetched in result.partitions(chunk_rows):
            kept = fetched if wanted is None else [r for r in fetched if r[device_at] in wanted]
            # strict=False: a record ends with the raw watermark, past the named columns
            if dialect.server_text:  # already wire text: the conversion is the identity
                rows = [dict(zip(names, record, strict=False)) for record in kept]
            else:
                rows = [
                    {
                        name: conv(value)
                        for name, conv, value in zip(names, converters, record, strict=False)
                    }
                    for record in kept
                ]
            if by_id:
                # ids are unique and read in order: every row up to the last one is read
                ids = [int(record[width + 1]) for record in kept]
                newest = max((r[width] for r in fetched if r[width] is not None), default=None)
                if newest is not None and (group is None or newest > group):
                    group = newest
                cursor = int(fetched[-1][width + 1]) if fetched else None
                yield TabularChunk(
                    rows, dbvalues.protocol_datetime(group), cursor_id=cursor, ids=ids
                )
                continue
            if watermark is not None:
                for record in fetched:
                    value = record[width]
                    if value != group:
                        complete, group = group, value
            yield TabularChunk(rows, dbvalues.protocol_datetime(complete))
        if watermark is not None and group is not None and not by_id:
            yield TabularChunk([], dbvalues.protocol_datetime(group))
    finally:
        result.close()


class SyncedMarker:
    """Sets ``is_synced = 1`` on rows of an MDC's view once the MDM committed them (UDIL 3.3),
    over a writable connection of its own (the pull's read stays open meanwhile)."""

    batch = 500

    def __init__(self, mdc: Mdc, dataset_code: str) -> None:
        self.view = view_of(mdc, dataset_code)
        self.mdc = mdc
        self.engine = None
        self.statement = None
        self.marked = 0

    def _open(self) -> None:
        engine, _ = engines.open_engine(
            self.mdc.tabular_database_url, timeout=self.mdc.timeout_seconds, writable=True
        )
        with engine.connect() as conn:
            found = [name for name, _ in view_columns(conn, self.view)]
        matched = engines.match_columns(found, [engines.ID_COLUMN, SYNCED_COLUMN])
        if len(matched) < 2:
            engine.dispose()
            raise TabularConfigError(
                f"View {self.view} has no {engines.ID_COLUMN} and {SYNCED_COLUMN} to mark."
            )
        self.engine = engine
        self.statement, self.param = engines.synced_statement(
            self.view, id_column=matched[engines.ID_COLUMN], synced_column=matched[SYNCED_COLUMN]
        )

    def mark(self, ids: list[int]) -> int:
        """Mark these rows synced (committed at once); returns how many ids were sent."""
        if not ids:
            return 0
        if self.engine is None:
            self._open()
        try:
            with self.engine.begin() as conn:
                for start in range(0, len(ids), self.batch):
                    conn.execute(self.statement, {self.param: ids[start : start + self.batch]})
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DatabaseError) as exc:
            raise TabularUnavailable(
                f"{self.mdc.code}: marking rows synced: {engines.describe_error(exc)}"
            ) from exc
        self.marked += len(ids)
        return len(ids)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
