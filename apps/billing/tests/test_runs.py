"""Runs through the pages and the API: start (queued after commit), compute, progress, review,
re-run, approve and lock (second person where configured), supplementary run after the lock,
drop directory; permissions of the roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.billing.models import BillingRun, RunExport
from apps.billing.tasks import compute_run
from apps.billing.tests.conftest import at, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_batch(account, cycles):
    consumer, meter = account(reference="0100000000001")
    reading(meter, at("2026-10-05"), t1=100)
    reading(meter, at("2026-11-05"), t1=150)
    return consumer, meter, cycles[1]


def start(client, cycle, django_capture_on_commit_callbacks) -> BillingRun:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post("/billing/runs/new/", {"cycle": cycle.pk})
    assert response.status_code == 302, response.content[:500]
    assert len(queued) == 1  # the computation is queued once the run is committed
    run = BillingRun.objects.latest("id")
    assert compute_run.apply(args=[run.pk]).get() == 1
    assert compute_run.apply(args=[run.pk]).get() == 1  # twice: the same determinants
    return run


def test_revenue_officer_runs_reviews_and_approves(
    client_as, read_batch, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.BILLING_DROP_DIR = str(tmp_path / "drop")
    _, _, cycle = read_batch
    client = client_as("Revenue Officer")
    run = start(client, cycle, django_capture_on_commit_callbacks)
    assert run.determinants.count() == 1

    progress = client.get(f"/billing/runs/{run.pk}/progress/").json()
    assert progress == {
        "status": "ready", "status_label": "Ready for review", "done": 1, "total": 1,
        "percent": 100, "final": True, "error": "",
    }  # fmt: skip
    page = client.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "Approve and lock" in page and "plotly-chart" in page and "billing/progress" in page
    table = client.get(f"/billing/runs/{run.pk}/determinants/").content.decode()
    assert "0100000000001" in table and "50.000" in table

    assert client.post(f"/billing/runs/{run.pk}/approve/").status_code == 302
    run.refresh_from_db()
    assert run.locked and run.approved_by.username.startswith("revenue_officer")
    dropped = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert dropped == [
        f"billing-run-{run.pk}-batch-05-20261105.csv",
        f"billing-run-{run.pk}-batch-05-20261105.csv.sha256",
        f"billing-run-{run.pk}-batch-05-20261105.txt",
        f"billing-run-{run.pk}-batch-05-20261105.txt.sha256",
    ]
    assert RunExport.objects.filter(run=run).count() == 2
    assert AuditEntry.objects.filter(action="billing.run_approve", target_id=str(run.pk)).exists()


def test_a_locked_run_never_changes_and_corrections_are_supplementary(
    client_as, read_batch, django_capture_on_commit_callbacks
):
    _, meter, cycle = read_batch
    client = client_as("Revenue Officer")
    run = start(client, cycle, django_capture_on_commit_callbacks)
    assert client.post(f"/api/billing/runs/{run.pk}/approve/").status_code == 202

    reading(meter, at("2026-11-05", 1), t1=170)  # a later reading before the cut-off
    compute_run.apply(args=[run.pk]).get()  # a stray second task changes nothing
    assert run.determinants.get().units_total == Decimal("50.000")
    refused = client.post(f"/api/billing/runs/{run.pk}/rerun/")
    assert refused.status_code == 400 and "locked" in refused.json()["detail"]
    again = client.post("/api/billing/runs/", {"cycle": cycle.pk}, content_type="application/json")
    assert again.status_code == 400 and "supplementary" in again.json()["detail"]

    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(f"/api/billing/runs/{run.pk}/supplementary/")
    assert answer.status_code == 202
    supplementary = BillingRun.objects.get(pk=answer.json()["id"])
    compute_run.apply(args=[supplementary.pk]).get()
    assert supplementary.kind == "supplementary" and supplementary.supplements_id == run.pk
    assert supplementary.determinants.get().units_total == Decimal("70.000")
    assert run.determinants.get().units_total == Decimal("50.000")


def test_rerun_after_a_correction_replaces_the_determinants(
    client_as, account, read_batch, django_capture_on_commit_callbacks
):
    consumer, _, cycle = read_batch
    client = client_as("Revenue Officer")
    run = start(client, cycle, django_capture_on_commit_callbacks)
    second, second_meter = account()
    reading(second_meter, at("2026-10-05"), t1=1)
    reading(second_meter, at("2026-11-05"), t1=4)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert client.post(f"/billing/runs/{run.pk}/rerun/").status_code == 302
    assert len(queued) == 1
    compute_run.apply(args=[run.pk]).get()
    units = dict(run.determinants.values_list("reference_no", "units_total"))
    assert units == {
        consumer.reference_no: Decimal("50.000"),
        second.reference_no: Decimal("3.000"),
    }


def test_second_person_approves_where_configured(
    client_as, make_user, client, read_batch, django_capture_on_commit_callbacks, settings
):
    settings.BILLING_SECOND_APPROVER = True
    officer = make_user("Revenue Officer")
    client.force_login(officer)
    run = start(client, read_batch[2], django_capture_on_commit_callbacks)
    same = client.post(f"/api/billing/runs/{run.pk}/approve/")
    assert same.status_code == 400 and "second person" in same.json()["detail"]
    client.force_login(make_user("Revenue Officer"))
    assert client.post(f"/api/billing/runs/{run.pk}/approve/").status_code == 202


def test_roles_viewer_sees_operator_cannot_approve(
    client_as, read_batch, django_capture_on_commit_callbacks
):
    run = start(client_as("Revenue Officer"), read_batch[2], django_capture_on_commit_callbacks)
    viewer = client_as("Viewer")
    assert viewer.get(f"/billing/runs/{run.pk}/").status_code == 200
    assert viewer.get(f"/api/billing/runs/{run.pk}/determinants/").status_code == 200
    assert "Approve and lock" not in viewer.get(f"/billing/runs/{run.pk}/").content.decode()
    assert viewer.post(f"/billing/runs/{run.pk}/approve/").status_code == 403
    operator = client_as("Operator")
    assert operator.post(f"/billing/runs/{run.pk}/approve/").status_code == 403
    assert operator.post(f"/api/billing/runs/{run.pk}/approve/").status_code == 403
    assert operator.post("/billing/runs/new/", {"cycle": read_batch[2].pk}).status_code == 403
    run.refresh_from_db()
    assert run.status == "ready"
    for path in ("/billing/runs/", "/billing/cycles/", "/billing/accounts/", "/billing/tariffs/",
                 "/billing/mirror/comparison/", "/billing/mirror/defaulters/"):  # fmt: skip
        assert viewer.get(path).status_code == 200, path
    assert client_as(None).get("/billing/runs/").status_code == 403


def test_cycles_and_accounts_refuse_bad_input_with_a_message(client_as, account):
    client = client_as("Revenue Officer")
    url = "/api/billing/cycles/"
    json = "application/json"
    far = client.post(url, {"batch": "05", "reading_date": "2026-11-05",
                            "cutoff": "2026-12-25T10:00:00+05:00"}, content_type=json)  # fmt: skip
    assert far.status_code == 400 and "within 3 days" in far.json()["detail"]
    bad_batch = client.post(url, {"batch": "0 5", "reading_date": "2026-11-05",
                                  "cutoff": "2026-11-05T10:00:00"}, content_type=json)  # fmt: skip
    assert bad_batch.status_code == 400 and "batch" in bad_batch.json()["detail"]
    good = {"batch": "05", "reading_date": "2026-11-05", "cutoff": "2026-11-05T10:00:00"}
    created = client.post(url, good, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["cutoff"] == "2026-11-05T10:00:00+05:00"  # no offset: Pakistan time
    again = client.post(url, good, content_type="application/json")
    assert again.status_code == 400 and "unique" in again.content.decode()

    consumer, meter = account(batch="01")
    page = client.post(
        f"/billing/accounts/{consumer.billing_account.pk}/edit/",
        {"consumer": consumer.pk, "reading_batch": "07", "status": "active",
         "multiplying_factor": "40"},
    )  # fmt: skip
    assert page.status_code == 302
    consumer.billing_account.refresh_from_db()
    assert consumer.billing_account.reading_batch == "07"
    assert meter.billing_factor.multiplying_factor == Decimal("40.000")
    assert AuditEntry.objects.filter(action="billing.account_change").exists()
    assert client_as("Operator").post(url, good, content_type=json).status_code == 403


def test_a_run_in_several_steps_computes_every_consumer_once(account, cycles, monkeypatch):
    from apps.billing.services import runs

    monkeypatch.setattr(runs, "MIN_CHUNK_CONSUMERS", 1)
    monkeypatch.setattr(runs, "PROGRESS_STEPS", 3)
    made = []
    for units in range(1, 8):
        consumer, meter = account()
        reading(meter, at("2026-10-05"), t1=100)
        reading(meter, at("2026-11-05"), t1=100 + units)
        made.append((consumer.reference_no, Decimal(units).quantize(Decimal("0.001"))))
    account(batch="20")  # another batch's consumer between them
    run = BillingRun.objects.create(cycle=cycles[1])
    total, starts = runs._chunk_starts(run)
    assert total == 7 and len(starts) == 3
    runs.run_compute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.consumers_total, run.consumers_done) == (7, 7)
    assert sorted(run.determinants.values_list("reference_no", "units_total")) == sorted(made)
