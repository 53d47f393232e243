"""Dashboard panel: MDC health at a glance, naming the MDCs that are not healthy and why."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.core.panels import Panel
from apps.ingestion import charts, selectors
from apps.ingestion.choices import HealthStatus
from apps.ingestion.selectors import MdcHealth

MAX_NAMED = 5  # more unhealthy MDCs than this: the health page lists them all


def _not_healthy(rows: list[MdcHealth]) -> SafeString:
    if not rows:
        return SafeString("")
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a> <span class="badge text-bg-{}">{}</span> {}</li>',
        (
            (
                reverse("ingestion:mdc-health", args=[row.mdc.pk]),
                row.mdc.code,
                HealthStatus.colour_of(row.status),
                row.status_label,
                " ".join(row.problems),
            )
            for row in rows[:MAX_NAMED]
        ),
    )
    more = len(rows) - MAX_NAMED
    tail = format_html('<li class="text-muted">and {} more</li>', more) if more > 0 else ""
    return format_html('<ul class="small mb-2 mdc-unhealthy">{}{}</ul>', items, tail)


def dashboard_panels(request) -> list[Panel]:
    if not request.user.has_perm("ingestion.view_ingestionrun"):
        return []
    health = selectors.mdc_health()
    if not health:
        return []
    runs = sum(row.runs for row in health)
    errors = sum(row.errors for row in health)
    lags = [row.lag_hours for row in health if row.lag_hours is not None]
    # Unhealthy (unreachable) first, then degraded; each by code.
    not_healthy = sorted(
        (row for row in health if not row.healthy),
        key=lambda row: (row.status != HealthStatus.UNHEALTHY, row.mdc.code),
    )
    return [
        Panel(
            title="MDC ingestion health (24 h)",
            order=20,
            kpis=[
                ("MDCs", str(len(health))),
                ("Healthy", str(len(health) - len(not_healthy))),
                ("Runs", str(runs)),
                ("Error rate", f"{100 * errors / runs:.1f}%" if runs else "-"),
                ("Worst lag", f"{max(lags):.1f} h" if lags else "-"),
            ],
            chart_html=_not_healthy(not_healthy) + charts.health_chart(health),
            link_url=reverse("ingestion:health"),
        )
    ]
