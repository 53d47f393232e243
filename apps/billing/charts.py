"""Charts of a run's review: units by band, and by feeder."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.safestring import SafeString

from apps.core.charts import figure_html


def units_by_band_chart(totals: dict) -> SafeString:
    bands = ["Off-peak", "Peak", "Total", "Export"]
    keys = ["off_peak", "peak", "total", "export"]
    figure = go.Figure(go.Bar(x=bands, y=[float(totals.get(k) or 0) for k in keys]))
    figure.update_layout(yaxis={"title": "kWh (x multiplying factor)"})
    return figure_html(figure, height=280)


def units_by_feeder_chart(rows: list[dict]) -> SafeString:
    figure = go.Figure()
    feeders = [row["feeder"] for row in rows]
    for key, name in (("off_peak", "Off-peak"), ("peak", "Peak"), ("other", "Untimed")):
        figure.add_bar(x=feeders, y=[float(row[key] or 0) for row in rows], name=name)
    figure.update_layout(barmode="stack", yaxis={"title": "kWh"}, legend={"orientation": "h"})
    return figure_html(figure, height=320)
