"""Exports of a locked run against golden files: CSV, fixed-width and the JSON API, byte for
byte the same every time, checksummed and recorded."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from apps.billing.models import BillingRun, RunExport
from apps.billing.services.exports import FIXED_FIELDS, FIXED_RECORD_LENGTH, export_write
from apps.billing.services.runs import run_approve, run_compute
from apps.billing.tests.conftest import at, reading
from apps.registry.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def locked_run(account, tou_tariff, cycles, mdc, make_user):
    """Three consumers: TOU with factor 2, a meter change, and one without a reading."""
    _, m1 = account(reference="0100000000001", tariff=tou_tariff, mf=2, sanctioned="2",
                      global_device_id="m00000001", msn=4000000001)  # fmt: skip
    changed, old = account(reference="0100000000002", global_device_id="m00000002",
                           msn=4000000002, activation_status=0)  # fmt: skip
    new = MeterFactory(mdc=mdc, consumer=changed, global_device_id="m00000003", msn=4000000003)
    account(reference="0100000000003", global_device_id="m00000004", msn=4000000004)
    reading(m1, at("2026-10-05"), t1=100, t2=50, kv=10)
    reading(m1, at("2026-11-05"), t1=180, t2=70, kv=40, mdi="2.5", mdi_t1="2.5", mdi_t2="1.9")
    reading(old, at("2026-10-05"), t1="1000.5")
    reading(old, at("2026-10-20"), t1="1100.5")
    reading(new, at("2026-10-21"), t1=5)
    reading(new, at("2026-11-05"), t1="65.25")
    run = BillingRun.objects.create(cycle=cycles[1])
    run_compute(run_id=run.pk)
    run.refresh_from_db()
    return run_approve(run=run, actor=make_user("Revenue Officer"))


def golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("MDM_GOLDEN_WRITE") == "1":  # regenerate, review the diff, commit
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from its golden file"


@pytest.mark.parametrize(("fmt", "name"), [("csv", "run.csv"), ("fixed", "run.txt")])
def test_file_exports_match_their_golden_files(client_as, locked_run, fmt, name):
    client = client_as("Viewer")
    response = client.get(f"/billing/runs/{locked_run.pk}/export/{fmt}/")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    golden(name, data)
    again = b"".join(client.get(f"/billing/runs/{locked_run.pk}/export/{fmt}/").streaming_content)
    assert again == data
    digest = hashlib.sha256(data).hexdigest()
    assert response["X-Content-SHA256"] == digest
    records = RunExport.objects.filter(run=locked_run, export_format=fmt, actor__isnull=False)
    assert [r.sha256 for r in records] == [digest, digest] and records[0].rows == 3
    if fmt == "fixed":
        assert {len(line) for line in data.decode().splitlines()} == {FIXED_RECORD_LENGTH}


def test_json_api_matches_its_golden_file_and_pages_by_reference(client_as, locked_run):
    client = client_as("Viewer")
    url = f"/api/billing/runs/{locked_run.pk}/determinants/"
    first = client.get(url, {"page_size": 2})
    assert first.status_code == 200
    assert first["X-Content-SHA256"] == hashlib.sha256(first.content).hexdigest()
    rest = client.get(first.json()["next"])
    rows = first.json()["results"] + rest.json()["results"]
    assert rest.json()["next"] is None
    for row in rows:  # database ids differ from run to run
        for key in ("id", "run", "consumer", "subdivision_id", "feeder_id"):
            row.pop(key)
    golden("run.json", json.dumps(rows, indent=1, sort_keys=True).encode() + b"\n")
    assert RunExport.objects.filter(run=locked_run, export_format="json").count() == 1
    feeder = locked_run.determinants.get(reference_no="0100000000001").feeder_id
    only = client.get(url, {"feeder": feeder}).json()["results"]
    assert [r["reference_no"] for r in only] == ["0100000000001"]
    assert client.get(url, {"batch": "99"}).json()["results"] == []
    assert client.get(url, {"feeder": "x"}).status_code == 400


def test_only_locked_runs_are_exported(client_as, account, cycles):
    run = BillingRun.objects.create(cycle=cycles[1])
    run_compute(run_id=run.pk)
    response = client_as("Revenue Officer").get(f"/billing/runs/{run.pk}/export/csv/")
    assert response.status_code == 302 and not RunExport.objects.exists()
    run.refresh_from_db()
    with pytest.raises(Exception, match="not approved"):
        export_write(run=run, export_format="csv", out=io.BytesIO())


def test_the_documented_fixed_width_layout_is_the_one_written():
    from apps.billing.services import exports

    documented = [
        line.split()[:4]
        for line in exports.__doc__.splitlines()
        if line.startswith("    ") and len(line.split()) >= 4 and line.split()[1].isdigit()
    ]
    start, written = 1, []
    for name, width, align, _ in FIXED_FIELDS:
        written.append([name, str(start), str(width), align])
        start += width
    assert documented == written
    assert f"(record length {FIXED_RECORD_LENGTH})" in exports.__doc__


def test_a_value_wider_than_its_fixed_width_field_refuses_the_export(locked_run):
    BillingRun.objects.filter(pk=locked_run.pk).update(status="ready")  # unlock to plant it
    locked_run.determinants.filter(reference_no="0100000000003").update(
        reference_no="0100000000003-WITH-A-LONG-SUFFIX"
    )
    BillingRun.objects.filter(pk=locked_run.pk).update(status="approved")
    with pytest.raises(Exception, match="reference_no of 32 characters does not fit"):
        export_write(run=locked_run, export_format="fixed", out=io.BytesIO())


def test_the_database_refuses_any_change_to_a_locked_runs_determinants(locked_run):
    from django.db import DatabaseError, transaction

    for change in (
        lambda: locked_run.determinants.update(units_total=0),
        lambda: locked_run.determinants.filter(reference_no="0100000000003").delete(),
    ):
        with pytest.raises(DatabaseError, match="approved and locked"), transaction.atomic():
            change()
    assert locked_run.determinants.count() == 3
