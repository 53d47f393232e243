"""Status numbers are shown as words with badges: a device's indv_status (2019 meaning, the 3.3
writing explained on hover), its status level by name, on the request's device table and in
the meter page's commands section."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from apps.commands.choices import IndvStatus, Outcome, RequestState, StatusLevel
from apps.commands.models import CommandDevice
from apps.commands.tables import CommandDeviceTable

pytestmark = pytest.mark.django_db


def test_device_table_names_indv_status_and_status_level():
    devices = [
        CommandDevice(global_device_id="m1", msn="1", status_level=4, indv_status=1),
        CommandDevice(global_device_id="m2", msn="2", status_level=2, indv_status=0),
    ]
    table = CommandDeviceTable(devices)
    html = table.as_html(RequestFactory().get("/commands/"))
    cells = [(row.get_cell("status_level"), row.get_cell("indv_status")) for row in table.rows]
    assert "4 · Command sent to meter" in cells[0][0] and "text-bg-primary" in cells[0][0]
    assert "1 · Accepted, in progress or done" in cells[0][1] and "text-bg-success" in cells[0][1]
    assert "0 · Refused or failed" in cells[1][1] and "text-bg-danger" in cells[1][1]
    assert "UDIL 3.3" in html  # the header explains the 3.3 writing
    exported = [row.get_cell_value("indv_status") for row in table.rows]
    assert exported == [IndvStatus.OK.label, IndvStatus.FAILED.label]


def test_meter_commands_section_shows_the_status_level_by_name():
    device = CommandDevice(global_device_id="m1", msn="1", status_level=5, outcome="executed")
    page = render_to_string(
        "commands/_meter_commands.html",
        {
            "commands_history": [device],
            "StatusLevel": StatusLevel,
            "Outcome": Outcome,
            "RequestState": RequestState,
        },
    )
    assert "5 · Executed by meter" in page and "text-bg-success" in page
