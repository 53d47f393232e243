"""Registry panels on the home dashboard: meters by MDC and status."""

from __future__ import annotations

import plotly.graph_objects as go
from django.urls import reverse

from apps.core.charts import figure_html
from apps.core.panels import Panel
from apps.registry.selectors import meter_counts_by_mdc


def dashboard_panels(request) -> list[Panel]:
    if not request.user.has_perm("registry.view_meter"):
        return []
    counts = meter_counts_by_mdc()
    total = sum(c.total for c in counts)
    active = sum(c.active for c in counts)
    chart = None
    if counts:
        labels = [c.mdc.code for c in counts]
        figure = go.Figure(
            [
                go.Bar(name="Active", x=labels, y=[c.active for c in counts]),
                go.Bar(name="Inactive", x=labels, y=[c.inactive for c in counts]),
            ]
        )
        figure.update_layout(barmode="stack", yaxis_title="meters")
        chart = figure_html(figure, height=260)
    return [
        Panel(
            title="Meters by MDC",
            order=10,
            kpis=[
                ("Meters", f"{total:,}"),
                ("Active", f"{active:,}"),
                ("Inactive", f"{total - active:,}"),
                ("MDCs", f"{len(counts)}"),
            ],
            chart_html=chart,
            link_url=reverse("registry:meter-list"),
        )
    ]
