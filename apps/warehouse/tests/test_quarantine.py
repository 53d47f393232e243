"""The quarantine: a repeated bad row is one entry with a count, and rows and bodies are
re-processed from the UI and the API (same checks as at ingestion, audited)."""

import datetime
import json
from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.warehouse.models import LoadProfileReading, QuarantinedRow
from apps.warehouse.partitions import PKT
from apps.warehouse.services import payload_quarantine, rows_load, rows_quarantine

pytestmark = pytest.mark.django_db


def test_a_repeated_bad_row_is_one_entry_with_a_count(load_profile_row):
    bad = load_profile_row(active_energy_tl="oops")
    for run in range(3):
        rows_load(dataset_code="load_profile", mdc_id=4, raw_rows=[bad], source=f"run {run}")
    entry = QuarantinedRow.objects.get()
    assert (entry.count, entry.source) == (3, "run 2")
    assert entry.last_seen_at >= entry.at
    # another MDC, or another reason, is another entry
    rows_load(dataset_code="load_profile", mdc_id=5, raw_rows=[bad], source="x")
    rows_quarantine(mdc_id=4, dataset_code="load_profile", rejects=[(bad, "other")], source="y")
    assert QuarantinedRow.objects.count() == 3
    # once resolved, a new delivery opens a new entry
    QuarantinedRow.objects.update(resolved=True)
    rows_load(dataset_code="load_profile", mdc_id=4, raw_rows=[bad, bad], source="z")
    assert QuarantinedRow.objects.get(resolved=False).count == 2


def test_the_same_body_for_the_same_request_is_one_entry():
    for _ in range(2):
        payload_quarantine(
            mdc_id=4, dataset_code="events", body=b"<root><broken", reason="bad XML", source="s"
        )
    assert QuarantinedRow.objects.get().count == 2


def _mdc_with_meter():
    mdc = MdcFactory()
    meter = MeterFactory(mdc=mdc, transformer=None, consumer=None)
    return mdc, meter


def test_a_quarantined_body_is_reprocessed_from_the_page_with_the_ingestion_checks(
    client_as, load_profile_row
):
    mdc, meter = _mdc_with_meter()
    own = load_profile_row(meter.global_device_id, "2026-11-03 10:00:00")
    late = load_profile_row(meter.global_device_id, "2026-11-09 10:00:00")  # outside the window
    foreign = load_profile_row("m55555555", "2026-11-03 10:30:00")  # not registered there
    body = json.dumps({"status": "1", "message": "", "data": [own, late, foreign]})
    entry = payload_quarantine(
        mdc_id=mdc.pk,
        dataset_code="load_profile",
        body=body,
        reason="invalid JSON (as the codec of the day said)",
        source="pull",
        window_start=datetime.datetime(2026, 11, 3, tzinfo=PKT),
        window_end=datetime.datetime(2026, 11, 3, 23, 59, 59, tzinfo=PKT),
        device_ids=[meter.global_device_id],
    )
    page = client_as("Operator").get(entry.get_absolute_url()).content.decode()
    assert "Re-process" in page
    client_as("Viewer").post(f"/warehouse/quarantine/{entry.pk}/reload/")
    entry.refresh_from_db()
    assert not entry.resolved  # viewers cannot
    client_as("Operator").post(f"/warehouse/quarantine/{entry.pk}/reload/")
    entry.refresh_from_db()
    assert entry.resolved and "1 inserted" in entry.resolution_note
    stored = LoadProfileReading.objects.get()
    assert (stored.global_device_id, stored.mdc_id) == (meter.global_device_id, mdc.pk)
    refused = QuarantinedRow.objects.filter(kind="row").order_by("reason")
    assert [r.raw_payload["global_device_id"] for r in refused] == [
        "m55555555",
        meter.global_device_id,
    ]
    assert "not a meter registered" in refused[0].reason
    assert "outside the requested window" in refused[1].reason
    assert AuditEntry.objects.filter(action="warehouse.quarantine_reprocess").count() == 1


def test_a_row_is_reprocessed_through_the_api_once_its_meter_is_registered(
    client_as, load_profile_row
):
    mdc, _ = _mdc_with_meter()
    row = load_profile_row("m66666666", "2026-11-03 10:00:00", active_energy_tl="7.5")
    rows_quarantine(
        mdc_id=mdc.pk,
        dataset_code="load_profile",
        rejects=[(row, "global_device_id 'm66666666' is not a meter registered at this MDC")],
        source="pull",
    )
    entry = QuarantinedRow.objects.get()
    url = f"/api/warehouse/quarantine/{entry.pk}/reprocess/"
    assert client_as("Viewer").post(url).status_code == 403
    operator = client_as("Operator")
    answer = operator.post(url)
    assert answer.status_code == 200 and answer.json()["resolved"] is False
    assert not LoadProfileReading.objects.exists()
    MeterFactory(mdc=mdc, global_device_id="m66666666", transformer=None, consumer=None)
    answer = operator.post(url).json()
    assert (answer["resolved"], answer["inserted"]) == (True, 1)
    assert LoadProfileReading.objects.get().active_energy_tl == Decimal("7.500")
    again = operator.post(url)
    assert again.status_code == 400 and "already resolved" in again.json()["detail"]
    assert AuditEntry.objects.filter(action="warehouse.quarantine_reprocess").count() == 2


def test_a_body_still_unreadable_stays_open_with_the_new_reason(client_as):
    mdc, _ = _mdc_with_meter()
    entry = payload_quarantine(
        mdc_id=mdc.pk, dataset_code="events", body=b'{"status": "1", "da', reason="cut", source="s"
    )
    answer = client_as("Operator").post(f"/api/warehouse/quarantine/{entry.pk}/reprocess/")
    assert answer.status_code == 200 and answer.json()["resolved"] is False
    entry.refresh_from_db()
    assert not entry.resolved and entry.reason.startswith("still unreadable")


def test_rows_load_with_a_guard_stores_only_the_mdcs_own_meters_inside_the_span(load_profile_row):
    from apps.warehouse.guard import RowGuard, owned_device_ids

    mdc, meter = _mdc_with_meter()
    guard = RowGuard(
        "load_profile",
        owned_device_ids(mdc_id=mdc.pk),
        datetime.datetime(2026, 11, 3, tzinfo=PKT),
        datetime.datetime(2026, 11, 3, 23, 59, 59, tzinfo=PKT),
    )
    rows = [
        load_profile_row(meter.global_device_id, "2026-11-03 10:00:00"),
        load_profile_row(meter.global_device_id, "2026-11-04 10:00:00"),
        load_profile_row("m44444444", "2026-11-03 10:00:00"),
    ]
    result = rows_load(
        dataset_code="load_profile", mdc_id=mdc.pk, raw_rows=rows, source="t", guard=guard
    )
    assert (result.inserted, result.quarantined) == (1, 2)
    assert LoadProfileReading.objects.get().global_device_id == meter.global_device_id
