"""Rows of the other data sets: instantaneous, billing, monthly billing, events, visuals."""

from __future__ import annotations

from bisect import bisect_right

import orjson

from apps.simulator.generator.base import (
    DAY,
    MDI_RESET,
    PKT_OFFSET,
    TICK,
    TICKS_PER_DAY,
    day_start,
    dt_text,
    epoch_of,
    f3,
    local_day,
    mix,
)
from apps.simulator.generator.days import (
    _STATES,
    _days,
    day_data,
    delivery,
    readable,
    registers_at,
    reset_times,
    state_at,
)
from apps.simulator.generator.load_profile import _texts, load_profile_rows
from apps.simulator.generator.spec import Day, MeterSpec
from apps.udil.datasets import EVENT_CODES


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
