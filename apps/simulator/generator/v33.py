"""Rows of a UDIL 3.3 MDC: the 2019 rows of the same meter-time, laid out in the 3.3 field order
with the values 3.3 adds, and the DEVICE_COMMUNICATION_HISTORY data set.

The physics stays the 2019 generator's (``rows``, ``load_profile``); 3.3 only adds views of it,
and every field of the 3.3 definitions gets a value consistent with the others:

* absolute registers and powers are import + export (>= either, cumulative like them); a 3.3
  load profile's ``*_pos_*`` registers are the 2019 load profile registers (the import
  registers, NOTES.md), its ``*_neg_*`` the meter's export registers (zero unless a tamper makes
  the meter export);
* ``frequency`` is 50 Hz with a small deterministic wobble, ``current_total`` the sum of the
  phase currents, ``voltage_average`` the mean of the phases that carry voltage, the per-phase
  power factors the meter's power factor on each live phase (unity on a dead one: no load), and
  a load profile's per-phase powers add up exactly to their aggregates;
* monthly billing: the meter's position, two pictures of its screen (the kWh register and the
  MDI of the row, :mod:`.screen`), ``reading_mode`` 1 (automatic);
* events carry the 3.3 names of their codes (``apps.udil.events_v33``) and ``event_counter``, the
  meter's running number of events (1 for its first recorded event);
* communication history: one row per meter and hour the MDC reads it (the hour's end), with a
  log in the shape of the spec's samples; a meter offline at that hour has a failed attempt.

Meter visuals are :mod:`.v33_visuals`. Null stays only where the meter cannot have a value: the
power factor of a phase a single-phase meter does not have (``pf_phase_b``/``_c``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

from apps.simulator.generator.base import (
    DAY,
    FIELDS,
    day_start,
    dt_text,
    f3,
    local_day,
    mix,
)
from apps.simulator.generator.days import day_data, delivery, readable, registers_at
from apps.simulator.generator.rows import ROW_FUNCTIONS, event_list, event_rows
from apps.simulator.generator.screen import screen_picture
from apps.simulator.generator.spec import MeterSpec
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.udil.events_v33 import EVENT_CODES_3_3

HOUR = 3600
#: Field order of each 3.3 data set (the protocol's wire order).
FIELDS_3_3: dict[str, tuple[str, ...]] = {code: ds.wire_order for code, ds in DATASETS_3_3.items()}
_Z = "0.000"
_UNITY = "1.000"


def _milli(text: str) -> int:
    """Decimal text with 3 places -> thousandths ("" -> 0)."""
    if len(text) > 4 and text[-4] == "." and text[0] != "-":  # f3's text: the hot path
        return int(text[:-4]) * 1000 + int(text[-3:])
    if not text:
        return 0
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * 1000 + int((frac + "000")[:3]))


def _sum(*texts: str) -> str:
    return f3(sum(_milli(t) for t in texts))


def _frequency(spec: MeterSpec, t: int) -> str:
    return f3(50_000 + int(mix(spec.seed, t // 900, 50) % 81) - 40)


def _phases_of(spec: MeterSpec) -> int:
    """How many phases the meter has (a single-phase meter carries everything on phase a)."""
    return 3 if spec.phase == 3 else 1


def position(spec: MeterSpec) -> tuple[str, str]:
    """(longitude, latitude) where the meter is installed: a fixed point of the Lahore area
    drawn from the meter's seed (3 places, as every decimal of the protocol)."""
    h = mix(spec.seed, 41)
    return f3(74_200 + h % 250), f3(31_400 + (h >> 20) % 250)


