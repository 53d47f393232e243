"""Tabular transport: a simulated MDC's tables in a PostgreSQL schema of its own.

For an MDC with ``transport="tabular"`` the six UDIL tables and TRANSACTION_STATUS live in the
schema ``sim_<code>`` of the project database, with the spec's field names (``"interval"``
quoted), the spec's keys as primary keys and an index on ``db_datetime``. Table names are the
spec's table ids in lower case: ``sim_<code>.load_profile_data``, ``sim_<code>.events``,
``sim_<code>.transaction_status`` ...

:func:`sim_tabular_sync` appends the rows the MDC has stored (``db_datetime``) since the last
sync up to ``until``, replaces METER_VISUALS and TRANSACTION_STATUS, and records the watermark
in ``SimMdc.tabular_synced_until``. The MDM reads these tables as views, by ``db_datetime``.
Connect with :func:`apps.simulator.services.tabular_dsn` (the project database) and
``search_path`` or qualified names.

``sim_tabular_sync(..., database_url=...)`` writes the same tables to another database
instead, a "vendor database" that is not the portal's own: an SQLite file
(``sqlite:///path``) or a MySQL/MariaDB database (``mysql+pymysql://``), through SQLAlchemy
Core with the engine's own types (:func:`vendor_tables`). A simulated MDC is written to one
place: ``tabular_synced_until`` is its watermark wherever that is.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from django.db import connection, transaction

from apps.simulator import generator as gen
from apps.simulator.models import SimMdc, SimMeter, SimTransaction
from apps.simulator.services import TRANSACTION_FIELDS, sim_transactions_advance, transaction_row
from apps.udil import engines
from apps.udil.datasets import DATASETS, TRANSACTION_STATUS, DataSet

SQL_TYPES = {
    "decimal": "numeric(18,3)",
    "int": "integer",
    "bigint": "bigint",
    "datetime": "timestamptz",
}
TABLES = {code: ds.table.lower() for code, ds in DATASETS.items()}
#: Rows arrive at most this long after their meter time (offline episodes are under 12 h).
MAX_LATENESS = 2 * gen.DAY


def _q(name: str) -> str:
    return f'"{name}"'


def _column(ds: DataSet, name: str) -> str:
    f = ds.field(name)
    sql = SQL_TYPES.get(f.kind) or ("text" if f.max_length is None else f"varchar({f.max_length})")
    null = " NOT NULL" if name in ds.key else ""
    return f"{_q(name)} {sql}{null}"


def table_ddl(mdc: SimMdc) -> list[str]:
    """CREATE statements of the MDC's schema (idempotent)."""
    schema = mdc.tabular_schema
    out = [f"CREATE SCHEMA IF NOT EXISTS {schema}"]
    for code, table in TABLES.items():
        ds = DATASETS[code]
        cols = [_column(ds, name) for name in gen.FIELDS[code]]
        key = ", ".join(_q(k) for k in ds.unique_key)
        out.append(
            f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({', '.join(cols)}, PRIMARY KEY ({key}))"
        )
        if "db_datetime" in gen.FIELDS[code]:
            out.append(
                f"CREATE INDEX IF NOT EXISTS {table}_db_datetime ON {schema}.{table} (db_datetime)"
            )
    cols = [_column(TRANSACTION_STATUS, n) for n in TRANSACTION_FIELDS]
    out.append(
        f"CREATE TABLE IF NOT EXISTS {schema}.transaction_status ({', '.join(cols)}, "
        f'PRIMARY KEY ("transactionid", "global_device_id"))'
    )
    return out


def sim_tabular_setup(*, mdc: SimMdc) -> None:
    with connection.cursor() as cursor:
        for statement in table_ddl(mdc):
            cursor.execute(statement)


def _copy(cursor, schema: str, table: str, fields: tuple[str, ...], kinds: list[str], rows) -> int:
    cols = ", ".join(_q(f) for f in fields)
    count = 0
    with cursor.copy(f"COPY {schema}.{table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    (None if v == "" else v + "+05:00" if kind == "datetime" else v)
                    for v, kind in zip(row, kinds, strict=True)
                ]
            )
            count += 1
    return count


def _copy_writer(cursor, schema: str):
    """Rows into the project database's schema with COPY (the PostgreSQL path)."""

    def replace(table: str) -> None:
        cursor.execute(f"DELETE FROM {schema}.{table}")

    def append(table: str, fields: tuple[str, ...], kinds: list[str], rows) -> int:
        return _copy(cursor, schema, table, fields, kinds, rows)

    return replace, append


_SA_TYPES = {
    "decimal": lambda f, key: sa.Numeric(18, 3),
    "int": lambda f, key: sa.Integer(),
    "bigint": lambda f, key: sa.BigInteger(),
    # the spec's local time, no zone: MySQL DATETIME, SQLite text 'yyyy-MM-dd HH:mm:ss'
    "datetime": lambda f, key: sa.DateTime(),
    # MySQL keys need a length: an unlimited text key is kept to 255 characters
    "str": lambda f, key: (
        sa.String(f.max_length) if f.max_length else sa.String(255) if key else sa.Text()
    ),
}


