"""The UDIL 3.3 meter visuals (3.1.6) in readable form: the columns only a 3.3 MDC fills (the
settings groups ``auxr_*`` .. ``msim_id``, power status, frequency, per-phase power factors) as
sections of label and value for the meter page and the visuals detail page.

Codes become words (relay "Connected", communication type "Mode-II (keep-alive)"), the JSON
arrays of schedules become small tables or text, times stay aware datetimes (the templates show
them in Asia/Karachi with the offset). A 2019 row has none of these columns: it gets no
section, so 2019 meters are not cluttered with empty 3.3 fields. A value a vendor sent that does
not parse (a schedule that is not JSON, a code outside the list) is shown as sent, never an
error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.udil.catalog import ACTIVATION_CHOICES, COMMUNICATION_MODE_CHOICES, DATA_TYPE_CHOICES
from apps.udil.catalog_v33 import (
    BIDIRECTIONAL_CHOICES,
    COMMUNICATION_TYPE_CHOICES_3_3,
    METER_TYPE_CHOICES_3_3,
    PHASE_CHOICES_3_3,
)
from apps.udil.datasets import METER_VISUALS
from apps.udil.datasets_v33 import DATASETS_3_3

_V33 = DATASETS_3_3["meter_visuals"]
#: 3.3 visuals name -> the warehouse column it is stored in (the 2019 one of the same meaning).
COLUMN = {f.name: f.stored_as for f in _V33.fields}
#: The warehouse columns only a 3.3 MDC's visuals fill.
COLUMNS_3_3 = tuple(c for c in COLUMN.values() if c not in set(METER_VISUALS.field_names))

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RELAY = ((0, "Disconnected"), (1, "Connected"))
POWER = ((0, "Power off (failure)"), (1, "Power on"))
RELAY_OPERATE = ((0, "Disconnect"), (1, "Connect"))


@dataclass(frozen=True)
class Table:
    """A small table inside a section row (schedules)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass
class Section:
    title: str
    rows: list[tuple[str, Any]] = field(default_factory=list)
    #: when the MDC investigated this group (its ``<group>_datetime``)
    read_at: Any = None


def is_3_3(visuals) -> bool:
    """Whether a visuals row came from a 3.3 MDC (any 3.3-only column filled)."""
    return any(getattr(visuals, c, None) is not None for c in COLUMNS_3_3)


def _word(choices: Iterable[tuple[Any, str]], value: Any) -> Any:
    """The name of a code (``"2"`` -> "Mode-II (keep-alive)"); an unknown code as sent."""
    names = {str(code): name for code, name in choices}
    text = str(value).strip()
    return names.get(text, text)


def _json(value: Any) -> Any:
    """A JSON text column parsed; None if empty or not JSON (then shown as sent)."""
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _items(parsed: Any) -> list[dict]:
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []


def _slabs(value: Any) -> Any:
    items = _items(_json(value))
    if not items:
        return value
    return Table(
        ("Time", "Relay"),
        tuple(
            (i.get("action_time", ""), _word(RELAY_OPERATE, i.get("relay_operate", "")))
            for i in items
        ),
    )


def _day_profiles(value: Any) -> Any:
    """Day profiles: each tariff from its start time (3.3: T1 from the first start time)."""
    items = _items(_json(value))
    if not items:
        return value
    return Table(
        ("Day profile", "Tariffs"),
        tuple(
            (
                i.get("name", ""),
                ", ".join(
                    f"T{n} from {start}" for n, start in enumerate(i.get("tariff_slabs") or [], 1)
                ),
            )
            for i in items
        ),
    )


def _week_profiles(value: Any) -> Any:
    items = _items(_json(value))
    if not items:
        return value
    return Table(
        ("Week profile", *WEEKDAYS),
        tuple((i.get("name", ""), *(i.get("weekly_day_profile") or [])[:7]) for i in items),
    )


def _season_profiles(value: Any) -> Any:
    items = _items(_json(value))
    if not items:
        return value
    return Table(
        ("Season", "From (dd-MM)", "Week profile"),
        tuple(
            (i.get("name", ""), i.get("start_date", ""), i.get("week_profile_name", ""))
            for i in items
        ),
    )


def _holiday_profiles(value: Any) -> Any:
    parsed = _json(value)
    if parsed == []:
        return "None"
    items = _items(parsed)
    if not items:
        return value
    return Table(
        ("Holiday", "Date (dd-MM)", "Day profile"),
        tuple((i.get("name", ""), i.get("date", ""), i.get("day_profile_name", "")) for i in items),
    )


def _words(choices: Iterable[tuple[Any, str]]) -> Callable[[Any], Any]:
    return lambda value: _word(choices, value)


def _unit(unit: str) -> Callable[[Any], str]:
    return lambda value: f"{value} {unit}"


