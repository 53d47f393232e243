"""A pull process killed with SIGKILL midway, then rerun: no gap, no duplicate, run closed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import UNTIL, expected_rows, registered_mdc, sim_mdc, stored_rows
from apps.ingestion.tests.test_pull_api import assert_same_rows

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import datetime as dt, django, sys
django.setup()
from apps.ingestion.services import pull_run
pull_run(mdc_id=int(sys.argv[1]), dataset_code="load_profile",
         since=dt.datetime.fromisoformat(sys.argv[2]), until=dt.datetime.fromisoformat(sys.argv[3]))
"""


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@/{db['NAME']}?host={db['HOST']}"


@pytest.mark.slow
def test_a_pull_killed_midway_is_redone_without_gap_or_duplicate(live_server, frozen):
    sim, sim_meters = sim_mdc("killed", latency_ms=250)
    mdc = registered_mdc(live_server, sim, sim_meters)
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
    }
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(mdc.pk),
            sim.history_start.isoformat(),
            UNTIL.isoformat(),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not Watermark.objects.filter(mdc=mdc).exists():
            assert child.poll() is None, "the pull ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    killed = IngestionRun.objects.get(mdc=mdc)
    assert killed.outcome == RunOutcome.RUNNING  # nobody could close it
    position = Watermark.objects.get(mdc=mdc, dataset="load_profile").position
    assert sim.history_start < position < UNTIL
    loaded = len(stored_rows(mdc.pk, "load_profile"))

    rerun = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=UNTIL)
    killed.refresh_from_db()
    assert killed.outcome == RunOutcome.FAILED and killed.error_type == "Abandoned"
    assert rerun.outcome == RunOutcome.SUCCEEDED and rerun.watermark_before == position
    expected = expected_rows(sim, "load_profile", [m.global_device_id for m in sim_meters])
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)
    assert loaded + rerun.rows_inserted == len(expected)
