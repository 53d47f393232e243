"""Tabular MDCs on MariaDB, for real: the test session runs its own server.

The session fixture installs Debian's ``mariadb-server`` when ``mariadbd`` is missing (as CI
runs: root, no standard input), initialises a data directory in a temporary folder, starts
``mariadbd`` on a unix socket there (no network port, so parallel sessions never collide) and
stops it at the end. Nothing is skipped: a machine where it cannot start fails these tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import make_url

from apps.ingestion.choices import RunOutcome
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import UNTIL, sim_mdc, stored_rows
from apps.ingestion.tests.test_engines import (
    pull_exactly_then_incrementally,
    vendor_mdc,
    vendor_rows,
)
from apps.ingestion.tests.test_pull_api import assert_same_rows
from apps.registry.tests.factories import MeterFactory
from apps.simulator.tabular import sim_tabular_sync

pytestmark = pytest.mark.django_db(transaction=True)

START_SECONDS = 60


def _mariadbd() -> str | None:
    return shutil.which("mariadbd") or next(
        (p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if os.path.exists(p)), None
    )


def _install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "mariadb-server"]
    for step in (install, ["apt-get", "update", "-q"], install):
        done = subprocess.run(
            step, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=600, check=False
        )
        if step is install and done.returncode == 0:
            return
    raise RuntimeError(f"apt-get install mariadb-server failed: {done.stderr.decode()[-500:]}")


@contextlib.contextmanager
def mariadb_server() -> Iterator[str]:
    """A MariaDB server in a temporary folder, on a unix socket (root, no password), installed
    first if missing; stopped and removed on exit. Yields the socket's path. Also used by
    ``bench/bench_tabular.py``."""
    if _mariadbd() is None:
        _install()
    server = _mariadbd()
    assert server, "mariadbd is not installed"
    home = Path(tempfile.mkdtemp(prefix="mdm-mariadb-"))
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={home / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
        check=True,
    )
    socket = home / "sock"
    log = open(home / "err.log", "wb")  # noqa: SIM115 (closed on exit)
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={home / 'data'}",
            f"--socket={socket}",
            "--skip-networking",
            f"--pid-file={home / 'pid'}",
            "--innodb-buffer-pool-size=64M",
            "--skip-log-bin",
            *user,
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                pymysql.connect(unix_socket=str(socket), user="root").close()
                break
            except pymysql.err.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mariadbd did not start: {(home / 'err.log').read_text()[-800:]}"
                    ) from None
                time.sleep(0.2)
        yield str(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def mariadb_database(socket: str, name: str) -> str:
    """A fresh, empty database on the server; its URL as a registry MDC names it."""
    conn = pymysql.connect(unix_socket=socket, user="root")
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()
    return f"mysql+pymysql://root@localhost/{name}?unix_socket={socket}"


@pytest.fixture(scope="session")
def mariadb_socket():
    """The unix socket of a MariaDB server of this test session."""
    with mariadb_server() as socket:
        yield socket


@pytest.fixture
def mariadb_url(mariadb_socket):
    """A fresh database on the session's server, as a registry MDC names it."""
    name = f"vendor_{uuid.uuid4().hex[:10]}"
    yield mariadb_database(mariadb_socket, name)
    conn = pymysql.connect(unix_socket=mariadb_socket, user="root")
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE {name}")
    conn.close()


def test_mariadb_vendor_database_pulled_exactly_then_incrementally(settings, mariadb_url):
    settings.INGESTION_TABULAR_CHUNK_ROWS = 97
    sim, sim_meters = sim_mdc("maria_a", transport="tabular")
    pull_exactly_then_incrementally(mariadb_url, sim, sim_meters)


