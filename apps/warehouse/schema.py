"""The warehouse tables, derived from the UDIL data set definitions (``apps.udil.datasets``).

One table per data set. Time-series tables are RANGE-partitioned by month on the meter time,
keyed by the spec's composite key, and carry two bookkeeping columns: ``mdc_id`` (which head end
delivered the row; no foreign key, so loads never wait on the registry) and ``ingested_at``.
Meter visuals keep one latest-state row per device.

The migrations freeze the DDL these definitions produced; the loader builds its staging tables
and merge statements from them at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from apps.udil.datasets import DATASETS, DataSet, Field

SQL_TYPES = {
    "decimal": "numeric(18,3)",
    "int": "integer",
    "bigint": "bigint",
    "datetime": "timestamptz",
}
BOOKKEEPING_COLUMNS = ("mdc_id", "ingested_at")


def quote(name: str) -> str:
    """A quoted SQL identifier (``interval`` is a reserved word)."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(field: Field) -> str:
    if field.kind == "str":
        return "text" if field.max_length is None else f"varchar({field.max_length})"
    return SQL_TYPES[field.kind]


@dataclass(frozen=True, eq=False)
class WarehouseTable:
    """Where one data set is stored and how its rows are identified.

    ``key``: the conflict target (primary key), the data set's ``unique_key``.
    ``defaulted_key``: key columns that may be absent on the wire and are stored as 0 so they
    can be part of the key (the data set's ``extra_key``: load profile ``channel_id``).
    ``freshness_columns``: datetimes whose greatest value says which copy of a row is newer.
    """

    dataset: DataSet
    name: str
    partitioned: bool
    freshness_columns: tuple[str, ...] = ("db_datetime",)
    brin_on_time: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        return self.dataset.unique_key

    @property
    def defaulted_key(self) -> tuple[str, ...]:
        return self.dataset.extra_key

    @property
    def code(self) -> str:
        return self.dataset.code

    @property
    def time_column(self) -> str | None:
        return self.dataset.time_field

    @cached_property
    def data_columns(self) -> tuple[str, ...]:
        return self.dataset.field_names

    @cached_property
    def value_columns(self) -> tuple[str, ...]:
        """Data columns outside the key: the ones an update may change."""
        return tuple(column for column in self.data_columns if column not in self.key)

    @property
    def default_partition(self) -> str:
        return f"{self.name}_default"

    def column_sql(self, field: Field) -> str:
        sql = f"{quote(field.name)} {sql_type(field)}"
        if field.name in self.defaulted_key:
            return f"{sql} NOT NULL DEFAULT 0"
        if field.name in self.key:
            return f"{sql} NOT NULL"
        return sql

    def create_sql(self) -> str:
        columns = [self.column_sql(field) for field in self.dataset.fields]
        columns += ["mdc_id integer NOT NULL", "ingested_at timestamptz NOT NULL DEFAULT now()"]
        key = ", ".join(quote(column) for column in self.key)
        columns.append(f"CONSTRAINT {quote(self.name + '_pkey')} PRIMARY KEY ({key})")
        body = ",\n  ".join(columns)
        partitioning = ""
        if self.partitioned:
            partitioning = f" PARTITION BY RANGE ({quote(self.time_column)})"
        statements = [f"CREATE TABLE {quote(self.name)} (\n  {body}\n){partitioning};"]
        if self.partitioned:
            statements.append(
                f"CREATE TABLE {quote(self.default_partition)} PARTITION OF {quote(self.name)} "
                "DEFAULT;"
            )
        statements += self.index_sql()
        return "\n".join(statements)

    def index_sql(self) -> list[str]:
        table = quote(self.name)
        if not self.partitioned:
            return [f"CREATE INDEX {quote(self.name + '_mdc_idx')} ON {table} (mdc_id);"]
        statements = [
            # Watermark of incremental pulls: max(db_datetime) per MDC.
            f"CREATE INDEX {quote(self.name + '_mdc_db_datetime_idx')} "
            f"ON {table} (mdc_id, db_datetime);"
        ]
        if self.brin_on_time:
            statements.append(
                f"CREATE INDEX {quote(self.name + '_time_brin')} "
                f"ON {table} USING brin ({quote(self.time_column)});"
            )
        return statements

    def drop_sql(self) -> str:
        return f"DROP TABLE IF EXISTS {quote(self.name)} CASCADE;"


_VISUALS = DATASETS["meter_visuals"]

TABLES: dict[str, WarehouseTable] = {
    table.code: table
    for table in (
        WarehouseTable(
            DATASETS["instantaneous"],
            "warehouse_instantaneous",
            partitioned=True,
        ),
        WarehouseTable(
            DATASETS["billing"],
            "warehouse_billing",
            partitioned=True,
        ),
        WarehouseTable(
            DATASETS["monthly_billing"],
            "warehouse_monthly_billing",
            partitioned=True,
        ),
        WarehouseTable(
            DATASETS["load_profile"],
            "warehouse_load_profile",
            partitioned=True,
            brin_on_time=True,
        ),
        WarehouseTable(
            DATASETS["events"],
            "warehouse_event",
            partitioned=True,
        ),
        WarehouseTable(
            _VISUALS,
            "warehouse_meter_visuals",
            partitioned=False,
            # No db_datetime: the latest of the row's own datetimes says how fresh it is.
            freshness_columns=tuple(f.name for f in _VISUALS.fields if f.kind == "datetime"),
        ),
    )
}

PARTITIONED_TABLES = tuple(table for table in TABLES.values() if table.partitioned)


def table_for(dataset_code: str) -> WarehouseTable:
    try:
        return TABLES[dataset_code]
    except KeyError:
        raise ValueError(
            f"unknown data set {dataset_code!r}; expected one of {', '.join(TABLES)}"
        ) from None
