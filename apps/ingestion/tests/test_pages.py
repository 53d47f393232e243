"""Pages and API: who may see runs and health, who may pull now; filters agree."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import IngestionRun, Watermark
from apps.registry.tests.factories import MdcFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs():
    now = timezone.now()
    alpha, beta = MdcFactory(code="alpha"), MdcFactory(code="beta")
    made = [
        IngestionRun.objects.create(
            mdc=alpha,
            dataset="load_profile",
            transport="api",
            outcome=RunOutcome.SUCCEEDED,
            rows_received=960,
            rows_inserted=960,
            started_at=now - dt.timedelta(hours=2),
            finished_at=now - dt.timedelta(hours=2),
            duration_seconds=1.5,
        ),
        IngestionRun.objects.create(
            mdc=alpha,
            dataset="events",
            transport="api",
            outcome=RunOutcome.FAILED,
            error_type="MdcUnavailable",
            error="load_profile_data: MDC answered HTTP 500",
            started_at=now - dt.timedelta(hours=1),
            finished_at=now - dt.timedelta(hours=1),
        ),
        IngestionRun.objects.create(
            mdc=beta,
            dataset="load_profile",
            transport="api",
            outcome=RunOutcome.PARTIAL,
            rows_received=10,
            rows_quarantined=2,
            started_at=now - dt.timedelta(days=3),
        ),
    ]
    Watermark.objects.create(
        mdc=alpha, dataset="load_profile", position=now - dt.timedelta(hours=3)
    )
    return made


PAGES = ["ingestion:run-list", "ingestion:health", "ingestion:completeness"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_login_and_the_view_permission(client, client_as, runs, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client_as(None).get(url).status_code == 403
    assert client_as("Viewer").get(url).status_code == 200


def test_run_detail_and_mdc_health_pages_show_counts_and_errors(client_as, runs):
    client = client_as("Viewer")
    failed = runs[1]
    page = client.get(reverse("ingestion:run-detail", args=[failed.pk])).content.decode()
    assert "MDC answered HTTP 500" in page and "text-bg-danger" in page
    page = client.get(reverse("ingestion:mdc-health", args=[failed.mdc_id])).content.decode()
    assert "Error rate (24 h)" in page
    assert ">50%<" in page  # one failed run of two in 24 h
    assert "Pull now" not in page  # Viewers cannot pull


def test_runs_list_filters_by_mdc_dataset_outcome_and_date(client_as, runs):
    client = client_as("Viewer")
    alpha = runs[0].mdc
    page = client.get(reverse("ingestion:run-list"), {"mdc": alpha.pk, "outcome": "failed"})
    assert page.context["table"].paginator.count == 1
    api = client.get("/api/ingestion/runs/", {"mdc": alpha.pk, "dataset": "load_profile"})
    assert [row["id"] for row in api.json()["results"]] == [runs[0].pk]
    day = timezone.localtime(runs[2].started_at).date().isoformat()
    api = client.get("/api/ingestion/runs/", {"date": day})
    assert [row["id"] for row in api.json()["results"]] == [runs[2].pk]


def test_api_needs_view_permission_and_health_reports_error_rate(client_as, runs):
    assert client_as(None).get("/api/ingestion/runs/").status_code == 403
    assert client_as(None).get("/api/ingestion/health/").status_code == 403
    client = client_as("Viewer")
    health = {row["mdc_code"]: row for row in client.get("/api/ingestion/health/").json()}
    assert health["alpha"]["runs"] == 2
    assert health["alpha"]["errors"] == 1
    assert health["alpha"]["error_rate"] == 0.5
    assert health["alpha"]["lag_hours"] == pytest.approx(3.0, abs=0.01)
    assert health["beta"]["runs"] == 0 and health["beta"]["error_rate"] is None
    watermarks = client.get("/api/ingestion/watermarks/").json()["results"]
    assert [(w["mdc_code"], w["dataset"]) for w in watermarks] == [("alpha", "load_profile")]


def test_runs_api_is_read_only(client_as, runs):
    response = client_as("Administrator").post("/api/ingestion/runs/", {"dataset": "events"})
    assert response.status_code == 405


@pytest.mark.parametrize("role", ["Viewer", "Operator", "Revenue Officer"])
def test_only_administrators_may_pull_now(client_as, runs, role):
    mdc = runs[0].mdc
    client = client_as(role)
    url = reverse("ingestion:pull-now", args=[mdc.pk])
    assert client.post(url, {"dataset": "events"}).status_code == 403
    response = client.post("/api/ingestion/pulls/", {"mdc": mdc.pk, "dataset": "events"})
    assert response.status_code == 403


def test_administrator_pull_now_queues_a_pull_and_is_audited(client_as, runs):
    mdc = runs[0].mdc
    client = client_as("Administrator")
    response = client.post(
        reverse("ingestion:pull-now", args=[mdc.pk]), {"dataset": "events"}, follow=True
    )
    assert response.status_code == 200
    assert "Pull queued for alpha: events." in response.content.decode()
    response = client.post("/api/ingestion/pulls/", {"mdc": mdc.pk, "dataset": "billing"})
    assert response.status_code == 202 and response.json() == {"queued": ["billing"]}
    assert AuditEntry.objects.filter(action="ingestion.pull.request").count() == 2


def test_dashboard_panel_summarises_mdc_health(client_as, runs):
    page = client_as("Viewer").get("/").content.decode()
    assert "MDC ingestion health (24 h)" in page
