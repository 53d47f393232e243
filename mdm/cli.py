"""``mdm up``: the whole portal from one command.

Starts PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL name external servers),
migrates, creates the first administrator, loads the demo, then runs the web server, a Celery
worker and Celery beat until Ctrl-C or SIGTERM, and stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 20


def _start_servers(data_dir: Path) -> None:
    """Start embedded servers for what the environment does not name; children inherit the URLs."""
    from mdm import embedded

    if not os.environ.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL ...", flush=True)
        os.environ["DATABASE_URL"] = embedded.postgres_url(data_dir)
    if not os.environ.get("REDIS_URL"):
        print("Starting embedded Redis ...", flush=True)
        os.environ["REDIS_URL"] = embedded.redis_url(data_dir)


def _prepare(*, demo: bool) -> None:
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
    if password:
        print(f"Created administrator '{username}' with password: {password}", flush=True)
    else:
        print(f"Administrator '{username}' exists; log in with its password.", flush=True)
    if demo and "demo_load" in get_commands():
        print("Loading demo data from the simulator (first run only) ...", flush=True)
        call_command("demo_load")


def _spawn(name: str, argv: list[str]) -> subprocess.Popen:
    print(f"  {name}: {' '.join(argv)}", flush=True)
    # A session of its own, so a terminal's Ctrl-C reaches only this launcher, which then
    # stops each child's whole process group in order.
    return subprocess.Popen(argv, cwd=BASE_DIR, start_new_session=True)


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop in time; killing it", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def up(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    data_dir = Path(os.environ.get("MDM_DATA_DIR", BASE_DIR / "var")).resolve()
    os.environ["MDM_DATA_DIR"] = str(data_dir)
    _start_servers(data_dir)
    # The demo registers the embedded simulated MDCs at the portal's own address.
    os.environ.setdefault("MDM_SELF_URL", f"http://{args.host}:{args.port}")
    _prepare(demo=not args.no_demo)

    python = sys.executable
    processes = {
        "worker": _spawn(
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
        "beat": _spawn(
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
        "web": _spawn(
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
            ],
        ),
    }
    print(
        f"\nThe portal is at http://{args.host}:{args.port}/  (Ctrl-C stops everything)\n",
        flush=True,
    )

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; stopping.", flush=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.5)
    print("Stopping ...", flush=True)
    _stop(processes)
    from mdm import embedded

    embedded.shutdown()
    print("Stopped.", flush=True)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mdm", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="run the whole portal")
    up_parser.add_argument("--host", default=os.environ.get("MDM_HOST", "127.0.0.1"))
    up_parser.add_argument("--port", type=int, default=int(os.environ.get("MDM_PORT", "8000")))
    up_parser.add_argument("--no-demo", action="store_true", help="skip loading demo data")
    up_parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    up_parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
