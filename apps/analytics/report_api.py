"""Reports over the API (/api/analytics/reports/): list and run (queued, built by a worker),
one report's state, and its CSV or PDF once done."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analytics.choices import NodeLevel, ReportFormat, ReportKind, ReportState
from apps.analytics.models import Report
from apps.analytics.report_views import REPORT_ADD_PERMISSION, REPORT_VIEW_PERMISSION
from apps.analytics.services.reports import report_request
from apps.core.api_errors import object_id, service_call


class CanViewReports(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(REPORT_VIEW_PERMISSION)


_KINDS = ", ".join(ReportKind.values)


class AnalyticsReportSerializer(serializers.ModelSerializer):
    # text, not an enum: "kind" names other choice sets in the schema (conformance, billing)
    kind = serializers.CharField(read_only=True, help_text=f"one of {_KINDS}")
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    csv_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "kind", "start", "end", "level", "requested_by", "scheduled", "state",
                  "progress", "rows", "error", "created_at", "started_at", "finished_at",
                  "csv_url", "pdf_url"]  # fmt: skip
        read_only_fields = fields

    def _url(self, report: Report, fmt: str) -> str | None:
        if report.state != ReportState.DONE:
            return None
        return reverse("analytics-api-report-download", args=[report.pk, fmt])

    def get_csv_url(self, report: Report) -> str | None:
        return self._url(report, "csv")

    def get_pdf_url(self, report: Report) -> str | None:
        return self._url(report, "pdf")


class AnalyticsReportRequestSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=20, help_text=f"one of {_KINDS}")
    start = serializers.DateField()
    end = serializers.DateField()
    level = serializers.ChoiceField(choices=NodeLevel.choices, required=False, allow_blank=True)


class ReportListApi(generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated, CanViewReports]
    serializer_class = AnalyticsReportSerializer
    queryset = Report.objects.select_related("requested_by").defer("csv_data", "pdf_data")

    @extend_schema(request=AnalyticsReportRequestSerializer,
                   responses={201: AnalyticsReportSerializer}, summary="Run a report")  # fmt: skip
    def post(self, request, *args, **kwargs):
        if not request.user.has_perm(REPORT_ADD_PERMISSION):
            raise PermissionDenied("Running reports is for Operators and Administrators.")
        body = AnalyticsReportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = service_call(report_request, actor=request.user, **body.validated_data)
        return Response(AnalyticsReportSerializer(report).data, status=201)


class ReportDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, CanViewReports]
    serializer_class = AnalyticsReportSerializer
    queryset = ReportListApi.queryset

    def get_object(self):
        pk = object_id(self.kwargs["pk"], noun="report")
        report = self.get_queryset().filter(pk=pk).first()
        if report is None:
            raise NotFound(f"No report {pk}.")
        return report


class ReportDownloadApi(APIView):
    permission_classes = [IsAuthenticated, CanViewReports]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY,
                              (200, "application/pdf"): OpenApiTypes.BINARY},
                   operation_id="analytics_reports_download",
                   summary="A done report's CSV or PDF")  # fmt: skip
    def get(self, request, pk, fmt):
        if fmt not in ReportFormat.values:
            raise NotFound("Reports are csv or pdf.")
        report = Report.objects.filter(pk=object_id(pk, noun="report")).first()
        if report is None:
            raise NotFound(f"No report {pk}.")
        data = bytes(report.csv_data if fmt == ReportFormat.CSV else report.pdf_data)
        if report.state != ReportState.DONE or not data:
            raise NotFound("The report is not ready.")
        kind = "text/csv; charset=utf-8" if fmt == ReportFormat.CSV else "application/pdf"
        response = HttpResponse(data, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="{report.file_name(fmt)}"'
        return response
