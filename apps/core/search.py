"""The navigation bar's search: meters by device id, MSN, SIM number, consumer reference or name,
transformer or feeder code; MDCs, consumers, transformers, feeders and command requests.

Models are named by label (core imports no higher app). Each kind is searched only when the
user may view it; every lookup is an indexed prefix or exact match, or a short ``icontains`` on
names, and each kind returns at most ``LIMIT`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

LIMIT = 20


@dataclass
class Hit:
    label: str
    detail: str
    url: str
    exact: bool = False


@dataclass
class Group:
    kind: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False


def _url(obj) -> str:
    if hasattr(obj, "get_absolute_url"):
        return obj.get_absolute_url()
    try:
        return reverse(settings.REGISTRY_CONSUMER_PAGE, args=[obj.pk])
    except NoReverseMatch:
        return reverse("registry:consumer-edit", args=[obj.pk])


def _meters(q: str) -> tuple[Q, Q]:
    found = (
        Q(global_device_id__istartswith=q)
        | Q(sim_number__startswith=q)
        | Q(sim_id__startswith=q)
        | Q(consumer__reference_no__istartswith=q)
        | Q(consumer__name__icontains=q)
        | Q(transformer__code__iexact=q)
        | Q(transformer__feeder__code__iexact=q)
    )
    exact = Q(global_device_id__iexact=q)
    if q.isdigit() and len(q) <= 18:
        found |= Q(msn=int(q))
        exact |= Q(msn=int(q))
    return found, exact


def _meter_hit(meter) -> str:
    parts = [f"MSN {meter.msn}", meter.mdc.code]
    if meter.consumer_id:
        parts.append(f"{meter.consumer.reference_no} {meter.consumer.name}")
    if meter.transformer_id:
        parts.append(f"transformer {meter.transformer.code}")
    return " · ".join(parts)


def search(*, user, q: str) -> list[Group]:
    q = q.strip()
    if not q:
        return []
    groups = []

    def add(kind, label, permission, queryset, text, detail, exact_q=None):
        if not user.has_perm(permission):
            return
        rows = list(queryset[: LIMIT + 1])
        if not rows:
            return
        exact_pks = set(queryset.filter(exact_q).values_list("pk", flat=True)) if exact_q else set()
        group = Group(kind=label, more=len(rows) > LIMIT)
        for obj in rows[:LIMIT]:
            group.hits.append(Hit(text(obj), detail(obj), _url(obj), obj.pk in exact_pks))
        groups.append(group)

    meter = apps.get_model("registry", "Meter")
    found, exact = _meters(q)
    add(
        "meter",
        "Meters",
        "registry.view_meter",
        meter.objects.filter(found)
        .select_related("mdc", "consumer", "transformer")
        .order_by("global_device_id"),
        lambda m: m.global_device_id,
        _meter_hit,
        exact,
    )
    mdc = apps.get_model("registry", "Mdc")
    add(
        "mdc",
        "MDCs",
        "registry.view_mdc",
        mdc.objects.filter(Q(code__istartswith=q) | Q(name__icontains=q)).order_by("code"),
        lambda m: m.code,
        lambda m: m.name,
        Q(code__iexact=q),
    )
    consumer = apps.get_model("registry", "Consumer")
    add(
        "consumer",
        "Consumers",
        "registry.view_consumer",
        consumer.objects.filter(Q(reference_no__istartswith=q) | Q(name__icontains=q)).order_by(
            "reference_no"
        ),
        lambda c: c.reference_no,
        lambda c: c.name,
        Q(reference_no__iexact=q),
    )
    for model_name, label in (("Transformer", "Transformers"), ("Feeder", "Feeders")):
        node = apps.get_model("registry", model_name)
        add(
            model_name.lower(),
            label,
            f"registry.view_{model_name.lower()}",
            node.objects.filter(Q(code__istartswith=q) | Q(name__icontains=q)).order_by("code"),
            lambda n: n.code,
            lambda n: n.name,
            Q(code__iexact=q),
        )
    command = apps.get_model("commands", "CommandRequest")
    number = q.lstrip("#")
    if number.isdigit() and len(number) <= 18:
        add(
            "command",
            "Command requests",
            "commands.view_commandrequest",
            command.objects.filter(pk=int(number)),
            lambda c: f"#{c.pk}",
            lambda c: f"{c.command_label} · {c.get_state_display()}",
            Q(pk=int(number)),
        )
    return groups


def single_exact_hit(groups: list[Group]) -> Hit | None:
    """The one hit whose key equals the query exactly, if only one does."""
    exact = [hit for group in groups for hit in group.hits if hit.exact]
    return exact[0] if len(exact) == 1 else None
