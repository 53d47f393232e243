"""REST API of the conformance bench: start a run (administrators), follow it, read its report
with evidence, and compare it with another run (which checks changed)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.conformance import services
from apps.conformance.filters import RunFilter
from apps.conformance.models import ConformanceRun
from apps.conformance.selectors import runs_diff
from apps.conformance.serializers import (
    DiffRowSerializer,
    RunCreateSerializer,
    RunDetailSerializer,
    RunSerializer,
)
from apps.core.api_errors import service_call


class RunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ConformanceRun.objects.select_related("mdc", "created_by").order_by("-id")
    serializer_class = RunSerializer
    ordering_fields = ["id", "created_at"]
    filterset_class = RunFilter  # the MDC by code, as the page

    def get_serializer_class(self):
        if self.action == "retrieve":
            return RunDetailSerializer
        if self.action == "create":
            return RunCreateSerializer
        return RunSerializer

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    def create(self, request, *args, **kwargs):
        from apps.registry.models import Mdc

        data = RunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mdc = Mdc.objects.filter(pk=data.validated_data["mdc"]).first()
        if mdc is None:
            raise ValidationError({"mdc": "No such MDC."})
        run = service_call(
            services.conformance_run_create,
            actor=request.user,
            mdc=mdc,
            device_ids=data.validated_data["device_ids"],
            commands=data.validated_data.get("commands"),
        )
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("other", int, required=True, description="Earlier run")],
        responses={200: DiffRowSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """Every check of both runs with its outcome in each, and whether it changed."""
        run = self.get_object()
        other_id = request.query_params.get("other", "")
        if not (other_id.isascii() and other_id.isdigit()):
            raise ValidationError({"other": "The id of the run to compare with."})
        other = get_object_or_404(self.get_queryset(), pk=int(other_id))
        rows = [
            {
                "code": r.code,
                "title": r.title,
                "before": r.before,
                "after": r.after,
                "changed": r.changed,
            }
            for r in runs_diff(other, run)
        ]
        return Response(DiffRowSerializer(rows, many=True).data)
