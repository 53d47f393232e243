"""A meter screen as a tiny PNG: the pictures of a 3.3 monthly billing row (3.1.3 ``picture_1``,
``picture_2``, BLOB, base64 text on the wire).

A real MDC sends the photographs of the meter's display taken at the reading; the simulated one
draws the display itself, so the picture shows the value of the row (the kWh register, the MDI)
and a reader of the picture can check it against the row. Pure Python (zlib, no imaging
library): a 3x5 pixel font, scaled, grey on dark like an LCD.
"""

from __future__ import annotations

import base64
import struct
import zlib
from functools import lru_cache

# 3x5 glyphs, one string of 15 pixels per character, row by row ('#' lit).
_FONT = {
    "0": "####.##.##.####",
    "1": ".#.##..#..#.###",
    "2": "###..#####..###",
    "3": "###..####..####",
    "4": "#.##.####..#..#",
    "5": "####..###..####",
    "6": "####..####.####",
    "7": "###..#..#..#..#",
    "8": "####.#####.####",
    "9": "####.####..####",
    ".": "............#..",
    "-": "......###......",
    " ": "...............",
    "k": "#..#..#.####.##",
    "W": "#.##.##.#######",
    "h": "#..#..####.##.#",
}
_SCALE = 3
_LIT, _DARK = 30, 200  # grey levels: dark segments on a light LCD background


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=4096)
def screen_png(text: str) -> bytes:
    """A grey PNG of ``text`` as the meter's display shows it (unknown characters blank)."""
    glyphs = [_FONT.get(c, _FONT[" "]) for c in text]
    width = (len(glyphs) * 4 + 1) * _SCALE
    height = 7 * _SCALE
    rows = []
    for y in range(height):
        gy = y // _SCALE - 1  # one blank pixel row above and below the glyphs
        line = bytearray([0])  # filter type 0 for every scan line
        for x in range(width):
            gx, col = divmod(x // _SCALE - 1, 4)
            lit = 0 <= gy < 5 and 0 <= gx < len(glyphs) and col < 3
            lit = lit and glyphs[gx][gy * 3 + col] == "#"
            line.append(_LIT if lit else _DARK)
        rows.append(bytes(line))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _chunk(b"IEND", b""),
        )
    )


def screen_picture(text: str) -> str:
    """:func:`screen_png` as base64 text (how a BLOB travels on the wire)."""
    return base64.b64encode(screen_png(text)).decode("ascii")
