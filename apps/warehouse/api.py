"""Read API of the warehouse: every data set, filtered like the pages, and the quarantine.

Data set endpoints page with a keyset cursor on the meter time (newest first) and the rest of
the row's key: no COUNT over partitioned tables of millions of rows, stable pages while loads
run, and rows sharing a time are neither lost nor repeated.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.pagination import KeysetPagination
from apps.warehouse import filters
from apps.warehouse.models import (
    BillingReading,
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)
from apps.warehouse.schema import table_for
from apps.warehouse.services import (
    QuarantineReprocessRefused,
    quarantine_reprocess,
    quarantined_row_resolve,
)


def _serializer_for(model, dataset_code: str) -> type[serializers.ModelSerializer]:
    meta = type(
        "Meta",
        (),
        # every stored column: the 2019 and the 3.3 fields
        {
            "model": model,
            "fields": [*table_for(dataset_code).data_columns, "mdc_id", "ingested_at"],
        },
    )
    return type(f"{model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})


InstantaneousReadingSerializer = _serializer_for(InstantaneousReading, "instantaneous")
BillingReadingSerializer = _serializer_for(BillingReading, "billing")
MonthlyBillingReadingSerializer = _serializer_for(MonthlyBillingReading, "monthly_billing")
LoadProfileReadingSerializer = _serializer_for(LoadProfileReading, "load_profile")
MeterEventSerializer = _serializer_for(MeterEvent, "events")
MeterVisualsSerializer = _serializer_for(MeterVisuals, "meter_visuals")
DeviceCommunicationHistorySerializer = _serializer_for(
    DeviceCommunicationHistory, "device_comm_history"
)


class MeterTimeNewestFirst(KeysetPagination):
    # Newest first, then the rest of the table's key: many meters share every reading time.
    ordering = ("-meter_datetime", "global_device_id")


class LoadProfileNewestFirst(KeysetPagination):
    ordering = ("-meter_datetime", "global_device_id", "channel_id")


class EventTimeNewestFirst(KeysetPagination):
    ordering = ("-event_datetime", "global_device_id", "event_code")


class DataSetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """List only: rows are identified by their composite key, filter by it."""

    pagination_class = MeterTimeNewestFirst
    ordering_fields: list[str] = []


class InstantaneousReadingViewSet(DataSetViewSet):
    queryset = InstantaneousReading.objects.all()
    serializer_class = InstantaneousReadingSerializer
    filterset_class = filters.InstantaneousReadingFilter


class BillingReadingViewSet(DataSetViewSet):
    queryset = BillingReading.objects.all()
    serializer_class = BillingReadingSerializer
    filterset_class = filters.BillingReadingFilter


class MonthlyBillingReadingViewSet(DataSetViewSet):
    queryset = MonthlyBillingReading.objects.all()
    serializer_class = MonthlyBillingReadingSerializer
    filterset_class = filters.MonthlyBillingReadingFilter


class LoadProfileReadingViewSet(DataSetViewSet):
    queryset = LoadProfileReading.objects.all()
    serializer_class = LoadProfileReadingSerializer
    filterset_class = filters.LoadProfileReadingFilter
    pagination_class = LoadProfileNewestFirst


class MeterEventViewSet(DataSetViewSet):
    queryset = MeterEvent.objects.all()
    serializer_class = MeterEventSerializer
    filterset_class = filters.MeterEventFilter
    pagination_class = EventTimeNewestFirst


class DeviceCommunicationHistoryViewSet(DataSetViewSet):
    queryset = DeviceCommunicationHistory.objects.all()
    serializer_class = DeviceCommunicationHistorySerializer
    filterset_class = filters.DeviceCommunicationHistoryFilter


class MeterVisualsViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = MeterVisuals.objects.order_by("global_device_id")
    serializer_class = MeterVisualsSerializer
    filterset_class = filters.MeterVisualsFilter


class QuarantinedRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedRow
        fields = [
            "id", "at", "mdc_id", "dataset_code", "kind", "reason", "raw_payload", "raw_text",
            "source", "resolved", "resolved_at", "resolution_note", "count", "last_seen_at",
            "window_start", "window_end", "device_ids",
        ]  # fmt: skip


class QuarantineResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class QuarantineReprocessSerializer(serializers.Serializer):
    """What a re-process did; the entry is resolved when it loaded."""

    resolved = serializers.BooleanField()
    reason = serializers.CharField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    refused = serializers.IntegerField()


class QuarantinedRowViewSet(viewsets.ReadOnlyModelViewSet):
    """The quarantine. ``reprocess`` checks and loads an entry again once its cause is fixed;
    ``resolve`` releases it (both need the change permission, both audited)."""

    queryset = QuarantinedRow.objects.all()
    serializer_class = QuarantinedRowSerializer
    filterset_class = filters.QuarantinedRowFilter

    @property
    def required_permission(self) -> str | None:
        if self.action in ("reprocess", "resolve"):
            return "warehouse.change_quarantinedrow"
        return None

    @extend_schema(request=None, responses=QuarantineReprocessSerializer)
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        entry = self.get_object()
        try:
            result = quarantine_reprocess(quarantined_row=entry, actor=request.user)
        except QuarantineReprocessRefused as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        entry.refresh_from_db()
        data = {
            "resolved": entry.resolved,
            "reason": entry.reason,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "refused": result.quarantined,
        }
        return Response(QuarantineReprocessSerializer(data).data)

    @extend_schema(request=QuarantineResolveSerializer, responses=QuarantinedRowSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        entry = self.get_object()
        form = QuarantineResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if entry.resolved:
            raise ValidationError({"detail": "this entry is already resolved"})
        quarantined_row_resolve(
            quarantined_row=entry, actor=request.user, note=form.validated_data["note"]
        )
        return Response(QuarantinedRowSerializer(entry).data)
