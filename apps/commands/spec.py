"""What the MDM adds to each command of the protocol's table (``apps.udil.commands``): whether
a large one needs a second person, and what it records in the registry once executed.

One :class:`MdmCommand` per command, keyed by its common name. ``two_person`` names the
parameter value that makes it a disconnect or deactivation (the commands the two-person rule
is about); ``effect`` turns the executed command's parameters into registry :class:`Effects`
(``Meter`` fields and ``Meter.device_settings`` entries). Adding a command is an entry here,
beside its entry in ``apps.udil.commands.COMMAND_DEFS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from apps.registry.choices import RelayState
from apps.udil.commands import COMMANDS
from apps.udil.timefmt import format_datetime


class Effects(NamedTuple):
    """``fields``: Meter field values; ``settings``: entries of ``Meter.device_settings``."""

    fields: dict[str, Any]
    settings: dict[str, Any]


NO_EFFECT = Effects({}, {})


class Executed(NamedTuple):
    """An executed command as an effect sees it: its wire parameters (``params``), a reader of
    one parameter as the registry keeps it (arrays decoded), and when it executed."""

    params: Mapping[str, str]
    value: Callable[[str], Any]
    at: datetime

    def group(self, *names: str) -> dict[str, Any]:
        """The given parameters that were sent, as the registry keeps them."""
        return {n: self.value(n) for n in names if self.params.get(n) not in (None, "")}


Effect = Callable[[Executed], Effects]


@dataclass(frozen=True)
class MdmCommand:
    """``two_person``: ``(parameter, value)`` that makes the command a disconnect or
    deactivation; ``effect``: what it records in the registry when executed; ``answer``: what
    the MDC returns per device."""

    name: str
    two_person: tuple[str, str] | None = None
    effect: Effect | None = None
    #: What comes back per device: "rows" (data set rows, loaded into the warehouse) or
    #: "parameters" (meter-visuals columns, recorded in the registry, see parameter_setting).
    answer: str | None = None


def settings_group(name: str, *params: str) -> Effect:
    """An effect that records these parameters as one entry of the meter's settings."""

    def effect(done: Executed) -> Effects:
        return Effects({}, {name: done.group(*params)})

    return effect


def _relay(done: Executed) -> Effects:
    value = done.params["relay_operate"]
    state = RelayState.CONNECTED if value == "1" else RelayState.DISCONNECTED
    return Effects({"relay_state": state}, {"relay": int(value)})


def _meter_status(done: Executed) -> Effects:
    status = int(done.params["meter_activation_status"])
    return Effects({"activation_status": status}, {"activation_status": status})


_SANCTIONED_LOAD_PARAMS = (
    "load_limit",
    "maximum_retries",
    "retry_interval",
    "threshold_duration",
    "retry_clear_interval",
)


def _sanctioned_load(done: Executed) -> Effects:
    return Effects(
        {"load_limit_kw": Decimal(done.params["load_limit"])},
        {"sanctioned_load": done.group(*_SANCTIONED_LOAD_PARAMS)},
    )


def _sampling(done: Executed) -> Effects:
    data_type = done.params.get("data_type", "").lower()
    group = done.group("activation_datetime", "sampling_interval", "sampling_initial_time")
    return Effects({}, {f"sampling_{data_type}": group})


def _time_synchronized(done: Executed) -> Effects:
    return Effects({}, {"time_synchronized": format_datetime(done.at)})


_TOU_PARAMS = (
    # 2019
    "season",
    "days",
    "time_slab",
    "tariff_identification",
    # 3.3
    "day_profile",
    "week_profile",
    "season_profile",
    "holiday_profile",
    "activation_datetime",
)
_METADATA_PARAMS = (
    "communication_mode",
    "bidirectional_device",
    "communication_type",
    "communication_interval",
    "initial_communication_time",
    "phase",
    "meter_type",
)


def _tripping(done: Executed) -> Effects:
    kind = done.params.get("type", "").lower()
    group = done.group(
        "critical_event_threshold_limit",
        "critical_event_log_time",
        "tripping_event_threshold_limit",
        "tripping_event_log_time",
        "enable_tripping",
    )
    return Effects({}, {f"apms_{kind}": group})


#: A parameterization_cancellation type -> the settings entry it clears.
_CANCELLED_SETTING = {"SANC": "sanctioned_load", "LSCH": "load_shedding", "TIOU": "time_of_use"}


