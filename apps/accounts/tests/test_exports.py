"""Exports too large to stream are written by a worker with progress, downloaded by their owner
only, limited per user, and safe to run twice."""

from __future__ import annotations

import csv
import io

import pytest

from apps.accounts.choices import ExportState
from apps.accounts.models import ExportJob
from apps.accounts.tasks import export_job_run_task
from apps.audit.models import AuditEntry
from apps.core.tests.test_lists_export import by_column
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-11-01 00:00", "end": "2026-12-31 00:00"}


@pytest.fixture
def twelve_rows():
    rows = []
    for n in range(1, 13):
        row = DATASETS["billing"].encode_row({})
        row.update(
            global_device_id=f"m{n:08d}",
            msn=str(4000000000 + n),
            meter_datetime="2026-12-01 00:00:00",
            db_datetime="2026-12-01 00:00:00",
            sim_number="=cmd|' /C calc'!A0",
        )
        rows.append(row)
    rows_load(dataset_code="billing", mdc_id=1, raw_rows=rows, source="t")


def test_a_large_export_is_written_in_the_background_and_downloaded(
    client_as, twelve_rows, tmp_path, settings
):
    settings.EXPORT_DIR = tmp_path
    settings.EXPORT_MAX_ROWS = 5
    client = client_as("Viewer")
    response = client.get("/warehouse/billing/", {**RANGE, "_export": "csv"})
    assert response.status_code == 302 and response["Location"] == "/accounts/exports/"
    job = ExportJob.objects.get()
    assert (job.state, job.rows_expected, job.title) == (ExportState.QUEUED, 12, "Billing data")
    assert AuditEntry.objects.filter(action="accounts.export_create").count() == 1
    page = client.get("/accounts/exports/").content.decode()
    assert "Queued" in page and "0 of about 12 rows" in page

    assert export_job_run_task.apply(kwargs={"job_id": job.pk}).get() == ExportState.DONE
    job.refresh_from_db()
    assert (job.state, job.rows_written, job.percent) == (ExportState.DONE, 12, 100)
    page = client.get("/accounts/exports/").content.decode()
    assert "12 of about 12 rows" in page and "Download" in page

    download = client.get(f"/accounts/exports/{job.pk}/download/")
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    header, *body = list(csv.reader(io.StringIO(text)))
    assert len(body) == 12
    assert by_column(header, body[0])["meter_datetime"] == "2026-12-01 00:00:00"
    # the same cells as the streamed export
    settings.EXPORT_MAX_ROWS = 100
    streamed = b"".join(
        client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}).streaming_content
    )
    assert streamed.decode() == text

    # running the task again changes nothing
    export_job_run_task.apply(kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.rows_written == 12


def test_only_the_owner_downloads(client_as, twelve_rows, tmp_path, settings, make_user):
    settings.EXPORT_DIR, settings.EXPORT_MAX_ROWS = tmp_path, 5
    owner = client_as("Viewer")
    owner.get("/warehouse/billing/", {**RANGE, "_export": "csv"})
    job = ExportJob.objects.get()
    export_job_run_task.apply(kwargs={"job_id": job.pk})
    from django.test import Client

    other = Client()
    other.force_login(make_user("Administrator"))
    assert other.get(f"/accounts/exports/{job.pk}/download/").status_code == 404
    assert "No background exports" in other.get("/accounts/exports/").content.decode()


def test_per_user_limits_refuse_with_a_message(client_as, twelve_rows, tmp_path, settings):
    settings.EXPORT_DIR, settings.EXPORT_MAX_ROWS = tmp_path, 5
    settings.EXPORT_JOBS_PER_USER = 1
    client = client_as("Viewer")
    client.get("/warehouse/billing/", {**RANGE, "_export": "csv"})
    second = client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}, follow=True)
    assert "at most 1 at a time" in second.content.decode()
    assert ExportJob.objects.count() == 1
    export_job_run_task.apply(kwargs={"job_id": ExportJob.objects.get().pk})
    settings.EXPORT_BACKGROUND_MAX_ROWS = 11
    third = client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}, follow=True)
    assert "more than 11 rows" in third.content.decode()
    assert ExportJob.objects.count() == 1


def test_an_owner_who_lost_the_role_gets_a_failed_export(
    client_as, twelve_rows, tmp_path, settings
):
    settings.EXPORT_DIR, settings.EXPORT_MAX_ROWS = tmp_path, 5
    client = client_as("Viewer")
    client.get("/warehouse/billing/", {**RANGE, "_export": "csv"})
    job = ExportJob.objects.get()
    job.user.groups.clear()
    export_job_run_task.apply(kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and "no longer" in job.error
    assert client.get(f"/accounts/exports/{job.pk}/download/").status_code == 404
