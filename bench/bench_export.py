"""Benchmark of the CSV export of a list page: the streamed export against the old tablib path.

    MDM_DATA_DIR=/tmp/bench .venv/bin/python bench/bench_export.py --rows 46296 --meters 80

Loads N load-profile rows of M meters (30-minute intervals, the reference case is one month of
80 meters: 46,296 rows) into a database of its own (created and dropped here), then exports
the same filtered range through the load-profile page in one run:

a. the streamed export (``?_export=csv``: server-side cursor, values_list, CSV in chunks);
b. the old path: django-tables2's ``TableExport`` (tablib) over the same table and queryset,
   as ``ExportMixin`` did before.

Each runs in a child process of its own, so its peak RSS is its own (``BENCH_PROFILE=<file>``
profiles each child and prints its top functions). Prints rows/s, the ratio
and peak RSS of each; the streamed export must keep every row (rows are counted).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

BENCH_DATABASE = "mdm_bench_export"


def bench_database_url() -> tuple[str, str]:
    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def _admin(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM where Linux has it: ru_maxrss of a child would include
    the parent's peak from before the exec (the generated rows)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def text_rows(count: int, meters: int, start: datetime.datetime) -> list[tuple]:
    """``count`` load-profile rows as COPY text, spread over ``meters`` meters."""
    from apps.udil.datasets import LOAD_PROFILE

    pool = [f"{(i * 7919) % 100000 / 1000:.3f}" for i in range(4096)]
    names = LOAD_PROFILE.field_names
    rows = []
    per_meter = -(-count // meters)
    for n in range(count):
        meter, slot = divmod(n, per_meter)
        at = (start + datetime.timedelta(minutes=30 * slot)).isoformat(sep=" ")
        values = {name: pool[(n * 31 + k * 17) % 4096] for k, name in enumerate(names)}
        values.update(
            msn=str(4000000000 + meter),
            global_device_id=f"m{meter:08d}",
            meter_datetime=at,
            channel_id="0",
            interval="30",
            mdc_read_datetime=at,
            db_datetime=at,
        )
        rows.append(tuple(values[name] for name in names))
    return rows


def _client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="Viewer"))
    client = Client()
    client.force_login(user)
    return client


def phase(name: str, start: str, end: str) -> None:
    """Run one export in this (child) process; print a JSON line of figures."""
    import django

    django.setup()
    from django_tables2.export import TableExport

    from apps.warehouse import filters, tables
    from apps.warehouse.models import LoadProfileReading

    params = {"start": start, "end": end}
    client = _client()
    # A served process is warm: one empty export first, so imports and URL loading, done once
    # per worker, are not timed.
    empty = {"start": "2099-01-01 00:00", "end": "2099-01-02 00:00", "_export": "csv"}
    assert b"".join(client.get("/warehouse/load-profile/", empty).streaming_content)
    if os.environ.get("BENCH_RSS"):
        print(f"before the export: RSS {peak_rss_mb():.0f} MB", file=sys.stderr)
    started = time.perf_counter()
    if name == "stream":
        response = client.get("/warehouse/load-profile/", {**params, "_export": "csv"})
        assert response.status_code == 200 and response.streaming, response
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            if os.environ.get("BENCH_RSS") and (lines % 20000 < 2000 or lines < 5000):
                print(f"{lines} lines: RSS {peak_rss_mb():.0f} MB", file=sys.stderr)
    else:
        queryset = filters.LoadProfileReadingFilter(
            params, queryset=LoadProfileReading.objects.order_by("-meter_datetime")
        ).qs
        table = tables.LoadProfileReadingTable(queryset)
        body = TableExport(export_format="csv", table=table).export()
        size, lines = len(body), body.count("\n")
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": lines - 1, "seconds": seconds, "bytes": size, "rss": peak_rss_mb()}))


def profiled_phase(name: str, start: str, end: str) -> None:
    """BENCH_PROFILE=<file>: the phase under cProfile, top functions to stderr."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(phase, name, start, end)
    profiler.dump_stats(os.environ["BENCH_PROFILE"])
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)


def run_child(name: str, start: str, end: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--start", start, "--end", end],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if done.returncode:
        sys.exit(f"{name} export failed:\n{done.stderr[-3000:]}")
    if os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_RSS"):
        print(done.stderr[-6000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=46_296, help="load-profile rows to export")
    parser.add_argument("--meters", type=int, default=80)
    parser.add_argument("--skip-old", action="store_true", help="only the streamed export")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--phase", choices=["stream", "tablib"], help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.phase:
        run = profiled_phase if os.environ.get("BENCH_PROFILE") else phase
        run(arguments.phase, arguments.start, arguments.end)
        return

    admin_url, bench_url = bench_database_url()
    _admin(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
    _admin(admin_url, f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = bench_url
    # Measure the streamed path at every size (beyond the limit the page queues a background
    # export, which writes through the same code).
    os.environ["MDM_EXPORT_MAX_ROWS"] = str(max(arguments.rows, 1))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.warehouse.partitions import PKT
    from apps.warehouse.services import partitions_ensure, rows_load_text

    try:
        call_command("migrate", verbosity=0)
        start = datetime.datetime(2026, 10, 1, tzinfo=PKT)
        partitions_ensure(start=start.date(), months_ahead=24)
        rows = text_rows(arguments.rows, arguments.meters, start)
        for first in range(0, len(rows), 50_000):
            rows_load_text(
                dataset_code="load_profile",
                mdc_id=1,
                text_rows=rows[first : first + 50_000],
                source="bench",
            )
        del rows
        window = ("2026-10-01 00:00", "2030-01-01 00:00")
        connection.close()
        print(f"{arguments.rows:,} load-profile rows of {arguments.meters} meters loaded\n")
        results = {"stream": run_child("stream", *window)}
        if not arguments.skip_old:
            results["tablib"] = run_child("tablib", *window)
        for name, label in (("stream", "a. streamed export"), ("tablib", "b. old tablib path")):
            if name not in results:
                continue
            figures = results[name]
            print(
                f"{label:<22} {figures['rows']:>9,} rows {figures['seconds']:8.2f} s "
                f"{figures['rows'] / figures['seconds']:>10,.0f} rows/s   "
                f"{figures['bytes'] / 1e6:7.1f} MB CSV   peak RSS {figures['rss']:6.0f} MB"
            )
        stream = results["stream"]
        assert stream["rows"] == arguments.rows, "the streamed export lost or added rows"
        print(f"\nstreamed rows/s = {stream['rows'] / stream['seconds']:,.0f}   (target >= 20,000)")
        if "tablib" in results:
            old = results["tablib"]
            ratio = (stream["rows"] / stream["seconds"]) / (old["rows"] / old["seconds"])
            print(f"streamed / tablib = {ratio:6.1f} x")
    finally:
        connection.close()
        if not arguments.keep_database:
            _admin(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
