"""API pulls against simulated MDCs over real HTTP: exact rows, idempotence, faults."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db.models.signals import post_save

from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.selectors import completeness_grid
from apps.ingestion.services import pull_run, watermark_set
from apps.ingestion.tests.conftest import (
    DAYS,
    HISTORY_DATASETS,
    NOW,
    UNTIL,
    expected_rows,
    key_of,
    registered_mdc,
    sim_mdc,
    stored_rows,
)
from apps.registry.models import Meter
from apps.simulator import wire
from apps.simulator.models import SimPrivateKey
from apps.simulator.services import sim_faults_update
from apps.udil.datasets import DATASETS
from apps.warehouse.choices import QuarantineKind
from apps.warehouse.models import QuarantinedRow

ALL_DATASETS = (*HISTORY_DATASETS, "meter_visuals")


def assert_same_rows(dataset_code: str, stored: list[dict], expected: list[dict]) -> None:
    """Same keys, no duplicates, and every field of every row equal to the MDC's value."""
    dataset = DATASETS[dataset_code]
    by_key = {key_of(dataset_code, row): row for row in stored}
    assert len(by_key) == len(stored)
    assert set(by_key) == {key_of(dataset_code, row) for row in expected}
    for raw in expected:
        decoded = dataset.decode_row(raw)
        row = by_key[key_of(dataset_code, raw)]
        for name in dataset.field_names:
            want = decoded[name]
            if name == "channel_id" and want is None:
                want = 0
            assert row[name] == want, (dataset_code, key_of(dataset_code, raw), name)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_full_pull_of_every_dataset_lands_exactly_what_the_mdc_holds(live_server, frozen, fmt):
    sim, sim_meters = sim_mdc(f"full_{fmt}", fmt=fmt)
    mdc = registered_mdc(live_server, sim, sim_meters)
    ids = [meter.global_device_id for meter in sim_meters]
    for code in ALL_DATASETS:
        run = pull_run(mdc_id=mdc.pk, dataset_code=code, since=sim.history_start, until=UNTIL)
        expected = expected_rows(sim, code, ids)
        assert run.error == "" and run.outcome == RunOutcome.SUCCEEDED, (code, run.error)
        assert (run.rows_received, run.rows_inserted) == (len(expected), len(expected)), code
        assert (run.rows_updated, run.rows_unchanged, run.rows_quarantined) == (0, 0, 0)
        assert run.devices == 5
        assert run.watermark_before is None and run.watermark_after == UNTIL
        assert Watermark.objects.get(mdc=mdc, dataset=code).position == UNTIL
        assert_same_rows(code, stored_rows(mdc.pk, code), expected)
    # the fleet really produced data: 5 meters x 3 days of 15- or 30-minute load profile
    load_profile = stored_rows(mdc.pk, "load_profile")
    assert 5 * DAYS * 48 <= len(load_profile) <= 5 * (DAYS + 1) * 96
    assert len(stored_rows(mdc.pk, "meter_visuals")) == 5
    assert len(stored_rows(mdc.pk, "monthly_billing")) >= 1
    # every window of the load profile was its own bounded request: 2 devices per request
    run = IngestionRun.objects.get(mdc=mdc, dataset="load_profile")
    windows = -(-(UNTIL - sim.history_start) // dt.timedelta(minutes=720))
    assert run.requests == windows * 3 and run.windows_loaded == windows


def test_a_repull_of_the_same_window_changes_nothing(live_server, frozen):
    sim, sim_meters = sim_mdc("repull")
    mdc = registered_mdc(live_server, sim, sim_meters)
    first = pull_run(
        mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL
    )
    before = stored_rows(mdc.pk, "load_profile")
    assert first.rows_inserted == len(before) > 0

    watermark_set(actor=None, mdc=mdc, dataset_code="load_profile", position=None)
    again = pull_run(
        mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL
    )
    assert again.outcome == RunOutcome.SUCCEEDED
    assert again.rows_received == len(before)
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    assert again.rows_unchanged == len(before)
    after = stored_rows(mdc.pk, "load_profile")
    assert sorted(map(repr, after)) == sorted(map(repr, before))  # not even ingested_at moved

    # the next scheduled pull starts from the watermark (minus the lookback): nothing new
    incremental = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=UNTIL)
    assert incremental.window_start == UNTIL - dt.timedelta(minutes=60)
    assert incremental.rows_inserted == incremental.rows_updated == 0
    assert incremental.rows_unchanged == incremental.rows_received > 0


