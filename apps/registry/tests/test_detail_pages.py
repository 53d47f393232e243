"""Detail pages (#15): hierarchy nodes, the MDC and the meter show their related objects, their
place in the network as links, sections other apps contribute and their change log."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse

from apps.registry import services
from apps.registry.tests.factories import ConsumerFactory, MdcFactory, MeterFactory
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(admin_user):
    """One transformer path built through the services (so each node has a change log)."""
    transformer = services.hierarchy_path_ensure(
        actor=admin_user,
        disco="MEPCO",
        circle="MULTAN",
        division="CANTT",
        subdivision="GULGASHT",
        feeder="FDR-07",
        transformer="FDR-07-T1",
    )
    consumer = ConsumerFactory(reference_no="REF-0001", name="Shop 1")
    meter = MeterFactory(transformer=transformer, consumer=consumer, mdc=MdcFactory(code="alpha"))
    return transformer, meter


def _links(page: str) -> set[str]:
    return {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)}


def test_transformer_page_links_its_place_meters_and_consumers(client_as, network):
    transformer, meter = network
    page = client_as("Viewer").get(transformer.get_absolute_url()).content.decode()
    feeder = transformer.feeder
    subdivision = feeder.subdivision
    disco = subdivision.division.circle.disco
    links = _links(page)
    for node in (disco, subdivision.division.circle, subdivision.division, subdivision, feeder):
        assert node.get_absolute_url() in links, node
    assert meter.get_absolute_url() in links
    assert meter.mdc.get_absolute_url() in links
    assert reverse("workflows:consumer", args=[meter.consumer.pk]) in links
    assert f"{reverse('registry:meter-list')}?transformer={transformer.pk}" in links
    assert "FDR-07-T1" in page and "REF-0001" in page


def test_feeder_page_lists_its_transformers_with_meter_counts(client_as, network):
    transformer, _ = network
    page = client_as("Viewer").get(transformer.feeder.get_absolute_url()).content.decode()
    rows = re.findall(
        r'<tr><td><a href="([^"]+)">([^<]+)</a></td><td>[^<]*</td>'
        r'<td class="text-end">(\d+)</td></tr>',
        page,
    )
    assert (transformer.get_absolute_url(), "FDR-07-T1", "1") in rows


def test_node_page_shows_its_change_log_to_readers_of_the_audit(client_as, network):
    transformer, _ = network
    page = client_as("Viewer").get(transformer.get_absolute_url()).content.decode()
    assert 'id="changelog"' in page
    assert "registry.transformer.create" in page


def test_node_pages_answer_404_for_unknown_levels_and_ids(client_as, network):
    client = client_as("Viewer")
    assert client.get("/registry/hierarchy/planet/1/").status_code == 404
    assert client.get("/registry/hierarchy/feeder/999999/").status_code == 404


def test_mdc_page_shows_health_section_and_change_log(client_as, admin_user):
    mdc = services.mdc_register(
        actor=admin_user,
        code="beta",
        name="Beta",
        base_url="http://127.0.0.1:9/x",
        username="u",
        password="p",
        auth_code="c",
    )
    page = client_as("Viewer").get(mdc.get_absolute_url()).content.decode()
    assert 'id="mdc-health"' in page
    assert reverse("ingestion:mdc-health", args=[mdc.pk]) in page
    assert "registry.mdc.register" in page
    assert "{'" not in page, "a Python dict is printed on the MDC page"


def test_meter_page_links_its_place_and_offers_prefilled_commands(client_as, network):
    transformer, meter = network
    page = client_as("Operator").get(meter.get_absolute_url()).content.decode()
    links = _links(page)
    assert transformer.get_absolute_url() in links
    assert transformer.feeder.get_absolute_url() in links
    assert reverse("workflows:consumer", args=[meter.consumer.pk]) in links
    console = reverse("commands:request-new")
    prefilled = {link for link in links if link.startswith(console + "?")}
    assert (
        f"{console}?mdc_code=alpha&device_prefix={meter.global_device_id}&command=on_demand_request"
    ) in prefilled
    assert 'id="meter-commands"' in page and "No commands sent to this meter yet." in page


def test_prefilled_console_selects_exactly_this_meter(client_as, network):
    _, meter = network
    MeterFactory(mdc=meter.mdc)  # another meter of the same MDC
    page = client_as("Operator").get(
        reverse("commands:request-new"),
        {
            "mdc_code": "alpha",
            "device_prefix": meter.global_device_id,
            "command": "time_synchronization",
        },
    )
    assert page.status_code == 200
    assert page.context["selection"].count == 1


def test_viewer_sees_the_history_but_no_send_buttons(client_as, network):
    _, meter = network
    page = client_as("Viewer").get(meter.get_absolute_url()).content.decode()
    assert 'id="meter-commands"' in page
    assert "meter-action" not in page
    assert reverse("commands:request-new") not in page


def _load_profile(meter, day: dt.date, points: int = 4):
    rows = []
    for index in range(points):
        at = dt.datetime.combine(day, dt.time(10)) + dt.timedelta(minutes=30 * index)
        stamp = at.strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            {
                "msn": str(meter.msn),
                "global_device_id": meter.global_device_id,
                "meter_datetime": stamp,
                "channel_id": "0",
                "interval": "30",
                "voltage_phase_a": f"{230 + index}.5",
                "current_phase_a": "4.250",
                "average_pf": "0.930",
                "aggregate_active_pwr_pos": "1.200",
                "mdc_read_datetime": stamp,
                "db_datetime": stamp,
            }
        )
    result = rows_load(
        dataset_code="load_profile", mdc_id=meter.mdc_id, raw_rows=rows, source="test"
    )
    assert result.inserted == points


def _figures(page: str) -> list[dict]:
    import json

    return [
        json.loads(payload)
        for payload in re.findall(
            r'<script type="application/json" id="chart-[0-9a-f]+-figure">(.*?)</script>',
            page,
            re.S,
        )
    ]


def test_meter_page_charts_voltage_current_pf_and_demand_for_the_range(client_as, network):
    _, meter = network
    day = dt.date(2025, 3, 11)
    _load_profile(meter, day)
    client = client_as("Viewer")
    page = client.get(meter.get_absolute_url(), {"start": "2025-03-10", "end": "2025-03-12"})
    text = page.content.decode()
    assert 'id="grid-charts"' in text and "10/03/2025 \u2013 12/03/2025" in text
    figures = _figures(text)
    voltage = [
        f for f in figures if f["layout"].get("yaxis", {}).get("title", {}).get("text") == "V"
    ]
    assert len(voltage) == 1
    assert voltage[0]["data"][0]["y"] == [230.5, 231.5, 232.5, 233.5]
    units = {f["layout"]["yaxis"]["title"]["text"] for f in figures if "yaxis" in f["layout"]}
    assert {"V", "A", "PF", "kW"} <= units
    # outside the range: nothing charted
    other = client.get(meter.get_absolute_url(), {"start": "2025-04-01", "end": "2025-04-02"})
    assert "No load profile in this range." in other.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2025-03-12", "end": "2025-03-10"},
        {"start": "not a date"},
        {"end": "2024-01-01", "start": "2020-01-01"},
    ],
)
def test_a_bad_range_is_explained_not_a_500(client_as, network, query):
    _, meter = network
    response = client_as("Viewer").get(meter.get_absolute_url(), query)
    assert response.status_code == 200
    assert "Showing the last days instead." in response.content.decode()


def test_consumer_page_has_its_change_log(client_as, admin_user):
    consumer = services.consumer_create(actor=admin_user, reference_no="REF-9", name="Mill")
    page = client_as("Administrator").get(reverse("workflows:consumer", args=[consumer.pk]))
    assert "registry.consumer.create" in page.content.decode()


def test_the_hierarchy_tree_links_every_node_to_its_page(client_as, network):
    transformer, _ = network
    page = client_as("Viewer").get(reverse("registry:hierarchy")).content.decode()
    links = _links(page)
    node = transformer
    for parent in ("feeder", "subdivision", "division", "circle", "disco", None):
        assert node.get_absolute_url() in links, node
        node = getattr(node, parent) if parent else None


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_detail_pages_take_as_many_queries_for_many_meters_as_for_one(client_as, network):
    transformer, meter = network
    client = client_as("Viewer")
    client.get(meter.get_absolute_url())  # session, content types and caches warmed
    pages = [transformer.get_absolute_url(), transformer.feeder.get_absolute_url()]
    pages += [meter.get_absolute_url(), meter.mdc.get_absolute_url()]
    few = [_queries(client, url) for url in pages]
    for _ in range(12):
        MeterFactory(transformer=transformer, mdc=meter.mdc)
    assert [_queries(client, url) for url in pages] == few
