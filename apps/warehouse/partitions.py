"""Monthly partitions of the warehouse tables.

A partition holds one calendar month of meter time in Pakistan Standard Time
(``warehouse_load_profile_p202511``); the DEFAULT partition catches anything else (a meter whose
clock says 2099), so no row is ever refused for its date. Creating a month whose rows already sit
in the DEFAULT partition moves them into the new partition (create, move, attach), which is also
how ``default_partitions_drain`` tidies up.

Creation is serialised with an advisory lock and checks again under it, so two workers (or a
task run twice) never race. Loads ask only for the months they touch; a process-wide set remembers
partitions known to exist once the transaction that saw them commits.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from apps.warehouse.schema import PARTITIONED_TABLES, WarehouseTable, quote

PKT = ZoneInfo("Asia/Karachi")
#: A load creates partitions for months this far back from today; older rows wait in DEFAULT
#: (a wrong meter clock must not create a partition for 1970).
AUTO_CREATE_MONTHS_BACK = 36
#: ... and this far ahead (a clock a little fast); further ahead waits in DEFAULT.
AUTO_CREATE_MONTHS_AHEAD = 3
_ADVISORY_LOCK_KEY = 0x57A2E4  # "warehouse partitions"

_known_partitions: set[str] = set()


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: datetime.date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2025-11"`` (the first 7 characters of a wire datetime) -> Month."""
        return cls(int(text[:4]), int(text[5:7]))

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime(self.year, self.month, 1, tzinfo=PKT)

    @property
    def end(self) -> datetime.datetime:
        return self.plus(1).start

    @property
    def suffix(self) -> str:
        return f"p{self.year:04d}{self.month:02d}"


def partition_name(table: WarehouseTable, month: Month) -> str:
    return f"{table.name}_{month.suffix}"


def months_between(first: Month, last: Month) -> list[Month]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month.plus(1)
    return months


def auto_create_window(today: datetime.date) -> tuple[Month, Month]:
    this_month = Month.of(today)
    return this_month.plus(-AUTO_CREATE_MONTHS_BACK), this_month.plus(AUTO_CREATE_MONTHS_AHEAD)


def _existing(names: Iterable[str]) -> set[str]:
    names = list(names)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('r', 'p') "
            "AND relnamespace = current_schema()::regnamespace",
            [names],
        )
        return {name for (name,) in cursor.fetchall()}


def _remember_after_commit(names: set[str]) -> None:
    transaction.on_commit(lambda: _known_partitions.update(names))


def _default_has_rows(cursor, table: WarehouseTable, month: Month) -> bool:
    time = quote(table.time_column)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {quote(table.default_partition)} "
        f"WHERE {time} >= %s AND {time} < %s)",
        [month.start, month.end],
    )
    return cursor.fetchone()[0]


def _create_partition(cursor, table: WarehouseTable, month: Month) -> int:
    """Create one month's partition; returns how many rows moved in from DEFAULT."""
    name, parent = quote(partition_name(table, month)), quote(table.name)
    bounds = "FOR VALUES FROM (%s) TO (%s)"
    if not _default_has_rows(cursor, table, month):
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {parent} {bounds}", [month.start, month.end]
        )
        return 0
    time = quote(table.time_column)
    cursor.execute(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {quote(table.default_partition)} "
        f"WHERE {time} >= %s AND {time} < %s RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        [month.start, month.end],
    )
    moved = cursor.rowcount
    cursor.execute(
        f"ALTER TABLE {parent} ATTACH PARTITION {name} {bounds}", [month.start, month.end]
    )
    return moved


def partitions_create(tables: Iterable[WarehouseTable], months: Iterable[Month]) -> list[str]:
    """Create the missing partitions of ``tables`` for ``months``; returns the names created."""
    wanted = {partition_name(t, m): (t, m) for t in tables for m in months}
    if not wanted or wanted.keys() <= _known_partitions:
        return []
    missing = set(wanted) - _existing(wanted)
    created = []
    if missing:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
            for name in sorted(missing - _existing(missing)):
                _create_partition(cursor, *wanted[name])
                created.append(name)
    _remember_after_commit(set(wanted))
    return created


def partitions_for_load(table: WarehouseTable, month_texts: Iterable[str]) -> list[str]:
    """The cheap check before a load: create this table's partitions for the months a batch
    touches (``"2025-11"`` texts), within the auto-create window; others go to DEFAULT."""
    months = {Month.parse(text) for text in month_texts if text and text[:4].isdigit()}
    first, last = auto_create_window(today_pkt())
    return partitions_create([table], [m for m in months if first <= m <= last])


def tables_exist() -> bool:
    return bool(_existing([t.name for t in PARTITIONED_TABLES]))


def default_partition_months(table: WarehouseTable) -> list[Month]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT to_char({quote(table.time_column)} AT TIME ZONE 'Asia/Karachi', "
            f"'YYYY-MM') FROM {quote(table.default_partition)}"
        )
        return sorted(Month.parse(text) for (text,) in cursor.fetchall())


def default_partition_row_count(table: WarehouseTable) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(table.default_partition)}")
        return cursor.fetchone()[0]


def today_pkt() -> datetime.date:
    return datetime.datetime.now(PKT).date()
