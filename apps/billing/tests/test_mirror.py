"""The billing mirror: CSV import (every bad row by line and reason, nothing half-loaded), API
import, the comparison with its discrepancy bands per consumer and feeder, defaulters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEntry
from apps.billing.models import BillingRun, MirrorBill, MirrorPayment
from apps.billing.services.runs import run_approve, run_compute
from apps.billing.tests.conftest import at, reading

pytestmark = pytest.mark.django_db
HEADER = (
    "reference_no,month,billed_units,bill_amount,due_date,arrears,defaulter,paid_on,paid_amount"
)


def upload(client, text: str):
    file = SimpleUploadedFile("bills.csv", text.encode(), content_type="text/csv")
    return client.post("/billing/mirror/import/", {"file": file})


def test_csv_import_reports_every_bad_row_and_loads_nothing(client_as, account):
    a, _ = account(reference="0100000000001")
    client = client_as("Revenue Officer")
    bad = "\n".join([
        HEADER,
        "0100000000001,2026-11,200.000,5400.00,2026-11-20,0,0,2026-11-18,5400.00",
        "0199999999999,2026-11,10,100,2026-11-20,0,0,,",
        "0100000000001,2026-13,10,100,2026-11-20,0,0,,",
        "0100000000001,2026-10,ten,100,2026-11-20,0,0,,",
        "0100000000001,2026-09,10,100,2026-11-31,0,0,,",
        "0100000000001,2026-08,10,100.005,2026-08-20,0,0,2026-08-25,",
        "0100000000001,2026-07,10,100,2026-07-20,0,0,,,extra",
    ])  # fmt: skip
    response = upload(client, bad)
    assert response.status_code == 400
    errors = [(line, reason) for line, reason in response.context["errors"]]
    assert [line for line, _ in errors] == [3, 4, 5, 6, 7, 8]
    reasons = dict(errors)
    assert "no consumer with reference number '0199999999999'" in reasons[3]
    assert "month '2026-13'" in reasons[4]
    assert "billed_units 'ten' is not a number" in reasons[5]
    assert "due_date '2026-11-31' is not a date" in reasons[6]
    assert "more than 2 decimals" in reasons[7]
    assert "more values than the header" in reasons[8]
    assert not MirrorBill.objects.exists() and not MirrorPayment.objects.exists()

    good = "\n".join([
        HEADER,
        "0100000000001,2026-11,200.000,5400.00,2026-11-20,0,0,2026-11-10,400.00",
        "0100000000001,2026-11,200.000,5400.00,2026-11-20,0,0,2026-11-18,5000.00",
    ])  # fmt: skip
    assert upload(client, good).status_code == 302
    assert upload(client, good).status_code == 302  # the same file twice: the same bill
    bill = MirrorBill.objects.get(consumer=a)
    assert bill.billed_units == Decimal("200.000") and bill.payments.count() == 2
    assert AuditEntry.objects.filter(action="billing.mirror_import").count() == 2
    assert upload(client_as("Operator"), good).status_code == 403


def test_api_import_and_comparison_bands(client_as, account, cycles, make_user):
    agrees, m1 = account(reference="0100000000001")
    far_below, m2 = account(reference="0100000000002")
    not_billed, m3 = account(reference="0100000000003")
    no_reading, _ = account(reference="0100000000004")
    for meter, units in ((m1, 100), (m2, 100), (m3, 30)):
        reading(meter, at("2026-10-05"), t1=1000)
        reading(meter, at("2026-11-05"), t1=1000 + units)
    run = BillingRun.objects.create(cycle=cycles[1])
    run_compute(run_id=run.pk)
    run.refresh_from_db()
    run_approve(run=run, actor=make_user("Revenue Officer"))

    client = client_as("Revenue Officer")
    rows = [
        {"reference_no": "0100000000001", "month": "2026-11", "billed_units": "95",
         "bill_amount": "2500", "due_date": "2026-11-20"},
        {"reference_no": "0100000000002", "month": "2026-11", "billed_units": "40",
         "bill_amount": "1100", "due_date": "2026-11-20", "arrears": "9000"},
        {"reference_no": "0100000000004", "month": "2026-11", "billed_units": "60",
         "bill_amount": "1600", "due_date": "2026-11-20"},
    ]  # fmt: skip
    bad = client.post("/api/billing/mirror/import/", {"rows": [*rows, {"month": "x"}]},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and bad.json()["rows"][0]["row"] == 4
    assert not MirrorBill.objects.exists()
    ok = client.post("/api/billing/mirror/import/", {"rows": rows}, content_type="application/json")
    assert ok.json() == {"rows": 3, "bills": 3, "payments": 0}

    answer = client_as("Viewer").get("/api/billing/mirror/comparison/", {"month": "2026-11"})
    bands = {c["reference_no"]: c["band"] for c in answer.json()["consumers"]}
    assert bands == {
        agrees.reference_no: "ok",
        far_below.reference_no: "billed_far_below",
        not_billed.reference_no: "metered_not_billed",
        no_reading.reference_no: "billed_without_reading",
    }
    (feeder_sum,) = [f for f in answer.json()["feeders"] if f["feeder"] != "-"][:1] or [None]
    assert sum(Decimal(str(f["mdm_units"])) for f in answer.json()["feeders"]) == 230
    assert feeder_sum is not None
    page = client_as("Viewer").get("/billing/mirror/comparison/", {"month": "2026-11"})
    assert page.status_code == 200 and "Billed far below metered" in page.content.decode()
    assert client.get("/api/billing/mirror/comparison/", {"month": "nov"}).status_code == 400

    defaulters = client.get("/api/billing/mirror/defaulters/", {"as_of": "2026-11-25"}).json()
    assert [d["reference_no"] for d in defaulters["results"]] == ["0100000000002"]
    late = client.get("/api/billing/mirror/defaulters/", {"as_of": "2027-01-31"}).json()
    assert [d["reference_no"] for d in late["results"]] == [
        "0100000000002", "0100000000001", "0100000000004",
    ]  # fmt: skip
