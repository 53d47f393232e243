"""KeyValueRowsField: rows in, a dict out, mistakes named by row; JSON posts still understood."""

from __future__ import annotations

import pytest
from django import forms
from django.http import QueryDict

from apps.core.widgets import KeyValueRowsField


class MinutesForm(forms.Form):
    minutes = KeyValueRowsField(
        key_choices=[("events", "Events"), ("billing", "Billing data")],
        value_type=int,
        min_value=1,
        key_label="Data set",
        value_label="Minutes",
    )


def _post(**lists) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in lists.items():
        data.setlist(name.replace("__", "-"), values if isinstance(values, list) else [values])
    return data


def test_rows_become_a_dict_and_blank_rows_are_dropped():
    form = MinutesForm(
        _post(
            minutes__rows="1",
            minutes__key=["events", "", "billing"],
            minutes__value=["15", "", "60"],
        )
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["minutes"] == {"events": 15, "billing": 60}


def test_every_removed_row_is_an_empty_dict_and_not_posted_is_none():
    assert MinutesForm(_post(minutes__rows="1")).is_valid()
    form = MinutesForm(_post(minutes__rows="1"))
    form.is_valid()
    assert form.cleaned_data["minutes"] == {}
    untouched = MinutesForm(_post(other="x"))
    assert untouched.is_valid() and untouched.cleaned_data["minutes"] is None


@pytest.mark.parametrize(
    ("keys", "values", "message"),
    [
        (["events"], ["0"], "Events: minutes must be at least 1."),
        (["events"], ["1.5"], "Events: minutes must be a whole number."),
        (["events", "events"], ["1", "2"], "Events: given twice."),
        (["weekly"], ["1"], "weekly: not one of the choices."),
        ([""], ["5"], "Row 1: choose a data set."),
    ],
)
def test_mistakes_name_the_row(keys, values, message):
    form = MinutesForm(_post(minutes__rows="1", minutes__key=keys, minutes__value=values))
    assert not form.is_valid()
    assert message in form.errors["minutes"]


def test_a_json_object_posted_by_a_script_is_understood():
    form = MinutesForm(_post(minutes='{"events": 5}'))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["minutes"] == {"events": 5}
    bad = MinutesForm(_post(minutes="[1, 2]"))
    assert not bad.is_valid()


def test_the_widget_renders_a_row_per_entry_with_a_template_row():
    form = MinutesForm(initial={"minutes": {"billing": 60}})
    html = str(form["minutes"])
    assert html.count('name="minutes-key"') == 2  # the row, and the template for new rows
    assert '<option value="billing" selected>Billing data</option>' in html
    assert 'name="minutes-value" value="60"' in html and 'min="1"' in html
    assert "js/key-value-rows.js" in str(form.media)
