"""Paging through every paginated API list returns every row exactly once, even when many rows
share the sort value (12 meters reading at the same instants), forwards and backwards."""

from __future__ import annotations

import base64

import pytest

from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

METERS = [f"m{n:08d}" for n in range(1, 13)]
TIMES = ["2026-11-03 10:00:00", "2026-11-03 10:30:00", "2026-11-03 11:00:00"]


def _row(code: str, gid: str, at: str, **values) -> dict:
    row = DATASETS[code].encode_row({})
    time_field = "event_datetime" if code == "events" else "meter_datetime"
    row.update(global_device_id=gid, msn=str(4000000000 + int(gid[1:])), db_datetime=at)
    row[time_field] = at
    row.update(values)
    return row


def _load_ties() -> None:
    for code in ("instantaneous", "billing", "monthly_billing"):
        rows = [_row(code, gid, at) for gid in METERS for at in TIMES]
        rows_load(dataset_code=code, mdc_id=3, raw_rows=rows, source="t")
    # two channels per meter and two event codes per instant: more ties inside a key
    rows = [
        _row("load_profile", gid, at, channel_id=str(ch), interval="30")
        for gid in METERS
        for at in TIMES
        for ch in (1, 2)
    ]
    rows_load(dataset_code="load_profile", mdc_id=3, raw_rows=rows, source="t")
    rows = [
        _row("events", gid, at, event_code=code, event_description="x")
        for gid in METERS
        for at in TIMES
        for code in ("111", "112")
    ]
    rows_load(dataset_code="events", mdc_id=3, raw_rows=rows, source="t")
    rows_load(
        dataset_code="meter_visuals",
        mdc_id=3,
        raw_rows=[{"global_device_id": gid, "last_signal_strength": "9"} for gid in METERS],
        source="t",
    )


def _walk(client, url: str, params: dict, key) -> list:
    """Follow ``next`` from the first page to the end."""
    forward = []
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    page = response.json()
    pages = 0
    while True:
        forward.extend(key(item) for item in page["results"])
        pages += 1
        assert pages < 500
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    return forward


KEYSET_LISTS = [
    ("instantaneous", ("global_device_id", "meter_datetime"), 36),
    ("billing", ("global_device_id", "meter_datetime"), 36),
    ("monthly-billing", ("global_device_id", "meter_datetime"), 36),
    ("load-profile", ("global_device_id", "meter_datetime", "channel_id"), 72),
    ("events", ("global_device_id", "event_datetime", "event_code"), 72),
]


@pytest.mark.parametrize("size", [1, 5, 7])
@pytest.mark.parametrize(("name", "fields", "total"), KEYSET_LISTS)
def test_keyset_pages_return_every_row_once(client_as, name, fields, total, size):
    _load_ties()
    client = client_as("Viewer")

    def key(item):
        return tuple(item[f] for f in fields)

    forward = _walk(client, f"/api/warehouse/{name}/", {"page_size": size}, key)
    assert len(forward) == total
    assert len(set(forward)) == total


@pytest.mark.parametrize(("name", "fields", "total"), KEYSET_LISTS)
def test_keyset_pages_backwards_match_forwards(client_as, name, fields, total):
    _load_ties()
    client = client_as("Viewer")

    def key(item):
        return tuple(item[f] for f in fields)

    forward = _walk(client, f"/api/warehouse/{name}/", {"page_size": 5}, key)
    # from the last page, previous links lead back through every earlier row in order
    url = f"/api/warehouse/{name}/"
    page = client.get(url, {"page_size": 5}).json()
    while page["next"]:
        page = client.get(page["next"]).json()
    seen = [key(item) for item in page["results"]]
    while page["previous"]:
        page = client.get(page["previous"]).json()
        seen[:0] = [key(item) for item in page["results"]]
    assert seen == forward


@pytest.mark.parametrize(
    "cursor",
    [
        "zz%%",
        base64.urlsafe_b64encode(b'{"r":0,"k":["2026-11-03T10:00:00+05:00","m\\u0000"]}').decode(),
        base64.urlsafe_b64encode(b'{"r":0,"k":["yesterday","m1"]}').decode(),
        base64.urlsafe_b64encode(b'{"r":0,"k":[1]}').decode(),
    ],
)
def test_a_bad_cursor_is_a_400_with_a_message(client_as, cursor):
    response = client_as("Viewer").get("/api/warehouse/billing/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_page_number_lists_with_ties_return_every_row_once(client_as):
    """Lists paged by number order by the client's choice and then by the key."""
    _load_ties()
    client = client_as("Viewer")
    seen = []
    for number in range(1, 20):
        response = client.get("/api/warehouse/meter-visuals/", {"page": number, "page_size": 5})
        if response.status_code == 404:
            break
        seen += [item["global_device_id"] for item in response.json()["results"]]
    assert sorted(seen) == sorted(METERS)
    assert len(seen) == len(set(seen))


def test_ordering_by_a_shared_value_still_pages_every_row_once(client_as):
    from apps.audit.models import AuditEntry

    for n in range(12):
        AuditEntry.objects.create(actor_name="same", action="test.tie", summary=f"entry {n}")
    client = client_as("Viewer")
    seen = []
    for number in range(1, 10):
        response = client.get(
            "/api/audit/entries/", {"page": number, "page_size": 5, "ordering": "action"}
        )
        if response.status_code == 404:
            break
        seen += [item["id"] for item in response.json()["results"]]
    ids = set(AuditEntry.objects.values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == len(ids)
