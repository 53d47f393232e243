"""The console edits load shedding's slabs as rows (#15): a time and a relay operation per row,
sent as the UDIL array; a bad row is explained next to the field."""

from __future__ import annotations

import json

import pytest

from apps.commands.forms import CommandParamsForm

pytestmark = pytest.mark.django_db

WINDOW = {"start_datetime": "2025-06-01T00:00:00", "end_datetime": "2025-06-30T00:00:00"}


def test_slab_rows_become_the_udil_array():
    form = CommandParamsForm(
        {
            **WINDOW,
            "load_shedding_slabs-0-action_time": "18:00:00",
            "load_shedding_slabs-0-relay_operate": "0",
            "load_shedding_slabs-2-action_time": "20:30:00",
            "load_shedding_slabs-2-relay_operate": "1",
            "load_shedding_slabs-5-action_time": "",  # a blank row is dropped
            "load_shedding_slabs-5-relay_operate": "",
        },
        command="load_shedding_scheduling",
    )
    assert form.is_valid(), form.errors
    slabs = json.loads(form.wire_params["load_shedding_slabs"])
    assert [(s["action_time"], str(s["relay_operate"])) for s in slabs] == [
        ("18:00:00", "0"),
        ("20:30:00", "1"),
    ]


def test_the_editor_renders_time_and_relay_inputs_not_a_textarea():
    form = CommandParamsForm(command="load_shedding_scheduling")
    html = form["load_shedding_slabs"].as_widget()
    assert 'type="time"' in html and 'step="1"' in html
    assert 'name="load_shedding_slabs-0-relay_operate"' in html and 'max="1"' in html
    assert "<textarea" not in html and "tou-add" in html


def test_a_bad_relay_operation_names_the_row():
    form = CommandParamsForm(
        {
            **WINDOW,
            "load_shedding_slabs-0-action_time": "18:00:00",
            "load_shedding_slabs-0-relay_operate": "7",
        },
        command="load_shedding_scheduling",
    )
    assert not form.is_valid()
    (message,) = form.errors["load_shedding_slabs"]
    assert "item 1" in message and "relay_operate" in message
