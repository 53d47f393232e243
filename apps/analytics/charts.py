"""Plotly charts of the analytics pages (drawn by the locally served plotly.js)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.safestring import SafeString

from apps.analytics.choices import LossBand
from apps.core.charts import figure_html

_BAND_COLOURS = {"success": "#198754", "info": "#0dcaf0", "warning": "#ffc107",
                 "danger": "#dc3545", "dark": "#212529", "secondary": "#6c757d"}  # fmt: skip


def balance_chart(rows) -> SafeString:
    figure = go.Figure(
        go.Bar(
            x=[row.code for row in rows],
            y=[float(row.loss_pct or 0) for row in rows],
            marker_color=[_BAND_COLOURS[LossBand.colour_of(row.band)] for row in rows],
            text=[row.band or "" for row in rows],
        )
    )
    figure.update_layout(yaxis={"title": "loss % of input"})
    return figure_html(figure)


def balance_days_chart(days) -> SafeString:
    """One node's input and consumers per day as lines, the loss between them as bars (no
    input line or loss without an input meter)."""
    x = [d.day.isoformat() for d in days]
    figure = go.Figure()
    if any(d.input_kwh is not None for d in days):
        figure.add_bar(x=x, y=[float(d.loss_kwh or 0) for d in days], name="loss",
                       marker_color=_BAND_COLOURS["danger"], opacity=0.6)  # fmt: skip
        figure.add_scatter(x=x, y=[float(d.input_kwh or 0) for d in days], name="input",
                           mode="lines+markers")  # fmt: skip
    figure.add_scatter(x=x, y=[float(d.consumers_kwh) for d in days], name="consumers",
                       mode="lines+markers")  # fmt: skip
    figure.update_layout(yaxis={"title": "kWh per day"}, legend={"orientation": "h"})
    return figure_html(figure)


def heat_map(grid: dict) -> SafeString:
    figure = go.Figure(
        go.Heatmap(
            x=[day.isoformat() for day in grid["days"]],
            y=[code for _, code in grid["nodes"]],
            z=grid["pct"],
            zmin=0,
            zmax=100,
            colorscale="RdYlGn",
            colorbar={"title": "%"},
        )
    )
    return figure_html(figure, height=120 + 24 * max(len(grid["nodes"]), 4))


def load_chart(points) -> SafeString:
    figure = go.Figure(
        go.Scatter(x=[at.isoformat() for at, _ in points], y=[float(v) for _, v in points])
    )
    figure.update_layout(yaxis={"title": "kWh per hour"})
    return figure_html(figure)


def events_chart(rows) -> SafeString:
    figure = go.Figure()
    for code in sorted({code for _, code, _ in rows}):
        mine = [(day, n) for day, c, n in rows if c == code]
        figure.add_bar(x=[d.isoformat() for d, _ in mine], y=[n for _, n in mine], name=str(code))
    figure.update_layout(barmode="stack", yaxis={"title": "events"}, legend={"orientation": "h"})
    return figure_html(figure)


def loading_chart(rows) -> SafeString:
    figure = go.Figure(
        go.Bar(
            x=[row.code for row in rows],
            y=[float(row.loading_pct or 0) for row in rows],
            marker_color=["#dc3545" if (row.loading_pct or 0) >= 100 else "#ffc107"
                          if (row.loading_pct or 0) >= 80 else "#198754" for row in rows],
        )
    )  # fmt: skip
    figure.update_layout(yaxis={"title": "peak % of kVA rating"})
    return figure_html(figure)
