"""The simulated fleet's data, computed on the fly and deterministic from (seed, meter, time).

Nothing here touches the database: :func:`spec_of` turns a meter row into a hashable
:class:`MeterSpec` (its settings and their effective-dated history), and the row functions
generate UDIL rows as tuples of wire text in the order of ``FIELDS[dataset]``.

Physics
    Time is cut into 15-minute *ticks* (local PKT time). Each tick has a true demand from the
    consumer profile (daily shape x season x weekday x noise), reduced by whatever cut the supply
    in that tick (relay off, load-shedding schedule, power failure) and clipped at the sanctioned
    load. Energies are integer Wh, so every register is an exact sum: cumulative registers are the
    initial reading plus the ticks so far, ``tl`` is the sum of T1..T4 and a load profile row's
    energy is exactly the difference of the registers at its two ends (a tick's energy is spread
    linearly inside it for intervals shorter than 15 minutes).

Registers and MDI
    T1..T4 accumulate by the TOU schedule in force; the demand of a tick (its import energy x 4,
    i.e. 15-minute demand in W) feeds the MDI of its tariff and of ``tl``. The MDI resets monthly
    on ``mdi_reset_date`` at ``mdi_reset_time`` (rounded down to 15 minutes): the period's MDI is
    added to the cumulative MDI, the reset count goes up, a monthly billing row and event 101 are
    written.

Load profile rows are stamped at the *end* of their interval (the 00:15 row covers
00:00-00:15). Instantaneous readings at time t describe the tick that ended at t.

Load profile energy (``active_energy_*``, ``reactive_energy_*``) is, as UDIL means it, the
import registers at the row's time: the same counters BILLING_DATA and MONTHLY_BILLING_DATA
carry, so the difference of two rows is the energy between them and a day's rows add up to the
day's billing register rise. An MDC with ``lp_energy_mode="interval"`` sends instead the energy
of each row's interval (a vendor variant the MDM must handle as a per-MDC setting).

Caches: the state at each day start and each day's ticks are cached per process (bounded);
a meter's spec changes (and its caches with it) whenever a command changes its history.
"""

from __future__ import annotations

import calendar
import math
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from random import Random
from typing import NamedTuple

import orjson

from apps.simulator import anomalies, grid
from apps.udil.datasets import DATASETS, EVENT_CODES
from apps.udil.timefmt import PKT

TICK = 900
DAY = 86400
TICKS_PER_DAY = DAY // TICK
PKT_OFFSET = 5 * 3600
MASK = (1 << 64) - 1
#: Use the fast load-profile path where it applies (tests compare both paths).
FAST_PATH = True
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

# Field order of the rows this module generates (checked against apps.udil below).
_T = ("t1", "t2", "t3", "t4", "tl")
_REG_GROUPS = (
    "active_energy_pos",
    "active_energy_neg",
    "reactive_energy_pos",
    "reactive_energy_neg",
    "active_mdi_pos",
    "active_mdi_neg",
    "cumulative_mdi_pos",
    "cumulative_mdi_neg",
)
_PHASES = ("phase_a", "phase_b", "phase_c")
FIELDS: dict[str, tuple[str, ...]] = {
    "instantaneous": (
        "msn",
        "global_device_id",
        "meter_datetime",
        "current_tariff_register",
        "signal_strength",
        *(f"current_{p}" for p in _PHASES),
        *(f"voltage_{p}" for p in _PHASES),
        "aggregate_active_pwr_pos",
        "aggregate_active_pwr_neg",
        "aggregate_reactive_pwr_pos",
        "aggregate_reactive_pwr_neg",
        "average_pf",
        "mdc_read_datetime",
        "db_datetime",
    ),
    "billing": (
        "msn",
        "global_device_id",
        "meter_datetime",
        *(f"{g}_{t}" for g in _REG_GROUPS for t in _T),
        "mdc_read_datetime",
        "db_datetime",
    ),
    "monthly_billing": (
        "msn",
        "global_device_id",
        "meter_datetime",
        *(f"{g}_{t}" for g in _REG_GROUPS for t in _T),
        "mdi_reset_datetime",
        "reset_count",
        "mdc_read_datetime",
        "db_datetime",
    ),
    "load_profile": (
        "msn",
        "global_device_id",
        "meter_datetime",
        "channel_id",
        "interval",
        *(
            f"{g}_{t}"
            for g in ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi")
            for t in _T
        ),
        *(f"current_{p}" for p in _PHASES),
        *(f"voltage_{p}" for p in _PHASES),
        *(f"active_pwr_pos_{p}" for p in _PHASES),
        "aggregate_active_pwr_pos",
        *(f"active_pwr_neg_{p}" for p in _PHASES),
        "aggregate_active_pwr_neg",
        *(f"reactive_pwr_pos_{p}" for p in _PHASES),
        "aggregate_reactive_pwr_pos",
        *(f"reactive_pwr_neg_{p}" for p in _PHASES),
        "aggregate_reactive_pwr_neg",
        "average_pf",
        "mdc_read_datetime",
        "db_datetime",
    ),
    "events": (
        "msn",
        "global_device_id",
        "event_datetime",
        "event_code",
        "event_description",
        "mdc_read_datetime",
        "db_datetime",
    ),
    "meter_visuals": DATASETS["meter_visuals"].field_names,
}
for _code, _names in FIELDS.items():
    assert set(_names) == set(DATASETS[_code].field_names), _code
    assert len(_names) == len(DATASETS[_code].field_names), _code
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


# ------------------------------------------------------------------ the meter spec
@dataclass(eq=False)
class MeterSpec:
    """What the generator needs of one meter. Hash and equality use ``key`` only, so a spec
    can key caches; ``key`` changes when the meter's settings or history change."""

    key: tuple
    pk: int
    gdi: str
    msn: int
    seed: int
    profile: str
    phase: int
    base_w: int
    pf_milli: int
    data_start: int
    initial_wh: int
    tamper: str
    tamper_start: int | None
    reset_day: int
    reset_secs: int
    offline_rate: float
    gap_rate: float
    has_relay: bool
    #: load profile energy fields carry registers (else the energy of each interval)
    lp_registers: bool = True
    timelines: dict[str, tuple[list[int], list]] = field(default_factory=dict)
    # precomputed
    msn_text: str = ""
    shares: tuple[int, int, int] = (1000, 0, 0)
    signal_base: int = -75
    v_offsets: tuple[int, int, int] = (0, 0, 0)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeterSpec) and other.key == self.key

    def at(self, name: str, t: int):
        """Value of a setting in force at epoch ``t`` (None if never set)."""
        epochs, values = self.timelines.get(name, ((), ()))
        i = bisect_right(epochs, t)
        if i:
            return values[i - 1]
        return values[0] if values else None  # before the first entry: the initial setting

    def changes(self, name: str, a: int, b: int) -> list[tuple[int, object]]:
        """``[(epoch, value)]`` changes of a setting with a < epoch < b."""
        epochs, values = self.timelines.get(name, ((), ()))
        i = bisect_right(epochs, a)
        out = []
        while i < len(epochs) and epochs[i] < b:
            out.append((epochs[i], values[i]))
            i += 1
        return out

    def segments(self, name: str, a: int, b: int) -> list[tuple[int, int, object]]:
        """``[(start, end, value)]`` covering [a, b)."""
        out, start, value = [], a, self.at(name, a)
        for t, v in self.changes(name, a, b):
            out.append((start, t, value))
            start, value = t, v
        out.append((start, b, value))
        return out


