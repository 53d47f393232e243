"""The meter-period chart of an exception: actual, estimated and edited points drawn apart."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.core.charts import figure_html
from apps.vee.selectors import IntervalPoint

STYLES = {
    "actual": {"color": "#198754", "symbol": "circle"},
    "estimated": {"color": "#0d6efd", "symbol": "diamond-open"},
    "edited": {"color": "#fd7e14", "symbol": "square"},
}


def exception_chart(points: list[IntervalPoint], *, period: tuple) -> SafeString:
    figure = go.Figure()
    for kind, style in STYLES.items():
        chosen = [p for p in points if p.kind == kind]
        figure.add_scatter(
            x=[timezone.localtime(p.at).isoformat() for p in chosen],
            y=[float(p.value) if p.value is not None else None for p in chosen],
            mode="markers",
            name=kind.capitalize(),
            marker={"color": style["color"], "symbol": style["symbol"], "size": 8},
        )
    missing = [p for p in points if p.kind == "missing"]
    if missing:
        figure.add_scatter(
            x=[timezone.localtime(p.at).isoformat() for p in missing],
            y=[0] * len(missing),
            mode="markers",
            name="Unknown",
            marker={"color": "#dc3545", "symbol": "x", "size": 8},
        )
    figure.add_vrect(
        x0=timezone.localtime(period[0]).isoformat(),
        x1=timezone.localtime(period[1]).isoformat(),
        fillcolor="#ffc107",
        opacity=0.15,
        line_width=0,
    )
    figure.update_layout(yaxis={"title": "kWh per interval"}, legend={"orientation": "h"})
    return figure_html(figure)
