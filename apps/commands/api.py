"""REST API: create, list, follow, cancel, approve and retry commands, with the console's
permissions (view to read, send to create and retry, cancel to cancel, approve to approve)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.commands import services
from apps.commands.filters import CommandDeviceFilter, CommandRequestFilter
from apps.commands.models import CommandRequest
from apps.commands.selectors import commands_catalogue, request_devices, requests_history
from apps.commands.serializers import (
    CancelSerializer,
    CommandDeviceSerializer,
    CommandRequestCreateSerializer,
    CommandRequestDetailSerializer,
    CommandRequestSerializer,
    DecisionSerializer,
)
from apps.core.api_errors import object_id, service_call

ACTION_PERMISSIONS = {
    "create": services.SEND_PERMISSION,
    "retry": services.SEND_PERMISSION,
    "cancel": services.CANCEL_PERMISSION,
    "approve": services.APPROVE_PERMISSION,
    "reject": services.APPROVE_PERMISSION,
}


class CommandRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = CommandRequest.objects.all()
    serializer_class = CommandRequestSerializer
    filterset_class = CommandRequestFilter
    ordering_fields = ["created_at", "id", "state", "device_count"]

    @property
    def required_permission(self) -> str:
        return ACTION_PERMISSIONS.get(self.action, "commands.view_commandrequest")

    def get_queryset(self):
        return requests_history()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return CommandRequestDetailSerializer
        if self.action == "create":
            return CommandRequestCreateSerializer
        if self.action == "devices":
            return CommandDeviceSerializer
        return CommandRequestSerializer

    def _obj(self, pk) -> CommandRequest:
        """The request, without the list filters (the device list has its own). An id that is
        not a whole number is a 404 with a message, not a database error."""
        obj = get_object_or_404(self.get_queryset(), pk=object_id(pk, noun="command request"))
        self.check_object_permissions(self.request, obj)
        return obj

    def _detail(self, obj, code=status.HTTP_200_OK):
        obj.refresh_from_db()
        data = CommandRequestDetailSerializer(obj, context=self.get_serializer_context()).data
        return Response(data, status=code)

    @extend_schema(request=CommandRequestCreateSerializer, responses=CommandRequestDetailSerializer)
    def create(self, request):
        serializer = CommandRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = service_call(
            services.command_request_create,
            actor=request.user,
            command=data["command"],
            params=data.get("params") or {},
            meters=serializer.meters_target(),
            scheduled_at=data.get("scheduled_at"),
        )
        return self._detail(created, status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=dict,
        parameters=[
            OpenApiParameter(
                "mdc", str, description="Only this MDC (its code): the commands of its profile"
            )
        ],
    )
    @action(detail=False, methods=["get"])
    def catalogue(self, request):
        """The commands each registered MDC is offered (those of its UDIL profile), with their
        parameters as the protocol package defines them (the console's forms are made from
        these)."""
        return Response(commands_catalogue(mdc_code=request.query_params.get("mdc")))

    @extend_schema(request=CancelSerializer, responses=dict)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        obj = self._obj(pk)
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = service_call(
            services.command_cancel,
            actor=request.user,
            request=obj,
            devices=serializer.validated_data.get("devices"),
        )
        return Response(
            {
                "cancel_request": result.request.pk if result.request else None,
                "sent": result.sent,
                "cancelled_locally": result.cancelled_locally,
                "not_cancellable": [
                    {"global_device_id": g, "reason": why} for g, why in result.not_cancellable
                ],
            }
        )

    @extend_schema(request=DecisionSerializer, responses=CommandRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = service_call(
            services.command_request_approve,
            actor=request.user,
            request=self._obj(pk),
            note=serializer.validated_data["note"],
        )
        return self._detail(obj)

    @extend_schema(request=DecisionSerializer, responses=CommandRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = service_call(
            services.command_request_reject,
            actor=request.user,
            request=self._obj(pk),
            note=serializer.validated_data["note"],
        )
        return self._detail(obj)

    @extend_schema(request=None, responses=CommandRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        result = service_call(
            services.command_retry_failed, actor=request.user, request=self._obj(pk)
        )
        response = self._detail(result.request, status.HTTP_201_CREATED)
        response.data["left_out"] = [
            {"global_device_id": g, "reason": why} for g, why in result.left_out
        ]
        return response

    @action(detail=True, methods=["get"])
    def devices(self, request, pk=None):
        queryset = CommandDeviceFilter(
            data=request.query_params, queryset=request_devices(self._obj(pk))
        ).qs
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CommandDeviceSerializer(page, many=True).data)
