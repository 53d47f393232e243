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
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from apps.simulator import generator as gen
from apps.simulator.models import SimMdc, SimMeter, SimTransaction
from apps.simulator.services import TRANSACTION_FIELDS, sim_transactions_advance, transaction_row
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


@transaction.atomic
def sim_tabular_sync(*, mdc: SimMdc, until: dt.datetime | None = None) -> dict[str, int]:
    """Append rows stored in (last sync, until] and refresh visuals and transaction status.

    Returns rows written per table. Idempotent for a given ``until``.
    """
    until = (until or dt.datetime.now(tz=dt.UTC)).replace(microsecond=0)
    sim_tabular_setup(mdc=mdc)
    sim_transactions_advance(mdc=mdc, now=until)
    mdc = SimMdc.objects.select_for_update().get(pk=mdc.pk)
    since = mdc.tabular_synced_until
    if since is not None and since >= until:
        return {}
    since_e = gen.epoch_of(since) if since else None
    until_e = gen.epoch_of(until)
    first_e = gen.epoch_of(mdc.history_start)
    meters = list(SimMeter.objects.filter(mdc=mdc))
    specs = [(m, gen.spec_of(m, mdc)) for m in meters]
    schema = mdc.tabular_schema
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        for code, table in TABLES.items():
            fields = gen.FIELDS[code]
            kinds = [DATASETS[code].field(f).kind for f in fields]
            if code == "meter_visuals":
                cursor.execute(f"DELETE FROM {schema}.{table}")
                rows = (gen.visuals_row(spec, m, until_e) for m, spec in specs)
                written[table] = _copy(cursor, schema, table, fields, kinds, (r for r in rows if r))
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

            written[table] = _copy(cursor, schema, table, fields, kinds, fresh())
        cursor.execute(f"DELETE FROM {schema}.transaction_status")
        kinds = [TRANSACTION_STATUS.field(f).kind for f in TRANSACTION_FIELDS]
        rows = (
            tuple(transaction_row(r).values())
            for r in SimTransaction.objects.filter(mdc=mdc).order_by("id")
        )
        written["transaction_status"] = _copy(
            cursor, schema, "transaction_status", TRANSACTION_FIELDS, kinds, rows
        )
    mdc.tabular_synced_until = until
    mdc.save(update_fields=["tabular_synced_until"])
    return written
