"""The embedded runtime: real PostgreSQL and Redis, and ``mdm up`` end to end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
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


@pytest.mark.slow
def test_mdm_up_serves_login_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(MDM_DATA_DIR=str(tmp_path / "var"), MDM_ADMIN_PASSWORD="Up-Test-pass-1")
    up = subprocess.Popen(
        [sys.executable, "-m", "mdm.cli", "up", "--no-demo", "--port", str(port)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as web:
            while True:
                assert up.poll() is None, up.stdout.read()
                try:
                    login_page = web.get("/accounts/login/")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "portal did not come up"
                    time.sleep(1)
            assert login_page.status_code == 200
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
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert "Stopped." in output
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    ).stdout.strip()
    assert leftovers == "", f"orphan processes: {leftovers}"
