"""Plotly figures of ingestion (rendered with the dashboard's ``figure_html``)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.core.charts import figure_html
from apps.ingestion.selectors import HourlyRuns, MdcHealth


def runs_hourly_chart(hourly: list[HourlyRuns]) -> SafeString:
    hours = [timezone.localtime(row.hour).strftime("%Y-%m-%d %H:00") for row in hourly]
    figure = go.Figure()
    figure.add_bar(x=hours, y=[row.rows for row in hourly], name="Rows received")
    figure.add_scatter(
        x=hours,
        y=[row.errors for row in hourly],
        name="Failed or partial runs",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#dc3545"},
    )
    figure.update_layout(
        yaxis={"title": "rows"},
        yaxis2={"title": "runs", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h"},
    )
    return figure_html(figure)


def health_chart(health: list[MdcHealth]) -> SafeString:
    codes = [row.mdc.code for row in health]
    figure = go.Figure()
    figure.add_bar(
        x=codes,
        y=[row.lag_hours if row.lag_hours is not None else 0 for row in health],
        name="Lag (hours)",
    )
    figure.add_scatter(
        x=codes,
        y=[round(100 * (row.error_rate or 0), 1) for row in health],
        name="Error rate 24 h (%)",
        yaxis="y2",
        mode="markers",
        marker={"color": "#dc3545", "size": 10},
    )
    figure.update_layout(
        yaxis={"title": "hours behind now"},
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "range": [0, 100]},
        legend={"orientation": "h"},
    )
    return figure_html(figure)


def completeness_chart(
    *, mdc_codes: list[str], days: list[str], percent: list[list[float | None]]
) -> SafeString:
    """Heat map: one row per MDC, one column per day, cell = % of expected intervals."""
    figure = go.Figure(
        go.Heatmap(
            z=percent,
            x=days,
            y=mdc_codes,
            zmin=0,
            zmax=100,
            colorscale="RdYlGn",
            colorbar={"title": "%"},
            hovertemplate="%{y} %{x}: %{z:.1f}%<extra></extra>",
        )
    )
    figure.update_layout(xaxis={"type": "category"}, yaxis={"type": "category"})
    return figure_html(figure, height=max(220, 60 + 40 * len(mdc_codes)))
