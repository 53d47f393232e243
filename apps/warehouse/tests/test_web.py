"""Pages, API, selectors, the meter fragment and dashboard panels."""

import datetime
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.warehouse import selectors
from apps.warehouse.meter_data import meter_data_context
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.partitions import PKT, today_pkt
from apps.warehouse.services import payload_quarantine, rows_load

pytestmark = pytest.mark.django_db

PAGES = [
    "/warehouse/load-profile/",
    "/warehouse/events/",
    "/warehouse/instantaneous/",
    "/warehouse/billing/",
    "/warehouse/monthly-billing/",
    "/warehouse/meter-visuals/",
    "/warehouse/device-communication-history/",
    "/warehouse/quarantine/",
]
ENDPOINTS = [
    "/api/warehouse/load-profile/",
    "/api/warehouse/events/",
    "/api/warehouse/instantaneous/",
    "/api/warehouse/billing/",
    "/api/warehouse/monthly-billing/",
    "/api/warehouse/meter-visuals/",
    "/api/warehouse/device-communication-history/",
    "/api/warehouse/quarantine/",
]


def now_text(**delta) -> str:
    return (timezone.localtime(timezone.now(), PKT) - datetime.timedelta(**delta)).strftime(
        "%Y-%m-%d %H:%M:00"
    )


@pytest.fixture
def some_data(load_profile_row, event_row):
    rows_load(
        dataset_code="load_profile",
        mdc_id=1,
        raw_rows=[load_profile_row("m1", now_text(hours=h)) for h in range(1, 4)]
        + [load_profile_row("m2", now_text(hours=1))],
        source="t",
    )
    rows_load(
        dataset_code="events",
        mdc_id=2,
        raw_rows=[event_row("m1", now_text(hours=2)), event_row("m2", now_text(hours=2))],
        source="t",
    )
    rows_load(
        dataset_code="meter_visuals",
        mdc_id=1,
        raw_rows=[{"global_device_id": "m1", "last_signal_strength": "17"}],
        source="t",
    )


@pytest.mark.parametrize("url", PAGES + ENDPOINTS)
def test_viewer_can_view_and_anonymous_cannot(client, client_as, url):
    response = client.get(url)
    assert response.status_code in {302, 401, 403}
    if response.status_code == 302:
        assert "/login/" in response["Location"]
    assert client_as("Viewer").get(url).status_code == 200


def test_user_without_role_cannot_view(client_as):
    client = client_as(None)
    assert client.get("/warehouse/load-profile/").status_code == 403
    assert client.get("/api/warehouse/load-profile/").status_code == 403


def test_load_profile_page_filters_by_device(client_as, some_data):
    client = client_as("Viewer")
    page = client.get("/warehouse/load-profile/", {"global_device_id": "m2"}).content.decode()
    assert "m2" in page and ">m1<" not in page


def test_event_page_filters_by_mdc(client_as, some_data):
    page = client_as("Viewer").get("/warehouse/events/", {"mdc_id": 2}).content.decode()
    # Whole words only: a random CSRF token may contain "m1".
    assert re.search(r"\bm1\b", page) and re.search(r"\bm2\b", page)
    empty = client_as("Viewer").get("/warehouse/events/", {"mdc_id": 9}).content.decode()
    assert not re.search(r"\bm1\b", empty)


def test_api_filters_by_device_and_time_range(client_as, some_data):
    client = client_as("Viewer")
    data = client.get("/api/warehouse/load-profile/", {"global_device_id": "m1"}).json()
    assert len(data["results"]) == 3
    assert data["results"][0]["active_energy_tl"] == "1234.567"
    since = (timezone.now() - datetime.timedelta(hours=2, minutes=30)).isoformat()
    recent = client.get("/api/warehouse/load-profile/", {"global_device_id": "m1", "start": since})
    assert len(recent.json()["results"]) == 2
    by_mdc = client.get("/api/warehouse/events/", {"mdc_id": 2}).json()
    assert len(by_mdc["results"]) == 2


def test_api_is_read_only(client_as):
    response = client_as("Administrator").post("/api/warehouse/load-profile/", {})
    assert response.status_code in {403, 405}


