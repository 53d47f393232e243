"""Plotly figures rendered to HTML fragments.

A fragment is an empty ``div`` plus the figure as JSON; ``static/js/charts.js`` draws every
fragment once the page (and plotly.js, loaded from static files at the end of the page) is
ready. Inline ``Plotly.newPlot`` calls would run before plotly.js has loaded."""

from __future__ import annotations

import uuid

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def figure_html(figure: go.Figure, *, height: int = 320) -> SafeString:
    figure.update_layout(
        height=height, margin={"l": 40, "r": 10, "t": 30, "b": 40}, template="plotly_white"
    )
    chart_id = f"chart-{uuid.uuid4().hex[:12]}"
    # Escaped like django's json_script, so the JSON cannot close the <script> element.
    figure_json = mark_safe(pio.to_json(figure, validate=False).translate(_JSON_ESCAPES))
    return format_html(
        '<div id="{}" class="plotly-chart" style="height:{}px"></div>'
        '<script type="application/json" id="{}-figure">{}</script>',
        chart_id,
        height,
        chart_id,
        figure_json,
    )
