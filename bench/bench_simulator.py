"""How fast the simulator serves load profile over real HTTP.

    MDM_DATA_DIR=/tmp/var-bench .venv/bin/python bench/bench_simulator.py \
        --fleet 10000 --meters 200 --days 30 --batch 50 --workers 2

Creates a simulated MDC of ``--fleet`` meters with ``--days`` of 15-minute history, starts the
project under gunicorn on 127.0.0.1 (``--workers`` sync workers), authorises, then fetches
``--meters`` of the meters x ``--days`` days of ``load_profile_data`` in requests of
``--batch`` meters x one day, from ``--clients`` client threads. Prints rows/s served over HTTP
and, as the baseline measured in the same run, rows/s generated and encoded in-process
(no HTTP), plus the server's peak memory. The MDC is deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("server did not start")


def _peak_rss_kb(pid: int) -> int:
    """VmHWM of a process and its children (gunicorn workers)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fleet", type=int, default=10000, help="meters in the MDC")
    parser.add_argument("--meters", type=int, default=200, help="meters fetched")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=50, help="meters per request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=2, help="client threads")
    parser.add_argument("--format", default="json", choices=("json", "xml"))
    parser.add_argument(
        "--lp-energy",
        default="register",
        choices=("register", "interval"),
        help="load profile energy as cumulative registers (UDIL) or per-interval kWh",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    import httpx

    from apps.simulator import generator as gen
    from apps.simulator.models import SimMdc
    from apps.simulator.services import sim_read
    from apps.simulator.testing import make_sim_mdc
    from apps.simulator.wire import rows_body
    from apps.udil.timefmt import PKT

    code = f"bench{os.getpid()}"
    now = dt.datetime.now(PKT).replace(microsecond=0)
    start = (now - dt.timedelta(days=args.days)).replace(hour=0, minute=0, second=0)
    began = time.perf_counter()
    mdc, meters = make_sim_mdc(
        code=code,
        meters=args.fleet,
        days=args.days,
        seed=2024,
        fmt=args.format,
        history_start=start,
        lp_interval=15,
        now=now,
        lp_energy_mode=args.lp_energy,
    )
    print(
        f"fleet: {args.fleet} meters x {args.days} days of 15-minute history, energy as "
        f"{args.lp_energy} "
        f"(created in {time.perf_counter() - began:.1f} s; nothing materialised)"
    )
    ids = [m.global_device_id for m in meters[: args.meters]]
    batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
    days = [start + dt.timedelta(days=d) for d in range(args.days)]
    jobs = [(batch, day) for day in days for batch in batches]

    # baseline: the same work in-process, without HTTP (lookup tables built first: the
    # server builds them once per worker, on its first request)
    gen._tables()
    base_rows, base_time = 0, 0.0
    sample = jobs[: max(1, len(jobs) // 10)]
    for batch, day in sample:
        t0 = time.perf_counter()
        fields, rows, message = sim_read(
            mdc=mdc,
            dataset="load_profile",
            global_device_ids=batch,
            start=day,
            end=day + dt.timedelta(minutes=1425),
            now=now,
        )
        rows_body(mdc, fields, rows, message)
        base_time += time.perf_counter() - t0
        base_rows += len(rows)
    gen.clear_caches()

    port = _free_port()
    env = {
        **os.environ,
        "MDM_SIMULATOR_ENABLED": "1",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mdm.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    base = f"http://127.0.0.1:{port}/sim/{code}/"
    try:
        _wait(port, proc)
        key = httpx.post(
            base + "authorization_service",
            headers={
                "username": mdc.username,
                "password": mdc.password,
                "code": mdc.auth_code,
            },
        ).json()["privatekey"]
        marker = b'{"msn"' if args.format == "json" else b"<element><msn>"

        def fetch(job):
            batch, day = job
            form = {
                "global_device_id": "[" + ",".join(f'"{g}"' for g in batch) + "]",
                "start_datetime": day.strftime("%Y-%m-%d %H:%M:%S"),
                "end_datetime": (day + dt.timedelta(minutes=1425)).strftime("%Y-%m-%d %H:%M:%S"),
            }
            with httpx.Client(timeout=300) as client:
                response = client.post(
                    base + "load_profile_data", headers={"privatekey": key}, data=form
                )
            response.raise_for_status()
            return response.content.count(marker), len(response.content)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(fetch, jobs))
        elapsed = time.perf_counter() - t0
        rss = _peak_rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        SimMdc.objects.filter(code=code).delete()
    rows = sum(r for r, _ in results)
    size = sum(b for _, b in results)
    expected = len(ids) * args.days * 96
    print(
        f"served {rows} rows ({expected} expected) in {len(jobs)} requests of "
        f"{args.batch} meters x 1 day, {size / 1e6:.0f} MB {args.format}"
    )
    print(
        f"HTTP ({args.workers} gunicorn workers, {args.clients} clients): "
        f"{rows / elapsed:,.0f} rows/s, {size / elapsed / 1e6:.1f} MB/s, {elapsed:.1f} s"
    )
    print(
        f"in-process baseline (1 core, no HTTP): {base_rows / base_time:,.0f} rows/s "
        f"-> HTTP/baseline ratio {rows / elapsed / (base_rows / base_time):.2f}"
    )
    print(
        f"server peak RSS (all processes): {rss / 1024:.0f} MB; bench process peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