#: (section title, group prefix, [(label, 3.3 name, how shown)]) in the spec's order.
_Row = tuple[str, str, Callable[[Any], Any] | None]
SECTIONS: tuple[tuple[str, str, tuple[_Row, ...]], ...] = (
    (
        "Supply",
        "",  # no "investigated" time: the power status has its own event time
        (
            ("Power", "power_status", _words(POWER)),
            ("Since", "power_status_datetime", None),
            ("Frequency", "frequency", _unit("Hz")),
            ("Power factor A", "pf_phase_a", None),
            ("Power factor B", "pf_phase_b", None),
            ("Power factor C", "pf_phase_c", None),
            ("Absolute active energy", "aggregate_active_energy_abs_tl", _unit("kWh")),
            ("Absolute reactive energy", "aggregate_reactive_energy_abs_tl", _unit("kVARh")),
        ),
    ),
    ("Relay", "auxr", (("Contactor", "auxr_status", _words(RELAY)),)),
    ("Meter clock", "dvtm", (("Meter time", "dvtm_meter_clock", None),)),
    (
        "Sanctioned load",
        "sanc",
        (
            ("Load limit", "sanc_load_limit", _unit("kW")),
            ("Maximum retries", "sanc_maximum_retries", None),
            ("Retry interval", "sanc_retry_interval", _unit("s")),
            ("Threshold duration", "sanc_threshold_duration", _unit("s")),
            ("Retry count cleared after", "sanc_retry_clear_interval", _unit("s")),
        ),
    ),
    (
        "Load shedding schedule",
        "lsch",
        (
            ("From", "lsch_start_datetime", None),
            ("Until", "lsch_end_datetime", None),
            ("Slabs", "lsch_load_shedding_slabs", _slabs),
        ),
    ),
    (
        "Time of use",
        "tiou",
        (
            ("Day profiles", "tiou_day_profile", _day_profiles),
            ("Week profiles", "tiou_week_profile", _week_profiles),
            ("Seasons", "tiou_season_profile", _season_profiles),
            ("Holidays", "tiou_holiday_profile", _holiday_profiles),
            ("Active from", "tiou_activation_datetime", None),
        ),
    ),
    (
        "IP and port",
        "ippo",
        (
            ("Primary", "ippo_primary_ip_address", None),
            ("Primary port", "ippo_primary_port", None),
            ("Secondary", "ippo_secondary_ip_address", None),
            ("Secondary port", "ippo_secondary_port", None),
        ),
    ),
    (
        "Data sampling",
        "mdsm",
        (
            ("Data", "mdsm_data_type", _words(DATA_TYPE_CHOICES)),
            ("Interval", "mdsm_sampling_interval", _unit("min")),
            ("Initial time slot", "mdsm_sampling_initial_time", _unit("min")),
            ("Active from", "mdsm_activation_datetime", None),
        ),
    ),
    (
        "Optical port",
        "oppo",
        (
            ("Enabled from", "oppo_optical_port_on_datetime", None),
            ("Disabled from", "oppo_optical_port_off_datetime", None),
        ),
    ),
    (
        "Wake-up SIM numbers",
        "wsim",
        tuple((f"Number {i}", f"wsim_wakeup_number_{i}", None) for i in (1, 2, 3)),
    ),
    (
        "Meter status",
        "mtst",
        (("Status", "mtst_meter_activation_status", _words(ACTIVATION_CHOICES)),),
    ),
    (
        "Device metadata",
        "dmdt",
        (
            ("Communication mode", "dmdt_communication_mode", _words(COMMUNICATION_MODE_CHOICES)),
            (
                "Communication type",
                "dmdt_communication_type",
                _words(COMMUNICATION_TYPE_CHOICES_3_3),
            ),
            ("Communication interval", "dmdt_communication_interval", _unit("min")),
            ("Initial communication", "dmdt_initial_communication_time", None),
            ("Bidirectional", "dmdt_bidirectional_device", _words(BIDIRECTIONAL_CHOICES)),
            ("Phase", "dmdt_phase", _words(PHASE_CHOICES_3_3)),
            ("Meter type", "dmdt_meter_type", _words(METER_TYPE_CHOICES_3_3)),
        ),
    ),
    (
        "MDI reset",
        "mdi",
        (
            ("Day of the month", "mdi_reset_date", None),
            ("Time", "mdi_reset_time", None),
        ),
    ),
    ("SIM", "msim", (("SIM ID", "msim_id", None),)),
)
assert {name for _, _, rows in SECTIONS for _, name, _ in rows} <= set(COLUMN)


def visuals_sections(visuals) -> list[Section]:
    """The 3.3 columns of a visuals row as readable sections (none for a 2019 row); a section
    whose values are all empty (nothing programmed) is left out."""
    if visuals is None or not is_3_3(visuals):
        return []
    out = []
    for title, prefix, rows in SECTIONS:
        read_at = getattr(visuals, COLUMN.get(f"{prefix}_datetime", ""), None)
        section = Section(title, read_at=read_at)
        for label, name, show in rows:
            value = getattr(visuals, COLUMN[name], None)
            if value in (None, ""):
                continue
            section.rows.append((label, show(value) if show else value))
        if section.rows:
            out.append(section)
    return out


#: Columns the 3.3 sections show (a 3.3 row's general list leaves them out).
_IN_SECTIONS = {COLUMN[name] for _, _, rows in SECTIONS for _, name, _ in rows}
_SHOWN_2019: dict[str, Callable[[Any], Any]] = {
    "meter_ls_schedule_slabs": _slabs,
    "meter_activation_status": _words(ACTIVATION_CHOICES),
}


def visuals_rows(visuals) -> list[tuple[str, Any]]:
    """The row's columns that 2019 has too, readable, in the spec's order: the filled ones only
    (a 3.3 row: those its sections do not show)."""
    skip = _IN_SECTIONS if is_3_3(visuals) else set()
    out = []
    for f in METER_VISUALS.fields:
        value = getattr(visuals, f.name, None)
        if value in (None, "") or f.name in skip or f.name in ("msn", "global_device_id"):
            continue
        show = _SHOWN_2019.get(f.name)
        out.append((f.verbose_name, show(value) if show else value))
    return out
