"""Rows of a UDIL 3.3 MDC: the 2019 rows of the same meter-time, laid out in the 3.3 field order
with the values 3.3 adds, and the DEVICE_COMMUNICATION_HISTORY data set.

The physics stays the 2019 generator's (``rows``, ``load_profile``); 3.3 only adds views of it:

* absolute registers and powers are import + export (the simulated meters never export, so they
  equal the import values); a 3.3 load profile's ``*_pos_*`` registers are the 2019 load profile
  registers (the import registers, NOTES.md);
* ``frequency`` is 50 Hz with a small deterministic wobble, ``current_total`` the sum of the
  phase currents, ``voltage_average`` the mean of the phases that carry voltage, the per-phase
  power factors the meter's power factor on each live phase;
* monthly billing's pictures and position are empty (optional), ``reading_mode`` 1 (automatic);
* events carry the 3.3 names of their codes (``apps.udil.events_v33``), no counter (optional);
* meter visuals: the 2019 visuals row under 3.3's names, with the grid values of the meter's
  instantaneous row at its last contact and the states 3.3 adds (relay, clock, TOU, SIM);
* communication history: one row per meter and hour the MDC reads it (the hour's end), with a
  log in the shape of the spec's samples; a meter offline at that hour has a failed attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson

from apps.simulator.generator.base import (
    DAY,
    FIELDS,
    PKT_OFFSET,
    TICK,
    dt_text,
    f3,
    local_day,
    mix,
)
from apps.simulator.generator.days import day_data, delivery, readable
from apps.simulator.generator.rows import ROW_FUNCTIONS, last_contact, visuals_row
from apps.simulator.generator.spec import MeterSpec
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.udil.events_v33 import EVENT_CODES_3_3

HOUR = 3600
#: Field order of each 3.3 data set (the protocol's wire order).
FIELDS_3_3: dict[str, tuple[str, ...]] = {code: ds.wire_order for code, ds in DATASETS_3_3.items()}
_Z = "0.000"


def _milli(text: str) -> int:
    """Decimal text with 3 places -> thousandths ("" -> 0)."""
    if not text:
        return 0
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * 1000 + int((frac + "000")[:3]))


def _sum(*texts: str) -> str:
    return f3(sum(_milli(t) for t in texts))


def _frequency(spec: MeterSpec, t: int) -> str:
    return f3(50_000 + int(mix(spec.seed, t // 900, 50) % 81) - 40)


def _instantaneous(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    currents = [row[f"current_phase_{p}"] for p in "abc"]
    volts = [row[f"voltage_phase_{p}"] for p in "abc"]
    live = [_milli(v) for v in volts if _milli(v)]
    pf = row["average_pf"]
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
        **{f"pf_phase_{p}": pf if _milli(v) else "" for p, v in zip("abc", volts, strict=True)},
    }


_TARIFFS = ("t1", "t2", "t3", "t4", "tl")


def _abs_registers(row: dict[str, str], quantities: tuple[str, ...]) -> dict[str, str]:
    return {
        f"{q}_abs_{t}": _sum(row[f"{q}_pos_{t}"], row[f"{q}_neg_{t}"])
        for q in quantities
        for t in _TARIFFS
    }


def _billing(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    return _abs_registers(row, ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi"))


def _monthly_billing(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    return {**_billing(row, spec, t), "reading_mode": "1"}


def _load_profile(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    out = {"frequency": _frequency(spec, t)}
    for q in ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi"):
        for tariff in _TARIFFS:
            value = row[f"{q}_{tariff}"]  # the 2019 register: import
            out[f"{q}_pos_{tariff}"] = value
            out[f"{q}_neg_{tariff}"] = _Z if value else ""
            out[f"{q}_abs_{tariff}"] = value
    out["aggregate_active_pwr_abs"] = _sum(
        row["aggregate_active_pwr_pos"], row["aggregate_active_pwr_neg"]
    )
    out["aggregate_reactive_pwr_abs"] = _sum(
        row["aggregate_reactive_pwr_pos"], row["aggregate_reactive_pwr_neg"]
    )
    return out


def _events(row: dict[str, str], spec: MeterSpec, t: int) -> dict[str, str]:
    code = int(row["event_code"])
    return {"event_description": EVENT_CODES_3_3.get(code, row["event_description"])}


_ADDED: dict[str, Callable[[dict[str, str], MeterSpec, int], dict[str, str]]] = {
    "instantaneous": _instantaneous,
    "billing": _billing,
    "monthly_billing": _monthly_billing,
    "load_profile": _load_profile,
    "events": _events,
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
    values = {
        "msn": spec.msn_text,
        "global_device_id": spec.gdi,
        "meter_datetime": at,
        "communication_status": "1" if ok else "0",
        "message_log": log,
        "bytes_sent": str(sent),
        "bytes_received": str(received),
        "bytes_remaining": str(500_000_000 - (h >> 30) % 100_000_000),
        "sim_id": f"8992{spec.msn_text[-8:]:0>8}",
        "connection_duration": str(duration),
        "mdc_read_datetime": dt_text(stored - 2),
        "db_datetime": dt_text(stored),
    }
    return tuple(values.get(name, "") for name in FIELDS_3_3["device_comm_history"])


#: 3.3 visuals name -> the 2019 visuals field holding the same value.
_VISUALS_FROM_2019 = {f.name: f.stored_as for f in DATASETS_3_3["meter_visuals"].fields if f.column}


def visuals_row_3_3(spec: MeterSpec, meter, now: int) -> tuple[str, ...] | None:
    """METER_VISUALS in the 3.3 layout: the latest state of the meter at ``now``."""
    old = visuals_row(spec, meter, now)
    if old is None:
        return None
    v19 = dict(zip(FIELDS["meter_visuals"], old, strict=True))
    tc = last_contact(spec, now)
    at = dt_text(tc)
    tick = tc - (tc + PKT_OFFSET) % TICK
    inst = next(iter(ROW_FUNCTIONS_3_3["instantaneous"](spec, tick, tick, tick + DAY)), None)
    grid = dict(zip(FIELDS_3_3["instantaneous"], inst, strict=True)) if inst else {}
    relay = "0" if v19["last_contactor_off_datetime"] > v19["last_contactor_on_datetime"] else "1"
    tou = orjson.loads(v19["meter_tariff_identification"])
    day_profile = [{"name": "day_1", "tariff_slabs": [s["time_slab"][0] for s in tou["slabs"]]}]
    values = {
        **v19,
        **{name: v19[old_name] for name, old_name in _VISUALS_FROM_2019.items()},
        **{k: grid.get(k, "") for k in ("frequency", "average_pf")},
        **{
            f"{q}_phase_{p}": grid.get(f"{q}_phase_{p}", "")
            for q in ("current", "voltage", "pf")
            for p in "abc"
        },
        "meter_datetime": v19["meter_last_comm_datetime"],
        "mdc_read_datetime": at,
        "db_datetime": at,
        "aggregate_active_energy_abs_tl": _sum(
            v19["last_active_energy_pos_tl"], v19["last_active_energy_neg_tl"]
        ),
        "aggregate_active_energy_abs_tl_datetime": at,
        "aggregate_reactive_energy_abs_tl": _sum(
            v19["last_reactive_energy_pos_tl"], v19["last_reactive_energy_neg_tl"]
        ),
        "aggregate_reactive_energy_abs_tl_datetime": at,
        "power_status": "1",
        "auxr_datetime": at,
        "auxr_status": relay,
        "dvtm_datetime": at,
        "sanc_datetime": at if v19["meter_load_limit_set"] else "",
        "lsch_datetime": at if v19["meter_ls_schedule_slabs"] else "",
        "tiou_datetime": at,
        "tiou_day_profile": orjson.dumps(day_profile).decode(),
        "mtst_datetime": at,
        "msim_id": f"8992{spec.msn_text[-8:]:0>8}",
    }
    return tuple(values.get(name, "") for name in FIELDS_3_3["meter_visuals"])


def visuals_row_of(profile: str | None):
    """The visuals row function of an MDC of ``profile``: ``(spec, meter, now) -> row``."""
    return visuals_row_3_3 if profile == "3.3" else visuals_row


#: The 3.3 row functions (the data sets 3.3 changes or adds; meter visuals: visuals_row_of).
ROW_FUNCTIONS_3_3 = {code: _as_3_3(code) for code in _ADDED}
ROW_FUNCTIONS_3_3["device_comm_history"] = communication_history_rows


def layout(profile: str | None, code: str):
    """(field names, row function) of a data set as an MDC of ``profile`` serves it (meter
    visuals have no row function: one row per meter, :func:`visuals_row_of`)."""
    if profile == "3.3" and code in FIELDS_3_3:
        return FIELDS_3_3[code], ROW_FUNCTIONS_3_3.get(code)
    return FIELDS[code], ROW_FUNCTIONS.get(code)


__all__ = [
    "FIELDS_3_3",
    "ROW_FUNCTIONS_3_3",
    "communication_history_rows",
    "layout",
    "visuals_row_3_3",
    "visuals_row_of",
]
