import json
import re

import plotly.graph_objects as go

from apps.core.charts import figure_html


def test_chart_fragment_carries_the_figure_as_json_for_charts_js():
    figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], name="</script><b>x</b>"))
    html = str(figure_html(figure, height=200))
    chart_id = re.search(r'<div id="(chart-[0-9a-f]+)" class="plotly-chart"', html).group(1)
    payload = re.search(
        rf'<script type="application/json" id="{chart_id}-figure">(.*)</script>', html, re.S
    ).group(1)
    assert "</script><b>" not in payload
    figure_json = json.loads(payload)
    assert figure_json["data"][0]["y"] == [1, 2]
    assert figure_json["data"][0]["name"] == "</script><b>x</b>"
    assert figure_json["layout"]["height"] == 200
    assert "Plotly.newPlot" not in html
