"""The exception queue through its pages and the REST API: filters, actions one by one and in
bulk, versions and their audit, permissions, bad input; validation after ingestion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.ingestion.models import IngestionRun
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.vee.choices import ExceptionStatus, Method, RuleType, VersionKind
from apps.vee.models import Rule, ValidationException, ValidationRun, ValueVersion
from apps.vee.services.validation import validation_run
from apps.vee.tasks import validate_ingested, validate_range

from .conftest import DAY, load, lp_rows

pytestmark = pytest.mark.django_db
DAY_END = DAY + dt.timedelta(days=1)
D = Decimal


@pytest.fixture
def fleet(db):
    """Two MDCs; the first meter has a gap and a spike, the second a spike."""
    # sanctioned loads above the spikes' demand: they are spikes and nothing else
    a = MeterFactory(
        mdc=MdcFactory(code="vendor-a", lp_energy_kind="register"),
        consumer__sanctioned_load_kw=D("50"),
    )
    b = MeterFactory(
        mdc=MdcFactory(code="vendor-b", lp_energy_kind="register"),
        consumer__sanctioned_load_kw=D("50"),
    )
    kwh_a = [D("1")] * 48
    kwh_a[10] = None
    kwh_a[30] = D("20")
    kwh_b = [D("1")] * 48
    kwh_b[40] = D("15")
    load(a, lp_rows(a, kwh_a))
    load(b, lp_rows(b, kwh_b))
    validation_run(start=DAY, end=DAY_END)
    return a, b


def of(meter, rule_type):
    return ValidationException.objects.get(meter=meter, rule__rule_type=rule_type)


def test_viewer_sees_the_queue_and_the_chart_but_cannot_act(fleet, client_as):
    a, _b = fleet
    client = client_as("Viewer")
    page = client.get("/vee/exceptions/", {"rule_type": RuleType.SPIKE})
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("/vee/exceptions/") >= 2 and "Act on every exception" not in body
    spike = of(a, RuleType.SPIKE)
    detail = client.get(f"/vee/exceptions/{spike.pk}/")
    assert detail.status_code == 200
    assert b"plotly-chart" in detail.content and b"Accept estimate" not in detail.content
    for kind in (b'"Actual"', b'"Estimated"', b'"Edited"'):
        assert kind in detail.content
    refused = client.post(f"/vee/exceptions/{spike.pk}/action/", {"action": "accept"})
    assert refused.status_code == 403
    api = client.post(f"/api/vee/exceptions/{spike.pk}/action/", {"action": "accept"})
    assert api.status_code == 403
    assert ValidationException.objects.get(pk=spike.pk).status == ExceptionStatus.OPEN


def test_api_filters_by_rule_type_mdc_and_severity(fleet, client_as):
    a, b = fleet
    client = client_as("Viewer")
    spikes = client.get("/api/vee/exceptions/", {"rule_type": "spike"}).json()["results"]
    assert sorted(r["global_device_id"] for r in spikes) == sorted(
        [a.global_device_id, b.global_device_id]
    )
    of_b = client.get("/api/vee/exceptions/", {"mdc": b.mdc_id}).json()["results"]
    assert [(r["rule_type"], r["mdc"]) for r in of_b] == [("spike", "vendor-b")]
    assert of_b[0]["period_start"] == "2026-11-02T20:30:00+05:00"
    high = client.get("/api/vee/exceptions/", {"severity": "high"}).json()["results"]
    assert high == []
    rules = client.get("/api/vee/rules/", {"rule_type": "gap"}).json()["results"]
    assert [r["name"] for r in rules] == ["Missing intervals"]
    bad = client.get("/api/vee/exceptions/", {"severity": "nonsense"})
    assert bad.status_code == 400
    assert client.get("/api/vee/exceptions/", {"older_than_days": "1e30"}).status_code == 400
    assert client.get("/vee/exceptions/", {"older_than_days": "1e30"}).status_code == 200
    aged = client.get("/api/vee/exceptions/", {"older_than_days": "1"}).json()["results"]
    assert aged == []  # everything was found just now


def test_queue_filters_by_hierarchy_on_the_page_and_the_api(fleet, client_as):
    a, b = fleet
    client = client_as("Viewer")
    feeder = a.transformer.feeder.code
    of_feeder = client.get("/api/vee/exceptions/", {"hierarchy": feeder}).json()["results"]
    assert {r["global_device_id"] for r in of_feeder} == {a.global_device_id}
    transformer = b.transformer.code
    of_transformer = client.get("/api/vee/exceptions/", {"hierarchy": transformer}).json()
    assert {r["global_device_id"] for r in of_transformer["results"]} == {b.global_device_id}
    page = client.get("/vee/exceptions/", {"hierarchy": feeder}).content.decode()
    assert a.global_device_id in page and b.global_device_id not in page
    nowhere = client.get("/api/vee/exceptions/", {"hierarchy": "NO-SUCH-NODE"}).json()
    assert nowhere["results"] == []


def test_gap_estimated_automatically_then_accepted_on_the_page(fleet, client_as):
    a, _b = fleet
    gap = of(a, RuleType.GAP)
    assert gap.status == ExceptionStatus.ESTIMATED
    client = client_as("Operator")
    response = client.post(f"/vee/exceptions/{gap.pk}/action/", {"action": "accept"})
    assert response.status_code == 302
    gap.refresh_from_db()
    assert gap.status == ExceptionStatus.ACCEPTED and gap.decided_by is not None
    entry = AuditEntry.objects.get(action="vee.exceptions_accept")
    assert entry.detail["exceptions"] == [gap.pk] and entry.actor == gap.decided_by


def test_typed_value_keeps_the_original_as_a_version_and_is_audited(fleet, client_as):
    a, _b = fleet
    spike = of(a, RuleType.SPIKE)
    client = client_as("Revenue Officer")
    missing_reason = client.post(
        f"/api/vee/exceptions/{spike.pk}/action/",
        {"action": "edit", "value": "1.1"},
        content_type="application/json",
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()
    not_number = client.post(
        f"/api/vee/exceptions/{spike.pk}/action/",
        {"action": "edit", "value": "lots", "reason": "x"},
        content_type="application/json",
    )
    assert not_number.status_code == 400
    done = client.post(
        f"/api/vee/exceptions/{spike.pk}/action/",
        {"action": "edit", "value": "1.1", "reason": "Site visit: CT wiring fault"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["status"] == ExceptionStatus.EDITED
    versions = client.get(
        "/api/vee/versions/", {"global_device_id": a.global_device_id, "exception": spike.pk}
    ).json()["results"]
    assert [
        (v["version"], v["kind"], v["method"], v["value"], v["is_current"]) for v in versions
    ] == [
        (1, VersionKind.ACTUAL, Method.ORIGINAL, "20.000", False),
        (2, VersionKind.EDITED, Method.TYPED, "1.100", True),
    ]
    assert versions[1]["reason"] == "Site visit: CT wiring fault"
    assert versions[1]["actor_name"].startswith("revenue_officer")
    assert AuditEntry.objects.filter(action="vee.exception_edit", target_id=str(spike.pk)).exists()
    # the warehouse row is untouched
    from apps.warehouse.models import LoadProfileReading

    stored = LoadProfileReading.objects.get(
        global_device_id=a.global_device_id, meter_datetime=spike.period_start
    )
    assert stored.active_energy_tl == D("1050.000")  # 1000 + 30 x 1 + 20


def test_another_method_on_a_spike_then_bulk_explain_over_a_filter(fleet, client_as):
    a, b = fleet
    client = client_as("Operator")
    spike = of(a, RuleType.SPIKE)
    bad = client.post(
        f"/api/vee/exceptions/{spike.pk}/action/",
        {"action": "estimate", "method": "guess"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    ok = client.post(
        f"/api/vee/exceptions/{spike.pk}/action/",
        {"action": "estimate", "method": "linear"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["status"] == ExceptionStatus.ESTIMATED
    current = ValueVersion.objects.get(meter=a, meter_datetime=spike.period_start, is_current=True)
    assert (current.kind, current.method, current.value) == ("estimated", "linear", D("1.000"))
    # bulk over the filter "spikes of vendor-b": only b's spike is marked
    response = client.post(
        f"/vee/exceptions/bulk/?rule_type=spike&mdc={b.mdc_id}",
        {"action": "explain", "explanation": "real_event", "note": "Wedding at the house"},
    )
    assert response.status_code == 302
    assert of(b, RuleType.SPIKE).status == ExceptionStatus.EXPLAINED
    assert of(a, RuleType.SPIKE).status == ExceptionStatus.ESTIMATED
    api = client.post(
        "/api/vee/exceptions/bulk/?rule_type=gap",
        {"action": "accept"},
        content_type="application/json",
    )
    assert api.json() == {"action": "accept", "count": 1}
    assert AuditEntry.objects.filter(action="vee.exceptions_explain").count() == 1


def test_on_demand_validation_is_queued_after_commit(
    fleet, client_as, django_capture_on_commit_callbacks
):
    client = client_as("Operator")
    bad = client.post(
        "/api/vee/validations/",
        {"start": "2026-11-03T00:00:00+05:00", "end": "2026-11-02T00:00:00+05:00"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/vee/validations/",
            {"start": "2026-11-02T00:00:00+05:00", "end": "2026-11-03T00:00:00+05:00"},
            content_type="application/json",
        )
    assert response.status_code == 202
    assert [c.__module__ for c in callbacks].count("apps.vee.api") == 1
    assert client_as("Viewer").post("/api/vee/validations/", {}).status_code == 403
    run_id = validate_range.apply(
        args=["2026-11-02T00:00:00+05:00", "2026-11-03T00:00:00+05:00"]
    ).get()
    assert ValidationRun.objects.get(pk=run_id).found == 0  # the same findings, nothing new


def test_validation_runs_after_an_ingestion_run_finishes(meter, django_capture_on_commit_callbacks):
    started = timezone.now() - dt.timedelta(seconds=5)
    kwh = [D("1")] * 48
    kwh[20] = D("30")
    load(meter, lp_rows(meter, kwh))
    run = IngestionRun.objects.create(
        mdc=meter.mdc, dataset="load_profile", transport="api", started_at=started
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run.rows_inserted = 48
        run.outcome = "succeeded"
        run.finished_at = timezone.now()
        run.save(update_fields=["rows_inserted", "outcome", "finished_at"])
    assert [c.__module__ for c in callbacks].count("apps.vee.signals") == 1  # others may listen
    validation_id = validate_ingested.apply(args=[run.pk]).get()
    validation = ValidationRun.objects.get(pk=validation_id)
    assert (validation.ingestion_run_id, validation.trigger, validation.intervals) == (
        run.pk,
        "ingestion",
        48,
    )
    assert validation.range_start == DAY and validation.range_end == DAY_END
    assert of(meter, RuleType.SPIKE).first_run_id == validation.pk
    # running the task twice finds nothing new
    again = ValidationRun.objects.get(pk=validate_ingested.apply(args=[run.pk]).get())
    assert again.found == 0


def test_rule_parameters_change_through_the_api_checked_and_audited(client_as, default_rules):
    spike = default_rules.rules.get(rule_type=RuleType.SPIKE)
    url = f"/api/vee/rules/{spike.pk}/"
    assert client_as("Viewer").patch(url, {}, content_type="application/json").status_code == 403
    admin = client_as("Revenue Officer")
    unknown = admin.patch(url, {"parameters": {"factr": "4"}}, content_type="application/json")
    assert unknown.status_code == 400 and "factr" in str(unknown.json())
    not_number = admin.patch(url, {"parameters": {"factor": "x"}}, content_type="application/json")
    assert not_number.status_code == 400
    ok = admin.patch(
        url, {"parameters": {"factor": "4"}, "severity": "high"}, content_type="application/json"
    )
    assert ok.status_code == 200
    assert ok.json()["parameters"] == {"factor": "4"} and ok.json()["severity"] == "high"
    assert AuditEntry.objects.filter(action="vee.rule_update", target_id=str(spike.pk)).exists()


def test_rule_sets_are_configured_in_the_admin_and_audited(client, make_user, db):
    admin_user = make_user("Administrator", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post(
        "/admin/vee/ruleset/add/",
        {
            "name": "Vendor A strict",
            "description": "",
            "tariff": "A-1",
            "hierarchy_level": "",
            "hierarchy_node_id": "",
            "enabled": "on",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "rules-0-name": "Spike x2",
            "rules-0-rule_type": "spike",
            "rules-0-parameters": '{"factor": "2"}',
            "rules-0-severity": "high",
            "rules-0-enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = Rule.objects.get(name="Spike x2")
    assert (rule.rule_set.tariff, rule.parameters) == ("A-1", {"factor": "2"})
    assert AuditEntry.objects.filter(action="vee.ruleset.create").exists()
    assert AuditEntry.objects.filter(action="vee.rule.create", target_id=str(rule.pk)).exists()
    bad = client.post(
        "/admin/vee/rule/add/",
        {
            "rule_set": rule.rule_set_id,
            "name": "Bad",
            "rule_type": "spike",
            "parameters": '{"factr": "2"}',
            "severity": "low",
        },
    )
    assert bad.status_code == 200 and b"not a parameter of this rule type" in bad.content
    assert client.get("/admin/vee/validationexception/").status_code == 200
