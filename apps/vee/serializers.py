"""API shapes of VEE. Datetimes are served in Pakistan time with their offset (DRF renders
aware datetimes in the current time zone, Asia/Karachi)."""

from __future__ import annotations

from rest_framework import serializers

from apps.vee.choices import ESTIMATION_METHODS, Explanation, Severity
from apps.vee.models import Rule, ValidationException, ValidationRun, ValueVersion


class RuleSerializer(serializers.ModelSerializer):
    rule_set = serializers.CharField(source="rule_set.name", read_only=True)

    class Meta:
        model = Rule
        fields = ["id", "rule_set", "rule_type", "name", "parameters", "severity", "enabled"]


class RuleUpdateSerializer(serializers.Serializer):
    parameters = serializers.JSONField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class ValidationExceptionSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    rule_type = serializers.CharField(source="rule.rule_type", read_only=True)
    global_device_id = serializers.CharField(source="meter.global_device_id", read_only=True)
    mdc = serializers.CharField(source="meter.mdc.code", read_only=True)

    class Meta:
        model = ValidationException
        fields = [
            "id", "rule", "rule_name", "rule_type", "global_device_id", "mdc", "channel_id",
            "period_start", "period_end", "values", "severity", "status", "explanation", "note",
            "decided_by", "decided_at", "created_at", "updated_at",
        ]  # fmt: skip


class ValueVersionSerializer(serializers.ModelSerializer):
    global_device_id = serializers.CharField(source="meter.global_device_id", read_only=True)

    class Meta:
        model = ValueVersion
        fields = [
            "id", "global_device_id", "channel_id", "meter_datetime", "quantity", "version",
            "kind", "value", "method", "inputs", "reason", "exception", "actor_name",
            "is_current", "created_at",
        ]  # fmt: skip


class ValidationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ValidationRun
        fields = [
            "id", "trigger", "mdc", "ingestion_run_id", "range_start", "range_end", "meters",
            "intervals", "found", "cleared", "estimated", "actualised", "started_at",
            "duration_seconds",
        ]  # fmt: skip


class ValidateSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    mdc = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1
    )

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be after the start."})
        if (attrs["end"] - attrs["start"]).days > 92:
            raise serializers.ValidationError({"end": "Validate at most 92 days at a time."})
        return attrs


class ActionSerializer(serializers.Serializer):
    """One queue action. ``accept``; ``estimate`` with ``method``; ``explain`` with
    ``explanation``; ``edit`` (one exception only) with ``value`` (kWh per interval) and
    ``reason``."""

    action = serializers.ChoiceField(choices=["accept", "estimate", "explain", "edit"])
    method = serializers.ChoiceField(choices=list(ESTIMATION_METHODS), required=False)
    explanation = serializers.ChoiceField(choices=Explanation.choices, required=False)
    value = serializers.DecimalField(max_digits=15, decimal_places=3, required=False, min_value=0)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        needs = {"estimate": "method", "explain": "explanation", "edit": "value"}
        field = needs.get(attrs["action"])
        if field and attrs.get(field) in (None, ""):
            raise serializers.ValidationError({field: f"Needed for {attrs['action']}."})
        if attrs["action"] == "edit" and not attrs.get("reason", "").strip():
            raise serializers.ValidationError({"reason": "Say why the value is typed."})
        return attrs