def initial_history(
    *, data_start: int, lp_interval: int, clock_offset: int, active: int = 1
) -> list[list]:
    """The history a new meter starts with (effective at ``data_start``)."""
    return [
        [data_start, "relay", 1],
        [data_start, "active", active],
        [data_start, "lp", [lp_interval, 0]],
        [data_start, "inst", 15],
        [data_start, "bill", 1440],
        [data_start, "tou", DEFAULT_TOU],
        [data_start, "clock", clock_offset],
        [data_start, "load_limit", None],
        [data_start, "ls", None],
    ]


def _freeze(name: str, value):
    if name == "tou":
        return orjson.dumps(value or DEFAULT_TOU, option=orjson.OPT_SORT_KEYS).decode()
    if name == "ls":
        if not value:
            return None
        slabs = tuple(sorted((_hms_to_sec(s), int(r)) for s, r in value["slabs"]))
        return (int(value["start"]), int(value["end"]), slabs)
    if name == "lp":
        return (int(value[0]), int(value[1]))
    if name == "load_limit":
        return None if value in (None, "") else round(float(value) * 1000)
    return value


def spec_of(meter, mdc) -> MeterSpec:
    """A :class:`MeterSpec` of a SimMeter (``mdc`` given to avoid a query)."""
    timelines: dict[str, tuple[list[int], list]] = {}
    for epoch, name, value in sorted(meter.history, key=lambda h: h[0]):
        epochs, values = timelines.setdefault(name, ([], []))
        epochs.append(int(epoch))
        values.append(_freeze(name, value))
    data_start = epoch_of(meter.data_start)
    tamper_start = epoch_of(meter.tamper_start) if meter.tamper_start else None
    reset_secs = (meter.mdi_reset_time.hour * 3600 + meter.mdi_reset_time.minute * 60) // TICK
    rng = Random(mix(meter.seed, 7))
    if meter.phase == 3:
        a, b = 330 + rng.randrange(40), 300 + rng.randrange(40)
        shares = (a, b, 1000 - a - b)
    else:
        shares = (1000, 0, 0)
    return MeterSpec(
        key=(
            meter.pk,
            meter.version,
            data_start,
            meter.seed,
            mdc.offline_rate,
            mdc.gap_rate,
            mdc.lp_energy_mode,
        ),
        pk=meter.pk,
        gdi=meter.global_device_id,
        msn=meter.msn,
        seed=meter.seed,
        profile=meter.profile,
        phase=meter.phase,
        base_w=meter.base_load_w,
        pf_milli=int(meter.power_factor * 1000),
        data_start=data_start,
        initial_wh=int(meter.initial_kwh * 1000),
        tamper=meter.tamper,
        tamper_start=tamper_start,
        reset_day=meter.mdi_reset_date,
        reset_secs=reset_secs * TICK,
        offline_rate=mdc.offline_rate,
        gap_rate=mdc.gap_rate,
        has_relay=meter.has_relay,
        lp_registers=mdc.lp_energy_mode != "interval",
        timelines=timelines,
        msn_text=str(meter.msn),
        shares=shares,
        signal_base=-60 - rng.randrange(45),
        v_offsets=(0, rng.randrange(-3000, 3000), rng.randrange(-3000, 3000)),
    )


# ------------------------------------------------------------------ one day of ticks
class Day:
    """The 96 ticks of one meter-day (lists indexed by tick) and its events."""

    __slots__ = (
        "agg",
        "d",
        "e_exp",
        "e_imp",
        "events",
        "offline",
        "p_true",
        "pf",
        "q_exp",
        "q_imp",
        "start",
        "tar",
        "volt",
    )

    def __init__(self, d: int):
        self.d = d
        self.start = day_start(d)


def _off_segments(spec: MeterSpec, a: int, b: int) -> list[tuple[int, int]]:
    """Times in [a, b) when the relay or the load-shedding schedule cut the supply."""
    off: list[tuple[int, int]] = []
    if spec.has_relay:
        for s, e, v in spec.segments("relay", a, b):
            if v == 0:
                off.append((s, e))
        for s, e, ls in spec.segments("ls", a, b):
            if not ls:
                continue
            ls_start, ls_end, slabs = ls
            lo, hi = max(s, ls_start), min(e, ls_end)
            if lo >= hi or not slabs:
                continue
            d0 = day_start(local_day(lo))
            # state at lo: the last action at or before lo (schedule starts connected)
            state, t = 1, lo
            actions = []
            for dd in (d0 - DAY, d0, d0 + DAY):
                actions.extend((dd + sec, relay) for sec, relay in slabs)
            actions.sort()
            for when, relay in actions:
                if ls_start <= when <= lo:
                    state = relay
            for when, relay in actions:
                if lo < when < hi:
                    if state == 0:
                        off.append((t, when))
                    state, t = relay, when
            if state == 0:
                off.append((t, hi))
    return off


class Incidents(NamedTuple):
    """What happens to one meter-day, drawn from its incident stream (ticks [first, end))."""

    outage: tuple[int, int] | None
    #: (first, end, OVER_VOLTAGE or UNDER_VOLTAGE)
    excursion: tuple[int, int, int] | None
    phase_fail: tuple[int, int] | None
    #: hours an agricultural meter's pump runs (None for other profiles)
    pump_hours: set[int] | None


def _supply_cut(spec: MeterSpec, day_begin: int) -> list[float]:
    """Share (0..1) of each tick the relay or the load-shedding schedule cut the supply."""
    cut = [0.0] * TICKS_PER_DAY
    for cut_start, cut_end in _off_segments(spec, day_begin, day_begin + DAY):
        tick = (cut_start - day_begin) // TICK
        while cut_start < cut_end and tick < TICKS_PER_DAY:
            tick_end = day_begin + (tick + 1) * TICK
            cut[tick] = min(1.0, cut[tick] + (min(cut_end, tick_end) - cut_start) / TICK)
            cut_start = tick_end
            tick += 1
    return cut


def _draw_incidents(spec: MeterSpec, rng: Random) -> Incidents:
    """The day's outage, voltage excursion, phase failure and pump hours. The draws keep their
    order: changing it would change every seeded fleet's data."""
    n = TICKS_PER_DAY
    outage = None
    if rng.random() < OUTAGE_PER_DAY[spec.profile]:
        duration = rng.randint(1, 12)
        first = rng.randrange(0, n - duration)
        outage = (first, first + duration)
    excursion = None
    if rng.random() < 0.05:
        first = rng.randrange(0, n - 4)
        end = first + rng.randint(1, 4)
        excursion = (first, end, OVER_VOLTAGE if rng.random() < 0.5 else UNDER_VOLTAGE)
    phase_fail = None
    if spec.phase == 3 and rng.random() < 0.03:
        first = rng.randrange(0, n - 4)
        phase_fail = (first, first + rng.randint(1, 4))
    pump_hours = None
    if spec.profile == "agricultural":
        first_on = rng.randrange(0, 8)
        second_on = rng.randrange(10, 20)
        pump_hours = {h for h in range(first_on, first_on + rng.randint(3, 6))} | {
            h for h in range(second_on, min(24, second_on + rng.randint(2, 5)))
        }
    return Incidents(outage, excursion, phase_fail, pump_hours)


