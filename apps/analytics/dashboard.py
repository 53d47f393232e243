"""Home dashboard panels of analytics: communication health and feeder losses (roll-ups only)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from apps.analytics import selectors
from apps.core.panels import Panel
from apps.warehouse.partitions import today_pkt

#: days of the feeder-loss panel, ending yesterday (today is still arriving)
LOSS_DAYS = 7


def dashboard_panels(request) -> list[Panel]:
    if not request.user.has_perm("analytics.view_nodeday"):
        return []
    silent = selectors.silent_meters().count()
    end = today_pkt() - dt.timedelta(days=1)
    balances = selectors.energy_balance(
        level="feeder", start=end - dt.timedelta(days=LOSS_DAYS - 1), end=end
    )
    worst = balances[0] if balances else None
    return [
        Panel(
            title="Communication health",
            order=40,
            kpis=[(f"silent over {settings.ANALYTICS_SILENT_HOURS} h", f"{silent:,}")],
            link_url=reverse("analytics:health"),
            width=3,
        ),
        Panel(
            title=f"Feeder losses, last {LOSS_DAYS} days",
            order=41,
            kpis=[
                ("feeders with an input meter", str(len(balances))),
                ("highest loss", f"{worst.code}: {worst.loss_pct} %" if worst else "—"),
            ],
            link_url=reverse("analytics:balance"),
            width=3,
        ),
    ]
