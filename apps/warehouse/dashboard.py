"""Home dashboard panels of the warehouse."""

from __future__ import annotations

import datetime
from decimal import Decimal

import plotly.graph_objects as go
from django.urls import reverse

from apps.core.charts import figure_html
from apps.core.panels import Panel
from apps.registry.models import Mdc
from apps.warehouse import consumption, selectors
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
    """Fleet consumption per day and MDC, derived in apps.warehouse.consumption (register
    differences or per-interval values, by each MDC's setting)."""
    today = today_pkt()
    first = today - datetime.timedelta(days=ENERGY_DAYS - 1)
    per_day = consumption.consumption_per_day(day_start=first, day_end=today)
    faults = sum(daily.faults for daily in per_day)
    codes = dict(Mdc.objects.filter(pk__in={d.mdc_id for d in per_day}).values_list("pk", "code"))
    totals: dict[str, Decimal] = {}
    series: dict[str, dict[datetime.date, Decimal]] = {}
    for daily in per_day:
        code = codes.get(daily.mdc_id, f"MDC {daily.mdc_id}")
        totals[code] = totals.get(code, Decimal(0)) + daily.active_kwh
        series.setdefault(code, {})[daily.day] = daily.active_kwh
    figure = go.Figure(
        [
            go.Bar(x=list(days), y=[float(kwh) for kwh in days.values()], name=code)
            for code, days in sorted(series.items())
        ]
    )
    figure.update_layout(yaxis_title="kWh", barmode="stack")
    kpis = [("kWh in the period", f"{sum(totals.values(), Decimal(0)):,.3f}")]
    kpis += [(f"kWh from {code}", f"{kwh:,.3f}") for code, kwh in sorted(totals.items())]
    kpis.append(("Register faults (no consumption)", f"{faults:,}"))
    return Panel(
        title=f"Fleet energy per day (last {ENERGY_DAYS} days)",
        order=22,
        kpis=kpis,
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
