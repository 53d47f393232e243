"""Grid charts of one meter's load profile for a date range (a section of the meter page,
registered in ``WarehouseConfig.ready``): phase voltages, phase currents, power factor and
demand (aggregate active power import), beside the energy chart of ``meter_data``."""

from __future__ import annotations

import datetime

import plotly.graph_objects as go
from django import forms

from apps.core.charts import figure_html
from apps.udil.timefmt import PKT
from apps.warehouse import selectors
from apps.warehouse.partitions import today_pkt

DEFAULT_DAYS = 7
MAX_DAYS = 92
PHASES = ("a", "b", "c")
# (title, y axis, [(trace name, field)])
CHARTS = (
    ("Voltage", "V", [(f"Phase {p.upper()}", f"voltage_phase_{p}") for p in PHASES]),
    ("Current", "A", [(f"Phase {p.upper()}", f"current_phase_{p}") for p in PHASES]),
    ("Power factor", "PF", [("Average", "average_pf")]),
    ("Demand", "kW", [("Active power import", "aggregate_active_pwr_pos")]),
)
FIELDS = ("meter_datetime", *(name for _, _, traces in CHARTS for _, name in traces))


class DateRangeForm(forms.Form):
    """Days in Pakistan time, both included."""

    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        end = data.get("end") or today_pkt()
        start = data.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("'From' must not be after 'To'.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data


def date_range(request) -> tuple[DateRangeForm, datetime.date, datetime.date]:
    """The meter page's one date range (``?start=&end=``), shared by its energy and grid
    charts: the form (with its errors) and the days, the last week when absent or wrong."""
    return _range(request)


def range_bounds(start: datetime.date, end: datetime.date):
    """Pakistan midnights: from the start day to after the end day."""
    since = datetime.datetime.combine(start, datetime.time(), tzinfo=PKT)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tzinfo=PKT)
    return since, until


def _range(request) -> tuple[DateRangeForm, datetime.date, datetime.date]:
    form = DateRangeForm(request.GET if "start" in request.GET or "end" in request.GET else None)
    end = today_pkt()
    start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return form, start, end


def _charts(rows: list[dict]) -> list[tuple[str, object]]:
    out = []
    times = [row["meter_datetime"].astimezone(PKT) for row in rows]
    for title, unit, traces in CHARTS:
        figure = go.Figure()
        for name, field in traces:
            values = [None if row[field] is None else float(row[field]) for row in rows]
            if any(v is not None for v in values):
                figure.add_trace(go.Scatter(x=times, y=values, mode="lines", name=name))
        if not figure.data:
            out.append((title, None))
            continue
        figure.update_layout(yaxis_title=unit, showlegend=len(figure.data) > 1)
        out.append((title, figure_html(figure, height=220)))
    return out


def meter_charts_context(request, meter) -> dict:
    form, start, end = _range(request)
    since, until = range_bounds(start, end)
    rows = list(
        selectors.meter_load_profile(meter.global_device_id, since, until)
        .filter(channel_id=0)
        .values(*FIELDS)
    )
    return {
        "grid_form": form,
        "grid_start": start,
        "grid_end": end,
        "grid_rows": len(rows),
        "grid_charts": _charts(rows) if rows else [],
    }
