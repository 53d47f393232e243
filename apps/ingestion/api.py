"""REST API of ingestion: runs and watermarks (read-only, same filters as the pages), MDC health,
and Pull now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ingestion import selectors
from apps.ingestion.choices import HealthStatus
from apps.ingestion.filters import IngestionRunFilter, WatermarkFilter
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.services import PullRefused, pull_request
from apps.registry.choices import Dataset
from apps.registry.models import Mdc


class IngestionRunSerializer(serializers.ModelSerializer):
    mdc_code = serializers.CharField(source="mdc.code", read_only=True)

    class Meta:
        model = IngestionRun
        fields = [
            "id",
            "mdc",
            "mdc_code",
            "dataset",
            "transport",
            "trigger",
            "outcome",
            "window_start",
            "window_end",
            "watermark_before",
            "watermark_after",
            "devices",
            "requests",
            "windows_loaded",
            "rows_received",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_quarantined",
            "payloads_quarantined",
            "retries",
            "error_type",
            "error",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]


class WatermarkSerializer(serializers.ModelSerializer):
    mdc_code = serializers.CharField(source="mdc.code", read_only=True)

    class Meta:
        model = Watermark
        fields = ["id", "mdc", "mdc_code", "dataset", "position", "updated_at"]


class IngestionRunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.runs_list()
    serializer_class = IngestionRunSerializer
    filterset_class = IngestionRunFilter
    ordering_fields = ["started_at", "rows_received", "duration_seconds"]


class WatermarkViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.watermarks_list()
    serializer_class = WatermarkSerializer
    filterset_class = WatermarkFilter


class ProbeSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class MdcHealthSerializer(serializers.Serializer):
    mdc = serializers.IntegerField(source="mdc.pk")
    mdc_code = serializers.CharField(source="mdc.code")
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    healthy = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    last_probe = ProbeSerializer(allow_null=True)
    last_probe_success = serializers.DateTimeField(allow_null=True)
    last_success = serializers.DateTimeField(allow_null=True)
    lag_hours = serializers.FloatField(allow_null=True)
    runs = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField(allow_null=True)
    rows = serializers.IntegerField()


class MdcHealthView(APIView):
    """Per MDC: health status and why (last probe, failed pulls), last success, lag behind now,
    error rate over the last 24 hours."""

    required_permission = "ingestion.view_ingestionrun"
    serializer_class = MdcHealthSerializer

    @extend_schema(responses=MdcHealthSerializer(many=True))
    def get(self, request):
        return Response(MdcHealthSerializer(selectors.mdc_health(), many=True).data)


class PullRequestSerializer(serializers.Serializer):
    mdc = serializers.PrimaryKeyRelatedField(queryset=Mdc.objects.all())
    dataset = serializers.ChoiceField(choices=Dataset.choices, required=False, allow_blank=True)


class PullNowView(APIView):
    """Queue a pull now (one data set, or all when ``dataset`` is empty). Administrators."""

    required_permission = "ingestion.pull_now"
    serializer_class = PullRequestSerializer

    def post(self, request):
        serializer = PullRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            codes = pull_request(
                actor=request.user,
                mdc=serializer.validated_data["mdc"],
                dataset_code=serializer.validated_data.get("dataset") or None,
            )
        except PullRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"queued": codes}, status=status.HTTP_202_ACCEPTED)
