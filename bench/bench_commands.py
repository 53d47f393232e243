"""Benchmark of commands at scale: 10 simulated MDCs, 10,000 and 100,000 meters.

    MDM_DATA_DIR=/tmp/var-commands .venv/bin/python bench/bench_commands.py [--sizes 10000 100000]

In a database of its own (created and dropped here), with the MDCs served over real HTTP from a
thread of this process, for each size it measures:

a. creating the request (fan-out into transactions and device rows);
b. dispatching every transaction (one HTTP request each), split into the time spent waiting
   for the MDC (HTTP + the simulator's own work) and the MDM's own time;
c. poll cycles (one ``transactions_poll`` per MDC): the first, where every device reaches level 5
   (effects on the registry applied), and, for a second request left at level 0 by a slow MDC,
   a cycle where every device changes and a steady cycle where nothing changes.

For each it prints HTTP requests, the MDM's SQL statements, rows written and rows read by the
MDM (the simulator's queries run on other connections and are not counted), and seconds. The
figures that must not grow with the number of devices are statements per transaction.

The MDCs: the embedded simulator acts on every device with several queries of its own (about
30 ms per device here), which would make 10,000 meters take minutes of simulator time alone. So
by default (``--mdc auto``) sizes above ``--simulator-max`` talk to an in-memory stub MDC that
speaks the same UDIL wire over the same HTTP; ``--mdc simulator`` forces the simulator. The
MDM's side is the same code either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

BENCH_DATABASE = "mdm_bench_commands"
MDCS = 10


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


@dataclass
class Counter:
    statements: int = 0
    written: int = 0
    read: int = 0
    http: int = 0
    http_seconds: float = 0.0
    seconds: float = 0.0

    def line(self, label: str, per: int | None = None) -> str:
        own = self.seconds - self.http_seconds
        text = (
            f"{label:<46} {self.seconds:7.2f} s (MDC {self.http_seconds:6.2f} s, MDM "
            f"{own:6.2f} s)  HTTP {self.http:5d}  SQL {self.statements:6d}  "
            f"rows written {self.written:8d}  rows read {self.read:8d}"
        )
        if per:
            text += f"  SQL/transaction {self.statements / per:5.1f}"
        return text


@contextmanager
def measured():
    """Count the MDM's SQL (statements, rows written, rows read) and HTTP calls to the MDC."""
    from django.db import connection

    from apps.udil.client import MdcClient

    counter = Counter()
    original_call = MdcClient.call

    def call(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original_call(self, *args, **kwargs)
        finally:
            counter.http += 1
            counter.http_seconds += time.perf_counter() - started

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        counter.statements += 1
        rows = max(context["cursor"].rowcount, 0)
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            counter.written += rows
        elif verb == "SELECT":
            counter.read += rows
        return result

    MdcClient.call = call
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(wrapper):
            yield counter
    finally:
        counter.seconds = time.perf_counter() - started
        MdcClient.call = original_call


class StubMdc:
    """A minimal, fast UDIL MDC (in memory) for sizes where the full simulator's own per-device
    work would dominate the run: same wire (form in, JSON out, transactionid header, private
    key), every device accepted, ``level`` is the status level every device reports."""

    def __init__(self) -> None:
        self.level = 5
        self.commands: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        import json
        from urllib.parse import parse_qs

        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(length).decode()).items()}
        service = environ["PATH_INFO"].rstrip("/").rsplit("/", 1)[-1]
        tid = environ.get("HTTP_TRANSACTIONID", "")
        if service == "authorization_service":
            body = {"status": "1", "privatekey": "stub-key", "message": "ok"}
        elif service == "transaction_status":
            tids = json.loads(form["transactionid"]) if "transactionid" in form else [tid]
            stamp = "2025-01-01 00:00:00"
            rows = []
            for t in tids:
                for gdid in self.commands.get(t, []):
                    row = {
                        "transactionid": t,
                        "global_device_id": gdid,
                        "msn": "",
                        "status_level": str(self.level),
                        "indv_status": "1",
                        "request_cancelled": "0",
                        "command_receiving_datetime": stamp,
                    }
                    for n in range(1, self.level + 1):
                        row[f"status_{n}_datetime"] = stamp
                    rows.append(row)
            body = {"status": "1", "data": rows, "message": ""}
        else:
            gdids = json.loads(form["global_device_id"])
            with self.lock:
                self.commands.setdefault(tid, gdids)  # a resend never acts twice
            body = {
                "status": "1",
                "transactionid": tid,
                "message": "accepted",
                "data": [
                    {"global_device_id": g, "msn": "", "indv_status": "1"}
                    for g in self.commands[tid]
                ],
            }
        payload = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]


STUB = StubMdc()