def test_inactive_meters_are_not_requested(live_server, frozen):
    sim, sim_meters = sim_mdc("inactive", meters=4)
    mdc = registered_mdc(live_server, sim, sim_meters)
    silent = sim_meters[1].global_device_id
    Meter.objects.filter(global_device_id=silent).update(activation_status=0)
    run = pull_run(mdc_id=mdc.pk, dataset_code="events", since=sim.history_start, until=UNTIL)
    active_ids = [m.global_device_id for m in sim_meters if m.global_device_id != silent]
    expected = expected_rows(sim, "events", active_ids)
    assert run.devices == 3
    assert run.rows_inserted == len(expected)
    stored = stored_rows(mdc.pk, "events")
    assert {row["global_device_id"] for row in stored} == set(active_ids)
    # the simulated MDC has events for the inactive meter too: they were simply not asked for
    assert expected_rows(sim, "events", [silent])


def test_an_expired_private_key_is_renewed_and_the_call_retried(live_server, monkeypatch):
    sim, sim_meters = sim_mdc("expiry", key_lifetime_seconds=300)
    # the simulated MDC's clock moves 50 s per request, so its keys expire every few calls,
    # long before the 30 minutes the MDM expects
    ticks = iter(range(10_000))
    monkeypatch.setattr(
        "apps.simulator.clock.now", lambda: NOW + dt.timedelta(seconds=50 * next(ticks))
    )
    mdc = registered_mdc(live_server, sim, sim_meters, key_lifetime_minutes=30)
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL)
    expected = expected_rows(sim, "load_profile", [m.global_device_id for m in sim_meters])
    assert run.outcome == RunOutcome.SUCCEEDED, run.error
    assert run.rows_inserted == len(expected)
    assert run.retries == 0  # renewing is not a retry of the pull
    assert run.requests == 21
    assert SimPrivateKey.objects.filter(mdc=sim).count() >= 4  # 21+ requests x 50 s / 300 s


def test_500s_are_retried_while_another_mdc_keeps_loading(live_server, frozen, settings):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.001
    settings.INGESTION_REQUEST_ATTEMPTS = 12
    wire._rng.seed(20250702)  # the simulator's fault dice, for a repeatable run
    flaky_sim, flaky_meters = sim_mdc("flaky", error_500_rate=0.3)
    down_sim, down_meters = sim_mdc("down", error_500_rate=1.0, latency_ms=20)
    good_sim, good_meters = sim_mdc("good")
    flaky = registered_mdc(live_server, flaky_sim, flaky_meters)
    down = registered_mdc(live_server, down_sim, down_meters)
    good = registered_mdc(live_server, good_sim, good_meters)

    runs = {}

    def pull(mdc):
        from django.db import connection

        try:
            runs[mdc.code] = pull_run(
                mdc_id=mdc.pk,
                dataset_code="load_profile",
                since=NOW - dt.timedelta(days=DAYS),
                until=UNTIL,
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=pull, args=(mdc,)) for mdc in (down, good, flaky)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert runs[down.code].outcome == RunOutcome.FAILED
    assert runs[down.code].error_type == "MdcUnavailable"
    assert "HTTP 500" in runs[down.code].error
    assert runs[down.code].rows_received == 0
    assert not Watermark.objects.filter(mdc=down).exists()

    assert runs[good.code].outcome == RunOutcome.SUCCEEDED
    good_ids = [m.global_device_id for m in good_meters]
    assert_same_rows(
        "load_profile",
        stored_rows(good.pk, "load_profile"),
        expected_rows(good_sim, "load_profile", good_ids, start=NOW - dt.timedelta(days=DAYS)),
    )
    flaky_run = runs[flaky.code]
    assert flaky_run.outcome == RunOutcome.SUCCEEDED, flaky_run.error
    assert flaky_run.retries > 0
    flaky_ids = [m.global_device_id for m in flaky_meters]
    expected = expected_rows(
        flaky_sim, "load_profile", flaky_ids, start=NOW - dt.timedelta(days=DAYS)
    )
    assert flaky_run.rows_inserted == len(expected)
    assert_same_rows("load_profile", stored_rows(flaky.pk, "load_profile"), expected)


