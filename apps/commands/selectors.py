"""Reads of the commands app: progress, selections of meters, history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.commands.choices import (
    FINAL_REQUEST_STATES,
    Outcome,
    RequestState,
    StatusLevel,
    TransactionState,
)
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.udil.commands import command_params, commands_of
from apps.udil.profiles import get_profile


def mdcs_with_polls_due(*, now=None) -> list[int]:
    """MDCs with open transactions to poll now, or overdue ones to time out."""
    now = now or timezone.now()
    overdue = now - timedelta(minutes=settings.COMMAND_TIMEOUT_MINUTES)
    return list(
        CommandTransaction.objects.filter(state=TransactionState.OPEN, target__isnull=True)
        .filter(Q(next_poll_at__lte=now) | Q(sent_at__lt=overdue))
        .values_list("mdc_id", flat=True)
        .distinct()
        .order_by()
    )


def requests_history() -> QuerySet[CommandRequest]:
    return CommandRequest.objects.select_related("parent")


def request_devices(request: CommandRequest) -> QuerySet[CommandDevice]:
    return request.devices.select_related("transaction", "transaction__mdc").order_by(
        "global_device_id", "pk"
    )


@dataclass
class Progress:
    """How far a request has got: counts per outcome and per status level (of devices still
    pending), per MDC, and the share that is final."""

    request_id: int
    state: str
    state_label: str
    total: int
    by_outcome: dict[str, int]
    by_level: dict[str, int]
    by_mdc: list[dict] = field(default_factory=list)
    final: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.final / self.total) if self.total else 100

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_REQUEST_STATES

    def as_dict(self) -> dict:
        return {
            "request": self.request_id,
            "state": self.state,
            "state_label": self.state_label,
            "total": self.total,
            "final": self.final,
            "percent": self.percent,
            "is_final": self.is_final,
            "by_outcome": self.by_outcome,
            "by_level": self.by_level,
            "by_mdc": self.by_mdc,
        }


def request_progress(request: CommandRequest) -> Progress:
    """Three grouped queries, whatever the number of devices."""
    request.refresh_from_db(fields=["state"])
    by_outcome = {o.value: 0 for o in Outcome}
    for outcome, n in request.devices.values_list("outcome").annotate(n=Count("pk")).order_by():
        by_outcome[outcome] = n
    by_level = {"unknown": 0} | {str(level.value): 0 for level in StatusLevel}
    for level, n in (
        request.devices.filter(outcome=Outcome.PENDING)
        .values_list("status_level")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_level["unknown" if level is None else str(level)] = n
    by_mdc = [
        {"mdc": code, "total": total, "pending": pending}
        for code, total, pending in request.transactions.values_list("mdc__code")
        .annotate(
            total=Count("devices"),
            pending=Count("devices", filter=Q(devices__outcome=Outcome.PENDING)),
        )
        .order_by("mdc__code")
    ]
    total = sum(by_outcome.values())
    return Progress(
        request_id=request.pk,
        state=request.state,
        state_label=RequestState(request.state).label,
        total=total,
        by_outcome=by_outcome,
        by_level=by_level,
        by_mdc=by_mdc,
        final=total - by_outcome[Outcome.PENDING],
    )


# --- choosing meters ---------------------------------------------------------------------------

_ID_SPLIT = re.compile(r"[\s,;]+")


def pasted_ids(text: str) -> list[str]:
    """Device ids pasted one per line (or separated by commas, semicolons, spaces)."""
    seen: dict[str, None] = {}
    for item in _ID_SPLIT.split(text or ""):
        item = item.strip().strip("\"'")
        if item:
            seen[item] = None
    return list(seen)


@dataclass
class Selection:
    """The meters a person chose, with what the console shows before sending."""

    meters: QuerySet
    count: int
    mdcs: list[tuple[str, int]]
    unknown_ids: list[str]
    pasted: bool
    #: The UDIL profiles of those MDCs (the command's parameters are each profile's).
    profiles: list[str] = field(default_factory=list)


def meters_selected(*, data, pasted: str = "") -> Selection:
    """Meters from the registry's list filters (``data``: a query dict) or, when ids are pasted,
    from those ids (global device ids or meter serial numbers). No criterion selects nothing."""
    from apps.registry.models import Meter

    ids = pasted_ids(pasted)
    unknown: list[str] = []
    if ids:
        numbers = [int(i) for i in ids if i.isdigit()]
        meters = Meter.objects.filter(Q(global_device_id__in=ids) | Q(msn__in=numbers))
        found = set()
        for gdid, msn in meters.values_list("global_device_id", "msn"):
            found.update((gdid, str(msn)))
        unknown = [i for i in ids if i not in found]
    elif any(v.strip() for _, values in data.lists() for v in values):
        from apps.registry.filters import MeterFilter

        meters = MeterFilter(data=data, queryset=Meter.objects.all()).qs
    else:  # no criterion at all: nothing, never the whole fleet by accident
        meters = Meter.objects.none()
    meters = meters.order_by()
    per_mdc = list(
        meters.values_list("mdc__code", "mdc__udil_profile")
        .annotate(n=Count("pk"))
        .order_by("mdc__code")
    )
    return Selection(
        meters=meters,
        count=sum(n for _, _, n in per_mdc),
        mdcs=[(code, n) for code, _, n in per_mdc],
        unknown_ids=unknown,
        pasted=bool(ids),
        profiles=sorted({profile for _, profile, _ in per_mdc}),
    )


def _param_row(param) -> dict:
    return {
        "name": param.name,
        "kind": param.kind,
        "required": param.required,
        "description": param.description,
        "choices": [[str(v), label] for v, label in param.choices or ()],
        "is_array": param.is_array,
    }


def commands_catalogue(*, mdc_code: str | None = None) -> dict:
    """The commands each registered MDC is offered (its UDIL profile's), with their service
    names and parameters: ``{"mdcs": [{code, profile}], "profiles": {name: [command...]}}``.
    An unknown ``mdc_code`` gives no MDCs (and so no profiles)."""
    from apps.registry.models import Mdc
    mdcs = Mdc.objects.order_by("code")
    if mdc_code:  # any text: a code nobody has (or one with a NUL) matches no MDC
        mdcs = mdcs.filter(code=str(mdc_code)[:100].replace("\x00", ""))
    rows = [
        {"code": code, "profile": profile}
        for code, profile in mdcs.values_list("code", "udil_profile")
    ]
    profiles = {}
    for name in sorted({r["profile"] for r in rows}):
        profile = get_profile(name)
        profiles[profile.name] = [
            {
                "command": c.name,
                "label": c.label,
                "kind": c.kind,
                "service": profile.service(c.name).name,
                "params": [_param_row(p) for p in command_params(profile, c.name)],
            }
            for c in commands_of(profile)
            if c.sendable
        ]
    return {"mdcs": rows, "profiles": profiles}
