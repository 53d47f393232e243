"""The table base (column chooser remembered per user, page size, device-id links), the MDC
filter by code, saved filters, the navbar search, and the template filters (#15)."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from django.test import Client

from apps.accounts.models import SavedFilter, TablePreference
from apps.core.testing import assert_page_and_api_agree, list_page_rows
from apps.registry.tests.factories import MdcFactory, MeterFactory

pytestmark = pytest.mark.django_db

METERS = "/registry/meters/"
TABLE = "apps.registry.tables.MeterTable"


def _another(make_user, role="Viewer") -> Client:
    """A second logged-in client (client_as logs the one test client in again)."""
    other = Client()
    other.force_login(make_user(role))
    return other


def test_the_column_chooser_is_remembered_per_user(client_as, make_user):
    viewer = client_as("Viewer")
    MeterFactory(sim_number="03001112223")
    page = viewer.get(METERS).content.decode()
    assert 'id="column-chooser"' in page
    assert "03001112223" not in page  # SIM number is not a default column
    response = viewer.post(
        "/accounts/tables/",
        {"table": TABLE, "columns": ["global_device_id", "sim_number"], "per_page": "25",
         "next": METERS},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == METERS
    pref = TablePreference.objects.get(table=TABLE)
    assert (pref.columns, pref.per_page) == (["global_device_id", "sim_number"], 25)
    page = viewer.get(METERS).content.decode()
    assert "03001112223" in page
    assert "<th" in page and "Msn" not in page.split("<thead", 1)[1].split("</thead>")[0]
    # another user still sees the defaults
    other = _another(make_user)
    assert "03001112223" not in other.get(METERS).content.decode()
    # back to the defaults
    viewer.post("/accounts/tables/", {"table": TABLE, "reset": "1", "next": METERS})
    assert "03001112223" not in viewer.get(METERS).content.decode()


@pytest.mark.parametrize(
    "body",
    [
        {"table": "os.system"},
        {"table": "apps.registry.tables.NoSuchTable"},
        {"table": TABLE, "columns": ["password"]},
        {"table": TABLE, "per_page": "7"},
    ],
)
def test_the_column_chooser_refuses_what_is_no_table_column_or_size(client_as, body):
    response = client_as("Viewer").post("/accounts/tables/", {**body, "next": METERS})
    assert response.status_code in {302, 400}
    assert not TablePreference.objects.exists()


def test_page_size_control_and_real_totals(client_as):
    mdc = MdcFactory()
    MeterFactory.create_batch(30, mdc=mdc)
    client = client_as("Viewer")
    assert len(list_page_rows(client, f"{METERS}?per_page=25")) == 25
    page = client.get(f"{METERS}?per_page=25&page=2").content.decode()
    assert '"row-range">26 to 30 of </span><span class="row-total">30 rows<' in page
    assert len(list_page_rows(client, f"{METERS}?per_page=999")) == 30  # not a size: default 50


def test_mdc_filter_takes_the_code_and_old_ids(client_as):
    alpha, beta = MdcFactory(code="alpha-he"), MdcFactory(code="beta-he")
    mine = MeterFactory(mdc=beta)
    MeterFactory(mdc=alpha)
    client = client_as("Viewer")
    for value in ("beta-he", "BETA-HE", str(beta.pk)):
        rows = list_page_rows(client, f"{METERS}?mdc={value}")
        assert len(rows) == 1 and mine.global_device_id in rows[0], value
    page = client.get(f"{METERS}?mdc=nonesuch").content.decode()
    assert "Select a valid choice: no MDC has the code or id nonesuch." in page
    assert client.get("/api/registry/meters/?mdc=nonesuch").status_code == 400
    assert_page_and_api_agree(
        client, f"{METERS}?mdc=beta-he", "/api/registry/meters/?mdc=beta-he", "global_device_id"
    )


def test_saved_filters_are_the_users_own(client_as, make_user):
    client = client_as("Viewer")
    response = client.post(
        "/accounts/filters/",
        {"path": METERS, "name": "Beta meters", "query": "mdc=beta-he", "next": METERS},
    )
    assert response.status_code == 302
    saved = SavedFilter.objects.get()
    assert 'href="?mdc=beta-he"' in client.get(f"{METERS}").content.decode()
    other = _another(make_user)
    assert "Beta meters" not in other.get(METERS).content.decode()
    assert other.post(f"/accounts/filters/{saved.pk}/delete/").status_code == 404
    assert client.post(f"/accounts/filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()


def test_search_redirects_a_single_exact_hit_and_groups_the_rest(client_as):
    mdc = MdcFactory(code="search-he", name="Search head end")
    meter = MeterFactory(mdc=mdc, sim_number="03215550001")
    MeterFactory(mdc=mdc, sim_number="03215550002")
    client = client_as("Viewer")
    for q in (meter.global_device_id, str(meter.msn), meter.global_device_id.upper()):
        response = client.get("/search/", {"q": q})
        assert response.status_code == 302 and response["Location"] == meter.get_absolute_url()
    assert client.get("/search/", {"q": "search-he"})["Location"] == mdc.get_absolute_url()
    page = client.get("/search/", {"q": "0321555"}).content.decode()
    assert page.count("/registry/meters/") >= 2 and "Meters" in page
    assert "Nothing matches" in client.get("/search/", {"q": "zzzz-nothing"}).content.decode()
    assert client.get("/search/", {"q": "x" * 500}).status_code == 200


def test_search_needs_a_role(client_as):
    assert client_as(None).get("/search/", {"q": "m"}).status_code == 403


def test_device_ids_in_warehouse_tables_link_to_the_meter(client_as):
    from apps.warehouse.tables import LoadProfileReadingTable

    column = LoadProfileReadingTable.base_columns["global_device_id"]
    assert column.render("m00000042") == '<a href="/search/?q=m00000042">m00000042</a>'


def _render(text: str, **values) -> str:
    return Template("{% load mdm %}" + text).render(Context(values))


def test_durations_and_mappings_read_as_words():
    lag = datetime.timedelta(minutes=14, seconds=21, microseconds=554679)
    assert _render("{{ lag|duration }}", lag=lag) == "14 min 21 s"
    two_days = datetime.timedelta(days=2, hours=3, minutes=5)
    assert _render("{{ d|duration }}", d=two_days) == "2 d 3 h"
    assert _render("{{ d|duration }}", d=datetime.timedelta(0)) == "0 s"
    assert _render("{{ s|duration }}", s=90) == "1 min 30 s"
    text = _render("{{ m|mapping }}", m={"events": 1440, "load_profile": 96, "on": True})
    assert text == "Events: 1,440 · Load profile: 96 · On: yes"
    assert "{" not in _render("{{ m|mapping }}", m={"a": {"b": 1}})


def test_meter_table_links_its_mdc_transformer_and_consumer(client_as):
    from apps.registry.tests.factories import TransformerFactory

    transformer = TransformerFactory()
    meter = MeterFactory(transformer=transformer)
    bare = MeterFactory(mdc=meter.mdc)
    page = client_as("Viewer").get(METERS).content.decode()
    assert f'href="{meter.mdc.get_absolute_url()}"' in page
    assert f'href="{transformer.get_absolute_url()}"' in page
    assert bare.global_device_id in page  # no transformer, no consumer: no broken link


def test_every_list_table_derives_from_the_core_base():
    import importlib
    import inspect
    from pathlib import Path

    import django_tables2 as tables

    from apps.core.tables import MdmTable

    apps_dir = Path(__file__).resolve().parents[2]
    found = []
    for path in sorted(apps_dir.glob("*/tables.py")):
        module = importlib.import_module(f"apps.{path.parent.name}.tables")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, tables.Table) and cls.__module__ == module.__name__:
                found.append(cls)
                assert issubclass(cls, MdmTable), f"{module.__name__}.{name}"
    assert len(found) > 25


def test_one_day_first_date_format_on_pages_and_in_filters():
    from zoneinfo import ZoneInfo

    from apps.core.filters import LocalDateTimeField

    at = datetime.datetime(2026, 12, 2, 14, 30, tzinfo=ZoneInfo("Asia/Karachi"))
    assert _render("{{ at|date:'SHORT_DATETIME_FORMAT' }}", at=at) == "02/12/2026 14:30"
    assert _render("{{ at }}", at=at) == "02 Dec 2026 14:30 +0500"
    field = LocalDateTimeField()
    assert field.clean("02/12/2026 14:30") == at
    assert field.clean("2026-12-02 14:30") == at
    assert field.clean("02/12/2026") == at.replace(hour=0, minute=0)


def test_events_filter_by_name_as_well_as_code(client_as):
    from apps.udil.datasets import DATASETS
    from apps.warehouse.services import rows_load

    rows = []
    for code in (111, 101):
        row = DATASETS["events"].encode_row({})
        row.update(
            global_device_id="m00000077", msn="4098562412", event_code=str(code),
            event_datetime="2026-12-01 10:00:00", db_datetime="2026-12-01 10:00:00",
            event_counter=str(code), event_description="",
        )  # fmt: skip
        rows.append(row)
    rows_load(dataset_code="events", mdc_id=1, raw_rows=rows, source="t")
    client = client_as("Viewer")
    window = {"start": "2026-11-01", "end": "2026-12-31"}

    def codes(event):
        got = client.get("/api/warehouse/events/", {**window, "event": event})
        assert got.status_code == 200, got.content
        return sorted(r["event_code"] for r in got.json()["results"])

    assert codes("power fail") == [111]
    assert codes("MDI") == [101]
    assert codes("101") == [101]
    assert codes("no such event") == []
