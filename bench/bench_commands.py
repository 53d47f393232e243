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
MDM, and seconds; and, apart, the simulator's own SQL statements and rows (its queries run on the
server threads' connections, counted there). The figures that must not grow with the number of
devices are statements per transaction, on both sides.

The MDCs are the embedded simulator, over real HTTP, at every size: its command path is
set-based (a transaction of any size is accepted, advanced and executed with a few statements),
so no stand-in MDC is needed.
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

    def count(self, sql: str, rowcount: int) -> None:
        self.statements += 1
        rows = max(rowcount, 0)
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            self.written += rows
        elif verb == "SELECT":
            self.read += rows

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

    def sim_line(self, per: int | None = None) -> str:
        text = (
            f"{'  simulator side (all MDCs)':<46} {'':>29}  SQL {self.statements:6d}  "
            f"rows written {self.written:8d}  rows read {self.read:8d}"
        )
        if per:
            text += f"  SQL/transaction {self.statements / per:5.1f}"
        return text


#: The simulator's SQL, counted on the server threads (reset by ``measured``).
SIM = Counter()
SIM_LOCK = threading.Lock()


def sim_wrapper(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    with SIM_LOCK:
        SIM.count(sql, context["cursor"].rowcount)
    return result


@contextmanager
def measured():
    """Count the MDM's SQL (statements, rows written, rows read) and HTTP calls to the MDC;
    the simulator's SQL in the same span goes to ``SIM``."""
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
        counter.count(sql, context["cursor"].rowcount)
        return result

    MdcClient.call = call
    with SIM_LOCK:
        SIM.statements = SIM.written = SIM.read = 0
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(wrapper):
            yield counter
    finally:
        counter.seconds = time.perf_counter() - started
        MdcClient.call = original_call


def serve(port_holder: list) -> None:
    """The portal (and so the simulator under /sim/) on a free local port, in this process."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.db import connection

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    portal = WSGIHandler()

    def app(environ, start_response):
        with connection.execute_wrapper(sim_wrapper):
            return portal(environ, start_response)

    server.set_app(app)
    port_holder.append(server.server_address[1])
    server.serve_forever()


def fleet_create(size: int, base_url: str, batch_size: int):
    """10 simulated MDCs sharing ``size`` meters, and the registry's view of them."""
    from apps.registry.models import Mdc, Meter
    from apps.simulator.testing import make_sim_mdc

    mdcs = []
    for i in range(MDCS):
        code = f"b{size // 1000}k_{i}"
        sim, fleet = make_sim_mdc(code=code, meters=size // MDCS, days=1, seed=i + 1)
        mdc = Mdc.objects.create(
            code=code.replace("_", "-"),
            name=code,
            base_url=f"{base_url}/sim/{code}/",
            username=sim.username,
            password=sim.password,
            auth_code=sim.auth_code,
            batch_size=batch_size,
            timeout_seconds=600,
        )
        Meter.objects.bulk_create(
            [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet],
            batch_size=5000,
        )
        mdcs.append((sim, mdc))
    return mdcs


def run_size(size: int, base_url: str, batch_size: int, actor) -> dict:
    from django.db.models import Count

    from apps.commands.choices import Outcome
    from apps.commands.services import (
        command_dispatch,
        command_request_create,
        transactions_poll,
    )
    from apps.registry.models import Meter
    from apps.simulator.models import SimMdc, SimMeter

    print(f"\n== {size:,} meters on {MDCS} simulated MDCs (real HTTP), batch size {batch_size} ==")
    started = time.perf_counter()
    mdcs = fleet_create(size, base_url, batch_size)
    print(f"{'setup (simulated fleet + registry)':<46} {time.perf_counter() - started:7.2f} s")
    meters = Meter.objects.filter(mdc__in=[mdc for _, mdc in mdcs])
    figures: dict = {}

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
        print(SIM.sim_line(per=len(txs)))
        figures[f"{label}: dispatch"] = (c.seconds, c.http_seconds)
        return request, len(txs)

    def cycle(label: str, transactions: int):
        with measured() as c:
            results = [transactions_poll(mdc_id=mdc.pk, due_only=False) for _, mdc in mdcs]
        changed = sum(r.devices_changed for r in results)
        touched = sum(r.rows_touched for r in results)
        print(c.line(f"{label} ({changed:,} devices changed)", per=transactions or None))
        print(SIM.sim_line(per=transactions or None))
        print(f"{'  MDM rows touched (PollResult)':<46} {touched:8d}")
        figures[label] = (c.seconds, c.http, c.written + c.read, SIM.written + SIM.read)
        return results

    request, n = one_request("aux_relay_operations", {"relay_operate": "1"}, "relay connect")
    cycle("poll cycle: all to level 5 + effects", n)
    outcome = dict(request.devices.values_list("outcome").annotate(n=Count("pk")).order_by())
    executed = outcome.get(Outcome.EXECUTED, 0)
    assert executed + outcome.get(Outcome.REFUSED, 0) == size, outcome  # inactive/no relay
    assert meters.filter(relay_state="connected").count() == executed
    sims = [sim.pk for sim, _ in mdcs]
    done = SimMeter.objects.filter(mdc__in=sims, last_command_resp="executed")
    assert done.count() == executed  # the simulator executed each exactly once
    print(f"{'outcomes':<46} {outcome}")
    cycle("poll cycle: nothing open", 0)

    SimMdc.objects.filter(pk__in=sims).update(command_pace_seconds=3600)
    _, n = one_request("time_synchronization", {}, "slow MDC")
    cycle("poll cycle: every device to level 0", n)
    cycle("poll cycle: in flight, nothing changes", n)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
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
            started = time.perf_counter()
            run_size(size, base_url, args.batch_size, actor)
            print(f"{f'total for {size:,} meters':<46} {time.perf_counter() - started:7.2f} s")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(admin_url, drop_only=True)


if __name__ == "__main__":
    main()
