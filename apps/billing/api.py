"""REST API of billing: tariffs, billing accounts, reading cycles, runs (start, re-run, approve,
supplementary, determinants as JSON paged by a unique key and filterable by batch, subdivision
and feeder), the mirror (import, comparison, defaulters). Services do every write."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.billing import filters
from apps.billing.choices import ExportFormat
from apps.billing.models import (
    BillingAccount,
    BillingRun,
    Determinant,
    MirrorBill,
    ReadingCycle,
    Tariff,
)
from apps.billing.roles import APPROVE_PERMISSION, RUN_PERMISSION
from apps.billing.selectors import (
    comparison_by_feeder,
    comparison_rows,
    defaulters,
    determinants_of,
    runs_list,
)
from apps.billing.serializers import (
    BillingAccountSerializer,
    BillingRunSerializer,
    DeterminantSerializer,
    MirrorBillSerializer,
    MirrorImportSerializer,
    ReadingCycleSerializer,
    RunExportSerializer,
    RunStartSerializer,
    TariffSerializer,
)
from apps.billing.services import BillingRefused
from apps.billing.services.attributes import account_save, cycle_create
from apps.billing.services.exports import export_record
from apps.billing.services.mirror import MirrorImportInvalid, mirror_import
from apps.billing.services.runs import (
    run_approve,
    run_rerun,
    run_start,
    run_supplementary_start,
)
from apps.core.pagination import KeysetPagination


def _refused(refused: BillingRefused) -> ValidationError:
    return ValidationError({"detail": str(refused)})


class TariffViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tariff.objects.prefetch_related("band_maps").order_by("code")
    serializer_class = TariffSerializer
    filterset_class = filters.TariffFilter


class BillingAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = BillingAccount.objects.select_related("consumer").order_by("consumer__reference_no")
    serializer_class = BillingAccountSerializer
    filterset_class = filters.BillingAccountFilter

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = account_save(actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = {
            "consumer": serializer.instance.consumer,
            "reading_batch": serializer.instance.reading_batch,
            "tariff": serializer.instance.tariff,
            "sanctioned_load_kw": serializer.instance.sanctioned_load_kw,
            "status": serializer.instance.status,
            **serializer.validated_data,
        }
        serializer.instance = account_save(actor=self.request.user, **data)


class ReadingCycleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ReadingCycle.objects.order_by("-reading_date", "batch", "id")
    serializer_class = ReadingCycleSerializer
    filterset_class = filters.ReadingCycleFilter

    def perform_create(self, serializer):
        try:
            serializer.instance = cycle_create(actor=self.request.user, **serializer.validated_data)
        except BillingRefused as refused:
            raise _refused(refused) from refused


class DeterminantKeyset(KeysetPagination):
    ordering = ("reference_no", "id")
    page_size = 500
    max_page_size = 5000


class BillingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BillingRunSerializer

    @property
    def required_permission(self) -> str:
        if self.action == "approve":
            return APPROVE_PERMISSION
        if self.action in ("create", "rerun", "supplementary"):
            return RUN_PERMISSION
        return "billing.view_billingrun"

    def get_queryset(self):
        return runs_list().order_by("-created_at", "-id")

    def get_serializer_class(self):
        if self.action == "create":
            return RunStartSerializer
        return BillingRunSerializer

    filterset_class = filters.BillingRunFilter

    @extend_schema(request=RunStartSerializer, responses={202: BillingRunSerializer})
    def create(self, request):
        serializer = RunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            run = run_start(cycle=serializer.validated_data["cycle"], actor=request.user)
        except BillingRefused as refused:
            raise _refused(refused) from refused
        return Response(BillingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    def _act(self, service, pk, **kwargs):
        run = self.get_object()
        try:
            run = service(run=run, actor=self.request.user, **kwargs)
        except BillingRefused as refused:
            raise _refused(refused) from refused
        return Response(BillingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        return self._act(run_rerun, pk)

    @extend_schema(request=None, responses={202: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(run_approve, pk)

    @extend_schema(request=None, responses={202: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def supplementary(self, request, pk=None):
        return self._act(run_supplementary_start, pk)

    @extend_schema(responses=RunExportSerializer(many=True))
    @action(detail=True, methods=["get"])
    def exports(self, request, pk=None):
        run = self.get_object()
        return Response(RunExportSerializer(run.exports.order_by("-at", "-id"), many=True).data)


class DeterminantViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """A run's determinants as JSON, paged by (reference_no, id), filterable by batch,
    subdivision and feeder. The first page of a locked run is recorded as a JSON export;
    every page carries the SHA-256 of its bytes (``X-Content-SHA256``)."""

    serializer_class = DeterminantSerializer
    filterset_class = filters.DeterminantFilter
    pagination_class = DeterminantKeyset
    required_permission = "billing.view_billingrun"

    @cached_property
    def run(self) -> BillingRun:
        return get_object_or_404(runs_list(), pk=self.kwargs["run_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Determinant.objects.none()
        return determinants_of(self.run)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if self.run.locked and not request.query_params.get("cursor"):
            self._json_export = (self.run, len(response.data["results"]))
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code != 200:
            return response
        response.render()  # the checksum is of the bytes sent
        digest = hashlib.sha256(response.content).hexdigest()
        response["X-Content-SHA256"] = digest
        if getattr(self, "_json_export", None):
            run, rows = self._json_export
            export_record(
                run=run, export_format=ExportFormat.JSON, actor=request.user,
                sha256=digest, size=len(response.content), rows=rows,
            )  # fmt: skip
        return response


class MirrorBillViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Mirrored bills; ``import`` (POST ``{"rows": [...]}``, the CSV's columns), ``comparison``
    (``?month=YYYY-MM``) and ``defaulters`` (``?as_of=YYYY-MM-DD``)."""

    serializer_class = MirrorBillSerializer
    filterset_class = filters.MirrorBillFilter

    @property
    def required_permission(self) -> str:
        return (
            "billing.add_mirrorbill" if self.action == "import_rows" else "billing.view_mirrorbill"
        )

    def get_queryset(self):
        return MirrorBill.objects.select_related("consumer").order_by("-month", "id")

    @extend_schema(request=MirrorImportSerializer, responses=dict)
    @action(detail=False, methods=["post"], url_path="import")
    def import_rows(self, request):
        serializer = MirrorImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = list(enumerate(serializer.validated_data["rows"], start=1))
        try:
            result = mirror_import(rows=rows, actor=request.user, source="api")
        except MirrorImportInvalid as invalid:
            # answered here, not raised: a ValidationError would turn the line numbers to text
            return Response(
                {
                    "detail": str(invalid),
                    "rows": [{"row": n, "reason": r} for n, r in invalid.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"rows": result.rows, "bills": result.bills, "payments": result.payments})

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM")], responses=dict
    )
    @action(detail=False, methods=["get"])
    def comparison(self, request):
        text = request.query_params.get("month", "")
        try:
            month = dt.date.fromisoformat(f"{text.strip()[:7]}-01")
        except ValueError:
            raise ValidationError({"month": "Give the month as YYYY-MM."}) from None
        rows = comparison_rows(month=month)
        return Response(
            {
                "month": f"{month:%Y-%m}",
                "feeders": comparison_by_feeder(rows),
                "consumers": [row.__dict__ for row in rows],
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("as_of", dt.date, description="YYYY-MM-DD")],
        responses=MirrorBillSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def defaulters(self, request):
        text = request.query_params.get("as_of")
        try:
            as_of = dt.date.fromisoformat(text) if text else timezone.localdate()
        except ValueError:
            raise ValidationError({"as_of": "Give a date as YYYY-MM-DD."}) from None
        page = self.paginate_queryset(defaulters(as_of=as_of))
        return self.get_paginated_response(MirrorBillSerializer(page, many=True).data)
