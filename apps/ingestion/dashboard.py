"""Dashboard panel: MDC health at a glance."""

from __future__ import annotations

from django.urls import reverse

from apps.dashboard.panels import Panel
from apps.ingestion import charts, selectors


def dashboard_panels(request) -> list[Panel]:
    if not request.user.has_perm("ingestion.view_ingestionrun"):
        return []
    health = selectors.mdc_health()
    if not health:
        return []
    runs = sum(row.runs for row in health)
    errors = sum(row.errors for row in health)
    lags = [row.lag_hours for row in health if row.lag_hours is not None]
    healthy = sum(1 for row in health if row.runs and not row.errors)
    return [
        Panel(
            title="MDC ingestion health (24 h)",
            order=20,
            kpis=[
                ("MDCs", str(len(health))),
                ("Healthy", str(healthy)),
                ("Runs", str(runs)),
                ("Error rate", f"{100 * errors / runs:.1f}%" if runs else "-"),
                ("Worst lag", f"{max(lags):.1f} h" if lags else "-"),
            ],
            chart_html=charts.health_chart(health),
            link_url=reverse("ingestion:health"),
        )
    ]
