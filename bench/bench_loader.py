"""Benchmark of the warehouse loader against raw COPY (the ceiling) and Django bulk_create.

    MDM_DATA_DIR=/tmp/var-warehouse .venv/bin/python bench/bench_loader.py --rows 200000

Generates N valid load-profile rows as the wire delivers them (dicts of strings), in a database
of its own (created and dropped here), then measures in one run:

a. raw COPY of the same rows from a local file into the partitioned table (the ceiling);
b. ``rows_load`` end to end from the raw dicts (validation, COPY to staging, merge);
c. ``rows_load`` of the same rows again (must insert and update nothing);
d. a naive Django ``bulk_create`` of the same rows (decode_row -> model -> bulk_create).

Prints rows/s, the ratios rows_load/COPY and rows_load/bulk_create, and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

BENCH_DATABASE = "mdm_bench_warehouse"
INTERVALS_PER_DAY = 48  # 30-minute load profile
DAYS = 7


def bench_database_url() -> tuple[str, str]:
    """(admin URL, bench URL) on the configured server (embedded under MDM_DATA_DIR if none)."""
    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_recreate(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")


def database_drop(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_rows_generate(count: int, first_day: datetime.date) -> list[dict[str, str]]:
    """``count`` valid load-profile rows: meters x 48 half-hours x 7 days from ``first_day``."""
    from apps.udil.datasets import LOAD_PROFILE

    names = [f.name for f in LOAD_PROFILE.fields if f.kind == "decimal"]
    pool = [f"{(i * 7919) % 100000 / 1000:.3f}" for i in range(4096)]  # shared strings
    per_meter = INTERVALS_PER_DAY * DAYS
    start = datetime.datetime.combine(first_day, datetime.time())
    times = [
        (start + datetime.timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M:%S")
        for i in range(per_meter + 1)
    ]
    rows = []
    for n in range(count):
        meter, slot = divmod(n, per_meter)
        row = {name: pool[(n * 31 + k * 17) % 4096] for k, name in enumerate(names)}
        row.update(
            msn=str(4000000000 + meter),
            global_device_id=f"m{meter:08d}",
            meter_datetime=times[slot],
            channel_id="",
            interval="30",
            mdc_read_datetime=times[slot + 1],
            db_datetime=times[slot + 1],
        )
        rows.append(row)
    return rows


def copy_file_write(rows, path: Path) -> None:
    """The rows in COPY text format, as the target table stores them (+ mdc_id, ingested_at)."""
    from apps.udil.datasets import LOAD_PROFILE

    channel = LOAD_PROFILE.field_names.index("channel_id")
    now = datetime.datetime.now(datetime.UTC).isoformat(sep=" ")
    with path.open("w") as out:
        for raw in rows:
            values = list(LOAD_PROFILE.text_row(raw))
            values[channel] = values[channel] or "0"
            values += ["1", now]
            out.write("\t".join("\\N" if v is None else v for v in values) + "\n")


def table_truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE warehouse_load_profile")


def timed(label: str, function, rows: int, *, repeat: int = 1, before=None) -> float:
    """Best of ``repeat`` runs (the machine may be shared); ``before`` resets state untimed."""
    seconds = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        result = function()
        seconds = min(seconds, time.perf_counter() - started)
    print(
        f"{label:<44} {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s   "
        f"peak RSS {peak_rss_mb():7.0f} MB   {result if result is not None else ''}"
    )
    return rows / seconds


def copy_ceiling(path: Path) -> None:
    from django.db import connection, transaction

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.schema import quote

    columns = ", ".join(quote(c) for c in (*LOAD_PROFILE.field_names, "mdc_id", "ingested_at"))
    sql = f"COPY warehouse_load_profile ({columns}) FROM STDIN"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        path.open("rb") as source,
        cursor.cursor.copy(sql) as copy,
    ):
        while block := source.read(1 << 20):
            copy.write(block)


def bulk_create_baseline(rows) -> int:
    from django.db import transaction
    from django.utils import timezone

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.models import LoadProfileReading

    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(rows), 2000):
            readings = []
            for raw in rows[start : start + 2000]:
                values = LOAD_PROFILE.decode_row(raw)
                values["channel_id"] = values["channel_id"] or 0
                readings.append(LoadProfileReading(**values, mdc_id=1, ingested_at=now))
            LoadProfileReading.objects.bulk_create(readings)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--baseline-rows", type=int, default=20_000, help="rows for the slow bulk_create baseline"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs for a and b")
    parser.add_argument("--keep-database", action="store_true")
    arguments = parser.parse_args()
    count = arguments.rows

    admin_url, bench_url = bench_database_url()
    database_recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.partitions import today_pkt
    from apps.warehouse.services import partitions_ensure, rows_load, rows_load_text

    try:
        call_command("migrate", verbosity=0)
        first_day = today_pkt().replace(day=1) - datetime.timedelta(days=3)  # spans two months
        partitions_ensure(start=first_day, months_ahead=2)
        print(f"generating {count:,} load-profile rows ...", flush=True)
        rows = raw_rows_generate(count, first_day)
        print(f"peak RSS after generating: {peak_rss_mb():.0f} MB\n")
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "load_profile.copy"
            copy_file_write(rows, path)
            copy_rate = timed(
                "a. raw COPY from file (ceiling)",
                lambda: copy_ceiling(path),
                count,
                repeat=arguments.repeat,
                before=table_truncate,
            )
        good: list = []
        timed(
            "   split_rows alone (validation)",
            lambda: good.extend(LOAD_PROFILE.split_rows(rows)[0]),
            count,
        )
        timed(
            "   rows_load_text alone (COPY + merge)",
            lambda: rows_load_text(
                dataset_code="load_profile", mdc_id=1, text_rows=good, source="bench"
            ),
            count,
            before=table_truncate,
        )
        good.clear()

        def load():
            return rows_load(dataset_code="load_profile", mdc_id=1, raw_rows=rows, source="bench")

        load_rate = timed(
            "b. rows_load end to end", load, count, repeat=arguments.repeat, before=table_truncate
        )
        reload_rate = timed("c. rows_load again (same rows)", load, count)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM warehouse_load_profile")
            assert cursor.fetchone()[0] == count, "rows_load lost rows"
        baseline = rows[: arguments.baseline_rows]
        bulk_rate = timed(
            f"d. Django bulk_create (naive, {len(baseline):,} rows)",
            lambda: bulk_create_baseline(baseline),
            len(baseline),
            before=table_truncate,
        )
        print()
        print(f"rows_load / raw COPY      = {load_rate / copy_rate:6.2f}   (target >= 0.50)")
        print(f"rows_load / bulk_create   = {load_rate / bulk_rate:6.2f}   (target >= 10)")
        print(f"re-load / rows_load       = {reload_rate / load_rate:6.2f}")
        print(f"peak RSS                  = {peak_rss_mb():.0f} MB")
    finally:
        connection.close()
        if not arguments.keep_database:
            database_drop(admin_url)


if __name__ == "__main__":
    main()
