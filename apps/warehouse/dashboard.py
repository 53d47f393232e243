"""Home dashboard panels of the warehouse."""

from __future__ import annotations

import datetime

import plotly.graph_objects as go
from django.urls import reverse

from apps.dashboard.charts import figure_html
from apps.dashboard.panels import Panel
from apps.warehouse import selectors
from apps.warehouse.choices import DataSetCode
from apps.warehouse.partitions import today_pkt

ENERGY_DAYS = 30


def _rows_today_panel() -> Panel:
    counts = selectors.rows_today_per_dataset(today_pkt())
    kpis = [(DataSetCode(code).label, f"{count:,}") for code, count in counts.items()]
    return Panel(
        title="Meter data today",
        order=20,
        kpis=kpis,
        link_url=reverse("warehouse:load-profile-list"),
        width=12,
    )


def _quarantine_panel() -> Panel:
    return Panel(
        title="Quarantine",
        order=21,
        kpis=[("Open rows and bodies", f"{selectors.quarantine_open_count():,}")],
        link_url=reverse("warehouse:quarantine-list") + "?resolved=false",
        width=4,
    )


def _energy_panel() -> Panel:
    today = today_pkt()
    per_day = selectors.fleet_energy_per_day(
        today - datetime.timedelta(days=ENERGY_DAYS - 1), today
    )
    figure = go.Figure(go.Bar(x=[day for day, _ in per_day], y=[kwh for _, kwh in per_day]))
    figure.update_layout(yaxis_title="kWh")
    return Panel(
        title=f"Fleet energy per day (last {ENERGY_DAYS} days)",
        order=22,
        kpis=[("kWh in the period", f"{sum(kwh for _, kwh in per_day):,.0f}")],
        chart_html=figure_html(figure, height=260) if per_day else None,
        link_url=reverse("warehouse:load-profile-list"),
        width=8,
    )


def dashboard_panels(request) -> list[Panel]:
    user = request.user
    panels = []
    if user.has_perm("warehouse.view_loadprofilereading"):
        panels += [_rows_today_panel(), _energy_panel()]
    if user.has_perm("warehouse.view_quarantinedrow"):
        panels.append(_quarantine_panel())
    return panels
