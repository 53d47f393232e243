from __future__ import annotations

from rest_framework import serializers

from apps.workflows.models import WorkOrder, WorkOrderStep
from apps.workflows.procedures import BULK_PROCEDURES, ProcedureCode
from apps.workflows.selectors import is_overdue


class WorkOrderStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkOrderStep
        fields = [
            "position",
            "key",
            "label",
            "kind",
            "state",
            "command_request",
            "attempts",
            "performed_by_name",
            "started_at",
            "finished_at",
            "reason",
            "result",
        ]


class WorkOrderSerializer(serializers.ModelSerializer):
    consumer = serializers.CharField(source="consumer.reference_no", default=None)
    cycle = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    billing_run = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    meter = serializers.CharField(source="meter.global_device_id", default=None)
    new_meter = serializers.CharField(source="new_meter.global_device_id", default=None)
    subdivision = serializers.CharField(source="subdivision.code", default=None)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "procedure",
            "consumer",
            "cycle",
            "billing_run",
            "meter",
            "new_meter",
            "subdivision",
            "options",
            "state",
            "current_step",
            "step_since",
            "overdue",
            "reason",
            "note",
            "started_by_name",
            "created_at",
            "finished_at",
        ]

    def get_overdue(self, obj) -> bool:
        return is_overdue(obj)


class WorkOrderDetailSerializer(WorkOrderSerializer):
    steps = WorkOrderStepSerializer(many=True, read_only=True)

    class Meta(WorkOrderSerializer.Meta):
        fields = [*WorkOrderSerializer.Meta.fields, "steps"]


class WorkOrderCreateSerializer(serializers.Serializer):
    procedure = serializers.ChoiceField(choices=ProcedureCode.choices)
    consumer = serializers.CharField(
        max_length=50, required=False, help_text="Consumer reference number (every CP but CP10)."
    )
    cycle = serializers.IntegerField(
        required=False, min_value=1, help_text="CP10: the reading cycle to bill (its id)."
    )
    options = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        default=dict,
        help_text='Options of the procedure, e.g. CP6 {"cycle_reading": true}.',
    )
    meter = serializers.CharField(
        max_length=50, required=False, help_text="Global device id (default: its only meter)."
    )
    new_meter = serializers.CharField(
        max_length=50, required=False, help_text="Meter change: the registered meter replacing it."
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class BulkStartSerializer(serializers.Serializer):
    procedure = serializers.ChoiceField(choices=[(p, p) for p in BULK_PROCEDURES])
    consumers = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=500
    )
    defaulters_as_of = serializers.DateField(
        required=False, help_text="CP13: every consumer of the billing mirror's defaulter list."
    )
    subdivision_code = serializers.CharField(
        max_length=50, required=False, help_text="CP6: consumers with a meter in this subdivision."
    )
    options = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        default=dict,
        help_text='Options of the procedure, e.g. CP6 {"cycle_reading": true}.',
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if not any(attrs.get(k) for k in ("consumers", "defaulters_as_of", "subdivision_code")):
            raise serializers.ValidationError(
                "Give consumers, defaulters_as_of (CP13) or subdivision_code (CP6)."
            )
        return attrs


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class WorkOrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class BulkRefusedSerializer(serializers.Serializer):
    consumer = serializers.CharField()
    reason = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    started = serializers.ListField(child=serializers.IntegerField())
    refused = BulkRefusedSerializer(many=True)
