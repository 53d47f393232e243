"""A simulated tabular MDC written to a vendor database that is not the portal's own: an
SQLite file, with the spec's tables, keys and db_datetime index, holding what the API serves."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from apps.simulator.generator import FIELDS
from apps.simulator.services import sim_read
from apps.simulator.tabular import TABLES, sim_tabular_sync
from apps.simulator.testing import make_sim_mdc

from .conftest import NOW, START


@pytest.mark.django_db
def test_sqlite_vendor_database_holds_what_the_api_serves(tmp_path):
    path = tmp_path / "vendor.sqlite"
    url = f"sqlite:///{path}"
    mdc, meters = make_sim_mdc(
        code="tab_sqlite", transport="tabular", meters=3, history_start=START, now=NOW,
        lp_interval=15,
    )
    ids = [m.global_device_id for m in meters]
    first = NOW - dt.timedelta(days=1)
    written = sim_tabular_sync(mdc=mdc, until=first, database_url=url)
    api_rows = sim_read(
        mdc=mdc, dataset="load_profile", global_device_ids=ids, start=START, end=first, now=first
    )[1]
    assert written["load_profile_data"] == len(api_rows) > 0
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {*TABLES.values(), "transaction_status"}
        indexes = " ".join(
            r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master WHERE type='index'")
        )
        assert "load_profile_data_db_datetime" in indexes
        ddl = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'load_profile_data'"
        ).fetchone()[0]
        assert '"interval" INTEGER' in ddl
        assert "PRIMARY KEY (global_device_id, meter_datetime, channel_id)" in ddl
        rows = conn.execute(
            f"SELECT {', '.join(f'[{f}]' for f in FIELDS['load_profile'])} FROM load_profile_data"
        ).fetchall()
    # every value, as text, is what the API serves for the same rows
    served = {(r[1], r[2]): r for r in api_rows}
    assert len(rows) == len(served)
    for row in rows:
        want = served[(row[1], row[2])]
        got = tuple("" if v is None else str(v) for v in row)
        for name, g, w in zip(FIELDS["load_profile"], got, want, strict=True):
            if w and name not in ("global_device_id",) and w[:1].isdigit() and "." in w:
                assert float(g) == float(w), name  # NUMERIC affinity keeps 1.500 as 1.5
            else:
                assert g == w, name

    # the next sync adds exactly the rows stored since; a repeat adds nothing
    second = sim_tabular_sync(mdc=mdc, until=NOW, database_url=url)
    all_rows = sim_read(
        mdc=mdc, dataset="load_profile", global_device_ids=ids, start=START, end=NOW, now=NOW
    )[1]
    assert second["load_profile_data"] == len(all_rows) - len(api_rows)
    assert second["meter_visuals"] == 3
    assert sim_tabular_sync(mdc=mdc, until=NOW, database_url=url) == {}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM load_profile_data").fetchone()[0] == len(
            all_rows
        )
        assert conn.execute("SELECT count(*) FROM meter_visuals").fetchone()[0] == 3
