"""The console's row editors: 3.3's time-of-use (day, week, season and holiday profiles) and
load shedding's slabs, as rows you add and remove, with time pickers, never JSON typed by hand.

Each row posts its cells as ``<name>-<row>-<column>`` (a column with several cells, such as a
day profile's tariff start times, as ``<name>-<row>-<column>-<n>``); ``static/js/tou-editor.js``
adds and removes rows. The widget hands the field the profile as JSON text, which the protocol
package's validator checks (its messages, naming the row, are shown next to the field). A
client that posts the field's own name with JSON is understood too.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.udil.tou import TARIFF_SLABS_MAX, WEEK_DAYS

SCRIPT = "js/tou-editor.js"


class Column(NamedTuple):
    """``key`` in the profile's objects; ``kind``: text, time (HH:mm) or daymonth (dd-MM);
    ``cells``: inputs (more than one: the value is a list); ``labels``: per cell."""

    key: str
    label: str
    kind: str = "text"
    cells: int = 1
    labels: tuple[str, ...] = ()


COLUMNS: dict[str, tuple[Column, ...]] = {
    "day_profile": (
        Column("name", "Day profile"),
        Column(
            "tariff_slabs",
            "Tariff start times (ascending)",
            "time",
            TARIFF_SLABS_MAX,
            tuple(f"T{i}" for i in range(1, TARIFF_SLABS_MAX + 1)),
        ),
    ),
    "week_profile": (
        Column("name", "Week profile"),
        Column("weekly_day_profile", "Day profile of each day", "text", 7, WEEK_DAYS),
    ),
    "season_profile": (
        Column("name", "Season"),
        Column("week_profile_name", "Week profile"),
        Column("start_date", "Starts (dd-MM)", "daymonth"),
    ),
    "holiday_profile": (
        Column("name", "Holiday"),
        Column("date", "Date (dd-MM)", "daymonth"),
        Column("day_profile_name", "Day profile"),
    ),
    # load_shedding_scheduling's slabs (3.4.4): when the relay is operated, and how
    "load_shedding_slabs": (
        Column("action_time", "Action time", "seconds"),
        Column("relay_operate", "Relay (0 disconnect, 1 connect)", "flag"),
    ),
}

_INPUT = {
    "text": {"type": "text", "maxlength": "20", "size": "6"},
    "time": {"type": "time", "step": "60"},
    "seconds": {"type": "time", "step": "1"},
    "flag": {"type": "number", "min": "0", "max": "1", "step": "1"},
    "daymonth": {"type": "text", "pattern": r"\d{2}-\d{2}", "placeholder": "dd-MM", "size": "5"},
}


def _blank(value: Any) -> bool:
    return not any(value) if isinstance(value, list) else not value


class TouProfileWidget(forms.Widget):
    """Rows of one time-of-use profile (``kind``: a key of :data:`COLUMNS`)."""

    class Media:
        js = (SCRIPT,)

    def __init__(self, kind: str, attrs: dict | None = None):
        super().__init__(attrs)
        self.kind = kind
        self.columns = COLUMNS[kind]

    # ------------------------------------------------------------ reading the post
    def value_from_datadict(self, data, files, name):
        pattern = re.compile(rf"{re.escape(name)}-(\d+)-")
        rows = sorted({int(m[1]) for key in data for m in [pattern.match(key)] if m})
        if not rows and f"{name}-rows" not in data:
            return data.get(name) or None
        items = []
        for row in rows:
            item: dict[str, Any] = {}
            for col in self.columns:
                if col.cells == 1:
                    item[col.key] = (data.get(f"{name}-{row}-{col.key}") or "").strip()
                else:
                    cells = [
                        (data.get(f"{name}-{row}-{col.key}-{n}") or "").strip()
                        for n in range(col.cells)
                    ]
                    item[col.key] = [c for c in cells if c] if col.kind == "time" else cells
            if not all(_blank(v) for v in item.values()):
                items.append(item)
        return json.dumps(items) if items else None

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(k.startswith(f"{name}-") for k in data)

    # ------------------------------------------------------------ rendering
    def _rows(self, value: Any) -> list[dict[str, Any]]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def _cell(self, name: str, row: str, col: Column, n: int | None, value: Any) -> str:
        field = f"{name}-{row}-{col.key}" + ("" if n is None else f"-{n}")
        title = col.labels[n] if n is not None and col.labels else col.label
        attrs = {**_INPUT[col.kind], "name": field, "value": "" if value is None else str(value)}
        attrs.update(
            {"class": "form-control form-control-sm d-inline-block w-auto", "title": title}
        )
        if col.kind == "text" and col.cells > 1:
            attrs["placeholder"] = title[:3]
        return format_html("<input{}>", forms.utils.flatatt(attrs))

    def _row(self, name: str, row: str, item: dict[str, Any]) -> str:
        cells = []
        for col in self.columns:
            value = item.get(col.key)
            if col.cells == 1:
                cells.append(format_html("<td>{}</td>", self._cell(name, row, col, None, value)))
                continue
            values = list(value) if isinstance(value, list) else []
            values += [""] * (col.cells - len(values))
            inputs = format_html_join(
                " ", "{}", ((self._cell(name, row, col, n, values[n]),) for n in range(col.cells))
            )
            cells.append(format_html('<td class="text-nowrap">{}</td>', inputs))
        remove = (
            '<td><button type="button" class="btn btn-sm btn-outline-danger tou-remove" '
            'title="Remove this row">&times;</button></td>'
        )
        return format_html(
            '<tr data-row="{}">{}{}</tr>',
            row,
            format_html_join("", "{}", ((c,) for c in cells)),
            mark_safe(remove),  # a constant
        )

    def render(self, name, value, attrs=None, renderer=None):
        rows = self._rows(value) or [{}]
        head = format_html_join("", "<th class='small'>{}</th>", ((c.label,) for c in self.columns))
        body = format_html_join(
            "", "{}", ((self._row(name, str(i), r),) for i, r in enumerate(rows))
        )
        element_id = (attrs or {}).get("id") or f"id_{name}"
        return format_html(
            '<div class="tou-rows" id="{}" data-name="{}" data-next="{}">'
            '<input type="hidden" name="{}-rows" value="1">'
            '<table class="table table-sm mb-1"><thead><tr>{}<th></th></tr></thead>'
            '<tbody class="tou-body">{}</tbody></table>'
            '<template class="tou-template">{}</template>'
            '<button type="button" class="btn btn-sm btn-outline-secondary tou-add">Add a row'
            "</button></div>",
            element_id,
            name,
            len(rows),
            name,
            head,
            body,
            self._row(name, "__row__", {}),
        )


class TouProfileField(forms.CharField):
    """A time-of-use profile edited as rows; its value is the profile as JSON text."""

    def __init__(self, *, kind: str, **kwargs):
        kwargs.setdefault("widget", TouProfileWidget(kind))
        super().__init__(**kwargs)
