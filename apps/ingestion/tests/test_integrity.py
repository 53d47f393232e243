"""Integrity under vendor faults and hostile MDCs (issue 16): rows only of the answering MDC's
own meters and inside the window, late load profile asked for again until it is in, quarantined
bodies retried until they load or are released, and counters that add up."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings as django_settings

from apps.ingestion.choices import RefillReason, RefillState, RunOutcome
from apps.ingestion.models import IngestionRun, RefillWindow, Watermark
from apps.ingestion.services import pull_run, watermark_set
from apps.ingestion.tests.conftest import (
    NOW,
    UNTIL,
    expected_rows,
    key_of,
    registered_mdc,
    sim_mdc,
    stored_rows,
)
from apps.ingestion.tests.hostile import HostileMdc, read_answer
from apps.ingestion.tests.test_kill import CHILD, ROOT, _test_database_url
from apps.ingestion.tests.test_pull_api import assert_same_rows
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator import wire
from apps.simulator.services import sim_faults_update, sim_read
from apps.simulator.testing import freeze_clock
from apps.udil.timefmt import PKT
from apps.warehouse.choices import QuarantineKind
from apps.warehouse.models import QuarantinedRow


def _rows_at(sim, ids, *, now, until):
    """What the simulated MDC holds at ``now`` for its whole history up to ``until``."""
    fields, rows, _ = sim_read(
        mdc=sim,
        dataset="load_profile",
        global_device_ids=list(ids),
        start=sim.history_start,
        end=until - dt.timedelta(seconds=1),
        now=now,
    )
    return [dict(zip(fields, row, strict=True)) for row in rows]


def test_an_mdc_cannot_store_rows_of_meters_it_does_not_own_or_outside_the_window(
    live_server, frozen
):
    owner_sim, owner_meters = sim_mdc("owner", meters=2)
    owner = registered_mdc(live_server, owner_sim, owner_meters)
    pull_run(
        mdc_id=owner.pk, dataset_code="load_profile", since=owner_sim.history_start, until=UNTIL
    )
    victim = owner_meters[0].global_device_id
    genuine = next(
        row
        for row in expected_rows(owner_sim, "load_profile", [victim])
        if row["meter_datetime"] == "2025-06-30 10:00:00"
    )

    def answer(service, form):
        day = form["start_datetime"][:10]
        own = {**genuine, "global_device_id": own_meter.global_device_id}
        own.update(msn=str(own_meter.msn), meter_datetime=f"{day} 06:00:00")
        overwrite = {**genuine, "active_energy_tl": "99999.000"}
        overwrite["db_datetime"] = "2025-07-01 23:00:00"  # "newer", so a merge would take it
        unregistered = {**genuine, "global_device_id": "m77777777"}
        stray = {**own, "meter_datetime": "2025-06-20 06:00:00"}
        return 200, read_answer([overwrite, unregistered, stray, own])

    with HostileMdc(answer) as fake:
        hostile = MdcFactory(
            code="hostile", base_url=fake.url, window_minutes={"load_profile": 1440}
        )
        own_meter = MeterFactory(mdc=hostile, transformer=None, consumer=None)
        run = pull_run(
            mdc_id=hostile.pk,
            dataset_code="load_profile",
            since=dt.datetime(2025, 6, 30, tzinfo=PKT),
            until=dt.datetime(2025, 7, 2, tzinfo=PKT),
        )
    assert run.requests == 2 and run.windows_loaded == 2
    assert (run.rows_received, run.rows_inserted, run.rows_quarantined) == (8, 2, 6)
    assert run.outcome == RunOutcome.PARTIAL
    # the victim's row is the genuine one, still owned by its MDC
    [stored] = [
        row
        for row in stored_rows(owner.pk, "load_profile")
        if key_of("load_profile", row) == key_of("load_profile", genuine)
    ]
    assert stored["active_energy_tl"] == Decimal(genuine["active_energy_tl"])
    assert [r["global_device_id"] for r in stored_rows(hostile.pk, "load_profile")] == [
        own_meter.global_device_id
    ] * 2
    # each refused row is one quarantine entry however many windows repeated it
    entries = QuarantinedRow.objects.filter(mdc_id=hostile.pk).order_by("reason", "id")
    assert sorted((e.count, e.raw_payload["global_device_id"]) for e in entries) == sorted(
        [(2, victim), (2, "m77777777"), (2, own_meter.global_device_id)]
    )
    reasons = {e.raw_payload["global_device_id"]: e.reason for e in entries}
    assert "not a meter registered at this MDC" in reasons[victim]
    assert "not a meter registered at this MDC" in reasons["m77777777"]
    assert "outside the requested window" in reasons[own_meter.global_device_id]
    # re-loading the genuine rows changes nothing: they were never overwritten
    watermark_set(actor=None, mdc=owner, dataset_code="load_profile", position=None)
    again = pull_run(
        mdc_id=owner.pk, dataset_code="load_profile", since=owner_sim.history_start, until=UNTIL
    )
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    ids = [m.global_device_id for m in owner_meters]
    assert_same_rows(
        "load_profile",
        stored_rows(owner.pk, "load_profile"),
        expected_rows(owner_sim, "load_profile", ids),
    )


def test_load_profile_of_meters_offline_beyond_the_lookback_is_asked_for_until_it_is_in(
    live_server, monkeypatch, settings, client_as
):
    settings.INGESTION_GAP_SCAN_MINUTES = 0
    # every meter-day has an offline episode of 2 to 12 hours: rows reach the MDC that late
    sim, sim_meters = sim_mdc("offline", meters=4, offline_rate=1.0)
    mdc = registered_mdc(live_server, sim, sim_meters)
    ids = [m.global_device_id for m in sim_meters]
    start = NOW - dt.timedelta(days=2)
    moments = [start + dt.timedelta(hours=2 * i) for i in range(25)]  # every 2 h for 2 days
    moments.append(NOW + dt.timedelta(days=1))  # and a day later, when every meter is back
    runs = []
    for moment in moments:
        freeze_clock(monkeypatch, moment)
        runs.append(
            pull_run(
                mdc_id=mdc.pk,
                dataset_code="load_profile",
                since=sim.history_start,
                until=moment - dt.timedelta(minutes=10),
            )
        )
    assert all(run.outcome == RunOutcome.SUCCEEDED for run in runs), [r.error for r in runs]
    final = moments[-1]
    expected = _rows_at(sim, ids, now=final, until=final - dt.timedelta(minutes=10))
    stored = stored_rows(mdc.pk, "load_profile")
    assert_same_rows("load_profile", stored, expected)
    # the lookback alone would have lost rows: they came through refills, bounded and counted
    assert sum(run.refill_requests for run in runs) > 0
    assert sum(run.refills_filled for run in runs) > 0
    assert sum(run.rows_inserted for run in runs) == len(stored)
    assert not RefillWindow.objects.filter(mdc=mdc, state=RefillState.OPEN).exists()
    assert RefillWindow.objects.filter(mdc=mdc, state=RefillState.FILLED).exists()
    # while meters were offline, runs showed the windows still open
    assert any(run.refills_open for run in runs)
    busy = max(runs, key=lambda run: run.refill_requests)
    page = client_as("Viewer").get(busy.get_absolute_url()).content.decode()
    assert f"{busy.refill_requests} requests, {busy.refills_filled} filled" in page


def test_a_window_whose_body_was_quarantined_is_retried_until_it_loads_or_is_released(
    live_server, monkeypatch, settings, client_as
):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.001
    settings.INGESTION_REQUEST_ATTEMPTS = 20  # authorization answers are garbled too
    settings.INGESTION_MALFORMED_ATTEMPTS = 1
    freeze_clock(monkeypatch, NOW)
    wire._rng.seed(11)
    sim, sim_meters = sim_mdc("halfbad", meters=4, malformed_rate=0.5)
    mdc = registered_mdc(live_server, sim, sim_meters, batch_size=1)
    ids = [m.global_device_id for m in sim_meters]
    first = pull_run(
        mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL
    )
    bodies = QuarantinedRow.objects.filter(mdc_id=mdc.pk, kind=QuarantineKind.BODY)
    assert first.payloads_quarantined == bodies.count() > 1
    assert first.watermark_after == UNTIL
    # a window with a quarantined body is not counted as loaded
    windows = -(-(UNTIL - sim.history_start) // dt.timedelta(minutes=720))
    broken = len({entry.window_start for entry in bodies})
    assert first.windows_loaded == windows - broken < windows
    refills = RefillWindow.objects.filter(mdc=mdc, reason=RefillReason.BODY)
    assert refills.filter(state=RefillState.OPEN).count() == first.payloads_quarantined
    assert len(stored_rows(mdc.pk, "load_profile")) < len(expected_rows(sim, "load_profile", ids))
    # an operator releases one body (it will not be asked for again); the MDC is then fixed
    released = bodies.order_by("id").first()
    released_devices = released.device_ids
    response = client_as("Operator").post(
        f"/api/warehouse/quarantine/{released.pk}/resolve/", {"note": "vendor lost it"}
    )
    assert response.status_code == 200, response.content
    sim_faults_update(mdc=sim, malformed_rate=0.0)
    later = NOW + dt.timedelta(days=1)
    freeze_clock(monkeypatch, later)
    second = pull_run(
        mdc_id=mdc.pk, dataset_code="load_profile", until=later - dt.timedelta(minutes=10)
    )
    assert second.outcome == RunOutcome.SUCCEEDED, second.error
    assert second.refill_requests == first.payloads_quarantined - 1
    assert not refills.filter(state=RefillState.OPEN).exists()
    assert refills.filter(state=RefillState.RELEASED).count() == 1
    assert refills.filter(state=RefillState.FILLED).count() == first.payloads_quarantined - 1
    assert not bodies.filter(resolved=False).exists()
    # every row the MDC holds is stored, except the window the operator released
    window = dt.datetime.fromisoformat(str(released.window_start)), released.window_end
    expected = [
        row
        for row in _rows_at(sim, ids, now=later, until=later - dt.timedelta(minutes=10))
        if not (
            row["global_device_id"] in released_devices
            and window[0]
            <= dt.datetime.fromisoformat(row["meter_datetime"]).replace(tzinfo=PKT)
            <= window[1]
        )
    ]
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)
    runs = IngestionRun.objects.filter(mdc=mdc)
    assert sum(run.rows_inserted for run in runs) == len(expected)


@pytest.mark.slow
def test_run_counters_add_up_to_the_rows_stored_after_a_kill_mid_window(live_server, frozen):
    sim, sim_meters = sim_mdc("killcount", latency_ms=200)
    mdc = registered_mdc(live_server, sim, sim_meters)  # 3 requests per window
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
    }
    args = [str(mdc.pk), sim.history_start.isoformat(), UNTIL.isoformat()]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not Watermark.objects.filter(mdc=mdc).exists():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        at_window = len(stored_rows(mdc.pk, "load_profile"))
        # killed after a request of the next window is stored, before that window is done
        while len(stored_rows(mdc.pk, "load_profile")) == at_window:
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    killed = IngestionRun.objects.get(mdc=mdc)
    assert killed.rows_inserted == len(stored_rows(mdc.pk, "load_profile")) > at_window
    rerun = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=UNTIL)
    assert rerun.outcome == RunOutcome.SUCCEEDED
    expected = expected_rows(sim, "load_profile", [m.global_device_id for m in sim_meters])
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)
    runs = IngestionRun.objects.filter(mdc=mdc)
    assert sum(run.rows_inserted for run in runs) == len(expected)
