"""A command's parameters (validated by the protocol package, per profile of the MDCs it goes
to) and the two-person rule (apps.commands.spec)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.commands.choices import CANCEL, Command
from apps.commands.models import CommandRequest
from apps.commands.spec import TWO_PERSON, is_two_person
from apps.udil.catalog import Param
from apps.udil.commands import command_params as profile_command_params
from apps.udil.commands import command_service, get_command, params_union
from apps.udil.errors import ValidationErrors
from apps.udil.profiles import Profile, get_profile


def profiles_of(names: Iterable[str | None] | None) -> list[Profile]:
    """Profiles by name (an MDC's ``udil_profile``), distinct, in order; none: 2019."""
    out: dict[str, Profile] = {}
    for name in names or ["2019"]:
        profile = get_profile(name)
        out.setdefault(profile.name, profile)
    return list(out.values())


def command_params(command: str, profiles: Iterable[str | None] | None = None) -> list[Param]:
    """The Params a person fills in for a command (devices and request time are automatic),
    over the profiles of the MDCs it goes to (each MDC is sent the ones of its profile)."""
    return params_union(profiles_of(profiles), command)


def params_validate(
    command: str, params: dict[str, Any], profiles: Iterable[str | None] | None = None
) -> dict[str, str]:
    """Validate a command's parameters with the protocol package, for each profile it goes to
    (``profiles``: the MDCs' ``udil_profile``; none: 2019); return them as wire text.

    Raises ValidationError naming each bad field, with the protocol package's reason (and the
    profile, when the command goes to MDCs of several).
    """
    if command not in Command.values or command == CANCEL:
        raise ValidationError({"command": f"Unknown command {command!r}."})
    if not isinstance(params, dict):
        raise ValidationError({"params": "Must be an object of parameter names to values."})
    chosen = profiles_of(profiles)
    lacking = [p.name for p in chosen if not p.has(command)]
    if lacking:
        raise ValidationError(
            {
                "command": f"UDIL {', '.join(lacking)} has no {command}: choose meters of MDCs "
                f"whose profile offers it ({', '.join(get_command(command).profiles())})."
            }
        )
    union = command_params(command, [p.name for p in chosen])
    unknown = sorted(set(params) - {p.name for p in union})
    if unknown:
        raise ValidationError({name: "Not a parameter of this command." for name in unknown})
    wire: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for profile in chosen:
        own = {p.name for p in profile_command_params(profile, command)}
        try:
            typed = command_service(profile, command).validate(
                {
                    **{k: v for k, v in params.items() if k in own},
                    **_PROBE,
                    "request_datetime": timezone.now(),
                }
            )
        except ValidationErrors as exc:
            suffix = f" (UDIL {profile.name})" if len(chosen) > 1 else ""
            for name, reason in exc.errors.items():
                errors.setdefault(name, [f"{reason}{suffix}"])
            continue
        for p in profile_command_params(profile, command):
            if typed[p.name] is not None:
                wire.setdefault(p.name, p.encode(typed[p.name]))
    if errors:
        raise ValidationError(errors)
    return wire


#: Devices the validation probes with (the real ones are added per transaction).
_PROBE = {
    "global_device_id": ["probe"],
    "device_identity": [{"dsn": "1", "global_device_id": "probe"}],
}


def _is_two_person(command: str, params: dict[str, str]) -> bool:
    """Disconnects and deactivations are the commands that need a second person when large."""
    return is_two_person(command, params)


def two_person_recent(*, actor, now: datetime | None = None) -> int:
    """Meters this requester disconnected or deactivated on their own authority (no second
    person involved) in the rolling window (``MDM_TWO_PERSON_WINDOW_MINUTES``): they count
    together with a new request against the threshold, so splitting 90 meters into 2 x 45
    does not escape the second person. Requests a second person decides are left out."""
    if not getattr(actor, "is_authenticated", False):
        return 0
    since = (now or timezone.now()) - timedelta(minutes=settings.TWO_PERSON_WINDOW_MINUTES)
    total = (
        CommandRequest.objects.filter(
            requested_by=actor, created_at__gte=since, approval_required=False
        )
        .filter(
            reduce(
                operator.or_,
                (Q(command=c, **{f"params__{p}": v}) for c, (p, v) in TWO_PERSON.items()),
            )
        )
        .aggregate(n=models.Sum("device_count"))["n"]
    )
    return total or 0


def two_person_needed(*, actor, command: str, params: dict[str, str], devices: int) -> bool:
    """Does a request of ``devices`` meters need a second person (see two_person_recent)."""
    if not _is_two_person(command, params):
        return False
    return devices + two_person_recent(actor=actor) > settings.TWO_PERSON_THRESHOLD
