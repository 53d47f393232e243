"""Every link of the MDC page, the meter page and the hierarchy pages opens (200), and a link
to a list opens it filtered: for a fleet of two MDCs whose meters share a transformer, the
rows listed belong to the MDC or node the page is about (#15). MDCs are named by their code in
links, as the lists' MDC filters take them."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.conformance.models import ConformanceRun
from apps.registry.detail import ancestors
from apps.registry.tests.factories import MdcFactory, MeterFactory, TransformerFactory
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

# Lists whose rows name meters (device ids) or MDCs (codes), and which the fleet fills: their
# rows are checked. Other pages a link opens (forms, detail pages, charts, the change log, the
# command history of a meter without commands) need only answer 200.
CHECKED_LISTS = {
    "/registry/meters/",
    "/warehouse/load-profile/",
    "/warehouse/events/",
    "/conformance/",
}


@pytest.fixture
def fleet():
    """MDC alpha: two meters on transformer A; MDC beta: one meter on A, two on B."""
    alpha, beta = MdcFactory(code="alpha-he"), MdcFactory(code="beta-he")
    t_a, t_b = TransformerFactory(), TransformerFactory()
    meters = [
        MeterFactory(mdc=alpha, transformer=t_a),
        MeterFactory(mdc=alpha, transformer=t_a),
        MeterFactory(mdc=beta, transformer=t_a),
        MeterFactory(mdc=beta, transformer=t_b),
        MeterFactory(mdc=beta, transformer=t_b),
    ]
    for mdc in (alpha, beta):
        ConformanceRun.objects.create(mdc=mdc, profile="2019", device_ids=[])
    _data(meters)
    return (alpha, beta), (t_a, t_b), meters


def _data(meters) -> None:
    """A load-profile interval and an event per meter, within the lists' default windows."""
    at = timezone.localtime().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    stamp = at.strftime("%Y-%m-%d %H:%M:%S")
    for meter in meters:
        ids = {"msn": str(meter.msn), "global_device_id": meter.global_device_id}
        lp = {**ids, "meter_datetime": stamp, "channel_id": "0", "interval": "30",
              "aggregate_active_pwr_pos": "1.200", "mdc_read_datetime": stamp,
              "db_datetime": stamp}  # fmt: skip
        event = {**ids, "event_datetime": stamp, "event_code": "111", "event_description": "",
                 "mdc_read_datetime": stamp, "db_datetime": stamp}  # fmt: skip
        assert rows_load(
            dataset_code="load_profile", mdc_id=meter.mdc_id, raw_rows=[lp], source="test"
        ).inserted
        assert rows_load(
            dataset_code="events", mdc_id=meter.mdc_id, raw_rows=[event], source="test"
        ).inserted


def _main_links(page: str) -> list[str]:
    """The page's own links (its <main>, not the navigation bar), local and not anchors."""
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    found = []
    for href in re.findall(r'href="([^"]*)"', main):
        href = html.unescape(href)
        if href.startswith("/") and not href.startswith("//") and href not in found:
            found.append(href)
    return found


def _rows(page: str) -> list[str]:
    if "<tbody" not in page:
        return []
    body = page.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", r))) for r in rows]


def _tokens(text: str, tokens: set[str]) -> set[str]:
    return {t for t in tokens if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text)}


def _follow_every_link(client: Client, page_url: str, mine: set[str], others: set[str]):
    """Open every link of ``page_url``; rows of the checked lists name only ``mine``."""
    response = client.get(page_url)
    assert response.status_code == 200, page_url
    links = _main_links(response.content.decode())
    assert links, page_url
    checked = 0
    for link in links:
        opened = client.get(link, follow=True)
        assert opened.status_code == 200, (page_url, link, opened.status_code)
        path = urlsplit(opened.request["PATH_INFO"]).path
        if not urlsplit(link).query or path not in CHECKED_LISTS:
            continue
        text = opened.content.decode()
        assert "Select a valid choice" not in text and "text-danger small" not in text, link
        rows = [r for r in _rows(text) if "No conformance runs" not in r]
        assert rows, (page_url, link, "the filtered list is empty")
        for row in rows:
            assert _tokens(row, mine), (page_url, link, row)
            assert not _tokens(row, others), (page_url, link, row)
        checked += 1
    return checked


def test_every_link_of_the_mdc_pages_opens_the_mdcs_own_rows(client_as, fleet):
    (alpha, beta), _, meters = fleet
    client = client_as("Administrator")
    for mdc, other in ((alpha, beta), (beta, alpha)):
        page = client.get(mdc.get_absolute_url()).content.decode()
        assert f"/registry/meters/?mdc={mdc.code}" in _main_links(page)
        assert f"/conformance/?mdc={mdc.code}" in _main_links(page)
        mine = {mdc.code} | {m.global_device_id for m in meters if m.mdc_id == mdc.pk}
        theirs = {other.code} | {m.global_device_id for m in meters if m.mdc_id == other.pk}
        assert _follow_every_link(client, mdc.get_absolute_url(), mine, theirs) >= 2


def test_every_link_of_the_meter_pages_opens_the_meters_own_rows(client_as, fleet):
    _, _, meters = fleet
    client = client_as("Administrator")
    for meter in meters:
        mine = {meter.global_device_id}
        others = {m.global_device_id for m in meters} - mine
        _follow_every_link(client, meter.get_absolute_url(), mine, others)


def test_every_link_of_the_hierarchy_pages_opens_the_nodes_own_rows(client_as, fleet):
    _, (t_a, t_b), meters = fleet
    client = client_as("Administrator")
    levels = ("disco", "circle", "division", "subdivision", "feeder", "transformer")
    for transformer in (t_a, t_b):
        for level, node in zip(levels, ancestors(transformer, "transformer"), strict=True):
            under = {
                m.global_device_id
                for m in meters
                if ancestors(m.transformer, "transformer")[levels.index(level)] == node
            }
            others = {m.global_device_id for m in meters} - under
            assert others, "each node has meters of the fleet outside it"
            checked = _follow_every_link(client, node.get_absolute_url(), under, others)
            assert checked >= 3, (level, checked)  # meters, load profile, events at least
