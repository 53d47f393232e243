"""REST API of work orders: create (one or in bulk), list with the page's filters, follow, and
act (approve, perform, cancel), with the pages' permissions (the services check them)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.api_errors import object_id, service_call
from apps.workflows import services
from apps.workflows.filters import WorkOrderFilter
from apps.workflows.models import WorkOrder
from apps.workflows.selectors import consumers_for_bulk, work_orders
from apps.workflows.serializers import (
    BulkResultSerializer,
    BulkStartSerializer,
    NoteSerializer,
    WorkOrderCancelSerializer,
    WorkOrderCreateSerializer,
    WorkOrderDetailSerializer,
    WorkOrderSerializer,
)

VIEW = "workflows.view_workorder"


class WorkOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = WorkOrder.objects.all()
    serializer_class = WorkOrderSerializer
    filterset_class = WorkOrderFilter
    ordering_fields = ["created_at", "id", "state", "step_since"]
    # Reading needs the view permission; acting is checked by the services (per step's role).
    required_permission = VIEW

    def get_queryset(self):
        return work_orders()

    def get_serializer_class(self):
        return WorkOrderDetailSerializer if self.action == "retrieve" else WorkOrderSerializer

    def _obj(self, pk) -> WorkOrder:
        return get_object_or_404(self.get_queryset(), pk=object_id(pk, noun="work order"))

    def _detail(self, obj, code=status.HTTP_200_OK):
        obj = self._obj(obj.pk)
        return Response(WorkOrderDetailSerializer(obj).data, status=code)

    @extend_schema(request=WorkOrderCreateSerializer, responses=WorkOrderDetailSerializer)
    def create(self, request):
        from apps.registry.models import Consumer, Meter

        serializer = WorkOrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from apps.billing.models import ReadingCycle

        consumer = cycle = None
        if data.get("consumer"):
            consumer = Consumer.objects.filter(reference_no=data["consumer"]).first()
            if consumer is None:
                raise ValidationError({"consumer": f"No consumer {data['consumer']!r}."})
        if data.get("cycle"):
            cycle = ReadingCycle.objects.filter(pk=data["cycle"]).first()
            if cycle is None:
                raise ValidationError({"cycle": f"No reading cycle {data['cycle']}."})
        meters = {}
        for name in ("meter", "new_meter"):
            if data.get(name):
                meters[name] = Meter.objects.filter(global_device_id=data[name]).first()
                if meters[name] is None:
                    raise ValidationError({name: f"No meter {data[name]!r}."})
        order = service_call(
            services.work_order_start,
            actor=request.user,
            procedure=data["procedure"],
            consumer=consumer,
            meter=meters.get("meter"),
            new_meter=meters.get("new_meter"),
            cycle=cycle,
            options=data["options"],
            note=data["note"],
        )
        return self._detail(order, status.HTTP_201_CREATED)

    def _bulk_consumers(self, data) -> list:
        consumers, missing = consumers_for_bulk(
            references=data.get("consumers"),
            defaulters_as_of=data.get("defaulters_as_of"),
            subdivision_code=data.get("subdivision_code", ""),
        )
        if missing:
            raise ValidationError({"consumers": f"Unknown consumers: {', '.join(missing[:10])}"})
        return consumers

    @extend_schema(request=BulkStartSerializer, responses={201: BulkResultSerializer})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        serializer = BulkStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = service_call(
            services.work_orders_bulk_start,
            actor=request.user,
            procedure=data["procedure"],
            consumers=self._bulk_consumers(data),
            note=data["note"],
            options=data["options"],
        )
        return Response(
            {
                "started": result["started"],
                "refused": [{"consumer": c, "reason": r} for c, r in result["refused"]],
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=NoteSerializer, responses=WorkOrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = service_call(
            services.work_order_step_approve,
            actor=request.user,
            order=self._obj(pk),
            note=serializer.validated_data["note"],
        )
        return self._detail(order)

    @extend_schema(request=NoteSerializer, responses=WorkOrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def perform(self, request, pk=None):
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = service_call(
            services.work_order_step_perform,
            actor=request.user,
            order=self._obj(pk),
            note=serializer.validated_data["note"],
        )
        return self._detail(order)

    @extend_schema(request=WorkOrderCancelSerializer, responses=WorkOrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = WorkOrderCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = service_call(
            services.work_order_cancel,
            actor=request.user,
            order=self._obj(pk),
            reason=serializer.validated_data["reason"],
        )
        return self._detail(order)
