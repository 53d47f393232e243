from __future__ import annotations

from rest_framework import serializers

from apps.conformance.models import ConformanceCheck, ConformanceRun


class CheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConformanceCheck
        fields = [
            "position",
            "code",
            "group",
            "title",
            "outcome",
            "summary",
            "evidence",
            "duration_ms",
            "finished_at",
        ]


class RunSerializer(serializers.ModelSerializer):
    mdc_code = serializers.CharField(source="mdc.code", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = ConformanceRun
        fields = [
            "id",
            "mdc",
            "mdc_code",
            "profile",
            "state",
            "device_ids",
            "commands",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "total",
            "done",
            "passed",
            "failed",
            "error",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    checks = CheckSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "checks"]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    mdc = serializers.IntegerField(min_value=1)
    device_ids = serializers.ListField(
        child=serializers.CharField(max_length=50), min_length=1, max_length=100
    )
    commands = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_null=True,
        help_text="Write commands to send (absent: every one of the profile).",
    )


class DiffRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)
    changed = serializers.BooleanField()
