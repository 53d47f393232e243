"""The meter page's energy chart follows the page's one date-range picker (``?start=&end=``),
the same one as its grid charts: both cards carry the picker with the chosen days."""

from __future__ import annotations

import json
import re

import pytest

from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db


def _energy_figures(page: str) -> list[dict]:
    found = re.findall(
        r'<script type="application/json" id="chart-[0-9a-f]+-figure">(.*?)</script>', page, re.S
    )
    figures = [json.loads(payload) for payload in found]
    return [
        f
        for f in figures
        if f["layout"].get("yaxis", {}).get("title", {}).get("text") == "kWh per interval"
    ]


def test_energy_chart_takes_the_pages_date_range(client_as, load_profile_row):
    meter = MeterFactory(mdc=MdcFactory(code="energy-range"))
    rows = [
        load_profile_row(
            meter.global_device_id,
            f"2025-03-11 {10 + i // 2:02d}:{30 * (i % 2):02d}:00",
            msn=str(meter.msn),
            active_energy_tl=f"{1000 + i}.000",
        )
        for i in range(6)
    ]
    assert (
        rows_load(
            dataset_code="load_profile", mdc_id=meter.mdc_id, raw_rows=rows, source="test"
        ).inserted
        == 6
    )
    client = client_as("Viewer")
    page = client.get(meter.get_absolute_url(), {"start": "2025-03-10", "end": "2025-03-12"})
    text = page.content.decode()
    assert 'id="energy-chart"' in text and 'id="id_energy_start"' in text
    assert 'name="start" value="2025-03-10"' in text.split('id="energy-chart"')[1]
    assert "10/03/2025 \u2013 12/03/2025 (active energy)" in text
    [energy] = _energy_figures(text)
    assert any(y is not None for trace in energy["data"] for y in trace["y"])
    # the week before today (no range given) and another range: nothing of March charted
    for query in ({}, {"start": "2025-04-01", "end": "2025-04-02"}):
        other = client.get(meter.get_absolute_url(), query).content.decode()
        assert _energy_figures(other) == []
        assert other.count("No load profile in this range.") == 2  # energy and grid cards
