"""The analytics API (/api/analytics/): the pages' figures as JSON, from the roll-ups. Bad
parameters are a 400 naming them; decimals are served as strings, days as ISO dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analytics import selectors
from apps.analytics.forms import BalanceForm, PeriodForm
from apps.analytics.services.health import silent_meters_of
from apps.analytics.suspects import suspects_rank
from apps.analytics.views import VIEW_PERMISSION

_DAYS = [
    OpenApiParameter("start", str, description="first day (yyyy-mm-dd, Pakistan)"),
    OpenApiParameter("end", str, description="last day (inclusive)"),
]
PERIOD_PARAMETERS = [
    *_DAYS,
    OpenApiParameter("level", str, description="mdc, subdivision, feeder or transformer"),
    OpenApiParameter("node", int, description="node id (load curve, silent meters)"),
    OpenApiParameter("hours", int, description="silent after this many hours"),
    OpenApiParameter("top", int, description="at most this many suspects"),
    OpenApiParameter("tariff", str, description="load curve of one tariff's consumers"),
]


class CanViewAnalytics(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(VIEW_PERMISSION)


def _text(value):
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        # raw SQL hands back UTC; the API serves Pakistan time with its offset, as DRF's
        # DateTimeField does for the model-backed lists
        return timezone.localtime(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)  # Decimal: exact, as text


class AnalyticsApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAnalytics]
    levels: tuple[str, ...] | None = None
    default_days = 7
    form_class = PeriodForm

    def period(self, request) -> dict:
        form = self.form_class(request.query_params, levels=self.levels,
                               default_days=self.default_days)  # fmt: skip
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        return form.cleaned_data


BALANCE_PARAMETERS = [
    *_DAYS,
    OpenApiParameter("level", str, description="feeder or transformer"),
    OpenApiParameter("node", int, description="one node's balance: its id (at the level)"),
    OpenApiParameter("feeder", str, description="one feeder's balance: its code or id"),
    OpenApiParameter("transformer", str, description="one transformer's balance: code or id"),
]


class BalanceApi(AnalyticsApi):
    """Every node's balance ranked; with a node, its balance (``results``: its row), its days
    and, for a feeder, its transformers' balances."""

    levels = ("feeder", "transformer")
    form_class = BalanceForm

    @extend_schema(parameters=BALANCE_PARAMETERS, responses=dict, summary="Energy balance")
    def get(self, request):
        p = self.period(request)
        level, start, end, node = p["level"], p["start"], p["end"], p["node_obj"]
        body = {"start": _text(start), "end": _text(end), "level": level}
        if node is None:
            rows = selectors.energy_balance(level=level, start=start, end=end)
            return Response({**body, "results": [_text(asdict(row)) for row in rows]})
        row = selectors.node_balance(level=level, node_id=node.pk, start=start, end=end)
        days = selectors.balance_days(level=level, node_id=node.pk, start=start, end=end)
        body.update(
            node={"id": node.pk, "code": node.code},
            results=[_text(asdict(row))],
            days=[_text(asdict(day)) for day in days],
        )
        if level == "feeder":
            below = selectors.feeder_transformer_balances(feeder_id=node.pk, start=start, end=end)
            body["transformers"] = [_text(asdict(b)) for b in below]
        return Response(body)


class SuspectsApi(AnalyticsApi):
    @extend_schema(parameters=PERIOD_PARAMETERS, responses=dict, summary="Theft suspects")
    def get(self, request):
        p = self.period(request)
        rows = suspects_rank(start=p["start"], end=p["end"], top=p["top"] or 200)
        return Response(
            {
                "start": _text(p["start"]),
                "end": _text(p["end"]),
                "results": [
                    {
                        "global_device_id": s.global_device_id,
                        "reference_no": s.reference_no,
                        "score": s.score,
                        "reasons": [{"reason": code, "why": why} for code, why in s.reasons],
                    }
                    for s in rows
                ],
            }
        )


class HealthApi(AnalyticsApi):
    levels = ("feeder", "transformer", "mdc")

    @extend_schema(parameters=PERIOD_PARAMETERS, responses=dict, summary="Communication health")
    def get(self, request):
        p = self.period(request)
        tiles = selectors.health_tiles(level=p["level"], hours=p["hours"])
        result = {"hours": p["hours"], "results": [_text(asdict(t)) for t in tiles]}
        if p["node"]:
            silent = silent_meters_of(level=p["level"], node_id=p["node"], hours=p["hours"])
            result["silent_meters"] = list(silent.values_list("global_device_id", flat=True)[:5000])
        return Response(result)


class CompletenessApi(AnalyticsApi):
    levels = ("feeder", "mdc", "transformer", "subdivision")
    default_days = 14

    @extend_schema(parameters=PERIOD_PARAMETERS, responses=dict, summary="Completeness per day")
    def get(self, request):
        p = self.period(request)
        grid = selectors.completeness_grid(level=p["level"], start=p["start"], end=p["end"])
        return Response(
            {
                "days": _text(grid["days"]),
                "nodes": [{"id": node, "code": code} for node, code in grid["nodes"]],
                "percent": grid["pct"],
            }
        )


class LoadApi(AnalyticsApi):
    levels = ("feeder", "transformer", "subdivision", "mdc")

    @extend_schema(parameters=PERIOD_PARAMETERS, responses=dict, summary="Hourly load curve")
    def get(self, request):
        p = self.period(request)
        if p["tariff"]:
            from apps.analytics.load_selectors import tariff_load_curve

            points = tariff_load_curve(
                tariff=p["tariff"], start=p["start"], end=p["end"],
                feeder_id=p["node"] if p["level"] == "feeder" else None,
            )  # fmt: skip
            return Response({"results": [{"hour": _text(h), "kwh": _text(v)} for h, v in points]})
        if not p["node"]:
            raise ValidationError({"node": ["Required: the id of the node (or a tariff)."]})
        points = selectors.load_curve(
            level=p["level"], node_id=p["node"], start=p["start"], end=p["end"]
        )
        return Response({"results": [{"hour": _text(h), "kwh": _text(v)} for h, v in points]})
