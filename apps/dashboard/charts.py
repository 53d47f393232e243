"""Plotly figures rendered to HTML fragments; the page loads plotly.js once from static files."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.safestring import SafeString, mark_safe

_CONFIG = {"displaylogo": False, "responsive": True}


def figure_html(figure: go.Figure, *, height: int = 320) -> SafeString:
    figure.update_layout(
        height=height, margin={"l": 40, "r": 10, "t": 30, "b": 40}, template="plotly_white"
    )
    # plotly renders escaped JSON into its own <div>/<script>; safe to embed.
    return mark_safe(figure.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG))
