"""A small PDF writer shared by the apps that print reports (analytics, conformance).

One call builds a whole document from plain parts, so no app needs to know reportlab::

    from apps.core.pdf import Chart, Table, render_pdf

    data = render_pdf(
        title="Feeder loss, November 2026",
        subtitle="Run by ops1 at 2026-12-02 06:00 +05:00",
        parts=[
            "Loss per feeder, worst first.",            # a paragraph (plain text, escaped)
            Table(["Feeder", "Input kWh", "Loss %"], rows),
            Chart("Loss %", labels=["F1", "F2"], values=[12.5, 30.1]),   # a bar chart
        ],
    )

Text is escaped (a meter's name like ``<b>`` prints as written); values are shown with
``cell_text`` of the CSV export (Pakistan time, decimals as stored), so a PDF and the CSV of
the same report read the same. Long tables split over pages with the header repeated. A chart
is drawn with reportlab's own graphics (no image library, nothing from the internet); an
already rendered PNG may be embedded with ``Image``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image as RLImage
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as RLTable

from apps.core.export import cell_text

MAX_CELL_CHARS = 200
MAX_CHART_POINTS = 200


@dataclass
class Table:
    """A table: header cells and rows of any values (formatted like the CSV export)."""

    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    # Row indexes (0-based, within rows) drawn highlighted, e.g. tamper events.
    highlight: set[int] = field(default_factory=set)


@dataclass
class Chart:
    """A bar (or line) chart of one series; drawn with reportlab graphics."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    kind: str = "bar"  # "bar" or "line"


@dataclass
class Image:
    """An embedded PNG (bytes), scaled to the page width."""

    png: bytes
    width_mm: float = 170


def _text(value: Any) -> str:
    text = cell_text(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text


def _table(part: Table, styles, width: float) -> RLTable:
    cell = styles["BodyText"].clone("cell", fontSize=7.5, leading=9)
    head = styles["BodyText"].clone("head", fontSize=7.5, leading=9, fontName="Helvetica-Bold")
    data = [[Paragraph(escape(str(h)), head) for h in part.header]]
    for row in part.rows:
        data.append([Paragraph(escape(_text(v)), cell) for v in row])
    ncols = max(1, len(part.header))
    table = RLTable(data, colWidths=[width / ncols] * ncols, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dee2e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for index in part.highlight:
        if 0 <= index < len(data) - 1:
            row = index + 1
            style.append(("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f8d7da")))
    table.setStyle(TableStyle(style))
    return table


def _chart(part: Chart, width: float) -> Drawing:
    labels = [str(x) for x in part.labels][:MAX_CHART_POINTS]
    values = [float(v or 0) for v in part.values][: len(labels)]
    height = 60 * mm
    drawing = Drawing(width, height)
    chart = HorizontalLineChart() if part.kind == "line" else VerticalBarChart()
    chart.x, chart.y = 30, 25
    chart.width, chart.height = width - 50, height - 45
    chart.data = [values or [0.0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 45 if len(labels) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = min(0.0, *values) if values else 0.0
    if part.kind == "line":
        chart.lines[0].strokeColor = colors.HexColor("#0d6efd")
    else:
        chart.bars[0].fillColor = colors.HexColor("#0d6efd")
    drawing.add(chart)
    drawing.add(String(30, height - 10, part.title, fontSize=9, fontName="Helvetica-Bold"))
    return drawing


def render_pdf(
    *, title: str, parts: Iterable[Any], subtitle: str = "", wide: bool = False
) -> bytes:
    """The PDF bytes of a document: title, optional subtitle, then the parts in order.

    A part is a ``str`` (a paragraph), a ``Table``, a ``Chart`` or an ``Image``.
    ``wide`` prints landscape (for tables of many columns).
    """
    buffer = io.BytesIO()
    pagesize = landscape(A4) if wide else A4
    doc = SimpleDocTemplate(
        buffer, pagesize=pagesize, title=title, author="UDIL MDM",
        leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
    )  # fmt: skip
    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(escape(title), styles["Title"])]
    if subtitle:
        story.append(Paragraph(escape(subtitle), styles["Italic"]))
    story.append(Spacer(1, 4 * mm))
    for part in parts:
        if isinstance(part, str):
            story.append(Paragraph(escape(part), styles["BodyText"]))
        elif isinstance(part, Table):
            story.append(_table(part, styles, doc.width))
        elif isinstance(part, Chart):
            story.append(_chart(part, doc.width))
        elif isinstance(part, Image):
            story.append(RLImage(io.BytesIO(part.png), width=part.width_mm * mm,
                                 height=part.width_mm * mm * 0.6, kind="proportional"))
        else:
            raise TypeError(f"unknown PDF part {type(part).__name__}")
        story.append(Spacer(1, 3 * mm))
    doc.build(story)
    return buffer.getvalue()
