"""REST API of VEE: exceptions (with the queue's filters and actions, one or in bulk over a
filter), rules, versions and validation runs (list, or ask for one over a range)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.core.api_errors import object_id
from apps.registry.models import Mdc
from apps.vee import filters
from apps.vee.models import ValidationException, ValidationRun, ValueVersion
from apps.vee.roles import EDIT_PERMISSION
from apps.vee.selectors import exceptions_queue, rules_list
from apps.vee.serializers import (
    ActionSerializer,
    RuleSerializer,
    RuleUpdateSerializer,
    ValidateSerializer,
    ValidationExceptionSerializer,
    ValidationRunSerializer,
    ValueVersionSerializer,
)
from apps.vee.services.queue import (
    ActionRefused,
    exception_edit,
    exceptions_accept,
    exceptions_estimate,
    exceptions_explain,
)
from apps.vee.services.rules import rule_update


def _run_action(data: dict, *, actor, exceptions, single: ValidationException | None) -> dict:
    try:
        if data["action"] == "accept":
            count = exceptions_accept(exceptions=exceptions, actor=actor, note=data["note"])
        elif data["action"] == "estimate":
            count = exceptions_estimate(
                exceptions=exceptions, actor=actor, method=data["method"], reason=data["reason"]
            )
        elif data["action"] == "explain":
            count = exceptions_explain(
                exceptions=exceptions,
                actor=actor,
                explanation=data["explanation"],
                note=data["note"],
            )
        else:
            if single is None:
                raise ActionRefused("A typed value is for one exception at a time.")
            count = exception_edit(
                exception=single, actor=actor, value=data["value"], reason=data["reason"]
            )
    except ActionRefused as refused:
        raise ValidationError({"detail": str(refused)}) from refused
    return {"action": data["action"], "count": count}


class ValidationExceptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ValidationExceptionSerializer
    filterset_class = filters.ValidationExceptionFilter
    ordering_fields = ["period_start", "created_at", "severity", "id"]

    @property
    def required_permission(self) -> str:
        if self.action in ("act", "bulk"):
            return EDIT_PERMISSION
        return "vee.view_validationexception"

    def get_queryset(self):
        return exceptions_queue().order_by("-period_start", "id")

    def _object(self, pk) -> ValidationException:
        try:
            return exceptions_queue().get(pk=object_id(pk, noun="exception"))
        except ValidationException.DoesNotExist:
            raise NotFound(f"No exception {pk}.") from None

    @extend_schema(request=ActionSerializer, responses=ValidationExceptionSerializer)
    @action(detail=True, methods=["post"], url_path="action")
    def act(self, request, pk=None):
        obj = self._object(pk)
        serializer = ActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _run_action(
            serializer.validated_data,
            actor=request.user,
            exceptions=ValidationException.objects.filter(pk=obj.pk),
            single=obj,
        )
        obj.refresh_from_db()
        return Response(ValidationExceptionSerializer(obj).data)

    @extend_schema(request=ActionSerializer, responses=dict)
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """The action over every exception the query string's filters select."""
        serializer = ActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        selected = self.filter_queryset(self.get_queryset())
        return Response(
            _run_action(
                serializer.validated_data, actor=request.user, exceptions=selected, single=None
            )
        )


class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rules; PATCH (``vee.edit_data``, as every VEE change) changes parameters, severity or
    enabled, checked against the rule type."""

    queryset = rules_list()
    serializer_class = RuleSerializer
    filterset_class = filters.RuleFilter
    http_method_names = ["get", "patch", "head", "options"]

    @property
    def required_permission(self) -> str:
        return EDIT_PERMISSION if self.action == "partial_update" else "vee.view_rule"

    @extend_schema(request=RuleUpdateSerializer, responses=RuleSerializer)
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        serializer = RuleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_update(rule=rule, actor=request.user, **serializer.validated_data)
        return Response(RuleSerializer(rule).data)


class ValueVersionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = ValueVersion.objects.select_related("meter").order_by(
        "meter_id", "channel_id", "meter_datetime", "version"
    )
    serializer_class = ValueVersionSerializer
    filterset_class = filters.ValueVersionFilter


class ValidationRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = ValidationRun.objects.order_by("-started_at", "-id")
    serializer_class = ValidationRunSerializer
    filterset_class = filters.ValidationRunFilter

    @property
    def required_permission(self) -> str:
        return EDIT_PERMISSION if self.action == "create" else "vee.view_validationrun"

    @extend_schema(request=ValidateSerializer, responses={202: dict})
    def create(self, request):
        """Validate a range again (queued on a worker): every meter, or one MDC's."""
        if not request.user.has_perm(EDIT_PERMISSION):
            raise PermissionDenied()
        serializer = ValidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mdc_id = data.get("mdc")
        if mdc_id is not None and not Mdc.objects.filter(pk=mdc_id).exists():
            raise ValidationError({"mdc": f"No MDC {mdc_id}."})
        from apps.vee.tasks import validate_range

        args = (data["start"].isoformat(), data["end"].isoformat(), mdc_id)
        transaction.on_commit(lambda: validate_range.delay(*args))
        return Response(
            {"queued": True, "start": args[0], "end": args[1], "mdc": mdc_id},
            status=status.HTTP_202_ACCEPTED,
        )
