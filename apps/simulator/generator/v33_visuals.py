"""METER_VISUALS of a UDIL 3.3 MDC (3.1.6) and the programmed settings of a meter, which a 3.3
``on_demand_parameter_read`` answers with the same columns (3.4.2: one row of the type's visuals
columns), so the visuals and a parameter read of a meter always agree.

The visuals row is the 2019 visuals row under 3.3's names, with:

* the grid values of the meter's instantaneous row at its last contact (currents, voltages,
  frequency, power factors) and the power status of its last power-fail event;
* each settings group (``auxr_*``, ``sanc_*``, ``lsch_*``, ``tiou_*``, ``ippo_*``, ``mdsm_*``,
  ``oppo_*``, ``wsim_*``, ``mtst_*``, ``dmdt_*``, ``mdi_*``, ``msim_id``) as the meter holds it:
  what the commands applied to it programmed, else the meter's own state (the TOU and sampling
  in force, the fleet's IP, port and SIM), investigated at the last contact.

Null stays only where the meter has nothing to report: no command was ever sent to it
(``last_command*``), its relay never opened (``last_contactor_off_datetime``), no sanctioned
load, load-shedding schedule, optical-port window or wake-up number was ever programmed (the
``sanc_*``, ``lsch_*``, ``oppo_*``, ``wsim_*`` values and their ``*_datetime``), or it does not
have the phase (``pf_phase_b``/``_c`` of a single-phase meter).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from typing import Any

import orjson

from apps.simulator.generator.base import (
    DAY,
    FIELDS,
    PKT_OFFSET,
    POWER_FAIL_END,
    POWER_FAIL_START,
    TICK,
    aware,
    day_start,
    dt_text,
    epoch_of,
    local_day,
)
from apps.simulator.generator.rows import event_list, last_contact, visuals_row
from apps.simulator.generator.spec import MeterSpec
from apps.simulator.generator.v33 import FIELDS_3_3, ROW_FUNCTIONS_3_3, _sum, sim_id
from apps.udil.catalog_v33 import PARAMETER_READ_COLUMNS
from apps.udil.datasets_v33 import DATASETS_3_3

#: 3.3 visuals name -> the 2019 visuals field holding the same value.
_VISUALS_FROM_2019 = {f.name: f.stored_as for f in DATASETS_3_3["meter_visuals"].fields if f.column}
#: The parameter-read types whose columns the visuals row has (tripping functions and major
#: alarms are read by parameter read only).
VISUALS_GROUPS = tuple(
    kind
    for kind, columns in PARAMETER_READ_COLUMNS.items()
    if set(columns) <= set(FIELDS_3_3["meter_visuals"])
)
#: Settings groups that exist only once programmed (their columns are null before).
_PROGRAMMED_ONLY = ("SANC", "LSCH", "OPPO", "WSIM")
#: How far back the visuals look for the last power-fail event (then: powered since the start).
_POWER_LOOKBACK_DAYS = 62


def _since(spec: MeterSpec, name: str, t: int) -> int:
    """When the value of setting ``name`` in force at ``t`` took effect (the meter's data start
    for the initial setting)."""
    epochs = spec.timelines.get(name, ((), ()))[0]
    i = bisect_right(epochs, t)
    return max(epochs[i - 1] if i else spec.data_start, spec.data_start)


def communication_type_3_3(stored: int | None) -> int:
    """The meter's communication type in 3.3's code list (1 Mode-I non keep-alive, 2 Mode-II
    keep-alive). A fleet meter made 2019-style keeps 2019's code: 0 "always on" is keep-alive,
    1 "periodic" is Mode-I; 3.3 device creation and metadata store 3.3's codes."""
    return 2 if not stored else 1 if stored == 1 else 2


def _tou_calendar(spec: MeterSpec, t: int) -> dict[str, Any]:
    """The TOU in force at ``t`` as 3.3's calendar (day, week, season and holiday profiles):
    one day profile for every day of the year, its tariff start times the times the tariff
    changes, ascending (3.3 numbers tariffs by position: T1 from the first start time)."""
    tou = orjson.loads(spec.at("tou", t) or "{}")
    starts = sorted({time for a, b, _ in tou.get("slabs", []) for time in (a, b)})
    return {
        "day_profile": [{"name": "day_1", "tariff_slabs": starts or ["00:00"]}],
        "week_profile": [{"name": "week_1", "weekly_day_profile": ["day_1"] * 7}],
        "season_profile": [
            {"name": "season_1", "week_profile_name": "week_1", "start_date": "01-01"}
        ],
        "holiday_profile": [],  # a calendar without holidays
        "activation_datetime": dt_text(_since(spec, "tou", t)),
    }


def _sampling(spec: MeterSpec, t: int) -> dict[str, Any]:
    """The load profile sampling in force at ``t`` (the meter's own, before any command)."""
    interval, offset = spec.at("lp", t) or (15, 0)
    return {
        "data_type": "LPRO",
        "sampling_interval": interval,
        "sampling_initial_time": offset,
        "activation_datetime": dt_text(_since(spec, "lp", t)),
    }


