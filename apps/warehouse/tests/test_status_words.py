"""The meter's activation status from its visuals reads as a word with a badge, on the meter
page's visuals card and in the visuals table (not 1 or 0)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from apps.warehouse.meter_data import meter_data_context
from apps.warehouse.models import MeterVisuals, QuarantinedRow
from apps.warehouse.services import rows_load
from apps.warehouse.tables import MeterVisualsTable

pytestmark = pytest.mark.django_db


def test_activation_status_of_the_visuals_is_a_word_with_a_badge():
    rows = [
        {
            "global_device_id": gid,
            "msn": gid[1:],
            "last_communication_datetime": "2026-11-01 10:00:00",
            "meter_activation_status": status,
        }
        for gid, status in (("m1", 1), ("m2", 0))
    ]
    result = rows_load(dataset_code="meter_visuals", mdc_id=7, raw_rows=rows, source="test")
    assert result.inserted == 2, list(QuarantinedRow.objects.values_list("reason", flat=True))
    card = render_to_string("warehouse/_meter_data.html", meter_data_context("m1"))
    assert "Activation status" in card, card[:1500]
    assert '<span class="badge text-bg-success">Active</span>' in card, card[:1500]
    table = MeterVisualsTable(MeterVisuals.objects.order_by("global_device_id"))
    cells = [row.get_cell("meter_activation_status") for row in table.rows]
    assert "Active" in cells[0] and "Inactive" in cells[1] and "text-bg-secondary" in cells[1]
    assert "<td>1</td>" not in table.as_html(RequestFactory().get("/"))
    assert [row.get_cell_value("meter_activation_status") for row in table.rows] == [
        "Active",
        "Inactive",
    ]