def test_quarantine_list_detail_and_resolve(client_as, load_profile_row):
    rows_load(
        dataset_code="load_profile",
        mdc_id=4,
        raw_rows=[load_profile_row(active_energy_tl="oops")],
        source="ingestion_run:1",
    )
    payload_quarantine(
        mdc_id=4, dataset_code="events", body=b"<root><broken", reason="bad XML", source="x"
    )
    viewer = client_as("Viewer")
    listing = viewer.get("/warehouse/quarantine/", {"search": "active_energy_tl"}).content.decode()
    assert "ingestion_run:1" in listing and "bad XML" not in listing
    assert viewer.get("/api/warehouse/quarantine/", {"dataset_code": "events"}).json()["count"] == 1
    entry = QuarantinedRow.objects.get(kind="row")
    detail = viewer.get(entry.get_absolute_url()).content.decode()
    assert "oops" in detail
    assert viewer.post(f"/warehouse/quarantine/{entry.pk}/resolve/").status_code == 403
    operator = client_as("Operator")
    operator.post(f"/warehouse/quarantine/{entry.pk}/resolve/", {"note": "vendor fixed"})
    entry.refresh_from_db()
    assert entry.resolved and entry.resolution_note == "vendor fixed"
    assert AuditEntry.objects.filter(action="warehouse.quarantine_resolve").count() == 1


def test_quarantined_row_loads_again_once_fixed(client_as, load_profile_row):
    from apps.registry.tests.factories import MdcFactory, MeterFactory

    mdc = MdcFactory()
    MeterFactory(mdc=mdc, global_device_id="m98562412", transformer=None, consumer=None)
    rows_load(
        dataset_code="load_profile",
        mdc_id=mdc.pk,
        raw_rows=[load_profile_row(active_energy_tl="oops")],
        source="t",
    )
    entry = QuarantinedRow.objects.get()
    entry.raw_payload["active_energy_tl"] = "1.5"  # as if the protocol now accepted it
    entry.save()
    client_as("Operator").post(f"/warehouse/quarantine/{entry.pk}/reload/")
    entry.refresh_from_db()
    assert entry.resolved
    assert selectors.meter_load_profile(
        "m98562412",
        datetime.datetime(2026, 1, 1, tzinfo=PKT),
        datetime.datetime(2027, 1, 1, tzinfo=PKT),
    ).get().active_energy_tl == Decimal("1.500")


def test_whole_bodies_are_kept_as_text():
    entry = payload_quarantine(
        mdc_id=None,
        dataset_code="billing",
        body=b"\xff{not json",
        reason="invalid JSON",
        source="s",
    )
    assert entry.kind == "body" and entry.raw_text.endswith("{not json")


def test_selectors_for_meter_pages(some_data):
    assert selectors.meter_latest_visuals("m1").last_signal_strength == Decimal("17.000")
    assert selectors.meter_latest_visuals("nobody") is None
    assert len(selectors.meter_recent_events("m1", limit=5)) == 1
    now = timezone.now()
    readings = selectors.meter_load_profile("m1", now - datetime.timedelta(days=1), now)
    assert readings.count() == 3
    assert list(readings) == sorted(readings, key=lambda r: r.meter_datetime)


def test_load_profile_completeness_per_mdc_and_day(load_profile_row):
    rows = [
        load_profile_row("m1", f"2026-11-03 {h:02d}:{m:02d}:00") for h in range(24) for m in (0, 30)
    ]
    rows += [load_profile_row("m2", "2026-11-03 00:00:00")]
    rows_load(dataset_code="load_profile", mdc_id=5, raw_rows=rows, source="t")
    day = datetime.date(2026, 11, 3)
    [completeness] = selectors.load_profile_completeness(5, day, day)
    assert (completeness.meters, completeness.received, completeness.expected) == (2, 49, 96)
    assert selectors.load_profile_completeness(6, day, day) == []


def test_meter_fragment_renders_visuals_events_and_chart(some_data):
    context = meter_data_context("m1")
    html = render_to_string("warehouse/_meter_data.html", context)
    assert "17.000" in html
    assert "Power fail start" in html
    assert "plotly" in html  # the load profile chart


def test_meter_fragment_without_data():
    html = render_to_string("warehouse/_meter_data.html", meter_data_context("nobody"))
    assert "No meter visuals" in html and "No events" in html


def test_dashboard_panels_for_viewer(client_as, some_data):
    html = client_as("Viewer").get("/").content.decode()
    assert "Meter data today" in html
    assert "Fleet energy per day" in html
    assert "Quarantine" in html
    assert selectors.rows_today_per_dataset(today_pkt())["events"] >= 0


def test_unmanaged_models_have_view_permissions_for_viewers(make_user):
    viewer = make_user("Viewer")
    for model in ("loadprofilereading", "meterevent", "metervisuals", "billingreading"):
        assert viewer.has_perm(f"warehouse.view_{model}")
    assert not viewer.has_perm("warehouse.change_quarantinedrow")
