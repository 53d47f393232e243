"""The simulated MDC's side of each command of the protocol's table (``apps.udil.commands``):
its acceptance message, whether a meter needs a relay for it, and why a meter refuses its
parameters. Looked up by the command's common name (a 3.3 MDC's ``update_meter_status`` is
``meter_status_update`` here); what a command does once executed is
:data:`apps.simulator.services.effects.EFFECTS`, keyed the same way.

Adding a command is an entry here (and its effect), beside its entry in
``apps.udil.commands.COMMAND_DEFS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from apps.simulator import generator as gen
from apps.udil.commands import COMMANDS

Refuse = Callable[[dict[str, Any]], str | None]


class SimHandler(NamedTuple):
    """``message``: the answer's message when every device accepts; ``needs_relay``: a meter
    without a relay refuses; ``refuse``: why a meter refuses these parameters (None: it
    accepts)."""

    message: str
    needs_relay: bool = False
    refuse: Refuse | None = None


def _sampling(params: dict[str, Any]) -> str | None:
    if params["data_type"] == "LPRO" and params["sampling_interval"] not in gen.SUPPORTED_INTERVALS:
        supported = ", ".join(str(i) for i in gen.SUPPORTED_INTERVALS)
        return (
            f"does not support a load profile interval of {params['sampling_interval']} "
            f"minutes (supported: {supported})"
        )
    return None


#: Tariff registers of the simulated meters.
TARIFFS = 4


def _time_of_use(params: dict[str, Any]) -> str | None:
    if params.get("day_profile"):  # 3.3: each start time of a day profile is a tariff
        if any(len(d["tariff_slabs"]) > TARIFFS for d in params["day_profile"]):
            return f"has tariff registers 1 to {TARIFFS} only (tariff_slabs of a day profile)"
        return None
    if params.get("tariff_identification") not in {str(t) for t in range(1, TARIFFS + 1)}:
        return f"has tariff registers 1 to {TARIFFS} only (tariff_identification)"
    return None


HANDLERS: dict[str, SimHandler] = {
    "aux_relay_operations": SimHandler(
        "Relay will be operated for meters with indv_status 1", needs_relay=True
    ),
    "time_synchronization": SimHandler(
        "Time will be updated for requested meters according to system time"
    ),
    "sanctioned_load_control": SimHandler(
        "Limits for provided meters will be changed", needs_relay=True
    ),
    "load_shedding_scheduling": SimHandler(
        "Load Shedding Schedule will be programmed in meters with indv_status 1", needs_relay=True
    ),
    "time_of_use_change": SimHandler(
        "Tariff will be applied to all meters with indv_status 1", refuse=_time_of_use
    ),
    "device_creation": SimHandler("Meters with indv_status 1 are created Successfully"),
    "update_ip_port": SimHandler("IP Addresses will be updated in all meters with indv_status 1"),
    "meter_data_sampling": SimHandler(
        "Sampling interval in meter with indv_status 1 will be changed accordingly",
        refuse=_sampling,
    ),
    "activate_meter_optical_port": SimHandler("Optical Port will be activated for indv_status 1"),
    "wake_up_sim_number_update": SimHandler("Wakeup numbers will be updated for indv_status 1"),
    "meter_status_update": SimHandler("Meter Status will be updated for indv_status 1"),
    "update_device_metadata": SimHandler("Device metadata will be updated for indv_status 1"),
    "update_mdi_reset_date": SimHandler("MDI reset date will be updated for indv_status 1"),
    "apms_tripping_events": SimHandler(
        "Tripping function will be applied on devices having individual status as 1",
        needs_relay=True,
    ),
    "parameterization_cancellation": SimHandler(
        "Programmed parameters will be cancelled for indv_status 1"
    ),
    "update_major_alarms": SimHandler("Major alarms will be configured for indv_status 1"),
    "on_demand_request": SimHandler("MDC will send all data of Meter with indv_status 1"),
    "on_demand_parameter_read": SimHandler(
        "MDC will send the parameters of Meter with indv_status 1"
    ),
}
assert set(HANDLERS) == set(COMMANDS) - {"transaction_cancel"}, set(HANDLERS) ^ set(COMMANDS)

#: A 3.3 device's remarks (3.3: every device of an answer has one) when it accepts.
ACCEPTED_REMARK = "Command saved successfully for execution"