def parameter_values(meter, spec: MeterSpec, kind: str, at: dt.datetime) -> dict[str, Any]:
    """A parameter-read type's values of the meter at ``at`` (unprefixed column names): what the
    commands applied to it programmed, else its own state."""
    settings = meter.settings or {}
    kept = settings.get(kind.lower()) or {}
    t = epoch_of(at)
    if kind == "AUXR":
        return {"status": meter.relay_state}
    if kind == "DVTM":
        return {"meter_clock": at}
    if kind == "SANC":
        control = settings.get("load_control") or {}
        return {"load_limit": meter.load_limit, **control} if meter.load_limit else {}
    if kind == "IPPO":
        return {
            "primary_ip_address": meter.primary_ip,
            "secondary_ip_address": meter.secondary_ip,
            "primary_port": meter.primary_port,
            "secondary_port": meter.secondary_port,
        }
    if kind == "OPPO":
        return {
            "optical_port_on_datetime": meter.optical_port_on,
            "optical_port_off_datetime": meter.optical_port_off,
        }
    if kind == "WSIM":
        numbers = [n for n in meter.wakeup_numbers or [] if n]
        return {f"wakeup_number_{i}": n for i, n in enumerate(numbers, 1)}
    if kind == "MSIM":
        return {"id": sim_id(spec)}
    if kind == "MTST":
        return {"meter_activation_status": meter.activation_status}
    if kind == "DMDT":
        communication_type = communication_type_3_3(meter.communication_type)
        return {
            "communication_mode": meter.communication_mode,
            "bidirectional_device": kept.get("bidirectional_device", 0),
            "communication_type": communication_type,
            # Mode-I meters call in every interval (the simulated MDC reads hourly); keep-alive: 0
            "communication_interval": (meter.communication_interval or 60)
            if communication_type == 1
            else 0,
            "initial_communication_time": kept.get("initial_communication_time") or "00:00:00",
            "phase": meter.phase,
            "meter_type": meter.meter_type,
        }
    if kind == "MDI":
        return {"reset_date": meter.mdi_reset_date, "reset_time": meter.mdi_reset_time}
    if kind == "TIOU" and not kept.get("day_profile"):  # never programmed, or cancelled
        return _tou_calendar(spec, t)
    if kind == "MDSM" and not kept.get("data_type"):
        return _sampling(spec, t)
    if kind == "LSCH" and not kept.get("load_shedding_slabs"):
        return {}
    return kept  # TIOU, LSCH, MDSM, tripping functions, PMAL: as last programmed


def value_text(value: Any) -> str:
    """A setting as wire text (datetimes PKT, arrays as JSON, none as "")."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return dt_text(epoch_of(value))
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def parameter_columns(meter, spec: MeterSpec, kind: str, at: dt.datetime) -> dict[str, str]:
    """The meter-visuals columns of parameter-read type ``kind`` (3.1.6 names), read at ``at``
    (its ``<type>_datetime``)."""
    prefix = kind.lower()
    values = parameter_values(meter, spec, kind, at)
    row = {}
    for column in PARAMETER_READ_COLUMNS[kind]:
        short = column[len(prefix) + 1 :] if column.startswith(prefix + "_") else column
        if short == "datetime":
            row[column] = value_text(at)
        else:
            row[column] = value_text(values.get(short, values.get(column)))
    return row


def _power_status(spec: MeterSpec, t: int) -> tuple[str, str]:
    """(power_status, power_status_datetime) from the meter's last power-fail start or end event
    at or before ``t``: 0 while a failure lasts; powered since its data start without one."""
    first = local_day(spec.data_start)
    for d in range(local_day(t), max(first, local_day(t) - _POWER_LOOKBACK_DAYS) - 1, -1):
        begin = max(day_start(d), spec.data_start)
        power = [
            (when, code)
            for when, code in event_list(spec, begin, min(t, day_start(d) + DAY - 1))
            if code in (POWER_FAIL_START, POWER_FAIL_END)
        ]
        if power:
            when, code = power[-1]
            return ("0" if code == POWER_FAIL_START else "1"), dt_text(when)
    return "1", dt_text(spec.data_start)


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
    power_status, power_status_at = _power_status(spec, tc)
    investigated = aware(tc)
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
        "power_status": power_status,
        "power_status_datetime": power_status_at,
    }
    for kind in VISUALS_GROUPS:
        group = parameter_columns(meter, spec, kind, investigated)
        stamp = f"{kind.lower()}_datetime"
        if kind in _PROGRAMMED_ONLY and not any(v for k, v in group.items() if k != stamp):
            group = dict.fromkeys(group, "")  # nothing programmed: nothing investigated either
        values.update(group)
    # the relay, clock, limit, schedule and activation as the generator's timelines have them
    # at ``now`` (the 2019 columns), the meter's fields following them
    values["auxr_status"] = relay
    values["dvtm_meter_clock"] = v19["meter_last_comm_datetime"]
    for name, old_name in _VISUALS_FROM_2019.items():
        if name.startswith(("sanc_", "lsch_", "mtst_")):
            values[name] = v19[old_name]
    return tuple(values.get(name, "") for name in FIELDS_3_3["meter_visuals"])


def visuals_row_of(profile: str | None):
    """The visuals row function of an MDC of ``profile``: ``(spec, meter, now) -> row``."""
    return visuals_row_3_3 if profile == "3.3" else visuals_row


__all__ = [
    "VISUALS_GROUPS",
    "communication_type_3_3",
    "parameter_columns",
    "parameter_values",
    "value_text",
    "visuals_row_3_3",
    "visuals_row_of",
]
