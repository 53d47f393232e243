"""``mdm up``: the whole portal from one command.

Starts PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL name external servers),
migrates, creates the first administrator, loads the demo, then runs the web server, a Celery
worker and Celery beat until Ctrl-C or SIGTERM, and stops every process it started.

It supervises them: a child that dies (a crash, an out-of-memory kill, ``kill -9``) has its whole
process group killed (a Celery main process killed with -9 leaves its pool processes running,
holding broker connections) and is started again after a growing pause; after too many restarts
in a short time it gives up and stops everything. The embedded servers are stopped on every way
out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 20
RESTART_BACKOFF_SECONDS = 1.0  # doubled for each restart still inside the window
RESTART_BACKOFF_MAX_SECONDS = 30.0
RESTART_WINDOW_SECONDS = 600.0  # restarts older than this no longer count against the limit
POLL_SECONDS = 0.5


def _start_servers(data_dir: Path) -> None:
    """Start embedded servers for what the environment does not name; children inherit the URLs."""
    from mdm import embedded

    if not os.environ.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL ...", flush=True)
        os.environ["DATABASE_URL"] = embedded.postgres_url(data_dir)
    if not os.environ.get("REDIS_URL"):
        print("Starting embedded Redis ...", flush=True)
        os.environ["REDIS_URL"] = embedded.redis_url(data_dir)


def _prepare(*, demo: bool, demo_meters: int = 40, demo_days: int = 14) -> None:
    import django
    from django.core.management import call_command, get_commands

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from apps.accounts.services import administrator_ensure

    username = os.environ.get("MDM_ADMIN_USERNAME", "admin")
    _, password = administrator_ensure(
        username=username, password=os.environ.get("MDM_ADMIN_PASSWORD") or None
    )
    if password and not os.environ.get("MDM_ADMIN_PASSWORD"):
        print(f"Created administrator '{username}' with password: {password}", flush=True)
    elif password:
        # Supplied by the operator: never echo it into logs or a terminal's scrollback.
        print(f"Created administrator '{username}' with MDM_ADMIN_PASSWORD.", flush=True)
    else:
        print(f"Administrator '{username}' exists; log in with its password.", flush=True)
    if demo and "demo_load" in get_commands():
        print("Loading demo data from the simulator (first run only) ...", flush=True)
        call_command("demo_load", meters=demo_meters, days=demo_days)
    # Health needs a recent probe of each MDC; beat's first periodic one is an interval away.
    # A connection of its own, closed at once: the embedded Redis stops only without clients.
    from apps.registry.tasks import mdcs_probe
    from mdm import celery_app

    with celery_app.connection_for_write() as connection:
        mdcs_probe.apply_async(connection=connection)


class Child:
    """One supervised process: its command, the running process, and its recent restarts."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self.restarts: list[float] = []
        self.restart_due: float | None = None

    def start(self) -> None:
        # A session of its own, so a terminal's Ctrl-C reaches only this launcher, which then
        # stops each child's whole process group in order.
        self.process = subprocess.Popen(self.argv, cwd=BASE_DIR, start_new_session=True)
        self.restart_due = None
        print(f"  {self.name} (pid {self.process.pid}): {' '.join(self.argv)}", flush=True)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def signal_group(self, signum: int) -> None:
        """Signal the child's process group (it is the group leader), even after the leader
        died: its own children may still be running."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def _schedule_restart(child: Child, *, max_restarts: int, now: float) -> bool:
    """After ``child`` died: kill what is left of its group and plan its restart. False when
    it has used up its restarts inside the window."""
    code = child.process.returncode
    child.signal_group(signal.SIGKILL)
    child.restarts = [at for at in child.restarts if now - at < RESTART_WINDOW_SECONDS]
    if len(child.restarts) >= max_restarts:
        print(
            f"{child.name} exited with code {code} after {len(child.restarts)} restarts in "
            f"{RESTART_WINDOW_SECONDS / 60:.0f} min; giving up and stopping.",
            flush=True,
        )
        return False
    delay = min(RESTART_BACKOFF_MAX_SECONDS, RESTART_BACKOFF_SECONDS * 2 ** len(child.restarts))
    child.restarts.append(now)
    child.restart_due = now + delay
    print(
        f"{child.name} exited with code {code}; restarting in {delay:.0f} s "
        f"(restart {len(child.restarts)} of {max_restarts})",
        flush=True,
    )
    return True


def _stop(children: list[Child]) -> None:
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {child.name} did not stop in time; killing it", flush=True)
        # Whatever is left of the group (pool processes, gunicorn workers) goes too.
        child.signal_group(signal.SIGKILL)
        child.process.wait()


def _commands(args: argparse.Namespace, data_dir: Path) -> list[Child]:
    python = sys.executable
    return [
        Child(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "mdm",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(args.concurrency),
            ],
        ),
        Child(
            "beat",
            [
                python,
                "-m",
                "celery",
                "-A",
                "mdm",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(data_dir / "celerybeat-schedule"),
            ],
        ),
        Child(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "mdm.wsgi:application",
                "--bind",
                f"{args.host}:{args.port}",
                "--workers",
                str(args.web_workers),
                "--threads",
                "4",
                "--access-logfile",
                "-",
                # Its default control socket is one fixed file per user, which a second
                # instance on the machine takes over and deletes on exit; mdm up needs none.
                "--no-control-socket",
            ],
        ),
    ]


class _Interrupted(Exception):
    """SIGINT or SIGTERM before supervision began (while migrating, loading the demo)."""


def _interrupt(signum, frame):
    raise _Interrupted


def _supervise(children: list[Child], *, max_restarts: int) -> int:
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping:
        now = time.monotonic()
        for child in children:
            if child.restart_due is not None:
                if now >= child.restart_due:
                    child.start()
            elif child.exited() and not _schedule_restart(
                child, max_restarts=max_restarts, now=now
            ):
                return 1
        time.sleep(POLL_SECONDS)
    return 0


def up(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    data_dir = Path(os.environ.get("MDM_DATA_DIR", BASE_DIR / "var")).resolve()
    os.environ["MDM_DATA_DIR"] = str(data_dir)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    children: list[Child] = []
    exit_code = 0
    try:
        _start_servers(data_dir)
        # The demo registers the embedded simulated MDCs at the portal's own address.
        os.environ.setdefault("MDM_SELF_URL", f"http://{args.host}:{args.port}")
        # Hashed, compressed static files (collected by _prepare), as in production.
        os.environ.setdefault("MDM_STATIC_MANIFEST", "1")
        _prepare(demo=not args.no_demo, demo_meters=args.demo_meters, demo_days=args.demo_days)
        _close_connections()
        children = _commands(args, data_dir)
        for child in children:
            child.start()
        print(
            f"\nThe portal is at http://{args.host}:{args.port}/  (Ctrl-C stops everything)\n",
            flush=True,
        )
        exit_code = _supervise(children, max_restarts=args.max_restarts)
    except _Interrupted:
        exit_code = 0
    finally:
        # From here on a second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping ...", flush=True)
        _stop(children)
        _close_connections()
        from mdm import embedded

        embedded.shutdown()
        print("Stopped.", flush=True)
    return exit_code


def _close_connections() -> None:
    """The launcher's own database, cache and broker connections (the demo queues its first
    pulls through Celery's pools): the embedded Redis stops only when its last client is gone."""
    from django.conf import settings

    if not settings.configured:
        return
    from django.core.cache import caches
    from django.db import connections

    from mdm import celery_app

    connections.close_all()
    caches.close_all()
    celery_app.amqp.producer_pool.force_close_all()
    celery_app.pool.force_close_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mdm", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="run the whole portal")
    up_parser.add_argument("--host", default=os.environ.get("MDM_HOST", "127.0.0.1"))
    up_parser.add_argument("--port", type=int, default=int(os.environ.get("MDM_PORT", "8000")))
    up_parser.add_argument("--no-demo", action="store_true", help="skip loading demo data")
    up_parser.add_argument("--demo-meters", type=int, default=40, help="meters per demo MDC")
    up_parser.add_argument("--demo-days", type=int, default=14, help="days of demo history")
    up_parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    up_parser.add_argument("--web-workers", type=int, default=2)
    up_parser.add_argument(
        "--max-restarts",
        type=int,
        default=5,
        help="restarts of one crashed process within 10 minutes before mdm up gives up",
    )
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
