"""The pull task on a real Celery worker and Redis broker; one pull per MDC and data set at once."""

from __future__ import annotations

import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker

from apps.ingestion.choices import RunOutcome, RunTrigger
from apps.ingestion.models import IngestionRun
from apps.ingestion.services import PullAlreadyRunning, pull_run
from apps.ingestion.tasks import MAX_RETRIES, pull
from apps.ingestion.tests.conftest import registered_mdc, sim_mdc, stored_rows
from apps.simulator.testing import make_sim_mdc
from mdm.celery import app as celery_app


def wait_for(condition, timeout: float = 90.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def test_a_second_pull_of_the_same_mdc_and_dataset_is_skipped_while_one_runs(live_server, frozen):
    sim, sim_meters = sim_mdc("busy", latency_ms=300)
    mdc = registered_mdc(live_server, sim, sim_meters)
    other, other_meters = sim_mdc("other")
    other_mdc = registered_mdc(live_server, other, other_meters)
    done = {}

    def slow_pull():
        from django.db import connection

        try:
            done["run"] = pull_run(
                mdc_id=mdc.pk, dataset_code="events", since=sim.history_start, until=frozen
            )
        finally:
            connection.close()

    worker = threading.Thread(target=slow_pull)
    worker.start()
    assert wait_for(
        lambda: IngestionRun.objects.filter(mdc=mdc, outcome=RunOutcome.RUNNING).exists(), 30
    )
    with pytest.raises(PullAlreadyRunning):
        pull_run(mdc_id=mdc.pk, dataset_code="events", until=frozen)
    assert pull.apply(kwargs={"mdc_id": mdc.pk, "dataset_code": "events"}).get() is None
    # another data set of the same MDC, and another MDC, are not held up
    assert pull_run(mdc_id=mdc.pk, dataset_code="billing", until=frozen).outcome == "succeeded"
    other_run = pull_run(mdc_id=other_mdc.pk, dataset_code="events", until=frozen)
    assert other_run.outcome == RunOutcome.SUCCEEDED
    worker.join(timeout=120)
    assert done["run"].outcome == RunOutcome.SUCCEEDED
    assert IngestionRun.objects.filter(mdc=mdc, dataset="events").count() == 1


@pytest.fixture
def celery_worker(settings):
    """A real worker (threads) consuming the real Redis broker of the settings."""
    settings.INGESTION_TASK_RETRY_SECONDS = 0.05
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.001
    settings.INGESTION_REQUEST_ATTEMPTS = 2
    celery_app.control.purge()
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        yield worker


def test_tasks_on_a_worker_retry_a_failing_mdc_while_another_loads(
    live_server, celery_worker, settings
):
    # real time here: the task pulls up to now, from the backfill start
    settings.INGESTION_BACKFILL_DAYS = {"load_profile": 2}
    good, good_meters = make_sim_mdc(code="worker_good", meters=5, days=3)
    down, down_meters = make_sim_mdc(code="worker_down", meters=5, days=3, error_500_rate=1.0)
    good_mdc = registered_mdc(live_server, good, good_meters)
    down_mdc = registered_mdc(live_server, down, down_meters)
    # pulls through the broker, as beat sends them
    pull.delay(mdc_id=down_mdc.pk, dataset_code="load_profile")
    pull.delay(mdc_id=good_mdc.pk, dataset_code="load_profile")

    assert wait_for(
        lambda: IngestionRun.objects.filter(mdc=good_mdc, outcome=RunOutcome.SUCCEEDED).exists()
    )
    good_run = IngestionRun.objects.get(mdc=good_mdc)
    stored = stored_rows(good_mdc.pk, "load_profile")
    assert good_run.rows_inserted == len(stored) > 5 * 96
    assert {row["global_device_id"] for row in stored} == {
        m.global_device_id for m in good_meters if m.activation_status
    }

    assert wait_for(
        lambda: (
            IngestionRun.objects.filter(mdc=down_mdc).exclude(outcome="running").count()
            == 1 + MAX_RETRIES
        )
    )
    time.sleep(1)  # no further retry comes
    down_runs = list(IngestionRun.objects.filter(mdc=down_mdc).order_by("started_at"))
    assert len(down_runs) == 1 + MAX_RETRIES
    assert [run.trigger for run in down_runs] == [RunTrigger.SCHEDULE] + [RunTrigger.RETRY] * 4
    assert {run.outcome for run in down_runs} == {RunOutcome.FAILED}
    assert all("HTTP 500" in run.error for run in down_runs)
    assert not stored_rows(down_mdc.pk, "load_profile")
