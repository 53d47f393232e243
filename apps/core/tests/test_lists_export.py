"""List pages show their real row count; CSV exports stream, write Pakistan time as on screen,
neutralise spreadsheet formulas and refuse exports beyond the limit with a message; the API
serves datetimes in Pakistan time with the offset."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import override_settings

from apps.audit.models import AuditEntry
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-11-01 00:00", "end": "2026-12-31 00:00"}


def _billing(gid: str, at: str, **values) -> dict:
    row = DATASETS["billing"].encode_row({})
    row.update(global_device_id=gid, msn="4098562412", meter_datetime=at, db_datetime=at)
    row.update(values)
    return row


def by_column(header: list[str], cells: list[str]) -> dict[str, str]:
    """A billing CSV row by column name (headers are the fields' human labels)."""
    from apps.warehouse.models import BillingReading
    from apps.warehouse.tables import BillingReadingTable

    table = BillingReadingTable(BillingReading.objects.none())
    names = {str(column.header): column.name for column in table.columns.iterall()}
    return {names[h]: cell for h, cell in zip(header, cells, strict=True)}


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming, "CSV exports stream"
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_list_page_shows_the_real_row_count(client_as):
    client = client_as("Viewer")
    for n in range(3):
        AuditEntry.objects.create(actor_name="x", action="test.count", summary=f"e{n}")
    total = AuditEntry.objects.count()
    page = client.get("/audit/").content.decode()
    assert f">{total} rows<" in page
    one = client.get("/audit/", {"search": "e1"}).content.decode()
    assert ">1 row<" in one


def test_warehouse_list_counts_up_to_a_bound(client_as):
    rows = [_billing(f"m{n:08d}", "2026-12-01 00:00:00") for n in range(1, 13)]
    rows_load(dataset_code="billing", mdc_id=1, raw_rows=rows, source="t")
    client = client_as("Viewer")
    assert ">12 rows<" in client.get("/warehouse/billing/", RANGE).content.decode()
    with override_settings(LIST_COUNT_LIMIT=5):
        assert ">more than 5 rows<" in client.get("/warehouse/billing/", RANGE).content.decode()


def test_csv_export_writes_pakistan_time_as_on_screen(client_as):
    rows_load(
        dataset_code="billing",
        mdc_id=1,
        raw_rows=[_billing("m00000001", "2026-12-01 00:00:00", active_energy_pos_tl="-1.500")],
        source="t",
    )
    client = client_as("Viewer")
    header, *body = _csv(client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}))
    assert len(body) == 1
    row = by_column(header, body[0])
    assert row["meter_datetime"] == "2026-12-01 00:00:00"
    assert row["db_datetime"] == "2026-12-01 00:00:00"
    assert row["active_energy_pos_tl"] == "-1.500"  # numbers are not formulas
    page = client.get("/warehouse/billing/", RANGE).content.decode()
    assert "01/12/2026 00:00" in page  # the same day and time on screen, day first


def test_api_datetimes_are_pakistan_time_with_offset(client_as):
    rows_load(
        dataset_code="billing",
        mdc_id=1,
        raw_rows=[_billing("m00000001", "2026-12-01 00:00:00")],
        source="t",
    )
    client = client_as("Viewer")
    data = client.get("/api/warehouse/billing/").json()
    assert data["results"][0]["meter_datetime"] == "2026-12-01T00:00:00+05:00"
    assert data["results"][0]["ingested_at"].endswith("+05:00")
    AuditEntry.objects.create(actor_name="x", action="test.time")
    entries = client.get("/api/audit/entries/").json()["results"]
    assert entries and all(entry["at"].endswith("+05:00") for entry in entries)


@pytest.mark.parametrize(
    "hostile", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_export_neutralises_formulas(client_as, hostile):
    mdc = MdcFactory(code="acme")
    MeterFactory(mdc=mdc, sim_number=hostile, transformer=None, consumer=None)
    header, *body = _csv(client_as("Viewer").get("/registry/meters/", {"_export": "csv"}))
    cell = body[0][header.index("Sim number")]
    assert cell == "'" + hostile


def test_csv_export_of_every_list_page_streams(client_as):
    client = client_as("Administrator")
    for url in ["/audit/", "/registry/meters/", "/registry/mdcs/", "/registry/consumers/",
                "/warehouse/load-profile/", "/warehouse/events/", "/warehouse/quarantine/",
                "/warehouse/meter-visuals/", "/ingestion/", "/commands/"]:  # fmt: skip
        response = client.get(url, {"_export": "csv"})
        assert response.status_code == 200, url
        assert response.streaming, url
        assert b"".join(response.streaming_content), url


def test_an_export_over_the_stream_limit_goes_to_the_background(client_as):
    """Beyond EXPORT_MAX_ROWS the export is not streamed but queued (see accounts tests)."""
    rows = [_billing(f"m{n:08d}", "2026-12-01 00:00:00") for n in range(1, 13)]
    rows_load(dataset_code="billing", mdc_id=1, raw_rows=rows, source="t")
    client = client_as("Viewer")
    with override_settings(EXPORT_MAX_ROWS=10):
        response = client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}, follow=True)
    assert not response.streaming
    assert "more than 10 rows" in response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/exports/"
    with override_settings(EXPORT_MAX_ROWS=12):
        _, *body = _csv(client.get("/warehouse/billing/", {**RANGE, "_export": "csv"}))
    assert len(body) == 12


def test_export_with_bad_filters_shows_the_errors(client_as):
    response = client_as("Viewer").get(
        "/warehouse/billing/", {"start": "not a time", "_export": "csv"}
    )
    assert response.status_code == 200 and not response.streaming
    assert "fix them first" in response.content.decode()
