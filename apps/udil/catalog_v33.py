"""The web services of UDIL 3.3 (PITC, September 2025) where they differ from 2019.

3.3 renames three write services (``update_time_of_use``, ``update_wake_up_sim_number``,
``update_meter_status``) and the on-demand request (``on_demand_data_read``, one device, no
VISL), replaces the time-of-use parameters by day/week/season/holiday profiles, widens
device creation (APMS and grid meters, ``bidirectional_device``, Mode-I/II), and adds
``update_device_metadata``, ``update_mdi_reset_date``, ``apms_tripping_events``,
``parameterization_cancellation``, ``update_major_alarms`` and ``on_demand_parameter_read``
(answered as meter-visuals columns). ``docs/udil-notes.md`` ("3.3 services") records what
this module settles where the text is silent or contradicts itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .catalog import (
    COMMUNICATION_MODE_CHOICES,
    DEVICE_IDENTITY,
    GLOBAL_DEVICE_IDS,
    METER_DATA_SAMPLING,
    METER_STATUS_UPDATE,
    REQUEST_DATETIME,
    WAKE_UP_SIM_NUMBER_UPDATE,
    Param,
    Service,
    _choice,
    _ordered,
    _p,
    _write,
)
from .errors import FieldError
from .tou import (
    _tou_references,
    v_day_profile,
    v_holiday_profile,
    v_season_profile,
    v_week_profile,
)
from .validators import (
    parse_json_array,
    v_code_choice,
    v_datetime,
    v_int_range,
    v_phone,
    v_positive_decimal,
    v_str,
    v_time,
)
from .values import parse_int, parse_str, show


def _renamed(service: Service, name: str, section: str) -> Service:
    """A 2019 service under its 3.3 name and section (same parameters and checks)."""
    return replace(service, name=name, path=name, spec_section=section)


# ------------------------------------------------------------------ choices
DEVICE_TYPE_CHOICES_3_3 = ((1, "Meter"), (2, "DCU"), (3, "APMS"), (4, "Grid meter"), (5, "Other"))
COMMUNICATION_TYPE_CHOICES_3_3 = ((1, "Mode-I (non keep-alive)"), (2, "Mode-II (keep-alive)"))
PHASE_CHOICES_3_3 = ((1, "Single phase"), (2, "Other"), (3, "Three phase"))
METER_TYPE_CHOICES_3_3 = (
    (1, "Normal"),
    (2, "Whole current"),
    (3, "CTO"),
    (4, "CTPT"),
    (5, "Other"),
)
BIDIRECTIONAL_CHOICES = ((0, "No"), (1, "Yes"))
TRIPPING_TYPE_CHOICES = (
    ("OVFC", "Over voltage function"),
    ("UVFC", "Under voltage function"),
    ("OCFC", "Over current function"),
    ("OLFC", "Over load function"),
    ("VUFC", "Voltage unbalance function"),
    ("PFFC", "Phase failure function"),
    ("CUFC", "Current unbalance function"),
    ("HAPF", "High apparent power function"),
)
PARAMETERIZATION_TYPE_CHOICES = (
    ("SANC", "Programmed sanctioned load"),
    ("LSCH", "Programmed load shedding schedule"),
    ("TIOU", "Programmed time of use"),
    *TRIPPING_TYPE_CHOICES,
)
DATA_READ_TYPE_CHOICES = (
    ("INST", "Instantaneous data"),
    ("BILL", "Billing profiles"),
    ("MBIL", "Monthly billing profile"),
    ("LPRO", "Load profile"),
    ("EVNT", "Events"),
)
PARAMETER_READ_TYPE_CHOICES = (
    ("AUXR", "Auxiliary relay status"),
    ("DVTM", "Device time"),
    ("SANC", "Programmed sanctioned load"),
    ("LSCH", "Programmed load shedding schedule"),
    ("TIOU", "Programmed time of use"),
    ("IPPO", "Programmed IP & port"),
    ("MDSM", "Programmed meter data sampling"),
    ("OPPO", "Programmed optical port"),
    ("WSIM", "Programmed wake-up SIM numbers"),
    ("MSIM", "SIM ID of the SIM inside the meter"),
    ("MTST", "Meter status"),
    ("DMDT", "Device metadata"),
    ("MDI", "Programmed MDI reset date & time"),
    *TRIPPING_TYPE_CHOICES,
    ("PMAL", "Programmed major alarms"),
)
#: The meter-visuals columns (3.1.6) each parameter-read type answers with (besides
#: global_device_id and msn); tripping types answer with their own settings.
PARAMETER_READ_COLUMNS: dict[str, tuple[str, ...]] = {
    "AUXR": ("auxr_datetime", "auxr_status"),
    "DVTM": ("dvtm_datetime", "dvtm_meter_clock"),
    "SANC": (
        "sanc_datetime",
        "sanc_load_limit",
        "sanc_maximum_retries",
        "sanc_retry_interval",
        "sanc_threshold_duration",
        "sanc_retry_clear_interval",
    ),
    "LSCH": (
        "lsch_datetime",
        "lsch_start_datetime",
        "lsch_end_datetime",
        "lsch_load_shedding_slabs",
    ),
    "TIOU": (
        "tiou_datetime",
        "tiou_day_profile",
        "tiou_week_profile",
        "tiou_season_profile",
        "tiou_holiday_profile",
        "tiou_activation_datetime",
    ),
    "IPPO": (
        "ippo_datetime",
        "ippo_primary_ip_address",
        "ippo_secondary_ip_address",
        "ippo_primary_port",
        "ippo_secondary_port",
    ),
    "MDSM": (
        "mdsm_datetime",
        "mdsm_activation_datetime",
        "mdsm_data_type",
        "mdsm_sampling_interval",
        "mdsm_sampling_initial_time",
    ),
    "OPPO": ("oppo_datetime", "oppo_optical_port_on_datetime", "oppo_optical_port_off_datetime"),
    "WSIM": (
        "wsim_datetime",
        "wsim_wakeup_number_1",
        "wsim_wakeup_number_2",
        "wsim_wakeup_number_3",
    ),
    "MSIM": ("msim_id",),
    "MTST": ("mtst_datetime", "mtst_meter_activation_status"),
    "DMDT": (
        "dmdt_datetime",
        "dmdt_communication_mode",
        "dmdt_bidirectional_device",
        "dmdt_communication_type",
        "dmdt_communication_interval",
        "dmdt_initial_communication_time",
        "dmdt_phase",
        "dmdt_meter_type",
    ),
    "MDI": ("mdi_reset_date", "mdi_reset_time"),
    **{
        code: (
            f"{code.lower()}_datetime",
            f"{code.lower()}_critical_event_threshold_limit",
            f"{code.lower()}_critical_event_log_time",
            f"{code.lower()}_tripping_event_threshold_limit",
            f"{code.lower()}_tripping_event_log_time",
            f"{code.lower()}_enable_tripping",
        )
        for code, _ in TRIPPING_TYPE_CHOICES
    },
    "PMAL": ("pmal_datetime", "pmal_major_alarms_list"),
}
assert set(PARAMETER_READ_COLUMNS) == {c for c, _ in PARAMETER_READ_TYPE_CHOICES}
#: The spec's limit (3.4): a meter not online within this is answered asynchronously.
ON_DEMAND_SYNC_SECONDS = 180
MAJOR_ALARMS_MAX = 10


def v_event_codes(value: Any, field: str) -> list[int]:
    """1 to 10 distinct event codes (3.1.5), as a JSON array."""
    items = parse_json_array(value, field) if not isinstance(value, int) else [value]
    if not items:
        raise FieldError(field, "must contain at least one event code")
    if len(items) > MAJOR_ALARMS_MAX:
        raise FieldError(field, f"may hold at most {MAJOR_ALARMS_MAX} event codes")
    out: list[int] = []
    for i, item in enumerate(items, 1):
        try:
            code = parse_int(item.strip() if isinstance(item, str) else item, field)
        except FieldError:
            code = None
        if code is None or not 1 <= code <= 9999:
            raise FieldError(field, f"item {i} must be an event code, got {show(item)}")
        if code in out:
            raise FieldError(field, f"item {i} repeats event code {code}")
        out.append(code)
    return out


def v_one_device(value: Any, field: str) -> list[str] | None:
    """One global device id ("only one id allowed", 3.4.1), bare or as a one-item array."""
    if isinstance(value, str) and value.strip() and not value.strip().startswith("["):
        ids = [value.strip().strip('"')]
    else:
        ids = GLOBAL_DEVICE_IDS.validator(value, field)
    if ids is not None and len(ids) != 1:
        raise FieldError(field, f"must name exactly one device, got {len(ids)}")
    if ids is not None:
        parse_str(ids[0], field)
    return ids


def _tou(name: str, item: str, validator, description: str, *, required: bool = True) -> Param:
    return _p(name, "tou", validator, description, required=required, is_array=True, item_kind=item)


def _periodic_mode_i(typed: dict[str, Any]) -> dict[str, str]:
    if typed.get("communication_type") == 1 and typed.get("communication_interval") is None:
        return {"communication_interval": "is required when communication_type is 1 (Mode-I)"}
    return {}


def _data_read_window(typed: dict[str, Any]) -> dict[str, str]:
    kind = typed.get("type")
    if kind is None or kind == "INST":
        return {}
    return {
        name: f"is required for type {kind}"
        for name in ("start_datetime", "end_datetime")
        if typed.get(name) is None
    }


def _metadata_params() -> tuple[Param, ...]:
    return (
        _choice("communication_mode", COMMUNICATION_MODE_CHOICES, "Communication mode"),
        _choice("bidirectional_device", BIDIRECTIONAL_CHOICES, "Bi-directional device"),
        _choice("communication_type", COMMUNICATION_TYPE_CHOICES_3_3, "Communication type"),
        _p(
            "initial_communication_time",
            "time",
            v_time(True),
            "Initial communication time (HH:mm:ss)",
            required=False,
        ),
        _p(
            "communication_interval",
            "int",
            v_int_range(0),
            "Communication interval in minutes (Mode-I; otherwise 0)",
            required=False,
        ),
        _choice("phase", PHASE_CHOICES_3_3, "Phase: 1 single, 2 other, 3 three phase"),
        _choice("meter_type", METER_TYPE_CHOICES_3_3, "Meter type"),
    )


_MDI_DATE = _p("mdi_reset_date", "int", v_int_range(1, 28), "Day of every month the MDI resets")
_MDI_TIME = _p("mdi_reset_time", "time", v_time(True), "Time the MDI resets (HH:mm:ss)")
_NONNEG = v_int_range(0)

UPDATE_TIME_OF_USE = _write(
    "update_time_of_use",
    "3.3.5",
    "Program the tariff calendar: day, week, season and holiday profiles",
    _tou(
        "day_profile",
        "day_profile",
        v_day_profile,
        "Day profiles: a name and the start times (HH:mm, ascending) of its tariffs",
    ),
    _tou(
        "week_profile",
        "week_profile",
        v_week_profile,
        "Week profiles: a name and the day profile of each day, Monday to Sunday",
    ),
    _tou(
        "season_profile",
        "season_profile",
        v_season_profile,
        "Season profiles: a name, its week profile and its start date (dd-MM)",
    ),
    _tou(
        "holiday_profile",
        "holiday_profile",
        v_holiday_profile,
        "Holidays: a name, the date (dd-MM) and the day profile to apply",
        required=False,
    ),
    _p("activation_datetime", "datetime", v_datetime, "Date & time the calendar activates"),
    checks=(_tou_references,),
)
# Renamed in 3.3 with the same parameters: derived from the 2019 definitions, not restated.
UPDATE_WAKE_UP_SIM_NUMBER = _renamed(
    WAKE_UP_SIM_NUMBER_UPDATE, "update_wake_up_sim_number", "3.3.10"
)
UPDATE_METER_STATUS = _renamed(METER_STATUS_UPDATE, "update_meter_status", "3.3.11")
DEVICE_CREATION_3_3 = Service(
    name="device_creation",
    path="device_creation",
    kind="write",
    params=(
        DEVICE_IDENTITY,
        _choice("device_type", DEVICE_TYPE_CHOICES_3_3, "Device type"),
        REQUEST_DATETIME,
        *_metadata_params(),
        _p("sim_number", "phone", v_phone, "SIM number", required=False),
        _p("sim_id", "str", v_str(), "SIM ID", required=False),
        _p(
            "mdi_reset_date",
            "int",
            v_int_range(1, 28),
            "Day of every month the MDI resets",
            required=False,
        ),
        _p(
            "mdi_reset_time",
            "time",
            v_time(True),
            "Time the MDI resets (HH:mm:ss)",
            required=False,
        ),
    ),
    description="First-time creation of devices in the MDC",
    spec_section="3.3.6",
    checks=(_periodic_mode_i,),
)
UPDATE_DEVICE_METADATA = _write(
    "update_device_metadata",
    "3.3.12",
    "Change the communication mode, type, interval, phase and meter type of devices",
    *_metadata_params(),
    checks=(_periodic_mode_i,),
)
UPDATE_MDI_RESET_DATE = _write(
    "update_mdi_reset_date",
    "3.3.13",
    "Change the day and time of the month the meters reset their MDI",
    _MDI_DATE,
    _MDI_TIME,
)
APMS_TRIPPING_EVENTS = _write(
    "apms_tripping_events",
    "3.3.14",
    "Set the alarm and tripping thresholds of an APMS protection function",
    _p(
        "type",
        "choice",
        v_code_choice(TRIPPING_TYPE_CHOICES),
        "Tripping function",
        choices=TRIPPING_TYPE_CHOICES,
    ),
    _p(
        "critical_event_threshold_limit",
        "decimal",
        v_positive_decimal,
        "Alarm threshold (V for OVFC/UVFC/PFFC, A for OCFC, kW for OLFC, kVA for HAPF, % for "
        "VUFC/CUFC)",
    ),
    _p("critical_event_log_time", "int", _NONNEG, "Monitoring time before the alarm (seconds)"),
    _p(
        "tripping_event_threshold_limit",
        "decimal",
        v_positive_decimal,
        "Tripping threshold (same unit as the alarm threshold)",
    ),
    _p("tripping_event_log_time", "int", _NONNEG, "Monitoring time before tripping (seconds)"),
    _choice("enable_tripping", ((0, "Disable"), (1, "Enable")), "0 Disable, 1 Enable"),
)
PARAMETERIZATION_CANCELLATION = Service(
    name="parameterization_cancellation",
    path="parameterization_cancellation",
    kind="write",
    params=(
        GLOBAL_DEVICE_IDS,
        _p(
            "type",
            "choice",
            v_code_choice(PARAMETERIZATION_TYPE_CHOICES),
            "Programmed operation to cancel (the meter returns to its factory default)",
            choices=PARAMETERIZATION_TYPE_CHOICES,
        ),
        _p(
            "request_datetime", "datetime", v_datetime, "Date & time of the request", required=False
        ),
    ),
    description="Cancel a programmed operation (meters return to factory defaults)",
    spec_section="3.3.15",
)
UPDATE_MAJOR_ALARMS = _write(
    "update_major_alarms",
    "3.3.16",
    "Configure the event codes meters report at once as major alarms (at most 10)",
    _p(
        "major_alarms_list",
        "array",
        v_event_codes,
        "Event codes (3.1.5) to report as major alarms, e.g. [111, 121]",
        is_array=True,
    ),
)
_ONE_DEVICE = _p(
    "global_device_id",
    "array",
    v_one_device,
    "Unique ID of the device (one only)",
    is_array=True,
)
ON_DEMAND_DATA_READ = Service(
    name="on_demand_data_read",
    path="on_demand_data_read",
    kind="on_demand",
    params=(
        _ONE_DEVICE,
        _p(
            "type",
            "choice",
            v_code_choice(DATA_READ_TYPE_CHOICES),
            "Data to read from the meter",
            choices=DATA_READ_TYPE_CHOICES,
        ),
        _p(
            "start_datetime",
            "datetime",
            v_datetime,
            "Start of the data window (not for INST)",
            required=False,
        ),
        _p(
            "end_datetime",
            "datetime",
            v_datetime,
            "End of the data window (not for INST)",
            required=False,
        ),
        _p(
            "request_datetime", "datetime", v_datetime, "Date & time of the request", required=False
        ),
    ),
    description="Read data from one meter now: the rows at once when the meter is online within "
    f"{ON_DEMAND_SYNC_SECONDS} s, else later in transaction_status",
    spec_section="3.4.1",
    checks=(_data_read_window, _ordered("start_datetime", "end_datetime")),
    max_devices=1,
)
ON_DEMAND_PARAMETER_READ = Service(
    name="on_demand_parameter_read",
    path="on_demand_parameter_read",
    kind="on_demand",
    params=(
        _ONE_DEVICE,
        _p(
            "type",
            "choice",
            v_code_choice(PARAMETER_READ_TYPE_CHOICES),
            "Parameter to read from the meter",
            choices=PARAMETER_READ_TYPE_CHOICES,
        ),
        _p(
            "request_datetime", "datetime", v_datetime, "Date & time of the request", required=False
        ),
    ),
    description="Read a programmed parameter of one meter, answered as meter-visuals columns",
    spec_section="3.4.2",
    max_devices=1,
)

#: 3.3's services that replace or add to 2019's (same name: replaced).
SERVICES_3_3: dict[str, Service] = {
    s.name: s
    for s in (
        UPDATE_TIME_OF_USE,
        UPDATE_WAKE_UP_SIM_NUMBER,
        UPDATE_METER_STATUS,
        DEVICE_CREATION_3_3,
        UPDATE_DEVICE_METADATA,
        UPDATE_MDI_RESET_DATE,
        APMS_TRIPPING_EVENTS,
        PARAMETERIZATION_CANCELLATION,
        UPDATE_MAJOR_ALARMS,
        ON_DEMAND_DATA_READ,
        ON_DEMAND_PARAMETER_READ,
        METER_DATA_SAMPLING,
    )
}
#: 2019 services 3.3 no longer has (renamed: see ALIASES_3_3).
REMOVED_3_3 = (
    "time_of_use_change",
    "wake_up_sim_number_update",
    "meter_status_update",
    "on_demand_request",
)
#: The common (2019) name the MDM calls -> 3.3's own.
ALIASES_3_3 = {
    "time_of_use_change": "update_time_of_use",
    "wake_up_sim_number_update": "update_wake_up_sim_number",
    "meter_status_update": "update_meter_status",
    "on_demand_request": "on_demand_data_read",
}
