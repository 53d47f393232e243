"""The shared PDF helper: a real PDF with the title, escaped text, tables and a chart."""

import base64
import datetime
import re
import zlib
from decimal import Decimal

import pytest

from apps.core.pdf import Chart, Table, render_pdf


def _text_of(pdf: bytes) -> bytes:
    """The page streams of a reportlab PDF, decoded (ASCII85, then Flate)."""
    streams = b"".join(
        zlib.decompress(base64.a85decode(body.strip(), adobe=True))
        for body in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    )
    return streams.replace(b") Tj (", b"")  # one line may be drawn in several runs


def test_pdf_holds_title_table_and_chart():
    when = datetime.datetime(2026, 12, 1, 19, 0, tzinfo=datetime.UTC)
    pdf = render_pdf(
        title="Feeder loss",
        subtitle="run by ops1",
        parts=[
            "A <b> paragraph & more",
            Table(["Feeder", "Loss kWh", "At"], [["F1", Decimal("12.500"), when]] * 80,
                  highlight={0}),
            Chart("Loss %", ["F1", "F2"], [12.5, 30.0]),
            Chart("Curve", ["00", "01"], [1.0, 2.0], kind="line"),
        ],
    )
    assert pdf.startswith(b"%PDF-")
    text = _text_of(pdf)
    assert b"Feeder loss" in text
    assert b"A <b> paragraph & more" in text  # escaped, printed as written
    assert b"12.500" in text  # Decimal as stored
    assert b"2026-12-02 00:00:00" in text  # Pakistan time like the CSV
    pages = int(re.search(rb"/Count (\d+)", pdf).group(1))
    assert pages >= 2  # 80 rows split over pages


def test_unknown_part_is_refused():
    with pytest.raises(TypeError):
        render_pdf(title="x", parts=[object()])
