"""MDC health comes from probes, not from runs; completeness expects only what could exist.

Health: an MDC whose URL refuses connections and has no meters "succeeds" every pull, so only
its last probe (the connection test, run by beat and by "Test connection") can show it broken.
Completeness: a meter is expected from its registration (or first data) on, and today only up
to now.
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.ingestion.choices import RunOutcome
from apps.ingestion.selectors import completeness_grid, mdc_health
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import registered_mdc, sim_mdc
from apps.registry.models import Meter
from apps.registry.tasks import PROBE_ALL_TASK_NAME, mdc_probe, mdcs_probe
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT
from apps.warehouse.services import rows_load
from mdm import celery_app


def _refused_url() -> str:
    """A local address where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/udil"


@pytest.fixture
def fleet(live_server, frozen):
    """A working simulated MDC with meters, a refused one without meters, an unprobed one."""
    sim, sim_meters = sim_mdc("healthy", meters=2)
    good = registered_mdc(live_server, sim, sim_meters)
    dead = MdcFactory(code="dead", base_url=_refused_url(), timeout_seconds=2)
    unprobed = MdcFactory(code="unprobed", base_url=_refused_url())
    return good, dead, unprobed


def test_refused_mdc_without_meters_is_unhealthy_and_named_everywhere(fleet, client_as, settings):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.01
    good, dead, _ = fleet
    # Its pulls "succeed": there is nobody to ask for. Runs alone cannot tell it is broken.
    run = pull_run(mdc_id=dead.pk, dataset_code="load_profile")
    assert run.outcome == RunOutcome.SUCCEEDED and run.devices == 0
    # The periodic probe (beat's task, run here in process) and "Test connection" (the API).
    assert mdc_probe.apply(args=[dead.pk]).get() is False
    admin = client_as("Administrator")
    answer = admin.post(f"/api/registry/mdcs/{good.pk}/test_connection/")
    assert answer.status_code == 200 and answer.json()["ok"] is True, answer.content

    health = {row["mdc_code"]: row for row in admin.get("/api/ingestion/health/").json()}
    assert health[good.code]["status"] == "healthy" and health[good.code]["healthy"] is True
    assert health[good.code]["problems"] == []
    assert health[good.code]["last_probe"]["ok"] is True
    assert health["dead"]["status"] == "unhealthy" and health["dead"]["healthy"] is False
    assert health["dead"]["runs"] == 1 and health["dead"]["errors"] == 0
    assert health["dead"]["last_probe"]["ok"] is False
    [problem] = health["dead"]["problems"]
    assert problem.startswith("Last probe failed at ")
    assert health["dead"]["last_probe"]["message"] in problem
    assert health["dead"]["last_probe_success"] is None
    assert health["unprobed"]["problems"] == ["Never probed: its connection has not been tested."]

    viewer = client_as("Viewer")
    page = viewer.get(reverse("ingestion:health")).content.decode()
    assert "2 of 3 MDCs not healthy" in page
    assert "Last probe failed at" in page and "Never probed" in page
    page = viewer.get(reverse("ingestion:mdc-health", args=[dead.pk])).content.decode()
    assert "Last probe failed at" in page and "text-bg-danger" in page
    dashboard = viewer.get("/").content.decode()
    unhealthy_list = dashboard[dashboard.index("mdc-unhealthy") :]
    unhealthy_list = unhealthy_list[: unhealthy_list.index("</ul>")]
    assert ">dead<" in unhealthy_list and ">unprobed<" in unhealthy_list
    assert good.code not in unhealthy_list
    assert "Last probe failed at" in unhealthy_list


def test_a_probe_older_than_the_maximum_age_is_not_health(fleet, settings):
    good, _, _ = fleet
    assert mdc_probe.apply(args=[good.pk]).get() is True
    settings.HEALTH_PROBE_MAX_AGE_MINUTES = 5
    now = timezone.now()
    [fresh] = mdc_health(mdcs=type(good).objects.filter(pk=good.pk), now=now)
    assert fresh.healthy
    [stale] = mdc_health(
        mdcs=type(good).objects.filter(pk=good.pk), now=now + dt.timedelta(minutes=6)
    )
    assert not stale.healthy and stale.status == "unhealthy"
    assert stale.problems[0].startswith("No probe in the last 5 min (last succeeded at ")
    # A disabled MDC is neither pulled nor probed, and says so.
    good.enabled = False
    good.save()
    [off] = mdc_health(mdcs=type(good).objects.filter(pk=good.pk), now=now)
    assert off.problems[0] == "Disabled: neither pulled nor probed."


@pytest.mark.django_db
def test_beat_probes_every_enabled_mdc_periodically(django_capture_on_commit_callbacks):
    MdcFactory(code="probe-a", base_url=_refused_url())
    MdcFactory(code="probe-b", base_url=_refused_url())
    MdcFactory(code="probe-off", base_url=_refused_url(), enabled=False)
    entry = next(
        entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == PROBE_ALL_TASK_NAME
    )
    assert entry["schedule"] > 0
    assert PROBE_ALL_TASK_NAME in celery_app.tasks
    # One probe task per enabled MDC, queued once the transaction commits.
    with django_capture_on_commit_callbacks() as queued:
        assert mdcs_probe.apply().get() == 2
    assert len(queued) == 2