def _parameterization_cancelled(done: Executed) -> Effects:
    kind = done.params.get("type", "")
    name = _CANCELLED_SETTING.get(kind, f"apms_{kind.lower()}")
    return Effects({}, {name: {"cancelled": format_datetime(done.at)}})


def parameter_setting(type_code: str) -> str:
    """The ``Meter.device_settings`` entry an on-demand parameter read of this type records
    the meter's answer (its meter-visuals columns) under."""
    return f"read_{type_code.strip().lower()}"


MDM_COMMANDS: dict[str, MdmCommand] = {
    c.name: c
    for c in (
        MdmCommand("aux_relay_operations", two_person=("relay_operate", "0"), effect=_relay),
        MdmCommand("time_synchronization", effect=_time_synchronized),
        MdmCommand("sanctioned_load_control", effect=_sanctioned_load),
        MdmCommand(
            "load_shedding_scheduling",
            effect=settings_group(
                "load_shedding", "start_datetime", "end_datetime", "load_shedding_slabs"
            ),
        ),
        MdmCommand("time_of_use_change", effect=settings_group("time_of_use", *_TOU_PARAMS)),
        MdmCommand(
            "device_creation",
            effect=settings_group(
                "mdc_registration",
                "device_type",
                *_METADATA_PARAMS,
                "sim_number",
                "sim_id",
                "mdi_reset_date",
                "mdi_reset_time",
            ),
        ),
        MdmCommand(
            "update_ip_port",
            effect=settings_group(
                "ip_port",
                "primary_ip_address",
                "secondary_ip_address",
                "primary_port",
                "secondary_port",
            ),
        ),
        MdmCommand("meter_data_sampling", effect=_sampling),
        MdmCommand(
            "activate_meter_optical_port",
            effect=settings_group(
                "optical_port", "optical_port_on_datetime", "optical_port_off_datetime"
            ),
        ),
        MdmCommand(
            "wake_up_sim_number_update",
            effect=settings_group(
                "wake_up_numbers", "wakeup_number_1", "wakeup_number_2", "wakeup_number_3"
            ),
        ),
        MdmCommand(
            "meter_status_update",
            two_person=("meter_activation_status", "0"),
            effect=_meter_status,
        ),
        MdmCommand(
            "update_device_metadata", effect=settings_group("device_metadata", *_METADATA_PARAMS)
        ),
        MdmCommand(
            "update_mdi_reset_date",
            effect=settings_group("mdi_reset", "mdi_reset_date", "mdi_reset_time"),
        ),
        MdmCommand("apms_tripping_events", effect=_tripping),
        MdmCommand("parameterization_cancellation", effect=_parameterization_cancelled),
        MdmCommand(
            "update_major_alarms", effect=settings_group("major_alarms", "major_alarms_list")
        ),
        MdmCommand("on_demand_request", answer="rows"),
        MdmCommand("on_demand_parameter_read", answer="parameters"),
        MdmCommand("transaction_cancel"),
    )
}
assert set(MDM_COMMANDS) == set(COMMANDS), set(COMMANDS) ^ set(MDM_COMMANDS)

#: The commands the two-person rule counts, with the parameter value that makes them count.
TWO_PERSON: dict[str, tuple[str, str]] = {
    name: c.two_person for name, c in MDM_COMMANDS.items() if c.two_person
}


def answer_of(command: str) -> str | None:
    """ "rows", "parameters" or None: what a command's devices answer with."""
    return MDM_COMMANDS[command].answer


def is_two_person(command: str, params: Mapping[str, str]) -> bool:
    """Is this a disconnect or deactivation (the commands a second person approves)."""
    rule = TWO_PERSON.get(command)
    return rule is not None and params.get(rule[0]) == rule[1]


def registry_effects_of(
    command: str, params: Mapping[str, str], param_of: Callable[[str], Any], at: datetime
) -> Effects:
    """What an executed command records in the registry (see :data:`MDM_COMMANDS`)."""
    effect = MDM_COMMANDS[command].effect
    return effect(Executed(params, param_of, at)) if effect else NO_EFFECT


def decoded(value: Any, is_array: bool) -> Any:
    """A stored wire parameter as the registry keeps it: arrays as JSON values."""
    if is_array and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