def test_mariadb_groups_of_equal_db_datetimes_across_chunks_and_schema_qualified_views(
    settings, mariadb_url
):
    """A morning's load profile stored in one batch, read 7 rows at a time from a view named
    ``database.view`` in upper case (MariaDB on Linux: names are case sensitive)."""
    sim, sim_meters = sim_mdc("maria_g", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=mariadb_url)
    url = make_url(mariadb_url)
    database, socket = url.database, url.query["unix_socket"]
    conn = pymysql.connect(unix_socket=socket, user="root", database=database, autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(
            "UPDATE load_profile_data SET db_datetime = '2025-07-01 09:30:00' "
            "WHERE meter_datetime BETWEEN '2025-07-01 00:00:00' AND '2025-07-01 09:00:00'"
        )
        cursor.execute("CREATE VIEW LP_VIEW AS SELECT * FROM load_profile_data")
    conn.close()
    expected = vendor_rows(mariadb_url, "load_profile")
    assert sum(r["db_datetime"] == "2025-07-01 09:30:00" for r in expected) > 35
    settings.INGESTION_TABULAR_CHUNK_ROWS = 7
    mdc = vendor_mdc(
        sim, sim_meters, mariadb_url, views={"LOAD_PROFILE_DATA": f"{database}.LP_VIEW"}
    )
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert run.rows_inserted == len(expected)
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)


def test_mariadb_unreachable_socket_and_refused_login_fail_cleanly(mariadb_socket, tmp_path):
    sim, _ = sim_mdc("maria_u", transport="tabular", meters=1)
    cases = {
        "v-maria-gone": f"mysql+pymysql://root@localhost/x?unix_socket={tmp_path / 'no.sock'}",
        "v-maria-deny": f"mysql+pymysql://nobody:s3cret@localhost/x?unix_socket={mariadb_socket}",
    }
    errors = {}
    for code, url in cases.items():
        mdc = vendor_mdc(sim, [], url, code=code, timeout_seconds=3)
        MeterFactory(mdc=mdc, transformer=None, consumer=None)
        run = pull_run(mdc_id=mdc.pk, dataset_code="events")
        assert run.outcome == RunOutcome.FAILED and run.error_type == "TabularUnavailable"
        assert "s3cret" not in run.error
        errors[code] = run.error
    assert "2003" in errors["v-maria-gone"] or "Can't connect" in errors["v-maria-gone"]
    assert "1045" in errors["v-maria-deny"] and "Access denied" in errors["v-maria-deny"]


def test_mariadb_table_locked_by_a_writer_fails_the_pull_within_the_timeout(mariadb_url):
    """A vendor job holds ``LOCK TABLES ... WRITE``: the pull waits at most the MDC's timeout
    (``lock_wait_timeout``), fails with the reason and loses nothing; the next pull reads all."""
    sim, sim_meters = sim_mdc("maria_l", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=mariadb_url)
    expected = vendor_rows(mariadb_url, "events")
    mdc = vendor_mdc(sim, sim_meters, mariadb_url, timeout_seconds=2)
    url = make_url(mariadb_url)
    holder = pymysql.connect(
        unix_socket=url.query["unix_socket"], user="root", database=url.database
    )
    try:
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLES events WRITE")
        started = time.monotonic()
        run = pull_run(mdc_id=mdc.pk, dataset_code="events")
        waited = time.monotonic() - started
    finally:
        holder.close()  # releases the lock
    assert run.outcome == RunOutcome.FAILED and run.error_type == "TabularUnavailable"
    assert "1205" in run.error and "Lock wait timeout" in run.error
    assert waited < 60  # bounded by the MDC's timeout, not the server's default of a year
    assert stored_rows(mdc.pk, "events") == []
    run = pull_run(mdc_id=mdc.pk, dataset_code="events")
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert_same_rows("events", stored_rows(mdc.pk, "events"), expected)


def test_mariadb_test_connection_reports_each_view(client_as, mariadb_url):
    sim, sim_meters = sim_mdc("maria_t", transport="tabular", meters=2)
    sim_tabular_sync(mdc=sim, until=UNTIL, database_url=mariadb_url)
    mdc = vendor_mdc(sim, sim_meters, mariadb_url)
    answer = client_as("Administrator").post(f"/api/registry/mdcs/{mdc.pk}/test_connection/")
    body = answer.json()
    assert body["ok"] is True, body["message"]
    lp = vendor_rows(mariadb_url, "load_profile")
    newest = max(r["db_datetime"] for r in lp)
    assert "Connected to the MDC database (MySQL / MariaDB)." in body["message"]
    assert (
        f"LOAD_PROFILE_DATA load_profile_data: {len(lp)} rows, newest db_datetime {newest}."
        in body["message"]
    )
    assert "missing" not in body["message"] and "unknown" not in body["message"]