def serve(port_holder: list) -> None:
    """The portal (and so the simulator under /sim/) on a free local port, in this process."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    portal = WSGIHandler()

    def app(environ, start_response):
        if environ["PATH_INFO"].startswith("/stub/"):
            return STUB(environ, start_response)
        return portal(environ, start_response)

    server.set_app(app)
    port_holder.append(server.server_address[1])
    server.serve_forever()


def fleet_create(size: int, base_url: str, batch_size: int, stub: bool):
    """10 MDCs sharing ``size`` meters (simulated, or stubs), and the registry's view of them."""
    from apps.registry.models import Mdc, Meter
    from apps.simulator.testing import make_sim_mdc

    mdcs = []
    for i in range(MDCS):
        code = f"b{size // 1000}k_{i}"
        if stub:
            sim = None
            fleet = [
                Meter(
                    global_device_id=f"s{size // 1000}k{i:02d}{n:07d}",
                    msn=5_000_000_000 + size * 1000 + i * 10**6 + n,
                )
                for n in range(size // MDCS)
            ]
            url, creds = f"{base_url}/stub/{code}/", ("u", "p", "c")
        else:
            sim, fleet = make_sim_mdc(code=code, meters=size // MDCS, days=1, seed=i + 1)
            url, creds = f"{base_url}/sim/{code}/", (sim.username, sim.password, sim.auth_code)
        mdc = Mdc.objects.create(
            code=code.replace("_", "-"),
            name=code,
            base_url=url,
            username=creds[0],
            password=creds[1],
            auth_code=creds[2],
            batch_size=batch_size,
            timeout_seconds=600,
        )
        Meter.objects.bulk_create(
            [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet],
            batch_size=5000,
        )
        mdcs.append((sim, mdc))
    return mdcs


def run_size(size: int, base_url: str, batch_size: int, actor, stub: bool) -> None:
    from django.db.models import Count

    from apps.commands.choices import Outcome
    from apps.commands.services import (
        command_dispatch,
        command_request_create,
        transactions_poll,
    )
    from apps.registry.models import Meter
    from apps.simulator.models import SimMdc

    kind = "stub MDCs (in-memory UDIL)" if stub else "simulated MDCs"
    print(f"\n== {size:,} meters on {MDCS} {kind}, batch size {batch_size} ==")
    started = time.perf_counter()
    mdcs = fleet_create(size, base_url, batch_size, stub)
    print(f"{'setup (simulated fleet + registry)':<46} {time.perf_counter() - started:7.2f} s")
    meters = Meter.objects.filter(mdc__in=[mdc for _, mdc in mdcs])

    def one_request(command: str, params: dict, label: str):
        with measured() as c:
            request = command_request_create(
                actor=actor, command=command, params=params, meters=meters
            )
        txs = list(request.transactions.values_list("pk", flat=True))
        print(c.line(f"{label}: create + fan-out ({len(txs)} transactions)"))
        with measured() as c:
            statuses = [command_dispatch(transaction_id=pk).status for pk in txs]
        assert statuses == ["sent"] * len(txs), statuses
        print(c.line(f"{label}: dispatch", per=len(txs)))
        return request, len(txs)

    def cycle(label: str, transactions: int):
        with measured() as c:
            results = [transactions_poll(mdc_id=mdc.pk, due_only=False) for _, mdc in mdcs]
        changed = sum(r.devices_changed for r in results)
        print(c.line(f"{label} ({changed:,} devices changed)", per=transactions or None))
        return results

    request, n = one_request("aux_relay_operations", {"relay_operate": "1"}, "relay connect")
    cycle("poll cycle: all to level 5 + effects", n)
    outcome = dict(request.devices.values_list("outcome").annotate(n=Count("pk")).order_by())
    executed = outcome.get(Outcome.EXECUTED, 0)
    assert executed + outcome.get(Outcome.REFUSED, 0) == size, outcome  # inactive: refused
    assert meters.filter(relay_state="connected").count() == executed
    print(f"{'outcomes':<46} {outcome}")
    cycle("poll cycle: nothing open", 0)

    STUB.level = 0
    sims = [sim.code for sim, _ in mdcs if sim]
    SimMdc.objects.filter(code__in=sims).update(command_pace_seconds=3600)
    _, n = one_request("time_synchronization", {}, "slow MDC")
    cycle("poll cycle: every device to level 0", n)
    cycle("poll cycle: in flight, nothing changes", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--mdc",
        choices=["auto", "simulator", "stub"],
        default="auto",
        help="auto: the simulator up to --simulator-max meters, stubs beyond",
    )
    parser.add_argument("--simulator-max", type=int, default=2000)
    args = parser.parse_args()

    admin_url, bench_url = bench_database_url()
    database_recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"{'migrate (bench database)':<46} {time.perf_counter() - started:7.2f} s")
        actor = get_user_model().objects.create_superuser("bench", password="bench-Secret-1")
        port: list = []
        threading.Thread(target=serve, args=(port,), daemon=True).start()
        while not port:
            time.sleep(0.05)
        base_url = f"http://127.0.0.1:{port[0]}"
        for size in args.sizes:
            stub = args.mdc == "stub" or (args.mdc == "auto" and size > args.simulator_max)
            STUB.level = 5
            run_size(size, base_url, args.batch_size, actor, stub)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(admin_url, drop_only=True)


if __name__ == "__main__":
    main()
