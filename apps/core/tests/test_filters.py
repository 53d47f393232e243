"""One FilterSet per model serves the page and the API: MDC by code, device id prefix,
hierarchy node and time ranges in Pakistan time mean the same on both; an impossible UTC offset
is a 400 with a message (a page shows it), never a database error."""

from __future__ import annotations

import re

import pytest

from apps.registry.tests.factories import MdcFactory, MeterFactory, TransformerFactory
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

TIMES = ["2026-11-30 23:30:00", "2026-12-01 00:00:00", "2026-12-01 00:30:00"]


@pytest.fixture
def fleet():
    """Two MDCs; meters a1, a2 (MDC alpha, feeder F1) and b1 (MDC beta, another feeder)."""
    alpha, beta = MdcFactory(code="alpha"), MdcFactory(code="beta")
    t1 = TransformerFactory()
    t2 = TransformerFactory(feeder=t1.feeder)
    t3 = TransformerFactory()
    meters = {
        "a1": MeterFactory(mdc=alpha, transformer=t1, global_device_id="m10000001"),
        "a2": MeterFactory(mdc=alpha, transformer=t2, global_device_id="m10000002"),
        "b1": MeterFactory(mdc=beta, transformer=t3, global_device_id="m20000001"),
    }
    for mdc in (alpha, beta):
        rows = []
        for meter in meters.values():
            if meter.mdc_id != mdc.pk:
                continue
            for at in TIMES:
                row = DATASETS["load_profile"].encode_row({})
                row.update(
                    global_device_id=meter.global_device_id,
                    msn=str(meter.msn),
                    meter_datetime=at,
                    interval="30",
                    db_datetime=at,
                )
                rows.append(row)
        rows_load(dataset_code="load_profile", mdc_id=mdc.pk, raw_rows=rows, source="t")
    return {"alpha": alpha, "beta": beta, "feeder": t1.feeder, "t3": t3, **meters}


def _api_rows(client, params) -> list[tuple[str, str]]:
    response = client.get("/api/warehouse/load-profile/", {**params, "page_size": 1000})
    assert response.status_code == 200, response.content
    return sorted((r["global_device_id"], r["meter_datetime"]) for r in response.json()["results"])


def _page_devices(client, params) -> set[str]:
    page = client.get("/warehouse/load-profile/", params).content.decode()
    table = page[page.index("<tbody") :]
    return set(re.findall(r"<td >(?:<a href=\"[^\"]*\">)?(m\d{8})(?:</a>)?</td>", table))


def test_page_and_api_filter_alike(client_as, fleet):
    client = client_as("Viewer")
    window = {"start": "2026-11-01", "end": "2026-12-31"}
    disco = fleet["t3"].feeder.subdivision.division.circle.disco_id
    cases = {
        "mdc_code": ({"mdc_code": "alpha"}, {"m10000001", "m10000002"}),
        "mdc_code any case": ({"mdc_code": "BETA"}, {"m20000001"}),
        "device_prefix": ({"device_prefix": "m2"}, {"m20000001"}),
        "feeder": ({"feeder": fleet["feeder"].pk}, {"m10000001", "m10000002"}),
        "disco": ({"disco": disco}, {"m20000001"}),
        "transformer": ({"transformer": fleet["t3"].pk}, {"m20000001"}),
        "nothing": ({}, {"m10000001", "m10000002", "m20000001"}),
    }
    for name, (params, expected) in cases.items():
        query = {**window, **params}
        assert {gid for gid, _ in _api_rows(client, query)} == expected, name
        assert _page_devices(client, query) == expected, name


def test_times_without_offset_are_pakistan_time(client_as, fleet):
    client = client_as("Viewer")
    gid = {"global_device_id": "m10000001"}
    local = _api_rows(client, {**gid, "start": "2026-12-01 00:00", "end": "2026-12-01 00:30"})
    assert local == [("m10000001", "2026-12-01T00:00:00+05:00")]
    same = _api_rows(
        client, {**gid, "start": "2026-11-30T19:00:00Z", "end": "2026-12-01T00:30:00+05:00"}
    )
    assert same == local
    day = _api_rows(client, {**gid, "start": "2026-12-01", "end": "2026-12-02"})
    assert [at for _, at in day] == ["2026-12-01T00:00:00+05:00", "2026-12-01T00:30:00+05:00"]
    page = _page_devices(client, {**gid, "start": "2026-12-01 00:00", "end": "2026-12-01 00:30"})
    assert page == {"m10000001"}


TIME_FILTERED = [
    ("/api/warehouse/load-profile/", "start"),
    ("/api/warehouse/events/", "end"),
    ("/api/warehouse/instantaneous/", "start"),
    ("/api/warehouse/billing/", "start"),
    ("/api/warehouse/monthly-billing/", "end"),
    ("/api/warehouse/quarantine/", "at_after"),
    ("/api/audit/entries/", "at_before"),
    ("/api/ingestion/runs/", "started_after"),
    ("/api/commands/requests/", "created_after"),
]


@pytest.mark.parametrize(("url", "param"), TIME_FILTERED)
@pytest.mark.parametrize("value", ["2026-12-01T00:00:00+16:00", "2026-12-01T00:00:00-13:30"])
def test_an_impossible_offset_is_a_400_with_a_message(client_as, url, param, value):
    response = client_as("Administrator").get(url, {param: value})
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[param])
    assert value[-6:] in message and "out of range" in message


@pytest.mark.parametrize("value", ["not a time", "2026-13-01 00:00", "0001-01-01T00:00:00+14:00"])
def test_malformed_times_are_a_400(client_as, value):
    response = client_as("Viewer").get("/api/warehouse/load-profile/", {"start": value})
    assert response.status_code == 400
    assert response.json()["start"]


def test_a_page_shows_the_offset_error(client_as):
    response = client_as("Viewer").get(
        "/warehouse/load-profile/", {"start": "2026-12-01T00:00:00+16:00"}
    )
    assert response.status_code == 200
    assert "+16:00 is out of range" in response.content.decode()
