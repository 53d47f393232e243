"""LOAD_PROFILE_DATA rows: the general register walk and the fast path on the tick grid."""

from __future__ import annotations

import apps.simulator.generator as package  # FAST_PATH, read at call time (tests switch it)
from apps.simulator import anomalies, grid
from apps.simulator.generator.base import (
    _F3,
    DAY,
    F3_SIZE,
    TICK,
    TICKS_PER_DAY,
    _tables,
    day_start,
    dt_text,
    f3,
)
from apps.simulator.generator.days import (
    State,
    _days,
    day_data,
    delivery,
    is_gap,
    partial,
    readable,
    reset_times,
    state_at,
)
from apps.simulator.generator.spec import Day, MeterSpec

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
        package.FAST_PATH
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