def _day_ticks(
    spec: MeterSpec, day: Day, incidents: Incidents, cut: list[float], rng: Random
) -> list[tuple[int, int]]:
    """Each tick's energies, true power, power factor, tariff and voltages, set on ``day``;
    returns the demand-over-load events. The generator's hot loop: plain locals only."""
    n = TICKS_PER_DAY
    day_begin = day.start
    local = datetime.fromtimestamp(day_begin + 3600, PKT)
    season = SEASONS[spec.profile][local.month - 1]
    if local.weekday() == 6:
        season *= SUNDAY[spec.profile]
    base = spec.base_w * season
    shape = SHAPES[spec.profile]
    rnd = rng.random
    outage, excursion, phase_fail, pump_hours = incidents

    tou_changes = spec.changes("tou", day_begin, day_begin + DAY)
    tariff_of_tick = _tou_ticks(spec.at("tou", day_begin))
    limits = spec.segments("load_limit", day_begin, day_begin + DAY)
    data_start = spec.data_start
    tamper = spec.tamper if spec.tamper != "none" else None
    tamper_start = spec.tamper_start if tamper else None
    pf_base = spec.pf_milli
    volt_offsets = spec.v_offsets

    e_imp = [0] * n
    e_exp = [0] * n
    q_imp = [0] * n
    q_exp = [0] * n
    p_true = [0] * n
    pf = [pf_base] * n
    tar = list(tariff_of_tick)
    volt = [(0, 0, 0)] * n
    events: list[tuple[int, int]] = []
    clipped_prev = False
    for tick in range(n):
        tick_begin = day_begin + tick * TICK
        noise = 0.8 + 0.4 * rnd()
        nominal_mv = NOMINAL_MV + int((rnd() - 0.5) * 8000)
        pf_milli = pf_base + int((rnd() - 0.5) * 40)
        if pf_milli > 999:
            pf_milli = 999
        pf[tick] = pf_milli
        if tou_changes:
            tar[tick] = _tou_ticks(spec.at("tou", tick_begin))[tick]
        if tick_begin < data_start:
            volt[tick] = (0, 0, 0)
            continue
        if pump_hours is not None:
            power = spec.base_w * 2.5 * noise if (tick // 4) in pump_hours else 40.0 * noise
        else:
            power = base * shape[tick // 4] * noise
        if outage and outage[0] <= tick < outage[1]:
            volt[tick] = (0, 0, 0)
            continue
        if spec.phase == 3:
            volts = (
                nominal_mv + volt_offsets[0],
                nominal_mv + volt_offsets[1],
                nominal_mv + volt_offsets[2],
            )
        else:
            volts = (nominal_mv, 0, 0)
        if excursion and excursion[0] <= tick < excursion[1]:
            level = 252_000 if excursion[2] == OVER_VOLTAGE else 184_000
            volts = tuple(level + (mv - nominal_mv) if mv else 0 for mv in volts)
        if phase_fail and phase_fail[0] <= tick < phase_fail[1]:
            volts = (volts[0], volts[1], 0)
        volt[tick] = volts
        power *= 1.0 - cut[tick]
        limit = limits[0][2] if len(limits) == 1 else spec.at("load_limit", tick_begin)
        clipped = False
        if limit and power > limit:
            power = float(limit)
            clipped = True
            if not clipped_prev:
                events.append((tick_begin + 60, DEMAND_OVER_LOAD))
        clipped_prev = clipped
        energy = int(power) // 4
        p_true[tick] = int(power)
        imported, exported = energy, 0
        if tamper and tick_begin >= tamper_start:
            if tamper == "ct_bypass":
                imported = energy * 35 // 100
            elif tamper == "reverse_energy":
                exported = energy * 60 // 100
                imported = energy - exported
            else:  # reverse polarity: one phase counted as export
                exported = energy // 3 if spec.phase == 3 else energy // 2
                imported = energy - exported
        tan = math.sqrt(1_000_000 - pf_milli * pf_milli) / pf_milli
        e_imp[tick] = imported
        e_exp[tick] = exported
        q_imp[tick] = int(imported * tan)
        q_exp[tick] = int(exported * tan)
    day.e_imp, day.e_exp, day.q_imp, day.q_exp = e_imp, e_exp, q_imp, q_exp
    day.p_true, day.pf, day.tar, day.volt = p_true, pf, tar, volt
    return events


def _incident_events(
    spec: MeterSpec, day_begin: int, incidents: Incidents, rng: Random
) -> list[tuple[int, int]]:
    """Events of the day's incidents, tamper and parameterizations (``rng``: the incident
    stream, after :func:`_draw_incidents`)."""
    data_start = spec.data_start
    outage, excursion, phase_fail, _ = incidents
    events = []
    if outage and day_begin + outage[0] * TICK >= data_start:
        events.append((day_begin + outage[0] * TICK + 7, POWER_FAIL_START))
        events.append((day_begin + outage[1] * TICK + 3, POWER_FAIL_END))
    if excursion and day_begin + excursion[0] * TICK >= data_start:
        events.append((day_begin + excursion[0] * TICK + 11, excursion[2]))
    if phase_fail and day_begin + phase_fail[0] * TICK >= data_start:
        events.append((day_begin + phase_fail[0] * TICK + 13, PHASE_FAILURE))
    tamper = spec.tamper if spec.tamper != "none" else None
    if tamper and spec.tamper_start < day_begin + DAY:
        tamper_start = spec.tamper_start
        when = tamper_start if tamper_start >= day_begin else day_begin + 600 + rng.randrange(3600)
        if when >= data_start:
            events.append((when, TAMPER_EVENTS[tamper]))
    for when, _ in spec.changes("param", day_begin - 1, day_begin + DAY):
        events.append((when, PARAMETERIZATION))
    return events


def _offline_episode(spec: MeterSpec, day_begin: int, rng: Random) -> tuple[int, int] | None:
    """An offline episode of the day's communication (it delays the rows it covers)."""
    if rng.random() >= spec.offline_rate:
        return None
    first = rng.randrange(0, TICKS_PER_DAY)
    duration = rng.randint(8, 48)
    return (day_begin + first * TICK, day_begin + (first + duration) * TICK)


def _day_aggregates(day: Day) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The day's register sums (16) and MDI maxima (10), for a state to skip a whole day."""
    sums = [0] * 16
    maxes = [0] * 10
    tar, e_imp, e_exp, q_imp, q_exp = day.tar, day.e_imp, day.e_exp, day.q_imp, day.q_exp
    for tick in range(TICKS_PER_DAY):
        tariff = tar[tick]
        sums[tariff] += e_imp[tick]
        sums[4 + tariff] += e_exp[tick]
        sums[8 + tariff] += q_imp[tick]
        sums[12 + tariff] += q_exp[tick]
        demand = e_imp[tick] * 4
        if demand > maxes[tariff]:
            maxes[tariff] = demand
        if demand > maxes[4]:
            maxes[4] = demand
        demand = e_exp[tick] * 4
        if demand > maxes[5 + tariff]:
            maxes[5 + tariff] = demand
        if demand > maxes[9]:
            maxes[9] = demand
    return tuple(sums), tuple(maxes)


def _compute_day(spec: MeterSpec, d: int) -> Day:
    """One meter-day: its incidents, ticks, events, communication and aggregates. Three
    independent random streams (ticks, incidents, communication) keep each deterministic."""
    day = Day(d)
    tick_rng = Random(mix(spec.seed, d, 1))
    incident_rng = Random(mix(spec.seed, d, 2))
    comm_rng = Random(mix(spec.seed, d, 3))
    cut = _supply_cut(spec, day.start)
    incidents = _draw_incidents(spec, incident_rng)
    events = _day_ticks(spec, day, incidents, cut, tick_rng)
    events.extend(_incident_events(spec, day.start, incidents, incident_rng))
    events.sort()
    day.events = events
    day.offline = _offline_episode(spec, day.start, comm_rng)
    day.agg = _day_aggregates(day)
    return day


@lru_cache(maxsize=4096)
def day_data(spec: MeterSpec, d: int) -> Day:
    return _compute_day(spec, d)


# ------------------------------------------------------------------ register state
def reset_times(spec: MeterSpec, a: int, b: int) -> list[int]:
    """MDI reset epochs r with a < r <= b."""
    out = []
    da = datetime.fromtimestamp(a, PKT)
    year, month = da.year, da.month
    while True:
        day = min(spec.reset_day, calendar.monthrange(year, month)[1])
        r = int(datetime(year, month, day, tzinfo=PKT).timestamp()) + spec.reset_secs
        if r > b:
            return out
        if r > a:
            out.append(r)
        month += 1
        if month == 13:
            year, month = year + 1, 1


class State:
    """Registers at a tick boundary: energies (16: imp, exp, q_imp, q_exp x T1..T4), the current
    period's MDI (imp T1..T4,tl; exp T1..T4,tl), cumulative MDI (same 10) and the reset count."""

    __slots__ = ("cum", "mdi", "reg", "resets", "t")

    def __init__(self, t: int, reg: list[int], mdi: list[int], cum: list[int], resets: int):
        self.t, self.reg, self.mdi, self.cum, self.resets = t, reg, mdi, cum, resets

    def copy(self) -> State:
        return State(self.t, list(self.reg), list(self.mdi), list(self.cum), self.resets)

    def apply_tick(self, day: Day, k: int) -> None:
        tk = day.tar[k]
        reg = self.reg
        e = day.e_imp[k]
        reg[tk] += e
        reg[4 + tk] += day.e_exp[k]
        reg[8 + tk] += day.q_imp[k]
        reg[12 + tk] += day.q_exp[k]
        mdi = self.mdi
        dem = e * 4
        if dem > mdi[tk]:
            mdi[tk] = dem
        if dem > mdi[4]:
            mdi[4] = dem
        dem = day.e_exp[k] * 4
        if dem > mdi[5 + tk]:
            mdi[5 + tk] = dem
        if dem > mdi[9]:
            mdi[9] = dem
        self.t += TICK

    def apply_day(self, day: Day) -> None:
        sums, maxes = day.agg
        self.reg = [a + b for a, b in zip(self.reg, sums, strict=True)]
        self.mdi = [max(a, b) for a, b in zip(self.mdi, maxes, strict=True)]
        self.t += DAY

    def reset(self) -> None:
        self.cum = [a + b for a, b in zip(self.cum, self.mdi, strict=True)]
        self.mdi = [0] * 10
        self.resets += 1


def initial_state(spec: MeterSpec) -> State:
    rng = Random(mix(spec.seed, 11))
    wh = spec.initial_wh
    t1 = wh * 72 // 100
    q = wh * 3 // 10
    exp = wh // 20 if spec.tamper in ("reverse_energy", "reverse_polarity") else 0
    reg = [t1, wh - t1, 0, 0, exp, 0, 0, 0, q * 72 // 100, q - q * 72 // 100, 0, 0, 0, 0, 0, 0]
    months = 3 + rng.randrange(30)
    cum_tl = spec.base_w * 2 * months
    cum = [cum_tl * 9 // 10, cum_tl * 8 // 10, 0, 0, cum_tl, 0, 0, 0, 0, 0]
    start = day_start(local_day(spec.data_start))
    return State(start, reg, [0] * 10, cum, months)


_STATES: OrderedDict[MeterSpec, list[State]] = OrderedDict()
_STATES_MAX = 50_000


_STATES_LOCK = threading.RLock()


def state_at_day(spec: MeterSpec, d: int) -> State:
    """Registers at the start of local day ``d`` (a copy; cached per spec)."""
    # Web server threads share the cache; extending one meter's list from two threads at
    # once would misplace days.
    with _STATES_LOCK:
        return _state_at_day_locked(spec, d)


def _state_at_day_locked(spec: MeterSpec, d: int) -> State:
    states = _STATES.get(spec)
    if states is None:
        states = [initial_state(spec)]
        _STATES[spec] = states
        if len(_STATES) > _STATES_MAX:
            _STATES.popitem(last=False)
    first = local_day(spec.data_start)
    if d <= first:
        return states[0].copy()
    while first + len(states) - 1 < d:
        st = states[-1].copy()
        dd = first + len(states) - 1
        ds = day_start(dd)
        day = day_data(spec, dd)
        resets = reset_times(spec, ds, ds + DAY)
        if not resets or resets == [ds + DAY]:
            st.apply_day(day)
            if resets:
                st.reset()
        else:
            for k in range(TICKS_PER_DAY):
                st.apply_tick(day, k)
                if st.t in resets:
                    st.reset()
        states.append(st)
    return states[d - first].copy()


def state_at(spec: MeterSpec, t: int) -> State:
    """Registers at tick boundary ``t`` (t rounded down to a tick)."""
    t -= (t + PKT_OFFSET) % TICK
    d = local_day(t)
    st = state_at_day(spec, d)
    day = day_data(spec, d)
    resets = reset_times(spec, st.t, t)
    for k in range((t - st.t) // TICK):
        st.apply_tick(day, k)
        if st.t in resets:
            st.reset()
    return st


def partial(day: Day, k: int, seconds: int, which: list[int]) -> None:
    """Add the share of tick k's energies in its first ``seconds`` to registers ``which``."""
    tk = day.tar[k]
    which[tk] += day.e_imp[k] * seconds // TICK
    which[4 + tk] += day.e_exp[k] * seconds // TICK
    which[8 + tk] += day.q_imp[k] * seconds // TICK
    which[12 + tk] += day.q_exp[k] * seconds // TICK


def registers_at(spec: MeterSpec, t: int) -> tuple[list[int], State]:
    """Energy registers (16, Wh) at any epoch t, and the tick-boundary state below it."""
    st = state_at(spec, t)
    reg = list(st.reg)
    rest = t - st.t
    if rest:
        day = day_data(spec, local_day(st.t))
        partial(day, (st.t - day.start) // TICK, rest, reg)
    return reg, st


# ------------------------------------------------------------------ delivery (comms)
def _lag(spec: MeterSpec, t: int) -> int:
    return 60 + ((t // 60) * 2654435761 + spec.seed) % 240


def delivery(spec: MeterSpec, day: Day, t: int) -> int:
    """When the MDC stored a row of meter time ``t``: a few minutes later, or after the offline
    episode that covers it."""
    if day.offline and day.offline[0] <= t < day.offline[1]:
        return day.offline[1] + _lag(spec, t)
    return t + _lag(spec, t)


def is_gap(spec: MeterSpec, t: int) -> bool:
    """This row never reaches the MDC."""
    return (
        spec.gap_rate > 0
        and (((t // 60) * 11400714819323198485 + spec.seed) >> 17) % 1_000_000
        < spec.gap_rate * 1_000_000
    )


def readable(spec: MeterSpec, t: int) -> bool:
    """The MDC reads the meter at t: it exists and is active."""
    return t >= spec.data_start and spec.at("active", t) != 0


def _days(a: int, b: int) -> range:
    return range(local_day(a), local_day(b) + 1)


# ------------------------------------------------------------------ rows
_Z = "0.000"


def _texts(spec: MeterSpec, day: Day, tick: int):
    """Phase values of a tick: (currents 3, voltages 3, pf text) of the tick's true load."""
    volts = day.volt[tick]
    pf_milli = day.pf[tick]
    power = day.p_true[tick]
    shares = spec.shares
    currents = []
    for phase in range(3):
        mv = volts[phase]
        currents.append(
            f3(power * shares[phase] * 1_000_000 // (mv * pf_milli)) if mv and power else _Z
        )
    return currents, [f3(mv) for mv in volts], f3(pf_milli if power else 1000)


def load_profile_rows(spec: MeterSpec, start: int, end: int, now: int):
    """LOAD_PROFILE_DATA rows with start <= meter_datetime <= end, stored by ``now``, with the
    anomalies planned for the meter's MDC, if any (``anomalies``: benchmark ground truth)."""
    # the grid (thieves, feeder meters: apps.simulator.grid) over the planted anomalies
    return grid.apply(spec, anomalies.plant(spec, _load_profile_rows(spec, start, end, now)), now)


def _on_tick_grid(spec: MeterSpec, day_begin: int, seg_start: int, seg_end: int, lp) -> bool:
    """Whether a load profile segment can take :func:`_lp_aligned`: whole ticks on the grid,
    activation constant over it."""
    interval_s = lp[0] * 60
    return (
        FAST_PATH
        and interval_s % TICK == 0
        and (seg_start - day_begin - lp[1] * 60) % interval_s == 0
        and (seg_end - seg_start) % interval_s == 0
        and not spec.changes("active", seg_start - 1, seg_end + 1)
    )


def _load_profile_rows(spec: MeterSpec, start: int, end: int, now: int):
    """LOAD_PROFILE_DATA rows with start <= meter_datetime <= end, stored by ``now``."""
    end = min(end, now)
    if end < spec.data_start:
        return
    for d in _days(max(start - 1, spec.data_start), end):
        day_begin = day_start(d)
        if day_begin > end:
            break
        day = day_data(spec, d)
        walk = None  # registers walk from the first interval served, over the day's segments
        for seg_start, seg_end, lp in spec.segments("lp", day_begin, day_begin + DAY):
            if _on_tick_grid(spec, day_begin, seg_start, seg_end, lp):
                yield from _lp_aligned(spec, day, seg_start, seg_end, lp, start, end, now)
                continue
            if walk is None:
                walk = _RegisterWalk(spec, day)
            yield from _lp_general(spec, walk, seg_start, seg_end, lp, start, end, now)


class _RegisterWalk:
    """A meter's registers walked tick by tick through one day (the general load profile
    path); starts at the first interval asked for."""

    def __init__(self, spec: MeterSpec, day: Day):
        self.spec, self.day = spec, day
        self.state: State | None = None
        self.resets: list[int] = []

    def energies(self, row_start: int, row_end: int) -> list[int]:
        """Energies (16, Wh) of [row_start, row_end); the state ends at the tick boundary at
        or below row_end."""
        day, day_begin = self.day, self.day.start
        if self.state is None:
            self.state = state_at(self.spec, row_start)
            self.resets = reset_times(self.spec, self.state.t, day_begin + 2 * DAY)
        state, resets = self.state, self.resets
        energies = [0] * 16
        while state.t + TICK <= row_end:  # whole ticks up to row_end
            tick = (state.t - day_begin) // TICK
            tariff = day.tar[tick]
            if state.t >= row_start:
                energies[tariff] += day.e_imp[tick]
                energies[4 + tariff] += day.e_exp[tick]
                energies[8 + tariff] += day.q_imp[tick]
                energies[12 + tariff] += day.q_exp[tick]
            else:  # tick started before row_start: only its part after row_start
                whole = [0] * 16
                partial(day, tick, TICK, whole)
                before = [0] * 16
                partial(day, tick, row_start - state.t, before)
                for i in range(16):
                    energies[i] += whole[i] - before[i]
            state.apply_tick(day, tick)
            if state.t in resets:
                state.reset()
        if state.t < row_end:  # interval ends inside a tick
            tick = (state.t - day_begin) // TICK
            until_start = max(row_start, state.t) - state.t
            before_start, before_end = [0] * 16, [0] * 16
            partial(day, tick, row_end - state.t, before_end)
            partial(day, tick, until_start, before_start)
            for i in range(16):
                energies[i] += before_end[i] - before_start[i]
        return energies

    def registers(self, row_end: int) -> list[int]:
        """The energy registers (16, Wh) at row_end (the state is at the tick below it)."""
        state = self.state
        values = list(state.reg)
        if state.t < row_end:
            partial(self.day, (state.t - self.day.start) // TICK, row_end - state.t, values)
        return values


def _lp_general(
    spec: MeterSpec,
    walk: _RegisterWalk,
    seg_start: int,
    seg_end: int,
    lp: tuple[int, int],
    start: int,
    end: int,
    now: int,
):
    """Load profile rows of one segment of any interval and offset (the registers walked
    tick by tick, ticks split where an interval ends inside one)."""
    day = walk.day
    day_begin = day.start
    interval_s = lp[0] * 60
    offset = lp[1] * 60
    row_start = seg_start
    while row_start < seg_end:
        row_end = day_begin + ((row_start - day_begin - offset) // interval_s + 1) * interval_s
        row_end = min(row_end + offset, seg_end)
        if row_end < start or row_start < spec.data_start:
            row_start = row_end
            continue
        if row_end > end:
            break
        energies = walk.energies(row_start, row_end)
        last_tick = min((row_end - 1 - day_begin) // TICK, TICKS_PER_DAY - 1)
        seconds = row_end - row_start
        row_start = row_end
        if not readable(spec, row_end) or is_gap(spec, row_end):
            continue
        stored_at = delivery(spec, day, row_end)
        if stored_at > now:
            continue
        values = walk.registers(row_end) if spec.lp_registers else energies
        yield _lp_row(
            spec, day, lp, row_end, last_tick, seconds, energies, values, walk.state, stored_at
        )


def _lp_row(
    spec: MeterSpec,
    day: Day,
    lp: tuple[int, int],
    row_end: int,
    last_tick: int,
    seconds: int,
    energies: list[int],
    values: list[int],
    state: State,
    stored_at: int,
) -> tuple[str, ...]:
    """One load profile row of the general path: ``values`` are its energy fields (registers
    or the interval's energies), its powers the interval's average (W), per phase by the
    meter's shares, its MDIs those of ``state``."""
    p_imp = sum(energies[0:4]) * 3600 // seconds
    p_exp = sum(energies[4:8]) * 3600 // seconds
    q_pos = sum(energies[8:12]) * 3600 // seconds
    q_neg = sum(energies[12:16]) * 3600 // seconds
    act, react = values[0:4], values[8:12]
    currents, volts, pf_text = _texts(spec, day, last_tick)
    mdi, cum = state.mdi, state.cum
    if spec.phase == 3:
        shares = spec.shares
        p_imp_phases = [f3(p_imp * share // 1000) for share in shares]
        q_pos_phases = [f3(q_pos * share // 1000) for share in shares]
        p_exp_phases = [_Z, _Z, f3(p_exp)]
        q_neg_phases = [_Z, _Z, f3(q_neg)]
    else:
        p_imp_phases = [f3(p_imp), _Z, _Z]
        q_pos_phases = [f3(q_pos), _Z, _Z]
        p_exp_phases = [f3(p_exp), _Z, _Z]
        q_neg_phases = [f3(q_neg), _Z, _Z]
    return (
        spec.msn_text,
        spec.gdi,
        dt_text(row_end),
        "1",
        str(lp[0]),
        *(f3(value) for value in act),
        f3(sum(act)),
        *(f3(value) for value in react),
        f3(sum(react)),
        *(f3(value) for value in mdi[0:5]),
        *(f3(value) for value in cum[0:5]),
        *currents,
        *volts,
        *p_imp_phases,
        f3(p_imp),
        *p_exp_phases,
        f3(p_exp),
        *q_pos_phases,
        f3(q_pos),
        *q_neg_phases,
        f3(q_neg),
        pf_text,
        dt_text(stored_at - 2),
        dt_text(stored_at),
    )


def _lp_aligned(
    spec: MeterSpec,
    day: Day,
    seg_start: int,
    seg_end: int,
    lp: tuple[int, int],
    start: int,
    end: int,
    now: int,
):
    """Fast path of :func:`load_profile_rows`: intervals of whole ticks on the grid, activation
    constant over the segment.

    Deliberately one function: it is the simulator's hot loop (every load profile row a read
    serves), so a row is built with locals and table look-ups, without a call per value."""
    _tables()
    txt, txt_size, zero = _F3, F3_SIZE, _Z
    day_begin = day.start
    interval_s = lp[0] * 60
    ticks_per_row = interval_s // TICK
    per_hour = 3600 // interval_s if 3600 % interval_s == 0 else None
    interval_text = str(lp[0])
    msn, gdi = spec.msn_text, spec.gdi
    shares = spec.shares
    three_phase = spec.phase == 3
    data_start = spec.data_start
    e_imp, e_exp, q_imp, q_exp = day.e_imp, day.e_exp, day.q_imp, day.q_exp
    tar, volt, p_true, pfs = day.tar, day.volt, day.p_true, day.pf
    if spec.at("active", seg_start) == 0:
        return
    gaps = spec.gap_rate > 0
    offline = day.offline
    seed = spec.seed
    mdi = cum = None
    resets: list[int] = []
    mdi_txt: tuple[str, ...] = ()
    registers = spec.lp_registers
    # running import registers (Wh) and their texts: a row changes only its tariffs' texts
    act_reg: list[int] = []
    react_reg: list[int] = []
    act_reg_txt: list[str] = []
    react_reg_txt: list[str] = []
    row_start = seg_start
    while row_start < seg_end:
        row_end = row_start + interval_s
        if row_end < start or row_start < data_start:
            row_start = row_end
            continue
        if row_end > end:
            break
        first = mdi is None
        if first:  # registers after this row's ticks: cached at day starts, cheap to reach
            state = state_at(spec, row_end)
            mdi, cum = state.mdi[:5], state.cum[:5]
            resets = reset_times(spec, row_end, seg_end)
            mdi_txt = tuple(txt[reg] if reg < txt_size else f3(reg) for reg in (*mdi, *cum))
            if registers:  # state already holds this row's ticks
                act_reg, react_reg = state.reg[0:4], state.reg[8:12]
                act_reg_txt, react_reg_txt = (
                    [f3(reg) for reg in act_reg],
                    [f3(reg) for reg in react_reg],
                )
        first_tick = (row_start - day_begin) // TICK
        changed = False
        if ticks_per_row == 1:
            tariff = tar[first_tick]
            act_imp, act_exp, react_imp, react_exp = (
                e_imp[first_tick],
                e_exp[first_tick],
                q_imp[first_tick],
                q_exp[first_tick],
            )
            demand = 0 if first else act_imp * 4
            if demand > mdi[tariff]:
                mdi[tariff] = demand
                changed = True
            if demand > mdi[4]:
                mdi[4] = demand
                changed = True
            if registers:  # registers are large: formatted inline (no table, no call)
                if not first:
                    reg = act_reg[tariff] = act_reg[tariff] + act_imp
                    act_reg_txt[tariff] = f"{reg // 1000}.{reg % 1000:03d}"
                    reg = react_reg[tariff] = react_reg[tariff] + react_imp
                    react_reg_txt[tariff] = f"{reg // 1000}.{reg % 1000:03d}"
                act_txt, react_txt = act_reg_txt, react_reg_txt
                reg = act_reg[0] + act_reg[1] + act_reg[2] + act_reg[3]
                act_tl_txt = f"{reg // 1000}.{reg % 1000:03d}"
                reg = react_reg[0] + react_reg[1] + react_reg[2] + react_reg[3]
                react_tl_txt = f"{reg // 1000}.{reg % 1000:03d}"
            else:
                act_tl_txt = txt[act_imp] if act_imp < txt_size else f3(act_imp)
                react_tl_txt = txt[react_imp] if react_imp < txt_size else f3(react_imp)
                act_txt = [zero, zero, zero, zero]
                react_txt = [zero, zero, zero, zero]
                act_txt[tariff] = act_tl_txt
                react_txt[tariff] = react_tl_txt
        else:
            act_by_tariff = [0, 0, 0, 0]
            react_by_tariff = [0, 0, 0, 0]
            act_exp = react_exp = 0
            for tick in range(first_tick, first_tick + ticks_per_row):
                tariff = tar[tick]
                act_by_tariff[tariff] += e_imp[tick]
                react_by_tariff[tariff] += q_imp[tick]
                act_exp += e_exp[tick]
                react_exp += q_exp[tick]
                if first:
                    continue
                demand = e_imp[tick] * 4
                if demand > mdi[tariff]:
                    mdi[tariff] = demand
                    changed = True
                if demand > mdi[4]:
                    mdi[4] = demand
                    changed = True
                if (
                    resets
                    and day_begin + (tick + 1) * TICK in resets
                    and tick < first_tick + ticks_per_row - 1
                ):
                    cum = [a + b for a, b in zip(cum, mdi, strict=True)]
                    mdi = [0] * 5
                    changed = True
            act_imp, react_imp = sum(act_by_tariff), sum(react_by_tariff)
            if registers:
                if not first:
                    for tariff in (0, 1, 2, 3):
                        if act_by_tariff[tariff]:
                            act_reg[tariff] += act_by_tariff[tariff]
                            act_reg_txt[tariff] = f3(act_reg[tariff])
                        if react_by_tariff[tariff]:
                            react_reg[tariff] += react_by_tariff[tariff]
                            react_reg_txt[tariff] = f3(react_reg[tariff])
                act_txt, react_txt = act_reg_txt, react_reg_txt
                act_tl_txt, react_tl_txt = (
                    f3(act_reg[0] + act_reg[1] + act_reg[2] + act_reg[3]),
                    f3(react_reg[0] + react_reg[1] + react_reg[2] + react_reg[3]),
                )
            else:
                act_txt = [txt[reg] if reg < txt_size else f3(reg) for reg in act_by_tariff]
                react_txt = [txt[reg] if reg < txt_size else f3(reg) for reg in react_by_tariff]
                act_tl_txt = txt[act_imp] if act_imp < txt_size else f3(act_imp)
                react_tl_txt = txt[react_imp] if react_imp < txt_size else f3(react_imp)
        if resets and row_end in resets:
            cum = [a + b for a, b in zip(cum, mdi, strict=True)]
            mdi = [0] * 5
            changed = True
        if changed:
            mdi_txt = tuple(txt[reg] if reg < txt_size else f3(reg) for reg in (*mdi, *cum))
        row_start = row_end
        if gaps and is_gap(spec, row_end):
            continue
        lag = 60 + ((row_end // 60) * 2654435761 + seed) % 240
        stored_at = (
            offline[1] + lag if offline and offline[0] <= row_end < offline[1] else row_end + lag
        )
        if stored_at > now:
            continue
        last_tick = first_tick + ticks_per_row - 1
        volts = volt[last_tick]
        power = p_true[last_tick]
        pf_milli = pfs[last_tick]
        if per_hour:
            p_imp, p_exp, q_pos, q_neg = (
                act_imp * per_hour,
                act_exp * per_hour,
                react_imp * per_hour,
                react_exp * per_hour,
            )
        else:
            p_imp, p_exp = act_imp * 3600 // interval_s, act_exp * 3600 // interval_s
            q_pos, q_neg = react_imp * 3600 // interval_s, react_exp * 3600 // interval_s
        p_imp_txt = txt[p_imp] if p_imp < txt_size else f3(p_imp)
        q_pos_txt = txt[q_pos] if q_pos < txt_size else f3(q_pos)
        p_exp_txt = txt[p_exp] if p_exp < txt_size else f3(p_exp)
        q_neg_txt = txt[q_neg] if q_neg < txt_size else f3(q_neg)
        if three_phase:
            current_txt = [
                txt[current] if current < txt_size else f3(current)
                for current in (
                    (
                        power * shares[phase] * 1_000_000 // (volts[phase] * pf_milli)
                        if volts[phase] and power
                        else 0
                    )
                    for phase in (0, 1, 2)
                )
            ]
            p_imp_phases = [
                f3(p_imp * shares[0] // 1000),
                f3(p_imp * shares[1] // 1000),
                f3(p_imp * shares[2] // 1000),
            ]
            q_pos_phases = [
                f3(q_pos * shares[0] // 1000),
                f3(q_pos * shares[1] // 1000),
                f3(q_pos * shares[2] // 1000),
            ]
            p_exp_phases = (zero, zero, p_exp_txt)
            q_neg_phases = (zero, zero, q_neg_txt)
            volt_txt = (
                txt[volts[0]] if volts[0] < txt_size else f3(volts[0]),
                txt[volts[1]] if volts[1] < txt_size else f3(volts[1]),
                txt[volts[2]] if volts[2] < txt_size else f3(volts[2]),
            )
        else:
            current = power * 1_000_000_000 // (volts[0] * pf_milli) if volts[0] and power else 0
            current_txt = (txt[current] if current < txt_size else f3(current), zero, zero)
            p_imp_phases = (p_imp_txt, zero, zero)
            q_pos_phases = (q_pos_txt, zero, zero)
            p_exp_phases = (p_exp_txt, zero, zero)
            q_neg_phases = (q_neg_txt, zero, zero)
            volt_txt = (txt[volts[0]] if volts[0] < txt_size else f3(volts[0]), zero, zero)
        yield (
            msn,
            gdi,
            dt_text(row_end),
            "1",
            interval_text,
            *act_txt,
            act_tl_txt,
            *react_txt,
            react_tl_txt,
            *mdi_txt,
            *current_txt,
            *volt_txt,
            *p_imp_phases,
            p_imp_txt,
            *p_exp_phases,
            p_exp_txt,
            *q_pos_phases,
            q_pos_txt,
            *q_neg_phases,
            q_neg_txt,
            txt[pf_milli] if power else "1.000",
            dt_text(stored_at - 2),
            dt_text(stored_at),
        )


def _power_at(day: Day, t: int) -> int:
    """Index of the tick that ended at or contains t - 1."""
    return min(max((t - 1 - day.start) // TICK, 0), TICKS_PER_DAY - 1)


def _grid(spec: MeterSpec, name: str, start: int, end: int):
    """Times on the sampling grid of ``name`` (inst/bill minutes) in [start, end]."""
    for d in _days(start, end):
        ds = day_start(d)
        for seg_start, seg_end, minutes in spec.segments(name, ds, ds + DAY):
            step = int(minutes) * 60
            t = ds + -(-(seg_start - ds) // step) * step
            while t < seg_end:
                if start <= t <= end:
                    yield t
                t += step


def signal(spec: MeterSpec, t: int) -> int:
    """Signal strength in thousandths of dBm."""
    return (spec.signal_base + int(mix(spec.seed, t // TICK, 9) % 9) - 4) * 1000


def instantaneous_rows(spec: MeterSpec, start: int, end: int, now: int):
    end = min(end, now)
    msn, gdi = spec.msn_text, spec.gdi
    for t in _grid(spec, "inst", max(start, spec.data_start + 1), end):
        if not readable(spec, t):
            continue
        day = day_data(spec, local_day(t - 1))
        db = delivery(spec, day, t)
        if db > now:
            continue
        k = _power_at(day, t)
        cur, volt, pf_text = _texts(spec, day, k)
        clock = spec.at("clock", t) or 0
        yield (
            msn,
            gdi,
            dt_text(t + clock),
            str(day.tar[k] + 1),
            f3(signal(spec, t)),
            *cur,
            *volt,
            f3(day.e_imp[k] * 4),
            f3(day.e_exp[k] * 4),
            f3(day.q_imp[k] * 4),
            f3(day.q_exp[k] * 4),
            pf_text,
            dt_text(db - 2),
            dt_text(db),
        )


def _register_texts(reg: list[int], mdi: list[int], cum: list[int]) -> list[str]:
    out = []
    for base in (0, 4, 8, 12):
        part = reg[base : base + 4]
        out.extend(f3(x) for x in part)
        out.append(f3(sum(part)))
    out.extend(f3(x) for x in mdi[0:5])
    out.extend(f3(x) for x in mdi[5:10])
    out.extend(f3(x) for x in cum[0:5])
    out.extend(f3(x) for x in cum[5:10])
    return out


def billing_rows(spec: MeterSpec, start: int, end: int, now: int):
    end = min(end, now)
    msn, gdi = spec.msn_text, spec.gdi
    for t in _grid(spec, "bill", max(start, spec.data_start), end):
        if not readable(spec, t):
            continue
        reg, st = registers_at(spec, t)
        day = day_data(spec, local_day(max(t - 1, spec.data_start)))
        db = delivery(spec, day, t)
        if db > now:
            continue
        yield (
            msn,
            gdi,
            dt_text(t),
            *_register_texts(reg, st.mdi, st.cum),
            dt_text(db - 2),
            dt_text(db),
        )


def monthly_billing_rows(spec: MeterSpec, start: int, end: int, now: int):
    end = min(end, now)
    msn, gdi = spec.msn_text, spec.gdi
    for r in reset_times(spec, max(start, spec.data_start) - 1, end):
        if not readable(spec, r):
            continue
        st = state_at(spec, r - 1)  # the tick boundary before the reset ... walk to r
        day = day_data(spec, local_day(r - 1))
        while st.t < r:
            st.apply_tick(day, (st.t - day.start) // TICK)
        closed = list(st.mdi)
        st.reset()
        db = delivery(spec, day, r)
        if db > now:
            continue
        yield (
            msn,
            gdi,
            dt_text(r),
            *_register_texts(st.reg, closed, st.cum),
            dt_text(r),
            str(st.resets),
            dt_text(db - 2),
            dt_text(db),
        )


def event_list(spec: MeterSpec, start: int, end: int) -> list[tuple[int, int]]:
    """``[(epoch, code)]`` of events in [start, end]."""
    out = []
    for d in _days(max(start, spec.data_start), end):
        day = day_data(spec, d)
        out.extend(e for e in day.events if start <= e[0] <= end)
        ds = day.start
        out.extend(
            (r, MDI_RESET)
            for r in reset_times(spec, ds - 1, ds + DAY - 1)
            if start <= r <= end and r > spec.data_start
        )
    out.sort()
    return out


def event_rows(spec: MeterSpec, start: int, end: int, now: int):
    end = min(end, now)
    msn, gdi = spec.msn_text, spec.gdi
    for when, code in event_list(spec, max(start, spec.data_start), end):
        if not readable(spec, when):
            continue
        day = day_data(spec, local_day(when))
        db = delivery(spec, day, when)
        if db > now:
            continue
        yield (
            msn,
            gdi,
            dt_text(when),
            str(code),
            EVENT_CODES.get(code, str(code)),
            dt_text(db - 2),
            dt_text(db),
        )


def last_contact(spec: MeterSpec, now: int) -> int:
    """When the MDC last heard from the meter (a tick boundary)."""
    t = now - 300
    t -= (t + PKT_OFFSET) % TICK
    epochs = spec.timelines.get("active", ((), ()))[0]
    if spec.at("active", t) == 0:  # inactive: last contact at deactivation
        i = bisect_right(epochs, t) - 1
        t = epochs[i]
        t -= (t + PKT_OFFSET) % TICK
    day = day_data(spec, local_day(max(t - 1, spec.data_start)))
    if day.offline and day.offline[0] <= t < day.offline[1]:
        t = day.offline[0]
    return max(t, spec.data_start)


def _ls_text(ls) -> tuple[str, str, str]:
    if not ls:
        return "", "", ""
    start, end, slabs = ls
    items = [
        {"action_time": f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", "relay_operate": str(r)}
        for s, r in slabs
    ]
    return dt_text(start), dt_text(end), orjson.dumps(items).decode()


def visuals_row(spec: MeterSpec, meter, now: int):
    """METER_VISUALS: the latest state of the meter as the MDC knows it at ``now``."""
    if now < spec.data_start:
        return None
    tc = last_contact(spec, now)
    reg = registers_at(spec, tc)[0]
    day = day_data(spec, local_day(max(tc - 1, spec.data_start)))
    k = _power_at(day, tc)
    on = off = None
    epochs, values = spec.timelines.get("relay", ((), ()))
    for when, value in zip(epochs, values, strict=True):
        if when <= now:
            if value:
                on = when
            else:
                off = when
    ls_start, ls_end, ls_slabs = _ls_text(spec.at("ls", now))
    limit = spec.at("load_limit", now)
    tou = orjson.loads(spec.at("tou", now))
    tariff = [{"tariff": str(t), "time_slab": [a, b]} for a, b, t in tou.get("slabs", [])]
    clock = spec.at("clock", tc) or 0
    tc_text = dt_text(tc)

    def opt(dt) -> str:
        return dt_text(epoch_of(dt)) if dt else ""

    return (
        spec.msn_text,
        spec.gdi,
        meter.last_command,
        opt(meter.last_command_datetime),
        meter.last_command_resp,
        opt(meter.last_command_resp_datetime),
        f3(sum(reg[0:4])),
        tc_text,
        f3(sum(reg[4:8])),
        tc_text,
        f3(sum(reg[8:12])),
        tc_text,
        f3(sum(reg[12:16])),
        tc_text,
        f3(day.e_imp[k] * 4),
        tc_text,
        f3(day.e_exp[k] * 4),
        tc_text,
        f3(day.q_imp[k] * 4),
        tc_text,
        f3(day.q_exp[k] * 4),
        tc_text,
        dt_text(on) if on else "",
        dt_text(off) if off else "",
        tc_text,
        f3(signal(spec, tc)),
        f3(limit) if limit else "",
        ls_start,
        ls_end,
        ls_slabs,
        dt_text(tc + clock),
        orjson.dumps({"default": str(tou.get("default", 1)), "slabs": tariff}).decode(),
        str(spec.at("active", now) if spec.at("active", now) is not None else 1),
    )


ROW_FUNCTIONS = {
    "instantaneous": instantaneous_rows,
    "billing": billing_rows,
    "monthly_billing": monthly_billing_rows,
    "load_profile": load_profile_rows,
    "events": event_rows,
}


def clear_caches() -> None:
    """Forget every cached day and state (tests; after bulk history edits)."""
    day_data.cache_clear()
    _STATES.clear()
