"""Constants, consumer shapes, event codes, field order and the time and text helpers of the
simulated fleet's data (see :mod:`apps.simulator.generator`)."""

from __future__ import annotations

import threading
from datetime import datetime
from functools import lru_cache

import orjson

from apps.udil.datasets import DATASETS, EVENT_CODES
from apps.udil.timefmt import PKT

TICK = 900
DAY = 86400
TICKS_PER_DAY = DAY // TICK
PKT_OFFSET = 5 * 3600
MASK = (1 << 64) - 1
#: LP sampling intervals a simulated meter accepts (minutes; divisors of 60).
SUPPORTED_INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)

# Hourly demand shapes (mean about 1) and monthly seasonal factors per consumer profile.
SHAPES = {
    "domestic": (
        0.55,
        0.45,
        0.4,
        0.4,
        0.45,
        0.6,
        0.85,
        1.0,
        0.85,
        0.75,
        0.75,
        0.8,
        0.9,
        0.95,
        0.9,
        0.9,
        1.0,
        1.2,
        1.55,
        1.9,
        1.85,
        1.55,
        1.15,
        0.75,
    ),
    "commercial": (
        0.2,
        0.2,
        0.2,
        0.2,
        0.2,
        0.25,
        0.35,
        0.55,
        0.95,
        1.4,
        1.6,
        1.7,
        1.7,
        1.65,
        1.6,
        1.6,
        1.6,
        1.6,
        1.7,
        1.7,
        1.5,
        1.0,
        0.5,
        0.3,
    ),
    "industrial": (
        0.7,
        0.7,
        0.7,
        0.7,
        0.7,
        0.75,
        0.9,
        1.15,
        1.3,
        1.3,
        1.3,
        1.3,
        1.2,
        1.3,
        1.3,
        1.3,
        1.3,
        1.25,
        1.1,
        1.0,
        0.9,
        0.8,
        0.75,
        0.7,
    ),
    "agricultural": (1.0,) * 24,
}
SEASONS = {
    "domestic": (0.7, 0.7, 0.8, 1.0, 1.3, 1.5, 1.5, 1.4, 1.3, 1.0, 0.8, 0.7),
    "commercial": (0.85, 0.85, 0.9, 1.0, 1.15, 1.25, 1.25, 1.2, 1.15, 1.0, 0.9, 0.85),
    "industrial": (1.0,) * 12,
    "agricultural": (0.8, 0.8, 1.0, 1.2, 1.3, 1.3, 1.0, 0.9, 1.0, 1.2, 1.1, 0.9),
}
SUNDAY = {"domestic": 1.1, "commercial": 0.5, "industrial": 0.6, "agricultural": 1.0}
OUTAGE_PER_DAY = {"domestic": 0.2, "commercial": 0.15, "industrial": 0.08, "agricultural": 0.3}
DEFAULT_TOU = {"slabs": [["17:00", "21:00", 2]], "default": 1}
NOMINAL_MV = 220_000

# Event codes the simulated meters write, named from the protocol's table of codes (so the
# generator states no code of its own; a code missing there fails at import).
_CODE_OF = {description: code for code, description in EVENT_CODES.items()}
MDI_RESET = _CODE_OF["MDI reset"]
PARAMETERIZATION = _CODE_OF["Parameterization"]
POWER_FAIL_START = _CODE_OF["Power fail start"]
POWER_FAIL_END = _CODE_OF["Power fail end"]
PHASE_FAILURE = _CODE_OF["Phase failure"]
OVER_VOLTAGE = _CODE_OF["Over voltage"]
UNDER_VOLTAGE = _CODE_OF["Under voltage"]
DEMAND_OVER_LOAD = _CODE_OF["Demand over load"]
TAMPER_EVENTS = {
    "ct_bypass": _CODE_OF["CT bypass"],
    "reverse_energy": _CODE_OF["Reverse energy (active energy)"],
    "reverse_polarity": _CODE_OF["Reverse polarity"],
}

# Field order of the rows the generator writes: the protocol's wire order (identity first).
FIELDS: dict[str, tuple[str, ...]] = {code: ds.wire_order for code, ds in DATASETS.items()}
#: Numeric fields (wire text of numbers): the "numbers as JSON numbers" quirk converts these.
NUMERIC_FIELDS = frozenset(
    f.name for ds in DATASETS.values() for f in ds.fields if f.kind in ("decimal", "int", "bigint")
)


# ------------------------------------------------------------------ time and text helpers
def local_day(epoch: int) -> int:
    return (epoch + PKT_OFFSET) // DAY


def day_start(day: int) -> int:
    return day * DAY - PKT_OFFSET


def epoch_of(dt: datetime) -> int:
    return int(dt.timestamp())


def aware(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, PKT)


_DATE_CACHE: dict[int, str] = {}
_TOD: list[str] = []
_F3: list[str] = []
F3_SIZE = 1 << 18


_TABLES_LOCK = threading.Lock()


def _tables() -> None:
    """Text of every time of day and of 0..F3_SIZE thousandths (built once, on first use).

    Web server threads share these tables: each is built aside and added whole (one
    ``list.extend`` of a list is atomic), so no thread ever sees a half-built table."""
    if _F3:
        return
    with _TABLES_LOCK:
        if not _TOD:
            _TOD.extend([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)])
        if not _F3:
            _F3.extend([f"{m // 1000}.{m % 1000:03d}" for m in range(F3_SIZE)])


def dt_text(epoch: int) -> str:
    """Epoch seconds -> ``yyyy-MM-dd HH:mm:ss`` PKT."""
    local = epoch + PKT_OFFSET
    d = local // DAY
    date = _DATE_CACHE.get(d)
    if date is None:
        _tables()
        x = datetime.fromtimestamp(d * DAY - PKT_OFFSET, PKT)
        date = f"{x.year:04d}-{x.month:02d}-{x.day:02d} "
        _DATE_CACHE[d] = date
    return date + _TOD[local - d * DAY]


def f3(milli: int) -> str:
    """Thousandths -> decimal text with 3 places (1234 -> "1.234")."""
    if 0 <= milli < F3_SIZE and _F3:
        return _F3[milli]
    if milli < 0:
        return "-" + f3(-milli)
    return f"{milli // 1000}.{milli % 1000:03d}"


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps), stable across processes."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & MASK)) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & MASK
        h ^= h >> 29
    return h


def _hhmm_to_min(text: str) -> int:
    hh, mm = text.split(":")[:2]
    return int(hh) * 60 + int(mm)


def _hms_to_sec(text: str) -> int:
    parts = [int(x) for x in text.split(":")]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


@lru_cache(maxsize=256)
def _tou_ticks(tou_json: str) -> tuple[int, ...]:
    """TOU schedule (JSON text) -> tariff index (0..3) of each of the 96 ticks of a day."""
    tou = orjson.loads(tou_json)
    default = int(tou.get("default", 1)) - 1
    ticks = [default] * TICKS_PER_DAY
    for start, end, tariff in tou.get("slabs", []):
        a, b = _hhmm_to_min(start), _hhmm_to_min(end)
        minutes = range(a, b) if a < b else [*range(a, 1440), *range(0, b)]
        for m in minutes:
            if m % 15 == 0:
                ticks[m // 15] = int(tariff) - 1
    return tuple(ticks)