def test_malformed_bodies_are_retried_then_quarantined_and_nothing_else_is_lost(
    live_server, frozen, settings
):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.001
    settings.INGESTION_REQUEST_ATTEMPTS = 20  # authorization answers are garbled too
    settings.INGESTION_MALFORMED_ATTEMPTS = 2
    wire._rng.seed(7)
    sim, sim_meters = sim_mdc("garbled", meters=6, malformed_rate=0.45)
    mdc = registered_mdc(live_server, sim, sim_meters, batch_size=1)
    run = pull_run(mdc_id=mdc.pk, dataset_code="events", since=sim.history_start, until=UNTIL)
    bodies = list(
        QuarantinedRow.objects.filter(
            mdc_id=mdc.pk, kind=QuarantineKind.BODY, dataset_code="events"
        )
    )
    assert run.payloads_quarantined == len(bodies) > 0
    assert run.outcome == RunOutcome.PARTIAL
    assert run.watermark_after == UNTIL  # quarantined, not lost: the pull went on
    # every quarantined body names its window and device; all other rows are stored exactly
    lost = set()
    for body in bodies:
        assert body.reason.startswith("invalid ")
        assert f"run {run.pk} " in body.source
        window, device = body.source.split(" run ")[1].split(" ", 1)[1].rsplit(" device ", 1)
        start_text, end_text = window.split(" .. ")
        start = dt.datetime.fromisoformat(start_text).replace(tzinfo=NOW.tzinfo)
        end = dt.datetime.fromisoformat(end_text).replace(tzinfo=NOW.tzinfo)
        lost |= {
            key_of("events", row)
            for row in expected_rows(sim, "events", [device], start=start, until=end)
        }
    expected = [
        row
        for row in expected_rows(sim, "events", [m.global_device_id for m in sim_meters])
        if key_of("events", row) not in lost
    ]
    assert run.rows_inserted == len(expected)
    assert_same_rows("events", stored_rows(mdc.pk, "events"), expected)


def test_a_pull_stopped_midway_and_rerun_leaves_no_gap_and_no_duplicate(
    live_server, frozen, settings
):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.001
    settings.INGESTION_REQUEST_ATTEMPTS = 2
    sim, sim_meters = sim_mdc("crash")
    mdc = registered_mdc(live_server, sim, sim_meters)

    def break_mdc_after_first_window(sender, instance, created, **kwargs):
        if created and instance.mdc_id == mdc.pk:  # the first window is committed
            sim_faults_update(mdc=sim, error_500_rate=1.0)

    post_save.connect(break_mdc_after_first_window, sender=Watermark, dispatch_uid="crash")
    try:
        first = pull_run(
            mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL
        )
    finally:
        post_save.disconnect(sender=Watermark, dispatch_uid="crash")
    assert first.outcome == RunOutcome.PARTIAL
    assert first.error_type == "MdcUnavailable"
    assert sim.history_start < first.watermark_after < UNTIL
    assert Watermark.objects.get(mdc=mdc, dataset="load_profile").position == (
        first.watermark_after
    )
    loaded = len(stored_rows(mdc.pk, "load_profile"))
    assert loaded == first.rows_inserted > 0

    sim_faults_update(mdc=sim, error_500_rate=0.0)
    second = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", until=UNTIL)
    assert second.outcome == RunOutcome.SUCCEEDED
    assert second.watermark_before == first.watermark_after
    assert second.window_start == first.watermark_after - dt.timedelta(minutes=60)
    expected = expected_rows(sim, "load_profile", [m.global_device_id for m in sim_meters])
    assert_same_rows("load_profile", stored_rows(mdc.pk, "load_profile"), expected)
    # rows loaded before the stop and re-read in the lookback were not inserted twice
    assert first.rows_inserted + second.rows_inserted == len(expected)
    assert second.rows_updated == 0


def test_completeness_counts_intervals_received_against_expected(live_server, frozen, client_as):
    sim, sim_meters = sim_mdc("complete", meters=3)
    mdc = registered_mdc(live_server, sim, sim_meters)
    pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=UNTIL)
    grid = completeness_grid(days=4, now=NOW)
    cells = {cell.day: cell for cell in grid.cells if cell.mdc_code == mdc.code}
    per_day = {}
    for row in stored_rows(mdc.pk, "load_profile"):
        day = row["meter_datetime"].astimezone(NOW.tzinfo).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert {day: cell.received for day, cell in cells.items()} == per_day
    full_day = dt.date(2025, 7, 1)
    expected = sum(1440 // meter.lp_interval for meter in sim_meters)
    assert (cells[full_day].received, cells[full_day].expected) == (expected, expected)
    assert cells[full_day].percent == 100.0
    # today is compared with the intervals elapsed by 12:07 (00:00 ... 12:00), not a full day
    elapsed = sum(-(-(12 * 60 + 7) // meter.lp_interval) for meter in sim_meters)
    assert cells[NOW.date()].expected == elapsed
    assert cells[NOW.date()].received == per_day[NOW.date()] > 0.9 * elapsed
    page = client_as("Viewer").get("/ingestion/completeness/", {"days": 3})
    assert page.status_code == 200
