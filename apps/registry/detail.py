"""Detail pages of the network hierarchy (NetBox's model): a node with its place in the
network, the nodes below it, its meters and consumers, their state, links to its data and
analytics, sections other apps contribute and its change log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from apps.core.panels import sections_render
from apps.registry.choices import ActivationStatus, ConnectionStatus, RelayState
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Meter,
    Subdivision,
    Transformer,
)

#: Top to bottom; each level's parent is the one before it.
LEVEL_MODELS = {
    "disco": Disco,
    "circle": Circle,
    "division": Division,
    "subdivision": Subdivision,
    "feeder": Feeder,
    "transformer": Transformer,
}
LEVEL_ORDER = list(LEVEL_MODELS)
METERS_SHOWN = 50
CHILDREN_SHOWN = 200


def parent_field(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index - 1] if index else None


def child_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def meter_path(level: str) -> str:
    """The lookup from a meter to its node of ``level``: ``transformer__feeder__…``."""
    return "__".join(reversed(LEVEL_ORDER[LEVEL_ORDER.index(level) :]))


def node_meters_path(level: str) -> str:
    """The lookup from a node of ``level`` to its meters: ``feeders__transformers__meters``."""
    below = LEVEL_ORDER[LEVEL_ORDER.index(level) + 1 :]
    return "__".join([*(f"{name}s" for name in below), "meters"])


def ancestors(node, level: str) -> list:
    """``[disco, …, node]``: the node's place in the network."""
    path = [node]
    while (parent_name := parent_field(level)) is not None:
        node = getattr(node, parent_name)
        path.insert(0, node)
        level = parent_name
    return path


def consumer_url(consumer: Consumer) -> str:
    """The consumer's page (``settings.REGISTRY_CONSUMER_PAGE``, else its edit form)."""
    return reverse(settings.REGISTRY_CONSUMER_PAGE or "registry:consumer-edit", args=[consumer.pk])


def _counts(meters, field: str, choices) -> list[tuple[str, str, int]]:
    rows = dict(meters.order_by().values_list(field).annotate(n=Count("pk")))
    return [(value, label, rows[value]) for value, label in choices.choices if rows.get(value)]


class NodeDetailView(PermissionRequiredMixin, TemplateView):
    """``/registry/hierarchy/<level>/<pk>/``."""

    template_name = "registry/node_detail.html"

    def dispatch(self, request, *args, **kwargs):
        self.level = kwargs["level"]
        if self.level not in LEVEL_MODELS:
            raise Http404("No such level.")
        self.model = LEVEL_MODELS[self.level]
        self.permission_required = f"registry.view_{self.level}"
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("level", "pk")}  # URL kwargs
        above = list(reversed(LEVEL_ORDER[: LEVEL_ORDER.index(self.level)]))
        queryset = self.model.objects.all()
        if above:
            queryset = queryset.select_related("__".join(above))
        node = get_object_or_404(queryset, pk=self.kwargs["pk"])
        meters = Meter.objects.filter(**{meter_path(self.level): node})
        child = child_level(self.level)
        children = []
        if child:
            children = list(
                LEVEL_MODELS[child]
                .objects.filter(**{self.level: node})
                .annotate(meter_count=Count(node_meters_path(child)))
                .order_by("code")[:CHILDREN_SHOWN]
            )
        shown = list(
            meters.select_related("mdc", "consumer").order_by("global_device_id")[:METERS_SHOWN]
        )
        consumers = Consumer.objects.filter(meters__in=meters).distinct().order_by("reference_no")
        query = f"{self.level}={node.pk}"
        return super().get_context_data(
            title=f"{self.model._meta.verbose_name} {node.code}".capitalize()
            if self.level != "disco"
            else f"DISCO {node.code}",
            node=node,
            level=self.level,
            level_label=self.model._meta.verbose_name,
            breadcrumb=ancestors(node, self.level),
            child_label=LEVEL_MODELS[child]._meta.verbose_name_plural if child else "",
            children=children,
            children_more=child is not None and len(children) == CHILDREN_SHOWN,
            meter_total=meters.count(),
            meters=shown,
            by_status=_counts(meters, "activation_status", ActivationStatus),
            by_relay=_counts(meters, "relay_state", RelayState),
            consumers=[(c, consumer_url(c)) for c in consumers[:METERS_SHOWN]],
            consumer_total=consumers.count(),
            meters_url=f"{reverse('registry:meter-list')}?{query}",
            data_query=query,
            balance_level=self.level if self.level in ("feeder", "transformer") else "",
            sections=sections_render(self.request, node),
            ActivationStatus=ActivationStatus,
            RelayState=RelayState,
            ConnectionStatus=ConnectionStatus,
            **kwargs,
        )
