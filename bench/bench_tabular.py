"""Benchmark of tabular pulls per engine against the PostgreSQL path, in the same run.

    MDM_DATA_DIR=/tmp/bench .venv/bin/python bench/bench_tabular.py --meters 100 --days 7

One simulated fleet per engine (same size, same seed) writes its UDIL tables to a vendor
database: a PostgreSQL schema (the path the project had), an SQLite file and a MariaDB
database (a server started here on a unix socket, installed from Debian's package if missing;
``--engines`` leaves it out). A registry MDC per engine then pulls its load profile:

a. the reader alone (``tabular_chunks``: the engine, its driver, the conversion to wire text);
b. the pull end to end (reader, validation, COPY to staging, merge into the warehouse);
c. the re-pull (nothing new after the watermark).

Prints rows/s per engine and each engine's ratio to the PostgreSQL path, and peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
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

BENCH_DATABASE = "mdm_bench_tabular"
DATASET = "load_profile"


def bench_database_url() -> tuple[str, str]:
    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_recreate(admin_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fleet_create(engine: str, url: str | None, *, meters: int, days: int, now: dt.datetime):
    """A simulated MDC writing its tables to ``url`` (None: its schema in the project
    database), and the registry MDC with the same meters reading them."""
    from apps.registry.models import Meter
    from apps.registry.services import mdc_register
    from apps.simulator.services import sim_mdc_create, tabular_dsn
    from apps.simulator.tabular import TABLES, sim_tabular_sync
    from apps.udil.datasets import DATASETS

    sim, sim_meters = sim_mdc_create(
        code=f"bench_{engine}",
        transport="tabular",
        meters=meters,
        days=days,
        seed=1,
        lp_interval=15,
        now=now,
        offline_rate=0.0,
        gap_rate=0.0,
        failure_rate=0.0,
        command_pace_seconds=0.0,
    )
    started = time.perf_counter()
    written = sim_tabular_sync(mdc=sim, until=now, database_url=url)
    seconds = time.perf_counter() - started
    schema = f"{sim.tabular_schema}." if url is None else ""
    mdc = mdc_register(
        actor=None,
        code=f"bench-{engine}",
        name=f"Bench {engine}",
        transport="tabular",
        tabular_database_url=url or tabular_dsn(),
        tabular_views={DATASETS[c].table: f"{schema}{t}" for c, t in TABLES.items()},
        timeout_seconds=300,
        pull_intervals={},
    )
    Meter.objects.bulk_create(
        [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in sim_meters]
    )
    print(
        f"{engine:<11} vendor tables written: {written['load_profile_data']:,} load-profile "
        f"rows in {seconds:.1f} s",
        flush=True,
    )
    return mdc


def reader_only(mdc, chunk_rows: int) -> tuple[int, float]:
    from apps.ingestion.tabular import tabular_chunks

    ids = list(mdc.meters.values_list("global_device_id", flat=True))
    started = time.perf_counter()
    count = 0
    for chunk in tabular_chunks(mdc, DATASET, after=None, device_ids=ids, chunk_rows=chunk_rows):
        count += len(chunk.rows)
    return count, time.perf_counter() - started


def pull(mdc) -> tuple[int, float, object]:
    from apps.ingestion.services import pull_run

    started = time.perf_counter()
    run = pull_run(mdc_id=mdc.pk, dataset_code=DATASET)
    seconds = time.perf_counter() - started
    assert run.outcome == "succeeded", run.error
    return run.rows_received, seconds, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument(
        "--engines", default="postgresql,sqlite,mariadb", help="comma-separated, in order"
    )
    args = parser.parse_args()
    engines_wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "postgresql" not in engines_wanted:
        engines_wanted.insert(0, "postgresql")  # the baseline is always measured

    admin_url, bench_url = bench_database_url()
    database_recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from apps.udil.timefmt import PKT
    from apps.warehouse.services import partitions_ensure

    settings.INGESTION_TABULAR_CHUNK_ROWS = args.chunk_rows
    results: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        try:
            call_command("migrate", verbosity=0)
            now = dt.datetime.now(PKT).replace(microsecond=0, second=0)
            partitions_ensure(start=(now - dt.timedelta(days=args.days + 1)).date(), months_ahead=2)
            print(
                f"{args.meters} meters x {args.days} days of 15-minute load profile per engine; "
                f"chunks of {args.chunk_rows} rows; {os.cpu_count()} CPUs",
                flush=True,
            )
            for engine in engines_wanted:
                if engine == "postgresql":
                    url = None
                elif engine == "sqlite":
                    url = f"sqlite:///{Path(tmp) / 'vendor.sqlite'}"
                elif engine == "mariadb":
                    from apps.ingestion.tests.test_engines_mariadb import (
                        mariadb_database,
                        mariadb_server,
                    )

                    socket = stack.enter_context(mariadb_server())
                    url = mariadb_database(socket, "bench_vendor")
                else:
                    raise SystemExit(f"unknown engine {engine!r}")
                mdc = fleet_create(engine, url, meters=args.meters, days=args.days, now=now)
                read_rows, read_s = reader_only(mdc, args.chunk_rows)
                rows, seconds, run = pull(mdc)
                again, again_s, _ = pull(mdc)
                assert rows == read_rows and again == 0
                results[engine] = {
                    "rows": rows,
                    "reader": read_rows / read_s,
                    "pull": rows / seconds,
                    "repull_s": again_s,
                }
                print(
                    f"{engine:<11} reader {read_rows / read_s:>10,.0f} rows/s   pull "
                    f"{rows / seconds:>9,.0f} rows/s ({rows:,} rows, {run.rows_inserted:,} "
                    f"inserted)   re-pull {again_s:.2f} s, 0 rows   peak RSS "
                    f"{peak_rss_mb():.0f} MB",
                    flush=True,
                )
        finally:
            from django.db import connections

            connections.close_all()
            database_recreate(admin_url, drop_only=True)
    base = results["postgresql"]
    print("\nengine      rows        reader rows/s  vs PG   pull rows/s  vs PG")
    for engine, r in results.items():
        reader, pulled = r["reader"] / base["reader"], r["pull"] / base["pull"]
        print(
            f"{engine:<11} {r['rows']:>8,.0f}  {r['reader']:>14,.0f}  {reader:5.2f}"
            f"  {r['pull']:>11,.0f}  {pulled:5.2f}"
        )


if __name__ == "__main__":
    main()
