"""REST API: the same FilterSets as the pages; writes through the services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.registry import filters, serializers, services
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Mdc,
    Meter,
    Subdivision,
    Transformer,
)
from apps.registry.roles import METER_ADMINISTRATION_FIELDS


class _WriteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and change; nothing is deleted through the API."""


class MdcViewSet(_WriteViewSet):
    queryset = Mdc.objects.all()
    serializer_class = serializers.MdcSerializer
    filterset_class = filters.MdcFilter
    ordering_fields = ["code", "name", "vendor", "created_at"]

    @property
    def required_permission(self) -> str | None:
        return "registry.change_mdc" if self.action == "test_connection" else None

    @extend_schema(request=None, responses=serializers.ConnectionResultSerializer)
    @action(detail=True, methods=["post"])
    def test_connection(self, request, pk=None):
        result = services.mdc_test_connection(actor=request.user, mdc=self.get_object())
        return Response(serializers.ConnectionResultSerializer(result).data)


class MeterViewSet(_WriteViewSet):
    queryset = Meter.objects.select_related("mdc", "transformer", "consumer")
    serializer_class = serializers.MeterSerializer
    filterset_class = filters.MeterFilter
    ordering_fields = ["global_device_id", "msn", "created_at", "updated_at"]
    field_permissions = METER_ADMINISTRATION_FIELDS

    def get_serializer_class(self):
        if self.action == "import_csv":
            return serializers.MeterImportSerializer
        return super().get_serializer_class()

    @extend_schema(responses=serializers.ImportReportSerializer)
    @action(detail=False, methods=["post"], url_path="import")
    def import_csv(self, request):
        """Register meters from a CSV upload; the report lists bad rows by line number."""
        form = serializers.MeterImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        report = services.meters_import_csv(
            actor=request.user,
            file=form.validated_data["file"],
            mdc=form.validated_data.get("mdc"),
            all_or_nothing=form.validated_data["all_or_nothing"],
            send_device_creation=form.validated_data["send_device_creation"],
        )
        body = serializers.ImportReportSerializer(
            {
                "created": report.created,
                "rows_total": report.rows_total,
                "errors": [list(e) for e in report.errors],
                "device_creation_requests": report.device_creation_requests,
                "device_creation_error": report.device_creation_error,
            }
        ).data
        if report.created:
            code = status.HTTP_201_CREATED
        elif report.errors:
            code = status.HTTP_400_BAD_REQUEST
        else:
            code = status.HTTP_200_OK
        return Response(body, status=code)


class ConsumerViewSet(_WriteViewSet):
    queryset = Consumer.objects.all()
    serializer_class = serializers.ConsumerSerializer
    filterset_class = filters.ConsumerFilter
    ordering_fields = ["reference_no", "name"]


class DiscoViewSet(_WriteViewSet):
    queryset = Disco.objects.all()
    serializer_class = serializers.DiscoSerializer
    filterset_class = filters.DiscoFilter


class CircleViewSet(_WriteViewSet):
    queryset = Circle.objects.all()
    serializer_class = serializers.CircleSerializer
    filterset_class = filters.CircleFilter


class DivisionViewSet(_WriteViewSet):
    queryset = Division.objects.all()
    serializer_class = serializers.DivisionSerializer
    filterset_class = filters.DivisionFilter


class SubdivisionViewSet(_WriteViewSet):
    queryset = Subdivision.objects.all()
    serializer_class = serializers.SubdivisionSerializer
    filterset_class = filters.SubdivisionFilter


class FeederViewSet(_WriteViewSet):
    queryset = Feeder.objects.all()
    serializer_class = serializers.FeederSerializer
    filterset_class = filters.FeederFilter


class TransformerViewSet(_WriteViewSet):
    queryset = Transformer.objects.all()
    serializer_class = serializers.TransformerSerializer
    filterset_class = filters.TransformerFilter
