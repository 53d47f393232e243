"""Ingestion benchmark: N meters x D days of 15-minute load profile, over HTTP, end to end.

    .venv/bin/python bench/bench_ingestion.py --meters 200 --days 7

In one run, in a database of its own (created here, dropped at the end unless --keep-database):

1. builds two simulated fleets (N/4 and N meters, D days, 15-minute load profile, no gaps) and
   registers them as API MDCs of the MDM;
2. starts the app (gunicorn, ``--workers`` processes) on a local port: the simulated MDCs are
   served by the real portal's ``/sim/`` endpoints over real HTTP;
3. end to end, through the real pipeline (``pull_run``: MdcClient -> JSON -> DataSet.split_rows ->
   COPY to staging -> one merge), each size in a fresh process, reporting rows/s and the pull
   process's peak RSS (it must not grow with N x D);
4. re-pulls the same window: zero rows may change (the second benchmark of the issue); answers
   identical to those loaded skip the merge (``ingestion.fingerprints``), and the same re-pull
   with every answer merged (fingerprints forgotten) is the baseline of that;
5. measures the simulator's serving alone (the same requests, bodies written to disk), to tell
   whether the MDC is the bottleneck, and so records the MDC's exact answers;
6. end to end again, with the MDC costing (almost) nothing: a minimal HTTP server on 127.0.0.1
   replays the recorded answers (real HTTP, real ``MdcClient``, real ``pull_run``, real loader).
   On this 2-core machine the simulator otherwise takes most of a core per request from the
   pipeline it feeds; a vendor's MDC runs on its own machines, so this is the fair measure of
   the MDM. Both sizes again (peak RSS), and a re-pull (zero rows changed);
7. on the same rows: (a) raw COPY from a local file into the same partitioned table (the ceiling)
   and (b) a naive Django bulk_create loop (decode_row -> model -> bulk_create), on a sample of
   ``--bulk-rows`` rows, as it is slow;
8. prints rows/s, the ratios against the targets (end to end >= 50% of raw COPY, >= 10x
   bulk_create) for both end-to-end figures, and a summary table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
os.environ.setdefault("DEBUG", "0")  # no query log growing in memory

BENCH_DATABASE = "mdm_bench_ingestion"
DATASET = "load_profile"


# --- setup -------------------------------------------------------------------------------------


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


def redis_url() -> str:
    from mdm import embedded

    url = os.environ.get("REDIS_URL")
    if url:
        return url
    data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
    return embedded.redis_url(data_dir)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_start(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "MDM_SIMULATOR_ENABLED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mdm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the app did not start")


def server_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_peak_rss_mb(process: subprocess.Popen) -> float:
    """Largest peak RSS among the gunicorn workers (VmHWM), MB."""
    peaks = []
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = (
        [process.pid, *(int(p) for p in children.read_text().split())] if children.exists() else []
    )
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fleet_create(*, code: str, meters: int, days: int, base_url: str, now: dt.datetime, args):
    """A simulated MDC with its fleet, and the same MDC and meters in the registry."""
    from apps.registry.models import Meter
    from apps.registry.services import mdc_register
    from apps.simulator.services import sim_mdc_create

    sim, sim_meters = sim_mdc_create(
        code=code.replace("-", "_"),
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
    mdc = mdc_register(
        actor=None,
        code=code,
        name=f"Bench {code}",
        base_url=f"{base_url}/sim/{sim.code}/",
        data_format="json",
        credentials_in="headers",
        username=sim.username,
        password=sim.password,
        auth_code=sim.auth_code,
        batch_size=args.batch,
        timeout_seconds=300,
        window_minutes={DATASET: args.window_minutes},
        pull_intervals={},
    )
    Meter.objects.bulk_create(
        [
            Meter(
                global_device_id=m.global_device_id,
                msn=m.msn,
                mdc=mdc,
                activation_status=m.activation_status,  # about 1% of a fleet is inactive
            )
            for m in sim_meters
        ]
    )
    return sim, mdc, sum(1 for m in sim_meters if m.activation_status)


# --- the pull, in a process of its own ---------------------------------------------------------


def child_pull(mdc_id: int, since: str, until: str, repull: bool) -> None:
    """Run one pull and print its figures as JSON (this process's peak RSS included)."""
    import django

    django.setup()
    from django.conf import settings

    from apps.ingestion.services import pull_run, watermark_set

    settings.INGESTION_CONCURRENT_REQUESTS = int(os.environ["INGESTION_CONCURRENT_REQUESTS"])
    from apps.registry.models import Mdc

    if repull:  # forget the watermark: pull the whole window again
        watermark_set(
            actor=None, mdc=Mdc.objects.get(pk=mdc_id), dataset_code=DATASET, position=None
        )
    started = time.perf_counter()
    run = pull_run(
        mdc_id=mdc_id,
        dataset_code=DATASET,
        since=dt.datetime.fromisoformat(since),
        until=dt.datetime.fromisoformat(until),
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "outcome": run.outcome,
                "error": run.error,
                "seconds": seconds,
                "received": run.rows_received,
                "inserted": run.rows_inserted,
                "updated": run.rows_updated,
                "unchanged": run.rows_unchanged,
                "quarantined": run.rows_quarantined,
                "requests": run.requests,
                "retries": run.retries,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def pull_in_child(mdc_id: int, since: dt.datetime, until: dt.datetime, *, repull=False) -> dict:
    argv = [
        sys.executable,
        __file__,
        "--child-pull",
        str(mdc_id),
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
    ]
    if repull:
        argv.append("--repull")
    done = subprocess.run(argv, cwd=ROOT, env=os.environ, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError("the pull process failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the comparisons ---------------------------------------------------------------------------


def request_key(device_ids, start, end) -> str:
    """Name of a recorded answer: the read request's form fields, hashed (the replay server
    computes the same from the form it receives)."""
    from apps.udil.codec import encode_request
    from apps.udil.profiles import PROFILE_2019

    svc = PROFILE_2019.read_service(DATASET)
    _, form = encode_request(
        svc, {"global_device_id": list(device_ids), "start_datetime": start, "end_datetime": end}
    )
    return form_key(form)


def form_key(form: dict[str, str]) -> str:
    import hashlib

    text = "|".join(form.get(name, "") for name in REPLAY_FIELDS)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


REPLAY_FIELDS = ("global_device_id", "start_datetime", "end_datetime")


def serve_only(
    mdc, since: dt.datetime, until: dt.datetime, concurrency: int, keep: Path
) -> tuple[float, int]:
    """The same requests as the pull, bodies written to ``keep`` (named by request, numbered in
    pull order) and dropped: the MDC's serving rate (HTTP and the MDC's work only)."""
    from concurrent.futures import ThreadPoolExecutor

    from apps.ingestion.windows import request_bounds, window_length, windows_plan
    from apps.registry.selectors import mdc_client, meter_batches

    batches = meter_batches(mdc)
    length = window_length(DATASET, mdc.window_minutes)
    windows = windows_plan(dataset_code=DATASET, start=since, until=until, length=length)
    jobs = [(window, batch) for window in windows for batch in batches]
    keep.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with mdc_client(mdc) as client:

        def fetch(job: tuple[int, tuple]) -> int:
            number, (window, batch) = job
            bounds = request_bounds(window)
            body, _ = client.read_raw(DATASET, batch, *bounds)
            (keep / f"{number:06d}-{request_key(batch, *bounds)}.body").write_bytes(body)
            return len(body)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            sizes = list(pool.map(fetch, enumerate(jobs)))
    return time.perf_counter() - started, sum(sizes)


# --- the replay server: recorded answers over real HTTP, (almost) no MDC work -------------------


def replay_server_main(directory: str, port: int) -> None:
    """Serve the recorded answers under ``directory`` (any depth): authorization_service gets a
    key, a read gets the body recorded for its form fields (404 when none). Nothing else."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    bodies = {
        path.stem.split("-", 1)[1]: path
        for path in Path(directory).rglob("*.body")
        if "-" in path.stem
    }
    auth = b'{"status":"1","message":"ok","privatekey":"replay-key"}'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real MDC

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path.rstrip("/").endswith("authorization_service"):
                self._send(200, auth)
                return
            path = bodies.get(form_key(form))
            if path is None:
                self._send(404, b'{"status":"0","message":"not recorded"}')
                return
            self._send(200, path.read_bytes())

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def replay_server_start(directory: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--replay-server", str(directory), "--port", str(port)],
        cwd=ROOT,
        env=os.environ,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the replay server did not start")


def process_peak_rss_mb(process: subprocess.Popen) -> float:
    status = Path(f"/proc/{process.pid}/status")
    for text in status.read_text().splitlines() if status.exists() else ():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    return 0.0


def mdm_side_replay(mdc, keep: Path) -> tuple[float, int]:
    """The MDM's side of the pipeline alone, on the bodies the MDC served: decode and validate
    (``fetch._split_of``), COPY and merge (what ``pull_run`` does per answer), one answer at a
    time in one thread (no overlap)."""
    from apps.ingestion.fetch import _split_of
    from apps.udil.datasets import DATASETS
    from apps.warehouse.services import rows_load_split

    rows = 0
    started = time.perf_counter()
    for path in sorted(keep.glob("*.body")):
        split = _split_of(path.read_bytes(), "application/json", DATASETS[DATASET])
        result = rows_load_split(
            dataset_code=DATASET,
            mdc_id=mdc.pk,
            good=split.good,
            rejects=split.rejects,
            source="bench replay",
        )
        rows += result.inserted
    return time.perf_counter() - started, rows


def copy_file_export(mdc_id: int, path: Path) -> int:
    """The MDC's stored rows, as COPY text, to a local file."""
    from django.db import connection

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.schema import quote

    columns = ", ".join(quote(c) for c in (*LOAD_PROFILE.field_names, "mdc_id", "ingested_at"))
    count = 0
    with connection.cursor() as cursor, path.open("wb") as out:
        query = (
            f"COPY (SELECT {columns} FROM warehouse_load_profile WHERE mdc_id = {mdc_id}) TO STDOUT"
        )
        with cursor.cursor.copy(query) as copy:
            for block in copy:
                out.write(block)
                count += bytes(block).count(b"\n")
    return count


def table_truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE warehouse_load_profile")


def copy_from_file(path: Path) -> float:
    from django.db import connection, transaction

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.schema import quote

    columns = ", ".join(quote(c) for c in (*LOAD_PROFILE.field_names, "mdc_id", "ingested_at"))
    started = time.perf_counter()
    statement = f"COPY warehouse_load_profile ({columns}) FROM STDIN"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        path.open("rb") as source,
        cursor.cursor.copy(statement) as copy,
    ):
        while block := source.read(1 << 20):
            copy.write(block)
    return time.perf_counter() - started


def wire_rows_from_file(path: Path, limit: int) -> list[dict[str, str]]:
    """Rows of the file back as the wire delivers them (dicts of strings, PKT datetimes)."""
    from apps.udil.datasets import LOAD_PROFILE
    from apps.udil.timefmt import PKT

    names = LOAD_PROFILE.field_names
    kinds = [f.kind for f in LOAD_PROFILE.fields]
    rows = []
    with path.open() as source:
        for line in source:
            if len(rows) >= limit:
                break
            values = line.rstrip("\n").split("\t")[: len(names)]
            row = {}
            for name, kind, value in zip(names, kinds, values, strict=True):
                if value == "\\N":
                    value = ""
                elif kind == "datetime":
                    stamp = dt.datetime.fromisoformat(value).astimezone(PKT)
                    value = stamp.strftime("%Y-%m-%d %H:%M:%S")
                row[name] = value
            rows.append(row)
    return rows


def bulk_create_naive(rows: list[dict[str, str]], mdc_id: int) -> float:
    """The usual approach: decode each row, build model objects, bulk_create them."""
    from django.db import transaction
    from django.utils import timezone

    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.models import LoadProfileReading

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        for first in range(0, len(rows), 1000):
            readings = []
            for raw in rows[first : first + 1000]:
                values = LOAD_PROFILE.decode_row(raw)
                values["channel_id"] = values["channel_id"] or 0
                readings.append(LoadProfileReading(**values, mdc_id=mdc_id, ingested_at=now))
            LoadProfileReading.objects.bulk_create(readings)
    return time.perf_counter() - started


def naive_pull(mdc, since: dt.datetime, until: dt.datetime, limit: int) -> tuple[float, int]:
    """The usual approach end to end, for comparison with ``pull_run``: the same requests one
    after another (``MdcClient.read``), each row decoded to a model object, bulk_create."""
    from django.db import transaction
    from django.utils import timezone

    from apps.ingestion.windows import request_bounds, window_length, windows_plan
    from apps.registry.selectors import mdc_client, meter_batches
    from apps.udil.datasets import LOAD_PROFILE
    from apps.warehouse.models import LoadProfileReading

    batches = meter_batches(mdc)
    length = window_length(DATASET, mdc.window_minutes)
    rows = 0
    started = time.perf_counter()
    with mdc_client(mdc) as client:
        for window in windows_plan(dataset_code=DATASET, start=since, until=until, length=length):
            for batch in batches:
                if rows >= limit:
                    return time.perf_counter() - started, rows
                raw_rows = client.read(DATASET, batch, *request_bounds(window))
                now = timezone.now()
                with transaction.atomic():
                    for first in range(0, len(raw_rows), 1000):
                        readings = []
                        for raw in raw_rows[first : first + 1000]:
                            values = LOAD_PROFILE.decode_row(raw)
                            values["channel_id"] = values["channel_id"] or 0
                            readings.append(
                                LoadProfileReading(**values, mdc_id=mdc.pk, ingested_at=now)
                            )
                        LoadProfileReading.objects.bulk_create(readings)
                rows += len(raw_rows)
    return time.perf_counter() - started, rows


def stored_count(mdc_id: int | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if mdc_id is None:
            cursor.execute("SELECT count(*) FROM warehouse_load_profile")
        else:
            cursor.execute(
                "SELECT count(*) FROM warehouse_load_profile WHERE mdc_id = %s", [mdc_id]
            )
        return cursor.fetchone()[0]


# --- main --------------------------------------------------------------------------------------


def line(label: str, rows: int, seconds: float, extra: str = "") -> float:
    rate = rows / seconds if seconds else 0.0
    print(f"{label:<48} {rows:>9,} rows {seconds:8.2f} s {rate:>10,.0f} rows/s  {extra}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50, help="devices per request")
    parser.add_argument("--window-minutes", type=int, default=1440, help="minutes per request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the MDC)")
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight")
    parser.add_argument("--bulk-rows", type=int, default=20_000, help="bulk_create sample size")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--child-pull", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    parser.add_argument("--until", help=argparse.SUPPRESS)
    parser.add_argument("--repull", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--replay-server", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_pull:
        child_pull(args.child_pull, args.since, args.until, args.repull)
        return
    if args.replay_server:
        replay_server_main(args.replay_server, args.port)
        return

    admin_url, bench_url = bench_database_url()
    database_recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ["REDIS_URL"] = redis_url()
    os.environ["INGESTION_CONCURRENT_REQUESTS"] = str(args.concurrency)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from apps.udil.timefmt import PKT
    from apps.warehouse.services import partitions_ensure

    settings.INGESTION_CONCURRENT_REQUESTS = args.concurrency
    server = None
    try:
        call_command("migrate", verbosity=0)
        now = dt.datetime.now(PKT).replace(microsecond=0)
        today = now.replace(hour=0, minute=0, second=0)
        since = today - dt.timedelta(days=args.days)
        partitions_ensure(start=since.date(), months_ahead=2)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        small_meters = max(1, args.meters // 4)
        print(
            f"fleets: {small_meters} and {args.meters} meters x {args.days} days of 15-minute "
            f"load profile; {args.batch} devices x {args.window_minutes} min per request; "
            f"{args.workers} app workers, {args.concurrency} requests in flight; "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        _, small, small_active = fleet_create(
            code="bench-small",
            meters=small_meters,
            days=args.days,
            base_url=base_url,
            now=now,
            args=args,
        )
        _, big, big_active = fleet_create(
            code="bench-big",
            meters=args.meters,
            days=args.days,
            base_url=base_url,
            now=now,
            args=args,
        )
        # rows stamped at the end of their interval: (since, today) holds days x 96 - 1 per meter
        expected_small = small_active * (args.days * 96 - 1)
        expected_big = big_active * (args.days * 96 - 1)
        connection.close()
        server = server_start(port, args.workers)
        print()

        # warm-up: one day of the small fleet (imports, caches, connections)
        pull_in_child(small.pk, today - dt.timedelta(days=1), today)
        table_truncate()

        runs = {}
        for label, mdc, expected in (("small", small, expected_small), ("big", big, expected_big)):
            result = pull_in_child(mdc.pk, since, today, repull=True)  # forget the warm-up
            assert result["outcome"] == "succeeded", result
            assert result["inserted"] == expected == stored_count(mdc.pk), (result, expected)
            runs[label] = result
            line(
                f"end to end, {label} fleet (HTTP -> warehouse)",
                result["received"],
                result["seconds"],
                f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['requests']} requests",
            )
        e2e_rate = runs["big"]["received"] / runs["big"]["seconds"]

        repull = pull_in_child(big.pk, since, today, repull=True)
        line(
            "re-pull of the same window (big fleet)",
            repull["received"],
            repull["seconds"],
            f"inserted {repull['inserted']}, updated {repull['updated']}, "
            f"unchanged {repull['unchanged']}",
        )
        assert repull["inserted"] == repull["updated"] == 0, repull
        assert repull["unchanged"] == expected_big == stored_count(big.pk)
        # the same re-pull as before answer fingerprints: every answer goes through the merge
        from apps.ingestion.models import AnswerFingerprint

        AnswerFingerprint.objects.filter(mdc_id=big.pk).delete()
        connection.close()
        merged = pull_in_child(big.pk, since, today, repull=True)
        line(
            "re-pull, every answer merged (no fingerprint)",
            merged["received"],
            merged["seconds"],
            f"inserted {merged['inserted']}, updated {merged['updated']}, "
            f"unchanged {merged['unchanged']}",
        )
        assert merged["inserted"] == merged["updated"] == 0, merged

        from apps.registry.models import Mdc

        replays = {}
        with tempfile.TemporaryDirectory() as bodies:
            keep = Path(bodies)
            serve_only(small, since, today, args.concurrency, keep / "small")
            serve_seconds, served_bytes = serve_only(
                big, since, today, args.concurrency, keep / "big"
            )
            serve_rate = line(
                "MDC serving alone (HTTP, bodies to disk)",
                expected_big,
                serve_seconds,
                f"{served_bytes / 1e6:.0f} MB of JSON",
            )
            # end to end with recorded answers: the MDC costs (almost) nothing on our cores
            replay_server, replay_port = replay_server_start(keep)
            live_urls = {m.pk: m.base_url for m in (small, big)}
            try:
                Mdc.objects.filter(pk__in=live_urls).update(
                    base_url=f"http://127.0.0.1:{replay_port}/"
                )
                connection.close()
                table_truncate()
                for label, mdc, expected in (
                    ("small", small, expected_small),
                    ("big", big, expected_big),
                ):
                    result = pull_in_child(mdc.pk, since, today, repull=True)
                    assert result["outcome"] == "succeeded", result
                    assert result["inserted"] == expected == stored_count(mdc.pk), result
                    replays[label] = result
                    line(
                        f"end to end, {label} fleet, MDC replayed",
                        result["received"],
                        result["seconds"],
                        f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['requests']} requests",
                    )
                replay_repull = pull_in_child(big.pk, since, today, repull=True)
                line(
                    "re-pull, MDC replayed (big fleet)",
                    replay_repull["received"],
                    replay_repull["seconds"],
                    f"inserted {replay_repull['inserted']}, updated {replay_repull['updated']}, "
                    f"unchanged {replay_repull['unchanged']}",
                )
                assert replay_repull["inserted"] == replay_repull["updated"] == 0, replay_repull
                assert replay_repull["unchanged"] == expected_big == stored_count(big.pk)
                replay_server_rss = process_peak_rss_mb(replay_server)
            finally:
                for pk, url in live_urls.items():
                    Mdc.objects.filter(pk=pk).update(base_url=url)
                server_stop(replay_server)
            replay_rate = replays["big"]["received"] / replays["big"]["seconds"]
            table_truncate()
            if os.environ.get("BENCH_PROFILE"):  # cProfile of the MDM side, to that file
                import cProfile

                profiler = cProfile.Profile()
                side_seconds, side_rows = profiler.runcall(mdm_side_replay, big, keep / "big")
                profiler.dump_stats(os.environ["BENCH_PROFILE"])
            else:
                side_seconds, side_rows = mdm_side_replay(big, keep / "big")
            assert side_rows == expected_big
            side_rate = line(
                "MDM side alone (files -> warehouse, 1 thread)", side_rows, side_seconds
            )
        server_rss = server_peak_rss_mb(server)

        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "load_profile.copy"
            exported = copy_file_export(big.pk, path)
            assert exported == expected_big
            table_truncate()
            copy_seconds = copy_from_file(path)
            copy_rate = line("(a) raw COPY from a local file (ceiling)", exported, copy_seconds)
            assert stored_count() == expected_big
            sample = wire_rows_from_file(path, args.bulk_rows)
        table_truncate()
        bulk_seconds = bulk_create_naive(sample, big.pk)
        bulk_rate = line("(b) naive Django bulk_create loop (baseline)", len(sample), bulk_seconds)
        assert stored_count() == len(sample)
        table_truncate()
        naive_seconds, naive_rows = naive_pull(big, since, today, args.bulk_rows)
        naive_rate = line(
            "(b') the usual approach end to end (HTTP + b)", naive_rows, naive_seconds
        )
        assert stored_count() == naive_rows

        print()
        for label, rate in (
            ("end to end, live simulator", e2e_rate),
            ("end to end, MDC replayed", replay_rate),
        ):
            print(f"{label}:")
            print(f"  / raw COPY                 = {rate / copy_rate:6.2f}   (target >= 0.50)")
            print(f"  / bulk_create              = {rate / bulk_rate:6.1f}   (target >= 10)")
            print(f"  / usual approach           = {rate / naive_rate:6.1f}   (same HTTP, b')")
        print(
            f"live end to end / MDC serving = {e2e_rate / serve_rate:5.2f}   "
            "(near 1: the simulator is the limit)"
        )
        print(f"MDM side alone / raw COPY    = {side_rate / copy_rate:6.2f}")
        for label, figures in (("live", runs), ("replayed", replays)):
            print(
                f"peak RSS of the pull process ({label}) = "
                f"{figures['small']['peak_rss_mb']:.0f} MB "
                f"for {figures['small']['received']:,} rows, "
                f"{figures['big']['peak_rss_mb']:.0f} MB for {figures['big']['received']:,} rows "
                f"(x{figures['big']['received'] / figures['small']['received']:.0f} the rows)"
            )
        print(f"peak RSS of an app worker    = {server_rss:.0f} MB")
        print(f"peak RSS of the replay server = {replay_server_rss:.0f} MB")
        print(
            f"re-pull changed rows         = {repull['inserted'] + repull['updated']} (live), "
            f"{replay_repull['inserted'] + replay_repull['updated']} (replayed)"
        )
        repull_rate = repull["received"] / repull["seconds"]
        merged_rate = merged["received"] / merged["seconds"]
        replay_repull_rate = replay_repull["received"] / replay_repull["seconds"]
        print(
            f"re-pull / first pull (live)  = {repull_rate / e2e_rate:5.2f}   (target >= 1.0; "
            f"every answer merged: {merged_rate / e2e_rate:.2f})"
        )
        print(f"re-pull / first pull (replayed) = {replay_repull_rate / replay_rate:5.2f}")
        print(f"load average (1, 5, 15 min)  = {os.getloadavg()} on {os.cpu_count()} CPUs")

        print()
        print("summary")
        header = (
            f"| {'measure':<42} | {'rows':>9} | {'rows/s':>8} | {'/ COPY':>6} | {'/ bulk':>6} "
            f"| {'peak RSS':>8} |"
        )
        print(header)
        print(f"|{'-' * 44}|{'-' * 11}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 10}|")

        def row(label: str, rows: int, rate: float, rss: float | None = None) -> None:
            rss_text = f"{rss:.0f} MB" if rss is not None else ""
            print(
                f"| {label:<42} | {rows:>9,} | {rate:>8,.0f} | {rate / copy_rate:>6.2f} "
                f"| {rate / bulk_rate:>6.1f} | {rss_text:>8} |"
            )

        for label, figures in (("live simulator", runs), ("MDC replayed", replays)):
            for size in ("small", "big"):
                result = figures[size]
                row(
                    f"end to end, {label}, {size} fleet",
                    result["received"],
                    result["received"] / result["seconds"],
                    result["peak_rss_mb"],
                )
        row(
            "re-pull, live (0 rows changed)",
            repull["received"],
            repull["received"] / repull["seconds"],
        )
        row("re-pull, live, every answer merged", merged["received"], merged_rate)
        row(
            "re-pull, MDC replayed (0 rows changed)",
            replay_repull["received"],
            replay_repull["received"] / replay_repull["seconds"],
        )
        row("MDC (simulator) serving alone", expected_big, serve_rate)
        row("MDM side alone, one thread", side_rows, side_rate)
        row("(a) raw COPY from a local file", exported, copy_rate)
        row("(b) naive bulk_create loop", len(sample), bulk_rate)
        row("(b') usual approach end to end", naive_rows, naive_rate)
    finally:
        if server is not None:
            server_stop(server)
        connection.close()
        if not args.keep_database:
            database_drop(admin_url)


if __name__ == "__main__":
    main()
