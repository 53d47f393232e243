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


def _compute_day(spec: MeterSpec, d: int) -> Day:
    day = Day(d)
    ds = day.start
    n = TICKS_PER_DAY
    local = datetime.fromtimestamp(ds + 3600, PKT)
    season = SEASONS[spec.profile][local.month - 1]
    if local.weekday() == 6:
        season *= SUNDAY[spec.profile]
    base = spec.base_w * season
    shape = SHAPES[spec.profile]
    rt = Random(mix(spec.seed, d, 1))
    re = Random(mix(spec.seed, d, 2))
    rc = Random(mix(spec.seed, d, 3))
    rnd = rt.random

    # supply cuts: relay / load shedding (fractions of ticks), power failure (whole ticks)
    off = [0.0] * n
    for s, e in _off_segments(spec, ds, ds + DAY):
        k = (s - ds) // TICK
        while s < e and k < n:
            tick_end = ds + (k + 1) * TICK
            off[k] = min(1.0, off[k] + (min(e, tick_end) - s) / TICK)
            s = tick_end
            k += 1
    events: list[tuple[int, int]] = []
    outage = None
    if re.random() < OUTAGE_PER_DAY[spec.profile]:
        dur = re.randint(1, 12)
        first = re.randrange(0, n - dur)
        outage = (first, first + dur)
    excursion = None
    if re.random() < 0.05:
        first = re.randrange(0, n - 4)
        excursion = (first, first + re.randint(1, 4), 114 if re.random() < 0.5 else 115)
    phase_fail = None
    if spec.phase == 3 and re.random() < 0.03:
        first = re.randrange(0, n - 4)
        phase_fail = (first, first + re.randint(1, 4))
    pump = None
    if spec.profile == "agricultural":
        on1 = re.randrange(0, 8)
        on2 = re.randrange(10, 20)
        pump = {h for h in range(on1, on1 + re.randint(3, 6))} | {
            h for h in range(on2, min(24, on2 + re.randint(2, 5)))
        }

    tou_json = spec.at("tou", ds)
    tou_changes = spec.changes("tou", ds, ds + DAY)
    tar_day = _tou_ticks(tou_json)
    limits = spec.segments("load_limit", ds, ds + DAY)
    data_start = spec.data_start
    tamper = spec.tamper if spec.tamper != "none" else None
    tamper_start = spec.tamper_start if tamper else None
    pf_base = spec.pf_milli
    v_off = spec.v_offsets

    e_imp = [0] * n
    e_exp = [0] * n
    q_imp = [0] * n
    q_exp = [0] * n
    p_true = [0] * n
    pf = [pf_base] * n
    tar = list(tar_day)
    volt = [(0, 0, 0)] * n
    clipped_prev = False
    for k in range(n):
        t0 = ds + k * TICK
        noise = 0.8 + 0.4 * rnd()
        vn = NOMINAL_MV + int((rnd() - 0.5) * 8000)
        pfk = pf_base + int((rnd() - 0.5) * 40)
        if pfk > 999:
            pfk = 999
        pf[k] = pfk
        if tou_changes:
            tar[k] = _tou_ticks(spec.at("tou", t0))[k]
        if t0 < data_start:
            volt[k] = (0, 0, 0)
            continue
        if pump is not None:
            p = spec.base_w * 2.5 * noise if (k // 4) in pump else 40.0 * noise
        else:
            p = base * shape[k // 4] * noise
        if outage and outage[0] <= k < outage[1]:
            volt[k] = (0, 0, 0)
            continue
        v = (vn + v_off[0], vn + v_off[1], vn + v_off[2]) if spec.phase == 3 else (vn, 0, 0)
        if excursion and excursion[0] <= k < excursion[1]:
            level = 252_000 if excursion[2] == 114 else 184_000
            v = tuple(level + (x - vn) if x else 0 for x in v)
        if phase_fail and phase_fail[0] <= k < phase_fail[1]:
            v = (v[0], v[1], 0)
        volt[k] = v
        p *= 1.0 - off[k]
        limit = limits[0][2] if len(limits) == 1 else spec.at("load_limit", t0)
        clipped = False
        if limit and p > limit:
            p = float(limit)
            clipped = True
            if not clipped_prev:
                events.append((t0 + 60, 116))
        clipped_prev = clipped
        e = int(p) // 4
        p_true[k] = int(p)
        imp, exp = e, 0
        if tamper and t0 >= tamper_start:
            if tamper == "ct_bypass":
                imp = e * 35 // 100
            elif tamper == "reverse_energy":
                exp = e * 60 // 100
                imp = e - exp
            else:  # reverse polarity: one phase counted as export
                exp = e // 3 if spec.phase == 3 else e // 2
                imp = e - exp
        tan = math.sqrt(1_000_000 - pfk * pfk) / pfk
        e_imp[k] = imp
        e_exp[k] = exp
        q_imp[k] = int(imp * tan)
        q_exp[k] = int(exp * tan)

    # events of the day
    if outage and ds + outage[0] * TICK >= data_start:
        events.append((ds + outage[0] * TICK + 7, 111))
        events.append((ds + outage[1] * TICK + 3, 112))
    if excursion and ds + excursion[0] * TICK >= data_start:
        events.append((ds + excursion[0] * TICK + 11, excursion[2]))
    if phase_fail and ds + phase_fail[0] * TICK >= data_start:
        events.append((ds + phase_fail[0] * TICK + 13, 113))
    if tamper and tamper_start < ds + DAY:
        code = {"ct_bypass": 121, "reverse_energy": 117, "reverse_polarity": 118}[tamper]
        when = tamper_start if tamper_start >= ds else ds + 600 + re.randrange(3600)
        if when >= data_start:
            events.append((when, code))
    for when, _ in spec.changes("param", ds - 1, ds + DAY):
        events.append((when, 102))
    events.sort()
    # communication: an offline episode delays the rows it covers
    offline = None
    if rc.random() < spec.offline_rate:
        first = rc.randrange(0, n)
        dur = rc.randint(8, 48)
        offline = (ds + first * TICK, ds + (first + dur) * TICK)

    day.e_imp, day.e_exp, day.q_imp, day.q_exp = e_imp, e_exp, q_imp, q_exp
    day.p_true, day.pf, day.tar, day.volt = p_true, pf, tar, volt
    day.events, day.offline = events, offline
    sums = [0] * 16
    maxes = [0] * 10
    for k in range(n):
        tk = tar[k]
        sums[tk] += e_imp[k]
        sums[4 + tk] += e_exp[k]
        sums[8 + tk] += q_imp[k]
        sums[12 + tk] += q_exp[k]
        dem = e_imp[k] * 4
        if dem > maxes[tk]:
            maxes[tk] = dem
        if dem > maxes[4]:
            maxes[4] = dem
        dem = e_exp[k] * 4
        if dem > maxes[5 + tk]:
            maxes[5 + tk] = dem
        if dem > maxes[9]:
            maxes[9] = dem
    day.agg = (tuple(sums), tuple(maxes))
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


def _texts(spec: MeterSpec, day: Day, k: int):
    """Phase values of tick k: (currents 3, voltages 3, pf text) of the tick's true load."""
    v = day.volt[k]
    pfk = day.pf[k]
    pt = day.p_true[k]
    sh = spec.shares
    cur = []
    for i in range(3):
        vi = v[i]
        cur.append(f3(pt * sh[i] * 1_000_000 // (vi * pfk)) if vi and pt else _Z)
    return cur, [f3(x) for x in v], f3(pfk if pt else 1000)


def load_profile_rows(spec: MeterSpec, start: int, end: int, now: int):
    """LOAD_PROFILE_DATA rows with start <= meter_datetime <= end, stored by ``now``, with the
    anomalies planned for the meter's MDC, if any (``anomalies``: benchmark ground truth)."""
    # the grid (thieves, feeder meters: apps.simulator.grid) over the planted anomalies
    return grid.apply(spec, anomalies.plant(spec, _load_profile_rows(spec, start, end, now)), now)


def _load_profile_rows(spec: MeterSpec, start: int, end: int, now: int):
    """LOAD_PROFILE_DATA rows with start <= meter_datetime <= end, stored by ``now``."""
    end = min(end, now)
    if end < spec.data_start:
        return
    msn, gdi = spec.msn_text, spec.gdi
    sh = spec.shares
    for d in _days(max(start - 1, spec.data_start), end):
        ds = day_start(d)
        if ds > end:
            break
        day = day_data(spec, d)
        st = None
        segs = spec.segments("lp", ds, ds + DAY)
        for seg_start, seg_end, lp in segs:
            interval_s = lp[0] * 60
            offset = lp[1] * 60
            if (
                FAST_PATH
                and interval_s % TICK == 0
                and (seg_start - ds - offset) % interval_s == 0
                and (seg_end - seg_start) % interval_s == 0
                and not spec.changes("active", seg_start - 1, seg_end + 1)
            ):
                yield from _lp_aligned(spec, day, seg_start, seg_end, lp, start, end, now)
                continue
            ts = seg_start
            while ts < seg_end:
                te = ds + ((ts - ds - offset) // interval_s + 1) * interval_s + offset
                if te > seg_end:
                    te = seg_end
                if te < start or ts < spec.data_start:
                    ts = te
                    continue
                if te > end:
                    break
                if st is None:  # registers walk from the start of this interval
                    st = state_at(spec, ts)
                    resets = reset_times(spec, st.t, ds + 2 * DAY)
                # walk whole ticks up to te
                energies = [0] * 16
                while st.t + TICK <= te:
                    k = (st.t - ds) // TICK
                    tk = day.tar[k]
                    if st.t >= ts:
                        energies[tk] += day.e_imp[k]
                        energies[4 + tk] += day.e_exp[k]
                        energies[8 + tk] += day.q_imp[k]
                        energies[12 + tk] += day.q_exp[k]
                    else:  # tick started before ts: only its part after ts
                        part = [0] * 16
                        partial(day, k, TICK, part)
                        before = [0] * 16
                        partial(day, k, ts - st.t, before)
                        for i in range(16):
                            energies[i] += part[i] - before[i]
                    st.apply_tick(day, k)
                    if st.t in resets:
                        st.reset()
                if st.t < te:  # interval ends inside a tick
                    k = (st.t - ds) // TICK
                    lo = max(ts, st.t) - st.t
                    a, b = [0] * 16, [0] * 16
                    partial(day, k, te - st.t, b)
                    partial(day, k, lo, a)
                    for i in range(16):
                        energies[i] += b[i] - a[i]
                k_last = min((te - 1 - ds) // TICK, TICKS_PER_DAY - 1)
                ts_row = ts
                ts = te
                if not readable(spec, te) or is_gap(spec, te):
                    continue
                db = delivery(spec, day, te)
                if db > now:
                    continue
                seconds = te - ts_row
                # average power over the interval (W), per phase by the meter's shares
                p_imp = sum(energies[0:4]) * 3600 // seconds
                p_exp = sum(energies[4:8]) * 3600 // seconds
                q_pos = sum(energies[8:12]) * 3600 // seconds
                q_neg = sum(energies[12:16]) * 3600 // seconds
                if spec.lp_registers:  # the registers at te (st is at the tick below te)
                    values = list(st.reg)
                    if st.t < te:
                        partial(day, (st.t - ds) // TICK, te - st.t, values)
                else:
                    values = energies
                imp, q = values[0:4], values[8:12]
                imp_tl, q_tl = sum(imp), sum(q)
                cur, volt, pf_text = _texts(spec, day, k_last)
                mdi, cum = st.mdi, st.cum
                if spec.phase == 3:
                    pa = [f3(p_imp * s // 1000) for s in sh]
                    qa = [f3(q_pos * s // 1000) for s in sh]
                    na = [_Z, _Z, f3(p_exp)]
                    qn = [_Z, _Z, f3(q_neg)]
                else:
                    pa = [f3(p_imp), _Z, _Z]
                    qa = [f3(q_pos), _Z, _Z]
                    na = [f3(p_exp), _Z, _Z]
                    qn = [f3(q_neg), _Z, _Z]
                yield (
                    msn,
                    gdi,
                    dt_text(te),
                    "1",
                    str(lp[0]),
                    f3(imp[0]),
                    f3(imp[1]),
                    f3(imp[2]),
                    f3(imp[3]),
                    f3(imp_tl),
                    f3(q[0]),
                    f3(q[1]),
                    f3(q[2]),
                    f3(q[3]),
                    f3(q_tl),
                    f3(mdi[0]),
                    f3(mdi[1]),
                    f3(mdi[2]),
                    f3(mdi[3]),
                    f3(mdi[4]),
                    f3(cum[0]),
                    f3(cum[1]),
                    f3(cum[2]),
                    f3(cum[3]),
                    f3(cum[4]),
                    *cur,
                    *volt,
                    *pa,
                    f3(p_imp),
                    *na,
                    f3(p_exp),
                    *qa,
                    f3(q_pos),
                    *qn,
                    f3(q_neg),
                    pf_text,
                    dt_text(db - 2),
                    dt_text(db),
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
    constant over the segment."""
    _tables()
    F, FN, Z = _F3, F3_SIZE, _Z
    ds = day.start
    interval_s = lp[0] * 60
    n = interval_s // TICK
    per_hour = 3600 // interval_s if 3600 % interval_s == 0 else None
    ivs = str(lp[0])
    msn, gdi = spec.msn_text, spec.gdi
    sh = spec.shares
    three = spec.phase == 3
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
    ra: list[int] = []
    rq: list[int] = []
    ra_txt: list[str] = []
    rq_txt: list[str] = []
    ts = seg_start
    while ts < seg_end:
        te = ts + interval_s
        if te < start or ts < data_start:
            ts = te
            continue
        if te > end:
            break
        first = mdi is None
        if first:  # registers after this row's ticks: cached at day starts, cheap to reach
            st = state_at(spec, te)
            mdi, cum = st.mdi[:5], st.cum[:5]
            resets = reset_times(spec, te, seg_end)
            mdi_txt = tuple(F[x] if x < FN else f3(x) for x in (*mdi, *cum))
            if registers:  # st already holds this row's ticks
                ra, rq = st.reg[0:4], st.reg[8:12]
                ra_txt, rq_txt = [f3(x) for x in ra], [f3(x) for x in rq]
        k0 = (ts - ds) // TICK
        changed = False
        if n == 1:
            tk = tar[k0]
            ei, ee, qi, qe = e_imp[k0], e_exp[k0], q_imp[k0], q_exp[k0]
            dem = 0 if first else ei * 4
            if dem > mdi[tk]:
                mdi[tk] = dem
                changed = True
            if dem > mdi[4]:
                mdi[4] = dem
                changed = True
            if registers:  # registers are large: formatted inline (no table, no call)
                if not first:
                    x = ra[tk] = ra[tk] + ei
                    ra_txt[tk] = f"{x // 1000}.{x % 1000:03d}"
                    x = rq[tk] = rq[tk] + qi
                    rq_txt[tk] = f"{x // 1000}.{x % 1000:03d}"
                act, rea = ra_txt, rq_txt
                x = ra[0] + ra[1] + ra[2] + ra[3]
                es = f"{x // 1000}.{x % 1000:03d}"
                x = rq[0] + rq[1] + rq[2] + rq[3]
                qs = f"{x // 1000}.{x % 1000:03d}"
            else:
                es = F[ei] if ei < FN else f3(ei)
                qs = F[qi] if qi < FN else f3(qi)
                act = [Z, Z, Z, Z]
                rea = [Z, Z, Z, Z]
                act[tk] = es
                rea[tk] = qs
        else:
            a4 = [0, 0, 0, 0]
            r4 = [0, 0, 0, 0]
            ee = qe = 0
            for k in range(k0, k0 + n):
                tk = tar[k]
                a4[tk] += e_imp[k]
                r4[tk] += q_imp[k]
                ee += e_exp[k]
                qe += q_exp[k]
                if first:
                    continue
                dem = e_imp[k] * 4
                if dem > mdi[tk]:
                    mdi[tk] = dem
                    changed = True
                if dem > mdi[4]:
                    mdi[4] = dem
                    changed = True
                if resets and ds + (k + 1) * TICK in resets and k < k0 + n - 1:
                    cum = [a + b for a, b in zip(cum, mdi, strict=True)]
                    mdi = [0] * 5
                    changed = True
            ei, qi = sum(a4), sum(r4)
            if registers:
                if not first:
                    for j in (0, 1, 2, 3):
                        if a4[j]:
                            ra[j] += a4[j]
                            ra_txt[j] = f3(ra[j])
                        if r4[j]:
                            rq[j] += r4[j]
                            rq_txt[j] = f3(rq[j])
                act, rea = ra_txt, rq_txt
                es, qs = f3(ra[0] + ra[1] + ra[2] + ra[3]), f3(rq[0] + rq[1] + rq[2] + rq[3])
            else:
                act = [F[x] if x < FN else f3(x) for x in a4]
                rea = [F[x] if x < FN else f3(x) for x in r4]
                es = F[ei] if ei < FN else f3(ei)
                qs = F[qi] if qi < FN else f3(qi)
        if resets and te in resets:
            cum = [a + b for a, b in zip(cum, mdi, strict=True)]
            mdi = [0] * 5
            changed = True
        if changed:
            mdi_txt = tuple(F[x] if x < FN else f3(x) for x in (*mdi, *cum))
        ts = te
        if gaps and is_gap(spec, te):
            continue
        lag = 60 + ((te // 60) * 2654435761 + seed) % 240
        db = offline[1] + lag if offline and offline[0] <= te < offline[1] else te + lag
        if db > now:
            continue
        kl = k0 + n - 1
        v = volt[kl]
        pt = p_true[kl]
        pfk = pfs[kl]
        if per_hour:
            pi, pe, qp, qn = ei * per_hour, ee * per_hour, qi * per_hour, qe * per_hour
        else:
            pi, pe = ei * 3600 // interval_s, ee * 3600 // interval_s
            qp, qn = qi * 3600 // interval_s, qe * 3600 // interval_s
        pis = F[pi] if pi < FN else f3(pi)
        qps = F[qp] if qp < FN else f3(qp)
        pes = F[pe] if pe < FN else f3(pe)
        qns = F[qn] if qn < FN else f3(qn)
        if three:
            cur = [
                F[c] if c < FN else f3(c)
                for c in (
                    (pt * sh[i] * 1_000_000 // (v[i] * pfk) if v[i] and pt else 0)
                    for i in (0, 1, 2)
                )
            ]
            pa = [f3(pi * sh[0] // 1000), f3(pi * sh[1] // 1000), f3(pi * sh[2] // 1000)]
            qa = [f3(qp * sh[0] // 1000), f3(qp * sh[1] // 1000), f3(qp * sh[2] // 1000)]
            na = (Z, Z, pes)
            qna = (Z, Z, qns)
            vt = (
                F[v[0]] if v[0] < FN else f3(v[0]),
                F[v[1]] if v[1] < FN else f3(v[1]),
                F[v[2]] if v[2] < FN else f3(v[2]),
            )
        else:
            c = pt * 1_000_000_000 // (v[0] * pfk) if v[0] and pt else 0
            cur = (F[c] if c < FN else f3(c), Z, Z)
            pa = (pis, Z, Z)
            qa = (qps, Z, Z)
            na = (pes, Z, Z)
            qna = (qns, Z, Z)
            vt = (F[v[0]] if v[0] < FN else f3(v[0]), Z, Z)
        yield (
            msn,
            gdi,
            dt_text(te),
            "1",
            ivs,
            *act,
            es,
            *rea,
            qs,
            *mdi_txt,
            *cur,
            *vt,
            *pa,
            pis,
            *na,
            pes,
            *qa,
            qps,
            *qna,
            qns,
            F[pfk] if pt else "1.000",
            dt_text(db - 2),
            dt_text(db),
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
            (r, 101)
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
