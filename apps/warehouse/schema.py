"""The warehouse tables, derived from the UDIL data set definitions (``apps.udil.datasets``).

One table per data set, holding the union of the columns of every profile's definition of it
(2019 and 3.3: :func:`stored_dataset`); rows of one profile are loaded through a *view* of the
table (:meth:`WarehouseTable.view`) that names only that profile's columns, so a 2019 delivery
leaves the 3.3 columns alone. Time-series tables are RANGE-partitioned by month on the meter time,
keyed by the spec's composite key, and carry two bookkeeping columns: ``mdc_id`` (which head end
delivered the row; no foreign key, so loads never wait on the registry) and ``ingested_at``.
Meter visuals keep one latest-state row per device.

The migrations freeze the DDL these definitions produced; the loader builds its staging tables
and merge statements from them at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from apps.udil.datasets import DATASETS, DataSet, Field
from apps.udil.datasets_v33 import DATASETS_3_3

#: Every definition of each data set, the 2019 one first (the profiles' data sets).
VARIANTS: dict[str, tuple[DataSet, ...]] = {}
for _ds in (*DATASETS.values(), *DATASETS_3_3.values()):
    VARIANTS.setdefault(_ds.code, ())
    VARIANTS[_ds.code] += (_ds,)


def stored_dataset(code: str) -> DataSet:
    """The data set as the warehouse stores it: the first definition's columns, then the
    columns later ones add (by stored column: a 3.3 load profile's ``active_energy_pos_tl`` is
    the column ``active_energy_tl``), in the order they add them."""
    first, *others = VARIANTS[code]
    fields = [replace(f, name=f.stored_as, column="", aliases=()) for f in first.fields]
    names = {f.name for f in fields}
    for ds in others:
        for f in ds.fields:
            if f.stored_as not in names:
                names.add(f.stored_as)
                fields.append(replace(f, name=f.stored_as, column="", aliases=()))
    return replace(first, fields=tuple(fields))


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
    #: Suffix of the loader's staging table of a view ("" for the stored table).
    stage_suffix: str = ""
    _views: dict = field(default_factory=dict, repr=False, compare=False)

    def view(self, dataset: DataSet) -> WarehouseTable:
        """This table as rows of ``dataset`` (one profile's definition) are loaded into it:
        its columns are that definition's stored columns, a subset of the table's."""
        if dataset is self.dataset:
            return self
        view = self._views.get(id(dataset))
        if view is None:
            missing = {f.stored_as for f in dataset.fields} - set(self.data_columns)
            if missing or dataset.code != self.code:
                raise ValueError(f"{self.name} has no columns {sorted(missing)}")
            view = replace(self, dataset=dataset, stage_suffix=f"_{len(self._views) + 1}")
            self._views[id(dataset)] = view
        return view

    def view_of_width(self, width: int) -> WarehouseTable:
        """The view whose rows have ``width`` values (rows split by one profile's definition:
        the definitions of a data set differ in length)."""
        for dataset in VARIANTS.get(self.code, ()):
            if len(dataset.fields) == width:
                return self.view(dataset)
        raise ValueError(f"no definition of {self.code} has {width} fields")

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
        return tuple(f.stored_as for f in self.dataset.fields)

    @cached_property
    def value_columns(self) -> tuple[str, ...]:
        """Data columns outside the key: the ones an update may change."""
        return tuple(column for column in self.data_columns if column not in self.key)

    @property
    def default_partition(self) -> str:
        return f"{self.name}_default"

    def column_sql(self, field: Field) -> str:
        sql = f"{quote(field.stored_as)} {sql_type(field)}"
        if field.stored_as in self.defaulted_key:
            return f"{sql} NOT NULL DEFAULT 0"
        if field.stored_as in self.key:
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
        statements.append(self.ingested_index_sql())
        return statements

    def ingested_index_sql(self) -> str:
        """What a run stored or changed, found by ``ingested_at`` (the roll-ups and VEE after a
        pull). Rows are appended in the order they are ingested, so a BRIN index fits, and costs
        the loader next to nothing; without it the query read every row of the MDC in the
        partitions within the refill age (1.6-3.4 s at 50 million rows, 1-3 ms with it)."""
        return (
            f"CREATE INDEX {quote(self.name + '_ingested_brin')} "
            f"ON {quote(self.name)} USING brin (ingested_at);"
        )

    def drop_sql(self) -> str:
        return f"DROP TABLE IF EXISTS {quote(self.name)} CASCADE;"

    def add_columns_sql(self, since: DataSet) -> tuple[str, str]:
        """(ALTER TABLE adding the columns ``since`` lacks, the reverse): on a partitioned
        parent it reaches every partition."""
        old = {f.stored_as for f in since.fields}
        new = [f for f in self.dataset.fields if f.stored_as not in old]
        if not new:
            return "", ""
        table = quote(self.name)
        add = ",\n  ".join(f"ADD COLUMN {self.column_sql(f)}" for f in new)
        drop = ",\n  ".join(f"DROP COLUMN {quote(f.stored_as)}" for f in new)
        return f"ALTER TABLE {table}\n  {add};", f"ALTER TABLE {table}\n  {drop};"


_VISUALS = DATASETS["meter_visuals"]
#: Table name of each data set ("events" is stored in warehouse_event).
TABLE_NAMES = {"events": "warehouse_event"}

TABLES: dict[str, WarehouseTable] = {
    code: WarehouseTable(
        stored_dataset(code),
        TABLE_NAMES.get(code, f"warehouse_{code}"),
        partitioned=variants[0].time_field is not None,
        brin_on_time=code == "load_profile",
        # No db_datetime in meter visuals: the latest of the row's own datetimes says how fresh
        # it is.
        freshness_columns=(
            tuple(f.name for f in _VISUALS.fields if f.kind == "datetime")
            if code == "meter_visuals"
            else ("db_datetime",)
        ),
    )
    for code, variants in VARIANTS.items()
}

PARTITIONED_TABLES = tuple(table for table in TABLES.values() if table.partitioned)


def table_for(dataset_code: str) -> WarehouseTable:
    try:
        return TABLES[dataset_code]
    except KeyError:
        raise ValueError(
            f"unknown data set {dataset_code!r}; expected one of {', '.join(TABLES)}"
        ) from None
