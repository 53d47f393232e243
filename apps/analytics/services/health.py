"""One click from a red communication-health tile: an on-demand read or a time sync of its
silent meters, through the commands app's service (which checks the permission, validates,
audits and dispatches on commit)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.analytics.selectors import silent_meters

#: what the button may send: command and its parameters
ACTIONS = {
    "read": ("on_demand_request", {"type": "INST"}),
    "time_sync": ("time_synchronization", {}),
}
_NODE_FILTERS = {
    "mdc": "mdc_id",
    "feeder": "transformer__feeder_id",
    "transformer": "transformer_id",
}


def silent_meters_of(*, level: str, node_id: int | None, hours: int | None = None):
    meters = silent_meters(hours=hours)
    if node_id is not None:
        meters = meters.filter(**{_NODE_FILTERS[level]: node_id})
    return meters


def silent_meters_command(*, actor, action: str, level: str, node_id: int | None, hours: int):
    """Send ``action`` to the meters of a node silent for ``hours``; returns the request."""
    from apps.commands.services import command_request_create

    if action not in ACTIONS:
        raise ValidationError({"action": f"Unknown action {action!r}: read or time_sync."})
    meters = silent_meters_of(level=level, node_id=node_id, hours=hours)
    if not meters.exists():
        raise ValidationError("No silent meters there: nothing to send.")
    command, params = ACTIONS[action]
    return command_request_create(
        actor=actor,
        command=command,
        params=params,
        meters=meters,
        note=f"Silent {hours} h ({level} {node_id}) from communication health",
    )