# --- completeness -----------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 12, 12, 7, tzinfo=PKT)  # a fixed "now", 12:07 local time


def _rows(gid: str, msn: int, start: dt.datetime, end: dt.datetime, step: int) -> list[dict]:
    rows, at = [], start
    while at <= end:
        text = at.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")
        row = DATASETS["load_profile"].encode_row({})
        row.update(
            msn=str(msn),
            global_device_id=gid,
            meter_datetime=text,
            interval=str(step),
            active_energy_tl="1.000",
            mdc_read_datetime=text,
            db_datetime=text,
        )
        rows.append(row)
        at += dt.timedelta(minutes=step)
    return rows


@pytest.mark.django_db
def test_completeness_expects_intervals_from_registration_to_now(client_as):
    mdc = MdcFactory(code="complete-reg")
    old = MeterFactory(mdc=mdc, global_device_id="mcr00000001", msn=9900000001)
    new = MeterFactory(mdc=mdc, global_device_id="mcr00000002", msn=9900000002)
    silent = MeterFactory(mdc=mdc, global_device_id="mcr00000003", msn=9900000003)
    day = dt.timedelta(days=1)
    midnight = NOW.replace(hour=0, minute=0)
    # ``old`` is registered long before the range; ``new`` yesterday at 10:07 (its first
    # interval is 10:15); ``silent`` this morning at 06:00 and has sent nothing since.
    Meter.objects.filter(pk=old.pk).update(created_at=midnight - 30 * day)
    Meter.objects.filter(pk=new.pk).update(created_at=midnight - day + dt.timedelta(minutes=607))
    Meter.objects.filter(pk=silent.pk).update(created_at=midnight + dt.timedelta(hours=6))
    # Every interval the MDC could have sent up to 12:00 today, 15-minute meters.
    last = midnight + dt.timedelta(hours=12)
    rows = _rows(old.global_device_id, old.msn, midnight - 3 * day, last, 15)
    rows += _rows(
        new.global_device_id, new.msn, midnight - day + dt.timedelta(minutes=615), last, 15
    )
    result = rows_load(dataset_code="load_profile", mdc_id=mdc.pk, raw_rows=rows, source="test")
    assert result.inserted == len(rows)

    grid = completeness_grid(days=4, now=NOW)
    cells = {cell.day: cell for cell in grid.cells if cell.mdc_code == mdc.code}
    today, yesterday = NOW.date(), NOW.date() - day
    # Yesterday: ``old`` 96 intervals, ``new`` from 10:15 on (55): nothing missing.
    assert (cells[yesterday].received, cells[yesterday].expected) == (96 + 55, 96 + 55)
    assert cells[yesterday].percent == 100.0
    assert cells[yesterday].active == 2
    # Today up to 12:07: 00:00 ... 12:00 is 49 intervals for each of the two sending meters;
    # ``silent`` is missed from 06:00 (06:00 ... 12:00, 25 intervals), and only that is a gap.
    assert (cells[today].received, cells[today].expected) == (2 * 49, 2 * 49 + 25)
    assert cells[today].active == 3 and cells[today].meters == 2
    # Before ``new`` existed only ``old`` is expected, and it sent every interval.
    assert cells[today - 2 * day].percent == 100.0
    assert (cells[today - 3 * day].received, cells[today - 3 * day].expected) == (96, 96)
    assert grid.percent[grid.mdc_codes.index(mdc.code)] == [
        100.0,
        100.0,
        100.0,
        round(100 * 98 / 123, 1),
    ]
    page = client_as("Viewer").get(reverse("ingestion:completeness"), {"days": 4})
    assert page.status_code == 200


@pytest.mark.django_db
def test_completeness_shows_no_gap_before_a_meter_existed():
    mdc = MdcFactory(code="complete-new")
    meter = MeterFactory(mdc=mdc, global_device_id="mcn00000001", msn=9900000011)
    registered = NOW.replace(hour=9, minute=0) - dt.timedelta(days=1)
    Meter.objects.filter(pk=meter.pk).update(created_at=registered)
    grid = completeness_grid(days=3, now=NOW)
    row = grid.percent[grid.mdc_codes.index(mdc.code)]
    # Two days ago it did not exist: nothing expected, nothing missing (no value, not 0%).
    assert row[0] is None
    # Since 09:00 yesterday it sent nothing: 0% (at the usual 30-minute default interval).
    cells = {cell.day: cell for cell in grid.cells if cell.mdc_code == mdc.code}
    assert cells[registered.date()].expected == 30 and row[1] == 0.0
    assert cells[NOW.date()].expected == 25 and row[2] == 0.0
