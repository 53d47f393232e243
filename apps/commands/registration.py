"""Creating registered meters at their MDC with UDIL ``device_creation``, and whether the MDC
has confirmed them. The registry reaches these through the dotted paths in
``settings.REGISTRY_DEVICE_CREATION_SEND`` and ``settings.REGISTRY_MDC_CONFIRMATION`` (it may not
import the commands app, which sits above it)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction

from apps.commands.choices import Command, MdcConfirmation, Outcome
from apps.commands.models import CommandDevice, CommandRequest
from apps.commands.services import command_request_create
from apps.registry.field_lists import METER_FIELDS
from apps.udil.catalog import SERVICES

#: The registry's meter fields that become device_creation parameters (one request carries one
#: set of them, so meters are grouped by their values): the service's parameters the registry
#: keeps on a meter.
_FIELDS = tuple(
    param.name for param in SERVICES[Command.DEVICE_CREATION].params if param.name in METER_FIELDS
)


#: The registry's 2019 communication_type -> 3.3's (1 Mode-I non keep-alive, woken up or
#: periodic; 2 Mode-II keep-alive).
_COMMUNICATION_TYPE_3_3 = {0: 2, 1: 1, 2: 1}


def _params(values: dict[str, Any], profile: str = "2019") -> dict[str, str]:
    params = {}
    for name in _FIELDS:
        value = values[name]
        if value in (None, ""):
            continue
        if name == "mdi_reset_time":
            value = value.strftime("%H:%M:%S")
        params[name] = str(value)
    if profile == "3.3":  # 3.3's values (docs/udil-notes.md, "3.3 services")
        kind = values["communication_type"]
        params["communication_type"] = str(_COMMUNICATION_TYPE_3_3.get(kind, 2))
        if params["communication_type"] == "1":
            params.setdefault("communication_interval", "0")
        else:
            params.pop("communication_interval", None)
        params["bidirectional_device"] = "0"
    return params


@transaction.atomic
def device_creation_send(*, actor, meters) -> list[CommandRequest]:
    """Send ``device_creation`` for these meters (ids or a queryset) to their MDCs through
    :func:`command_request_create` (validated, audited, tracked like any command): one
    request per UDIL profile and set of device parameters (in the profile's values), each
    fanned out per MDC and batch as usual."""
    from apps.registry.models import Meter

    ids = list(meters.values_list("pk", flat=True)) if hasattr(meters, "values_list") else meters
    groups: dict[tuple, list[int]] = defaultdict(list)
    rows = Meter.objects.filter(pk__in=list(ids)).order_by("pk")
    for values in rows.values("pk", "mdc__udil_profile", *_FIELDS):
        profile = values["mdc__udil_profile"] or "2019"
        params = _params(values, profile)
        groups[(profile, *sorted(params.items()))].append(values["pk"])
    return [
        command_request_create(
            actor=actor,
            command=Command.DEVICE_CREATION,
            params=dict(key[1:]),
            meters=meter_ids,
            note="Created at the MDC on registration",
        )
        for key, meter_ids in groups.items()
    ]


def meters_mdc_confirmation(meter_ids) -> dict[int, dict[str, Any]]:
    """Whether each meter's MDC confirmed it, from its latest device_creation command:
    ``{"state": pending | confirmed | failed, "colour", "request_id", "message", "at"}``;
    meters never sent are absent. Confirmed is status level 5 (executed by the MDC)."""
    latest = (
        CommandDevice.objects.filter(
            meter_id__in=list(meter_ids), request__command=Command.DEVICE_CREATION
        )
        .order_by("meter_id", "-id")
        .distinct("meter_id")
        .values("meter_id", "request_id", "outcome", "message", "finished_at", "status_level")
    )
    found = {}
    for row in latest:
        if row["outcome"] == Outcome.PENDING:
            state = MdcConfirmation.PENDING
        elif row["outcome"] == Outcome.EXECUTED:
            state = MdcConfirmation.CONFIRMED
        else:
            state = MdcConfirmation.FAILED
        found[row["meter_id"]] = {
            "state": str(state.value),
            "label": state.label,
            "colour": MdcConfirmation.colour_of(state.value),
            "request_id": row["request_id"],
            "message": row["message"] if state == "failed" else "",
            "at": row["finished_at"],
        }
    return found
