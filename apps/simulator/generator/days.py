"""A meter-day (supply cut, incidents, ticks, events, offline, aggregates) and the register
state at any time, cached per process."""

from __future__ import annotations

import calendar
import math
import threading
from collections import OrderedDict
from datetime import datetime
from functools import lru_cache
from random import Random
from typing import NamedTuple

from apps.simulator.generator.base import (
    DAY,
    DEMAND_OVER_LOAD,
    NOMINAL_MV,
    OUTAGE_PER_DAY,
    OVER_VOLTAGE,
    PARAMETERIZATION,
    PHASE_FAILURE,
    PKT_OFFSET,
    POWER_FAIL_END,
    POWER_FAIL_START,
    SEASONS,
    SHAPES,
    SUNDAY,
    TAMPER_EVENTS,
    TICK,
    TICKS_PER_DAY,
    UNDER_VOLTAGE,
    _tou_ticks,
    day_start,
    local_day,
    mix,
)
from apps.simulator.generator.spec import Day, MeterSpec
from apps.udil.timefmt import PKT


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