def vendor_tables() -> sa.MetaData:
    """The six UDIL tables and TRANSACTION_STATUS as SQLAlchemy tables (keys, db_datetime
    index), for any engine: each dialect renders its own types and quotes ``interval``."""
    metadata = sa.MetaData()
    layouts = [(table, DATASETS[code], gen.FIELDS[code]) for code, table in TABLES.items()]
    layouts.append(("transaction_status", TRANSACTION_STATUS, TRANSACTION_FIELDS))
    for table, ds, fields in layouts:
        key = ("transactionid", "global_device_id") if ds is TRANSACTION_STATUS else ds.unique_key
        columns = [
            sa.Column(
                # "interval" is reserved in most engines' SQL: always quoted (spec notes)
                sa.sql.quoted_name(name, quote=True) if name == "interval" else name,
                _SA_TYPES[ds.field(name).kind](ds.field(name), name in key),
                primary_key=name in key,
                autoincrement=False,
            )
            for name in fields
        ]
        t = sa.Table(table, metadata, *columns)
        if "db_datetime" in fields:
            sa.Index(f"{table}_db_datetime", t.c.db_datetime)
    return metadata


def _engine_writer(conn: sa.Connection, batch: int = 2000):
    """Rows into another engine's tables: executemany of plain text (each engine converts
    the spec's text to its column types; no offset, datetimes are local time)."""
    vendor_tables().create_all(conn)

    def replace(table: str) -> None:
        conn.execute(sa.table(table).delete())

    def append(table: str, fields: tuple[str, ...], kinds: list[str], rows) -> int:
        insert = sa.table(table, *(sa.column(f) for f in fields)).insert()
        count = 0
        chunk: list[dict] = []
        for row in rows:
            chunk.append({f: (None if v == "" else v) for f, v in zip(fields, row, strict=True)})
            if len(chunk) >= batch:
                conn.execute(insert, chunk)
                count, chunk = count + len(chunk), []
        if chunk:
            conn.execute(insert, chunk)
            count += len(chunk)
        return count

    return replace, append


@transaction.atomic
def sim_tabular_sync(
    *, mdc: SimMdc, until: dt.datetime | None = None, database_url: str | None = None
) -> dict[str, int]:
    """Append rows stored in (last sync, until] and refresh visuals and transaction status.

    Returns rows written per table. Idempotent for a given ``until``. ``database_url``: write
    to that database (SQLite, MySQL/MariaDB) instead of the schema in the project database.
    """
    until = (until or dt.datetime.now(tz=dt.UTC)).replace(microsecond=0)
    if database_url is None:
        sim_tabular_setup(mdc=mdc)
    sim_transactions_advance(mdc=mdc, now=until)
    mdc = SimMdc.objects.select_for_update().get(pk=mdc.pk)
    since = mdc.tabular_synced_until
    if since is not None and since >= until:
        return {}
    if database_url is None:
        with connection.cursor() as cursor:
            written = _sync_rows(mdc, since, until, *_copy_writer(cursor, mdc.tabular_schema))
    else:
        engine, _ = engines.open_engine(database_url, timeout=30, writable=True)
        try:
            with engine.begin() as conn:
                written = _sync_rows(mdc, since, until, *_engine_writer(conn))
        finally:
            engine.dispose()
    mdc.tabular_synced_until = until
    mdc.save(update_fields=["tabular_synced_until"])
    return written


def _sync_rows(mdc: SimMdc, since, until, replace, append) -> dict[str, int]:
    since_e = gen.epoch_of(since) if since else None
    until_e = gen.epoch_of(until)
    first_e = gen.epoch_of(mdc.history_start)
    meters = list(SimMeter.objects.filter(mdc=mdc))
    specs = [(m, gen.spec_of(m, mdc)) for m in meters]
    written: dict[str, int] = {}
    for code, table in TABLES.items():
        fields = gen.FIELDS[code]
        kinds = [DATASETS[code].field(f).kind for f in fields]
        if code == "meter_visuals":
            replace(table)
            rows = (gen.visuals_row(spec, m, until_e) for m, spec in specs)
            written[table] = append(table, fields, kinds, (r for r in rows if r))
            continue
        start = first_e if since_e is None else since_e - MAX_LATENESS
        db_idx = fields.index("db_datetime")
        func = gen.ROW_FUNCTIONS[code]

        since_text = gen.dt_text(since_e) if since_e is not None else ""

        def fresh(func=func, db_idx=db_idx, start=start, since_text=since_text):
            for _, spec in specs:
                for row in func(spec, start, until_e, until_e):
                    if row[db_idx] > since_text:
                        yield row

        written[table] = append(table, fields, kinds, fresh())
    replace("transaction_status")
    kinds = [TRANSACTION_STATUS.field(f).kind for f in TRANSACTION_FIELDS]
    rows = (
        tuple(transaction_row(r).values())
        for r in SimTransaction.objects.filter(mdc=mdc).order_by("id")
    )
    written["transaction_status"] = append("transaction_status", TRANSACTION_FIELDS, kinds, rows)
    return written
