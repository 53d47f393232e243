"""What an executed command does outside the commands app: the registry's record of the
meter, and the warehouse rows an on-demand read returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.commands.spec import Effects, decoded, parameter_setting, registry_effects_of
from apps.registry.services import meters_state_record
from apps.udil.commands import COMMAND_DEFS, params_union
from apps.udil.datasets import by_on_demand_type
from apps.udil.profiles import PROFILES
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.services import rows_load


class DeviceRows(NamedTuple):
    """The rows an on-demand read returned for one CommandDevice."""

    device_id: int
    rows: list[dict]


def _param_value(request: CommandRequest, name: str) -> Any:
    """A stored parameter for the registry: arrays as JSON, the rest as the wire text."""
    param = _PARAMS.get((request.command, name))
    return decoded(request.params.get(name), bool(param and param.is_array))


#: (command, parameter name) -> Param over every profile (a parameter's type is the same in
#: every profile that has it).
_PARAMS = {
    (c.name, p.name): p for c in COMMAND_DEFS for p in params_union(PROFILES.values(), c.name)
}


def registry_effects(request: CommandRequest, at: datetime) -> Effects:
    """What an executed command tells the registry about a meter: ``(field values, settings)``
    (apps.commands.spec, per command).

    Settings are stored under ``Meter.device_settings[name]`` as ``{"value", "transactionid",
    "at"}`` (the registry's convention, see ``meter_state_record``).
    """
    return registry_effects_of(
        request.command, request.params, lambda n: _param_value(request, n), at
    )


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


class DeviceAnswer(NamedTuple):
    """What an on-demand parameter read returned for one device (meter-visuals columns)."""

    meter_id: int
    values: dict[str, Any]


def _parameters_record(*, tx: CommandTransaction, answers: list[DeviceAnswer], now) -> int:
    """Record each device's answer to an on-demand parameter read in the registry, under
    ``device_settings["read_<type>"]`` (one set-based write per answer)."""
    name = parameter_setting(tx.request.on_demand_type or tx.request.params.get("type", ""))
    written = 0
    for item in answers:
        values = {k: v for k, v in item.values.items() if k not in ("global_device_id", "msn")}
        written += meters_state_record(
            actor=None,
            meters=[item.meter_id],
            transactionid=tx.transactionid,
            at=now,
            settings={name: values},
            target=tx,
        )
    return written
