"""The meter page's command section (registered in ``CommandsConfig.ready``): actions that open
the console prefilled for this meter, and the meter's own command history."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from apps.commands.choices import SENDABLE_COMMANDS, Command, Outcome, RequestState, StatusLevel
from apps.commands.models import CommandDevice
from apps.commands.services import SEND_PERMISSION

HISTORY = 20
#: Shown as buttons; the rest are in the console's list.
QUICK = (Command.ON_DEMAND_REQUEST, Command.AUX_RELAY_OPERATIONS, Command.TIME_SYNCHRONIZATION)


def console_url(meter, command: str = "") -> str:
    """The console with this meter selected (its MDC and exact device id) and the command."""
    query = {"mdc_code": meter.mdc.code, "device_prefix": meter.global_device_id}
    if command:
        query["command"] = command
    return f"{reverse('commands:request-new')}?{urlencode(query)}"


def meter_commands_context(request, meter) -> dict:
    devices = (
        CommandDevice.objects.filter(global_device_id=meter.global_device_id)
        .exclude(request__command=Command.TRANSACTION_CANCEL)
        .select_related("request")
        .order_by("-request_id")[:HISTORY]
    )
    can_send = request.user.has_perm(SEND_PERMISSION)
    return {
        "commands_can_send": can_send,
        "commands_quick": [(c.label, console_url(meter, c.value)) for c in QUICK]
        if can_send
        else [],
        "commands_others": [(c.label, console_url(meter, c.value)) for c in SENDABLE_COMMANDS]
        if can_send
        else [],
        "commands_console_url": console_url(meter),
        "commands_history": list(devices),
        "commands_history_url": f"{reverse('commands:request-list')}?"
        + urlencode({"search": meter.global_device_id}),
        "RequestState": RequestState,
        "StatusLevel": StatusLevel,
        "Outcome": Outcome,
    }