def _instantaneous(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    currents = [row[f"current_phase_{p}"] for p in "abc"]
    volts = [row[f"voltage_phase_{p}"] for p in "abc"]
    live = [_milli(v) for v in volts if _milli(v)]
    pf = row["average_pf"]
    phases = _phases_of(spec)
    return {
        "frequency": _frequency(spec, t),
        "current_total": _sum(*currents),
        "voltage_average": f3(sum(live) // len(live)) if live else _Z,
        "aggregate_active_pwr_abs": _sum(
            row["aggregate_active_pwr_pos"], row["aggregate_active_pwr_neg"]
        ),
        "aggregate_reactive_pwr_abs": _sum(
            row["aggregate_reactive_pwr_pos"], row["aggregate_reactive_pwr_neg"]
        ),
        # the meter's power factor on a live phase; a dead phase carries no load (unity, as the
        # meter shows without load); a phase the meter does not have has no power factor (null)
        **{
            f"pf_phase_{p}": (pf if _milli(v) else _UNITY) if i < phases else ""
            for i, (p, v) in enumerate(zip("abc", volts, strict=True))
        },
    }


_TARIFFS = ("t1", "t2", "t3", "t4", "tl")
_QUANTITIES = ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi")


def _abs_registers(row: dict[str, str], quantities: tuple[str, ...]) -> dict[str, str]:
    return {
        f"{q}_abs_{t}": _sum(row[f"{q}_pos_{t}"], row[f"{q}_neg_{t}"])
        for q in quantities
        for t in _TARIFFS
    }


def _billing(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    return _abs_registers(row, _QUANTITIES)


def _monthly_billing(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    longitude, latitude = position(spec)
    return {
        **_billing(row, spec, t),
        "longitude": longitude,
        "latitude": latitude,
        # the meter's screen at the reading: the total import register, then the MDI
        "picture_1": screen_picture(f"{row['active_energy_pos_tl']} kWh"),
        "picture_2": screen_picture(f"{row['active_mdi_pos_tl']} kW"),
        "reading_mode": "1",  # the MDC reads the meter itself (AMI): automatic
    }


#: Meters that can export (their export registers move): the tampers that reverse energy.
_EXPORTING = frozenset({"reverse_energy", "reverse_polarity"})


def _export_registers(spec: MeterSpec, t: int, interval_s: int) -> dict[str, list[int]]:
    """The meter's export registers (Wh / W, T1..T4 and total) at ``t`` for a load profile row:
    energies as registers, or as the interval's energy for an interval-kind MDC."""
    reg, st = registers_at(spec, t)
    if not spec.lp_registers:
        before = registers_at(spec, t - interval_s)[0]
        reg = [a - b for a, b in zip(reg, before, strict=True)]
    energy, reactive = reg[4:8], reg[12:16]
    return {
        "active_energy": [*energy, sum(energy)],
        "reactive_energy": [*reactive, sum(reactive)],
        "active_mdi": list(st.mdi[5:10]),
        "cumulative_mdi": list(st.cum[5:10]),
    }


#: Per-phase powers of a load profile row and the aggregate they add up to.
_PHASE_POWERS = (
    ("active_pwr_pos", "aggregate_active_pwr_pos"),
    ("active_pwr_neg", "aggregate_active_pwr_neg"),
    ("reactive_pwr_pos", "aggregate_reactive_pwr_pos"),
    ("reactive_pwr_neg", "aggregate_reactive_pwr_neg"),
)


def _split(total: int, parts: list[int]) -> list[int]:
    """``parts`` scaled to add up to ``total`` exactly (the 2019 rows round each phase down, so
    they miss the aggregate by a few thousandths); the remainder goes to the largest part."""
    have = sum(parts)
    if have == total:
        return parts
    if have <= 0:
        return [total, *([0] * (len(parts) - 1))]
    out = [p * total // have for p in parts]
    out[max(range(len(parts)), key=parts.__getitem__)] += total - sum(out)
    return out


def _load_profile(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    out = {"frequency": _frequency(spec, t)}
    export = (
        _export_registers(spec, t, int(row["interval"]) * 60) if spec.tamper in _EXPORTING else None
    )
    for q in _QUANTITIES:
        for i, tariff in enumerate(_TARIFFS):
            value = row[f"{q}_{tariff}"]  # the 2019 register: import
            out[f"{q}_pos_{tariff}"] = value
            if export is None:  # nothing exported: absolute = import (no arithmetic, hot path)
                out[f"{q}_neg_{tariff}"], out[f"{q}_abs_{tariff}"] = _Z, value
            else:
                neg = f3(export[q][i])
                out[f"{q}_neg_{tariff}"], out[f"{q}_abs_{tariff}"] = neg, _sum(value, neg)
    for prefix, total in _PHASE_POWERS:
        names = [f"{prefix}_phase_{p}" for p in "abc"]
        if row[names[1]] == row[names[2]] == _Z and row[names[0]] == row[total]:
            continue  # one phase carries it all: already exact
        split = _split(_milli(row[total]), [_milli(row[n]) for n in names])
        out.update(zip(names, map(f3, split), strict=True))
    out["aggregate_active_pwr_abs"] = _sum(
        row["aggregate_active_pwr_pos"], row["aggregate_active_pwr_neg"]
    )
    out["aggregate_reactive_pwr_abs"] = _sum(
        row["aggregate_reactive_pwr_pos"], row["aggregate_reactive_pwr_neg"]
    )
    return out


_ADDED: dict[str, Callable[[dict[str, str], MeterSpec, int], dict[str, str]]] = {
    "instantaneous": _instantaneous,
    "billing": _billing,
    "monthly_billing": _monthly_billing,
    "load_profile": _load_profile,
}


def _as_3_3(code: str):
    """A 2019 row function re-laid in the 3.3 order with the values 3.3 adds."""
    old_fields, new_fields = FIELDS[code], FIELDS_3_3[code]
    base, added = ROW_FUNCTIONS[code], _ADDED[code]
    time_field = DATASETS_3_3[code].time_field

    def rows(spec: MeterSpec, start: int, end: int, now: int) -> Iterator[tuple[str, ...]]:
        for values in base(spec, start, end, now):
            row = dict(zip(old_fields, values, strict=True))
            t = _epoch(row[time_field])
            row.update(added(row, spec, t))
            yield tuple(row.get(name, "") for name in new_fields)

    return rows


@lru_cache(maxsize=65536)
def _day_event_count(spec: MeterSpec, d: int) -> int:
    """Events the meter records on local day ``d`` (from its data start)."""
    return len(event_list(spec, max(day_start(d), spec.data_start), day_start(d) + DAY - 1))


def _events_before(spec: MeterSpec, t: int) -> int:
    """Events the meter recorded from its data start up to (not including) ``t``: whole days
    are counted once and cached, so a read of the last minutes does not walk the history."""
    first, day = local_day(spec.data_start), local_day(t)
    count = sum(_day_event_count(spec, d) for d in range(first, day))
    return count + len(event_list(spec, max(day_start(day), spec.data_start), t - 1))


def event_rows_3_3(spec: MeterSpec, start: int, end: int, now: int) -> Iterator[tuple[str, ...]]:
    """EVENTS in the 3.3 layout: the 2019 rows with the 3.3 names of their codes and
    ``event_counter``, the meter's running number of the event (the same whatever the window
    read: rows the MDC never got still count, the meter logged them)."""
    old_fields, new_fields = FIELDS["events"], FIELDS_3_3["events"]
    first = max(start, spec.data_start)
    counters = {
        (dt_text(when), code): n
        for n, (when, code) in enumerate(
            event_list(spec, first, min(end, now)), _events_before(spec, first) + 1
        )
    }
    for values in event_rows(spec, start, end, now):
        row = dict(zip(old_fields, values, strict=True))
        code = int(row["event_code"])
        row["event_description"] = EVENT_CODES_3_3.get(code, row["event_description"])
        row["event_counter"] = str(counters[(row["event_datetime"], code)])
        yield tuple(row.get(name, "") for name in new_fields)


def _epoch(text: str) -> int:
    """Wire datetime (PKT) -> epoch seconds, for the deterministic extras only."""
    date, _, clock = text.partition(" ")
    y, m, d = (int(x) for x in date.split("-"))
    hh, mm, ss = (int(x) for x in clock.split(":"))
    # days since 1970-01-01 (civil from days, Howard Hinnant)
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + (yoe * 365 + yoe // 4 - yoe // 100 + doy) - 719468
    return days * DAY + hh * HOUR + mm * 60 + ss - 5 * HOUR


def communication_history_rows(
    spec: MeterSpec, start: int, end: int, now: int
) -> Iterator[tuple[str, ...]]:
    """DEVICE_COMMUNICATION_HISTORY rows with start <= meter_datetime <= end, stored by now:
    one attempt per hour the meter is read (at the hour), failed while the meter is offline."""
    end = min(end, now)
    first = max(start, spec.data_start)
    t = -(-first // HOUR) * HOUR
    while t <= end:
        if readable(spec, t):
            day = day_data(spec, local_day(t))
            stored = delivery(spec, day, t)
            if stored <= now:
                yield _history_row(spec, t, stored, ok=stored - t < HOUR)
        t += HOUR


def _history_row(spec: MeterSpec, t: int, stored: int, *, ok: bool) -> tuple[str, ...]:
    h = mix(spec.seed, t // HOUR, 77)
    sent, received = 300 + h % 400, (6000 + (h >> 12) % 9000) if ok else 0
    duration = 20 + (h >> 24) % 40 if ok else 180
    at = dt_text(t)
    if ok:
        log = "\n".join(
            (
                f"{at} Establishing Connection with Meter",
                f"{at} Connection Established.",
                f"{at} Login",
                f"{at} Success",
                *(f"{at} {q}? OK upto {at}" for q in ("INST", "BILL", "MBIL", "LPRO", "EVNT")),
                f"{dt_text(t + duration)} DC",
            )
        )
    else:
        log = f"{at} Establishing Connection with Meter\n{dt_text(t + 180)} No Response. Timeout."
    longitude, latitude = position(spec)
    values = {
        "msn": spec.msn_text,
        "global_device_id": spec.gdi,
        "meter_datetime": at,
        "communication_status": "1" if ok else "0",
        "message_log": log,
        "longitude": longitude,
        "latitude": latitude,
        "bytes_sent": str(sent),
        "bytes_received": str(received),
        "bytes_remaining": str(500_000_000 - (h >> 30) % 100_000_000),
        "sim_id": sim_id(spec),
        "connection_duration": str(duration),
        "mdc_read_datetime": dt_text(stored - 2),
        "db_datetime": dt_text(stored),
    }
    return tuple(values.get(name, "") for name in FIELDS_3_3["device_comm_history"])


def sim_id(spec: MeterSpec) -> str:
    """The SIM ID of the meter's modem (the fleet draws one per meter; an older meter without
    one has the ID its serial number gives)."""
    return spec.sim_id or f"8992{spec.msn_text[-8:]:0>8}"


#: The 3.3 row functions (the data sets 3.3 changes or adds; meter visuals: ``v33_visuals``).
ROW_FUNCTIONS_3_3 = {code: _as_3_3(code) for code in _ADDED}
ROW_FUNCTIONS_3_3["events"] = event_rows_3_3
ROW_FUNCTIONS_3_3["device_comm_history"] = communication_history_rows


def layout(profile: str | None, code: str):
    """(field names, row function) of a data set as an MDC of ``profile`` serves it (meter
    visuals have no row function: one row per meter, ``v33_visuals.visuals_row_of``)."""
    if profile == "3.3" and code in FIELDS_3_3:
        return FIELDS_3_3[code], ROW_FUNCTIONS_3_3.get(code)
    return FIELDS[code], ROW_FUNCTIONS.get(code)


__all__ = [
    "FIELDS_3_3",
    "ROW_FUNCTIONS_3_3",
    "communication_history_rows",
    "event_rows_3_3",
    "layout",
    "position",
    "sim_id",
]
