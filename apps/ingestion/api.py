"""REST API of ingestion: runs, watermarks and file deliveries (read-only, same filters as the
pages), MDC health, Pull now and the upload of a flat-file delivery."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ingestion import selectors
from apps.ingestion.choices import HealthStatus
from apps.ingestion.filters import FileDeliveryFilter, IngestionRunFilter, WatermarkFilter
from apps.ingestion.models import FileDelivery, IngestionRun, Watermark
from apps.ingestion.services import PullRefused, delivery_upload, pull_request
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


class FileDeliverySerializer(serializers.ModelSerializer):
    mdc_code = serializers.CharField(source="mdc.code", read_only=True)

    class Meta:
        model = FileDelivery
        fields = [
            "id",
            "mdc",
            "mdc_code",
            "dataset",
            "name",
            "sha256",
            "size",
            "source",
            "state",
            "run",
            "rows_received",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_quarantined",
            "error",
            "received_at",
        ]


class FileDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.deliveries_list()
    serializer_class = FileDeliverySerializer
    filterset_class = FileDeliveryFilter
    ordering_fields = ["received_at", "rows_received"]


class DeliveryUploadSerializer(serializers.Serializer):
    mdc = serializers.PrimaryKeyRelatedField(queryset=Mdc.objects.all())
    file = serializers.FileField()

    def validate_file(self, upload):
        if upload.size > settings.INGESTION_FILE_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is larger than {settings.INGESTION_FILE_MAX_BYTES} bytes."
            )
        return upload


class DeliveryImportView(APIView):
    """Upload one flat-file delivery of a file MDC (multipart: ``mdc``, ``file``); it loads at
    once. 201 with the delivery (``state`` loaded, duplicate or failed); 409 when the MDC does not
    deliver files, the name states no data set, or a load of that data set is running."""

    required_permission = "ingestion.upload_delivery"
    serializer_class = DeliveryUploadSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=DeliveryUploadSerializer,
        responses={
            201: FileDeliverySerializer,
            409: OpenApiResponse(
                response=inline_serializer(
                    "DeliveryRefused", fields={"detail": serializers.CharField()}
                ),
                description="Not a flat-file MDC, a name that states no data set and time, or a "
                "load of that data set already running.",
            ),
        },
    )
    def post(self, request):
        serializer = DeliveryUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            delivery = delivery_upload(
                actor=request.user,
                mdc=serializer.validated_data["mdc"],
                name=upload.name,
                content=upload.read(),
            )
        except PullRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(FileDeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)
