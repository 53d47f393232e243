"""What an executed command does outside the commands app: the registry's record of the
meter, and the warehouse rows an on-demand read returned."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from apps.commands.choices import Command
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.registry.choices import RelayState
from apps.registry.services import meters_state_record
from apps.udil.catalog import SERVICES
from apps.udil.datasets import by_on_demand_type
from apps.udil.timefmt import format_datetime
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.services import rows_load


class Effects(NamedTuple):
    """``fields``: Meter field values; ``settings``: entries of ``Meter.device_settings``."""

    fields: dict[str, Any]
    settings: dict[str, Any]


class DeviceRows(NamedTuple):
    """The rows an on-demand read returned for one CommandDevice."""

    device_id: int
    rows: list[dict]


#: Commands whose only effect is a group of settings: command -> (settings name, parameters).
_SETTINGS_BY_COMMAND: dict[str, tuple[str, tuple[str, ...]]] = {
    Command.LOAD_SHEDDING_SCHEDULING: (
        "load_shedding",
        ("start_datetime", "end_datetime", "load_shedding_slabs"),
    ),
    Command.TIME_OF_USE_CHANGE: (
        "time_of_use",
        ("season", "days", "time_slab", "tariff_identification", "activation_datetime"),
    ),
    Command.UPDATE_IP_PORT: (
        "ip_port",
        ("primary_ip_address", "secondary_ip_address", "primary_port", "secondary_port"),
    ),
    Command.WAKE_UP_SIM_NUMBER_UPDATE: (
        "wake_up_numbers",
        ("wakeup_number_1", "wakeup_number_2", "wakeup_number_3"),
    ),
    Command.ACTIVATE_METER_OPTICAL_PORT: (
        "optical_port",
        ("optical_port_on_datetime", "optical_port_off_datetime"),
    ),
    Command.DEVICE_CREATION: (
        "mdc_registration",
        (
            "device_type",
            "communication_mode",
            "communication_type",
            "communication_interval",
            "sim_number",
            "sim_id",
            "mdi_reset_date",
            "mdi_reset_time",
            "phase",
            "meter_type",
        ),
    ),
}

_SANCTIONED_LOAD_PARAMS = (
    "load_limit",
    "maximum_retries",
    "retry_interval",
    "threshold_duration",
    "retry_clear_interval",
)
_SAMPLING_PARAMS = ("activation_datetime", "sampling_interval", "sampling_initial_time")


def _param_value(request: CommandRequest, name: str) -> Any:
    """A stored parameter for the registry: arrays as JSON, the rest as the wire text."""
    value = request.params.get(name)
    param = SERVICES[request.command].param(name)
    if param.is_array and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _settings_of(request: CommandRequest, *names: str) -> dict[str, Any]:
    return {n: _param_value(request, n) for n in names if request.params.get(n) not in (None, "")}


def registry_effects(request: CommandRequest, at: datetime) -> Effects:
    """What an executed command tells the registry about a meter: ``(field values, settings)``.

    Settings are stored under ``Meter.device_settings[name]`` as ``{"value", "transactionid",
    "at"}`` (the registry's convention, see ``meter_state_record``).
    """
    c, p = request.command, request.params
    if c == Command.AUX_RELAY_OPERATIONS:
        state = RelayState.CONNECTED if p["relay_operate"] == "1" else RelayState.DISCONNECTED
        return Effects({"relay_state": state}, {"relay": int(p["relay_operate"])})
    if c == Command.METER_STATUS_UPDATE:
        status = int(p["meter_activation_status"])
        return Effects({"activation_status": status}, {"activation_status": status})
    if c == Command.SANCTIONED_LOAD_CONTROL:
        return Effects(
            {"load_limit_kw": Decimal(p["load_limit"])},
            {"sanctioned_load": _settings_of(request, *_SANCTIONED_LOAD_PARAMS)},
        )
    if c in _SETTINGS_BY_COMMAND:
        name, params = _SETTINGS_BY_COMMAND[c]
        return Effects({}, {name: _settings_of(request, *params)})
    if c == Command.METER_DATA_SAMPLING:
        data_type = p.get("data_type", "").lower()
        return Effects({}, {f"sampling_{data_type}": _settings_of(request, *_SAMPLING_PARAMS)})
    if c == Command.TIME_SYNCHRONIZATION:
        return Effects({}, {"time_synchronized": format_datetime(at)})
    return Effects({}, {})


def _effects_apply(*, tx: CommandTransaction, meter_ids: list[int], now: datetime) -> int:
    """Record what the executed command did to these meters, through the registry's set-based
    service (one UPDATE and one audit row for the transaction)."""
    fields, settings = registry_effects(tx.request, now)
    if not fields and not settings:
        return 0
    return meters_state_record(
        actor=None,
        meters=meter_ids,
        transactionid=tx.transactionid,
        at=now,
        settings=settings,
        target=tx,
        **fields,
    )


def _on_demand_load(*, tx: CommandTransaction, per_device: list[DeviceRows], mdc) -> int:
    """Load the rows an on-demand read returned into the warehouse (the same loader as the
    scheduled pulls: idempotent, bad rows quarantined) and note the count per device.

    Like a pull, the answering MDC may store rows of its own meters only: a row of a meter
    registered at another MDC (or nowhere) is quarantined with the reason, not stored."""
    dataset = by_on_demand_type(tx.request.on_demand_type)
    raw_rows = [row for item in per_device for row in item.rows]
    # the ids as sent and as the loader normalises them (stripped), to look up only these
    named = {row.get("global_device_id") for row in raw_rows} - {None}
    asked = {g for g in named if isinstance(g, str)} | {str(g).strip() for g in named}
    guard = RowGuard(dataset.code, owned_device_ids(mdc_id=mdc.pk, device_ids=asked))
    result = rows_load(
        dataset_code=dataset.code,
        mdc_id=mdc.pk,
        raw_rows=raw_rows,
        source=f"on_demand:{tx.transactionid}",
        guard=guard,
    )
    CommandDevice.objects.bulk_update(
        [CommandDevice(pk=item.device_id, response_rows=len(item.rows)) for item in per_device],
        ["response_rows"],
    )
    return result.inserted + result.updated + result.unchanged
