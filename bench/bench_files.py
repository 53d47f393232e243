"""Benchmark of the flat-file transport against the tabular (PostgreSQL) path, in the same run.

    MDM_DATA_DIR=/tmp/bench .venv/bin/python bench/bench_files.py --meters 100 --days 7

Two simulated fleets of the same size and seed: one delivers CSV files into a directory
(``apps.simulator.files``), the other writes its UDIL tables to a PostgreSQL schema (the
baseline). A registry MDC each then loads the load profile:

a. files: the scan (read, sha256, CSV parse, validation, COPY to staging, merge);
b. tabular: the pull end to end (the same loader);
c. the same file delivered again (sha256: recorded as a duplicate, nothing loaded).

Prints rows/s per transport and the files' ratio to the tabular path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

import bench_tabular  # noqa: E402  (shares the bench database's set-up)

bench_tabular.BENCH_DATABASE = "mdm_bench_files"
DATASET = "load_profile"
SIM = {
    "meters": 0,
    "seed": 1,
    "lp_interval": 15,
    "offline_rate": 0.0,
    "gap_rate": 0.0,
    "failure_rate": 0.0,
    "command_pace_seconds": 0.0,
}


def file_fleet(directory: Path, *, meters: int, days: int, now: dt.datetime):
    from apps.registry.models import Meter
    from apps.registry.services import mdc_register
    from apps.simulator.files import sim_files_deliver
    from apps.simulator.services import sim_mdc_create

    sim, sim_meters = sim_mdc_create(
        code="bench_files",
        transport="file",
        file_directory=str(directory),
        days=days,
        now=now,
        **{**SIM, "meters": meters},
    )
    started = time.perf_counter()
    files = sim_files_deliver(mdc=sim, until=now)
    print(f"files       delivered {len(files)} files in {time.perf_counter() - started:.1f} s")
    mdc = mdc_register(
        actor=None,
        code="bench-files",
        name="Bench files",
        transport="file",
        file_directory=str(directory),
        pull_intervals={},
    )
    Meter.objects.bulk_create(
        [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in sim_meters]
    )
    return mdc, next(p for p in files if p.name.startswith(f"{DATASET}_"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()

    admin_url, bench_url = bench_tabular.bench_database_url()
    bench_tabular.database_recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.core.management import call_command

    from apps.ingestion.services import pull_run
    from apps.udil.timefmt import PKT
    from apps.warehouse.services import partitions_ensure

    with tempfile.TemporaryDirectory() as tmp:
        try:
            call_command("migrate", verbosity=0)
            now = dt.datetime.now(PKT).replace(microsecond=0, second=0)
            partitions_ensure(start=(now - dt.timedelta(days=args.days + 1)).date(), months_ahead=2)
            print(
                f"{args.meters} meters x {args.days} days of 15-minute load profile per "
                f"transport; {os.cpu_count()} CPUs",
                flush=True,
            )
            tabular = bench_tabular.fleet_create(
                "postgresql", None, meters=args.meters, days=args.days, now=now
            )
            started = time.perf_counter()
            run = pull_run(mdc_id=tabular.pk, dataset_code=DATASET)
            tab_s = time.perf_counter() - started
            assert run.outcome == "succeeded", run.error
            tab_rows = run.rows_received

            inbox = Path(tmp) / "inbox"
            mdc, lp_file = file_fleet(inbox, meters=args.meters, days=args.days, now=now)
            size = lp_file.stat().st_size
            started = time.perf_counter()
            run = pull_run(mdc_id=mdc.pk, dataset_code=DATASET)
            file_s = time.perf_counter() - started
            assert run.outcome == "succeeded", run.error
            file_rows = run.rows_received
            assert file_rows == tab_rows, (file_rows, tab_rows)

            shutil.copy(inbox / "loaded" / lp_file.name, inbox / f"{DATASET}_20990101T0000.csv")
            started = time.perf_counter()
            again = pull_run(mdc_id=mdc.pk, dataset_code=DATASET)
            again_s = time.perf_counter() - started
            assert again.rows_received == 0 and again.deliveries.get().state == "duplicate"
        finally:
            from django.db import connections

            connections.close_all()
            bench_tabular.database_recreate(admin_url, drop_only=True)
    print(
        f"tabular     pull  {tab_rows / tab_s:>9,.0f} rows/s ({tab_rows:,} rows in {tab_s:.1f} s)"
    )
    ratio = (file_rows / file_s) / (tab_rows / tab_s)
    print(
        f"files       scan  {file_rows / file_s:>9,.0f} rows/s ({file_rows:,} rows, "
        f"{size / 1e6:.1f} MB CSV in {file_s:.1f} s)   {ratio:.2f} x the tabular pull"
    )
    print(f"duplicate   same file again: {again_s * 1000:.0f} ms, 0 rows loaded")


if __name__ == "__main__":
    main()
