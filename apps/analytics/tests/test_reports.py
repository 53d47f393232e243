"""Reports: each kind built from the roll-ups as CSV and PDF with the same figures as the pages,
kept with who ran it; built once however often the task runs; the page, the API and beat's
daily run; bad requests answered with a message, Viewers read but do not run."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from apps.analytics.choices import ReportKind, ReportState
from apps.analytics.models import Report
from apps.analytics.schedule import REPORTS_TASK, REPORTS_TASK_NAME
from apps.analytics.services.reports import report_build, report_request, reports_scheduled
from apps.analytics.services.rollups import input_meter_assign, rollup_refresh
from apps.analytics.tests.fleet import BASES, D, make_fleet, pattern
from apps.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
DAY = dt.date(2022, 6, 14)  # no other test stores load profile on these days


@pytest.fixture
def fleet():
    fleet = make_fleet("anq")
    input_meter_assign(actor=None, meter=fleet.meters[fleet.gid("fin")], feeder=fleet.feeder)
    for name in ("a1", "a2"):
        gid = fleet.gid(name)
        rows = fleet.rows(gid, DAY, lambda h, n=name: pattern(BASES[n], h), hours=range(0, 25))
        fleet.load(gid, rows)
    fin = fleet.gid("fin")
    fleet.load(fin, fleet.rows(fin, DAY, lambda h: D("5"), hours=range(0, 25)))
    rollup_refresh(global_device_ids=list(fleet.meters), day_start=DAY, day_end=DAY)
    return fleet


def _csv(report: Report) -> list[list[str]]:
    return list(csv.reader(io.StringIO(bytes(report.csv_data).decode("utf-8-sig"))))


def test_feeder_loss_report_holds_the_balance_figures_and_who_ran_it(fleet, make_user):
    operator = make_user("Operator")
    report = report_request(actor=operator, kind=ReportKind.FEEDER_LOSS, start=DAY, end=DAY)
    assert report.state == ReportState.QUEUED and report.requested_by == operator
    built = report_build(report_id=report.pk)
    assert (built.state, built.progress, built.rows) == (ReportState.DONE, 100, 1)
    header, row = _csv(built)
    assert header[:3] == ["Node", "Input kWh", "Consumers kWh"]
    used = sum((pattern(BASES[n], h) for n in ("a1", "a2") for h in range(1, 25)), D(0))
    assert row[:3] == [fleet.feeder.code, "120.000", f"{used:.3f}"]
    pdf = bytes(built.pdf_data)
    assert pdf.startswith(b"%PDF-") and b"Energy balance per feeder" in pdf  # the PDF's title
    assert AuditEntry.objects.filter(action="analytics.report_request", actor=operator).exists()
    # a redelivered task does nothing
    again = report_build(report_id=report.pk)
    assert again.finished_at == built.finished_at
    assert AuditEntry.objects.filter(action="analytics.report_build").count() == 1


@pytest.mark.parametrize("kind", [ReportKind.COMMUNICATION, ReportKind.EVENTS,
                                  ReportKind.COMPLETENESS])  # fmt: skip
def test_every_other_kind_builds_csv_and_pdf(fleet, kind):
    report = report_build(report_id=report_request(actor=None, kind=kind, start=DAY,
                                                   end=DAY).pk)  # fmt: skip
    assert report.state == ReportState.DONE, report.error
    assert bytes(report.pdf_data).startswith(b"%PDF-")
    rows = _csv(report)
    assert len(rows) == report.rows + 1
    if kind == ReportKind.COMPLETENESS:
        [feeder_row] = [r for r in rows[1:] if r[0] == fleet.feeder.code]
        assert feeder_row[1:] == ["1", "48", "48", "100.0"]  # a1, a2: 24 of 24 each


def test_bad_requests_are_refused_with_the_reason():
    with pytest.raises(ValidationError, match="after the end"):
        report_request(actor=None, kind="feeder_loss", start=DAY, end=DAY - dt.timedelta(1))
    with pytest.raises(ValidationError, match="per one of"):
        report_request(actor=None, kind="feeder_loss", start=DAY, end=DAY, level="mdc")
    with pytest.raises(ValidationError, match="Unknown"):
        report_request(actor=None, kind="weather", start=DAY, end=DAY)
    assert not Report.objects.exists()


def test_page_runs_for_operators_lists_for_viewers_and_downloads_when_done(
    fleet, client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("Viewer"))
    assert client.get("/analytics/reports/").status_code == 200
    body = {"kind": "feeder_loss", "start": DAY, "end": DAY}
    assert client.post("/analytics/reports/", body).status_code == 403
    client.force_login(make_user("Operator"))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/analytics/reports/", body)
    assert response.status_code == 302 and len(queued) == 1  # the build task, after commit
    report = Report.objects.get()
    assert client.get(f"/analytics/reports/{report.pk}/csv/").status_code == 404  # not yet
    report_build(report_id=report.pk)
    page = client.get("/analytics/reports/").content.decode()
    assert f"report-{report.pk}" in page and "operator_" in page
    response = client.get(f"/analytics/reports/{report.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert client.get(f"/analytics/reports/{report.pk}/xls/").status_code == 404
    bad = client.post("/analytics/reports/", {"kind": "feeder_loss", "start": "2022-13-01"})
    assert bad.status_code == 400 and "valid date" in bad.content.decode()


def test_api_runs_lists_and_serves_the_files(fleet, client, make_user):
    client.force_login(make_user("Viewer"))
    body = {"kind": "completeness", "start": str(DAY), "end": str(DAY), "level": "feeder"}
    assert client.post("/api/analytics/reports/", body, content_type="application/json"
                       ).status_code == 403  # fmt: skip
    client.force_login(make_user("Operator"))
    response = client.post("/api/analytics/reports/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["state"] == "queued" and response.json()["csv_url"] is None
    bad = client.post("/api/analytics/reports/", {**body, "level": "mdc-ish"},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "level" in bad.json()
    report_build(report_id=pk)
    detail = client.get(f"/api/analytics/reports/{pk}/").json()
    assert detail["state"] == "done" and detail["requested_by"].startswith("operator_")
    csv_body = client.get(detail["csv_url"])
    assert csv_body.status_code == 200 and fleet.feeder.code in csv_body.content.decode()
    assert client.get("/api/analytics/reports/").json()["count"] == 1
    assert client.get("/api/analytics/reports/x1/").status_code == 404


def test_beat_runs_yesterdays_reports_once_a_day_and_last_month_on_the_first():
    made = reports_scheduled(day=dt.date(2022, 7, 1))
    kinds = sorted((r.kind, r.start, r.end) for r in made)
    assert len(made) == 5 and all(r.scheduled and r.requested_by is None for r in made)
    assert ("feeder_loss", dt.date(2022, 6, 1), dt.date(2022, 6, 30)) in kinds
    assert reports_scheduled(day=dt.date(2022, 7, 1)) == []  # beat ran twice
    assert len(reports_scheduled(day=dt.date(2022, 7, 2))) == 4
    entry = PeriodicTask.objects.get(name=REPORTS_TASK_NAME)  # scheduled after migrate
    assert entry.task == REPORTS_TASK and entry.crontab.hour == "2"
