"""A command's parameters (validated by the protocol package) and the two-person rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.commands import conf
from apps.commands.choices import CANCEL, Command
from apps.commands.models import CommandRequest
from apps.udil.catalog import SERVICES
from apps.udil.errors import ValidationErrors

from ._shared import AUTO_PARAMS


def command_params(command: str) -> list:
    """The Params a person fills in for a command (devices and request time are automatic)."""
    return [p for p in SERVICES[command].params if p.name not in AUTO_PARAMS]


def params_validate(command: str, params: dict[str, Any]) -> dict[str, str]:
    """Validate a command's parameters with the protocol package; return them as wire text.

    Raises ValidationError naming each bad field, with the protocol package's reason.
    """
    if command not in Command.values or command == CANCEL:
        raise ValidationError({"command": f"Unknown command {command!r}."})
    if not isinstance(params, dict):
        raise ValidationError({"params": "Must be an object of parameter names to values."})
    service = SERVICES[command]
    wanted = {p.name for p in command_params(command)}
    unknown = sorted(set(params) - wanted)
    if unknown:
        raise ValidationError({name: "Not a parameter of this command." for name in unknown})
    probe = {
        **params,
        "global_device_id": ["probe"],
        "device_identity": [{"dsn": "1", "global_device_id": "probe"}],
        "request_datetime": timezone.now(),
    }
    try:
        typed = service.validate(probe)
    except ValidationErrors as exc:
        raise ValidationError({name: [reason] for name, reason in exc.errors.items()}) from exc
    return {
        p.name: p.encode(typed[p.name])
        for p in command_params(command)
        if typed[p.name] is not None
    }


def _is_two_person(command: str, params: dict[str, str]) -> bool:
    """Disconnects and deactivations are the commands that need a second person when large."""
    if command == Command.AUX_RELAY_OPERATIONS:
        return params.get("relay_operate") == "0"
    if command == Command.METER_STATUS_UPDATE:
        return params.get("meter_activation_status") == "0"
    return False


def two_person_recent(*, actor, now: datetime | None = None) -> int:
    """Meters this requester disconnected or deactivated on their own authority (no second
    person involved) in the rolling window (``MDM_TWO_PERSON_WINDOW_MINUTES``): they count
    together with a new request against the threshold, so splitting 90 meters into 2 x 45
    does not escape the second person. Requests a second person decides are left out."""
    if not getattr(actor, "is_authenticated", False):
        return 0
    since = (now or timezone.now()) - timedelta(minutes=conf.two_person_window_minutes())
    total = (
        CommandRequest.objects.filter(
            requested_by=actor, created_at__gte=since, approval_required=False
        )
        .filter(
            Q(command=Command.AUX_RELAY_OPERATIONS, params__relay_operate="0")
            | Q(command=Command.METER_STATUS_UPDATE, params__meter_activation_status="0")
        )
        .aggregate(n=models.Sum("device_count"))["n"]
    )
    return total or 0


def two_person_needed(*, actor, command: str, params: dict[str, str], devices: int) -> bool:
    """Does a request of ``devices`` meters need a second person (see two_person_recent)."""
    if not _is_two_person(command, params):
        return False
    return devices + two_person_recent(actor=actor) > conf.two_person_threshold()
