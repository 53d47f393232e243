"""The embedded runtime: real PostgreSQL and Redis, and ``mdm up`` end to end."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings

from mdm import celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def test_redis_broker_round_trips_a_message():
    with celery_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("mdm-test-roundtrip")
        queue.put({"hello": "udil"})
        message = queue.get(timeout=5)
        assert message.payload == {"hello": "udil"}
        message.ack()
        queue.close()


def test_cache_is_redis():
    from django.core.cache import cache

    cache.set("mdm-test-key", 42, 10)
    assert cache.get("mdm-test-key") == 42
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MdmUp:
    """A real ``mdm up`` in a subprocess with its own data directory and port; its output is
    read by a thread so the test can wait for lines while it runs."""

    def __init__(self, tmp_path: Path, *args: str, demo: bool = False, **env: str):
        self.port = _free_port()
        self.data_dir = tmp_path / "var"
        environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        environ.update(MDM_DATA_DIR=str(self.data_dir), **env)
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "mdm.cli", "up", "--port", str(self.port)),
                *(("--demo-meters", "2", "--demo-days", "1") if demo else ("--no-demo",)),
                *args,
            ],
            cwd=BASE_DIR,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.seen_pids: set[int] = set()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = 240) -> re.Match:
        """The first line matching ``pattern`` from line ``after`` on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.5)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.output}")

    def pid_of(self, name: str, *, after: int = 0) -> int:
        return int(self.wait_for(rf"^  {name} \(pid (\d+)\)", after=after).group(1))

    def wait_until_serving(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.output
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/accounts/login/", timeout=5)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "portal did not come up"
                time.sleep(1)

    def note_processes(self) -> None:
        """Remember every process of this run so far: its children and theirs, and the
        embedded Redis server (which daemonizes, so it is no descendant)."""
        launcher = psutil.Process(self.process.pid)
        self.seen_pids |= {child.pid for child in launcher.children(recursive=True)}
        registry = self.data_dir / "redis" / "redis.db.settings"
        if registry.exists():
            pidfile = Path(json.loads(registry.read_text())["pidfile"])
            if pidfile.exists():
                self.seen_pids.add(int(pidfile.read_text()))

    def stop(self, timeout: float = 120) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.process.returncode

    def orphans(self) -> list[str]:
        alive = []
        for pid in sorted(self.seen_pids):
            with contextlib.suppress(psutil.NoSuchProcess):
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid} {' '.join(process.cmdline())}")
        leftovers = subprocess.run(
            ["pgrep", "-af", str(self.data_dir)], capture_output=True, text=True, check=False
        ).stdout.strip()
        return alive + ([leftovers] if leftovers else [])

    def assert_no_orphans(self) -> None:
        orphans = self.orphans()
        self.kill()  # a failing check must not leave them running either
        assert orphans == [], "orphan processes"

    def kill(self) -> None:
        """Clean-up for a failed test: the launcher's group and everything it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.seen_pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_mdm_up_serves_login_and_stops_cleanly(tmp_path):
    up = MdmUp(tmp_path, MDM_ADMIN_PASSWORD="Up-Test-pass-1")
    try:
        up.wait_until_serving()
        up.note_processes()
        with httpx.Client(base_url=f"http://127.0.0.1:{up.port}", timeout=5) as web:
            web.get("/accounts/login/")
            response = web.post(
                "/accounts/login/",
                data={
                    "username": "admin",
                    "password": "Up-Test-pass-1",
                    "csrfmiddlewaretoken": web.cookies["csrftoken"],
                },
            )
            assert response.status_code == 302
            assert web.get("/").status_code == 200
            # DEBUG is off: a missing page is the portal's page, not Django's debug page.
            missing = web.get("/no-such-page/")
            assert missing.status_code == 404
            assert "URLconf" not in missing.text and 'class="navbar-brand"' in missing.text
        up.note_processes()
        assert up.stop() == 0, up.output
    finally:
        up.kill()
    assert "Stopped." in up.output
    # The password came from the environment: it is not echoed.
    assert "Up-Test-pass-1" not in up.output
    assert "with MDM_ADMIN_PASSWORD" in up.output
    # The gunicorn control socket is off (no fixed file shared by every instance).
    assert "--no-control-socket" in up.output
    up.assert_no_orphans()


@pytest.mark.slow
def test_mdm_up_restarts_killed_worker_and_beat_and_gives_up_after_the_limit(tmp_path):
    # A small demo: its first pulls go through the launcher's pooled broker connections,
    # which must not keep the embedded Redis alive at exit.
    up = MdmUp(tmp_path, "--max-restarts", "1", demo=True)
    try:
        up.wait_until_serving()
        # Generated password: printed, once, so the operator can log in.
        assert up.wait_for(r"Created administrator 'admin' with password: \S+")
        up.note_processes()
        worker = up.pid_of("worker")
        beat = up.pid_of("beat")

        mark = len(up.lines)
        os.kill(worker, signal.SIGKILL)
        up.wait_for(
            r"worker exited with code -9; restarting in \d+ s \(restart 1 of 1\)", after=mark
        )
        new_worker = up.pid_of("worker", after=mark)
        assert new_worker != worker
        mark = len(up.lines)
        os.kill(beat, signal.SIGKILL)
        up.wait_for(r"beat exited with code -9; restarting", after=mark)
        new_beat = up.pid_of("beat", after=mark)
        assert new_beat != beat
        # mdm up goes on: the portal serves, the new worker answers a broker ping.
        assert up.process.poll() is None, up.output
        assert httpx.get(f"http://127.0.0.1:{up.port}/accounts/login/", timeout=10).is_success
        deadline = time.monotonic() + 180
        while not (_alive(new_worker) and psutil.Process(new_worker).children()):
            assert time.monotonic() < deadline, "restarted worker has no pool"
            time.sleep(1)
        up.note_processes()

        # A second crash inside the window is over the limit: everything stops, nothing stays.
        mark = len(up.lines)
        os.kill(new_worker, signal.SIGKILL)
        up.wait_for(r"worker exited with code -9 after 1 restarts .* giving up", after=mark)
        assert up.stop() == 1, up.output
    finally:
        up.kill()
    assert "Stopped." in up.output
    assert not _alive(worker) and not _alive(beat) and not _alive(new_beat)
    up.assert_no_orphans()
