"""Serializers of the billing API (times in Pakistan time with their offset, decimals as text)."""

from __future__ import annotations

from rest_framework import serializers

from apps.billing.models import (
    BillingAccount,
    BillingRun,
    Determinant,
    MirrorBill,
    ReadingCycle,
    RunExport,
    Tariff,
    TariffBandMap,
)


class TariffBandMapSerializer(serializers.ModelSerializer):
    class Meta:
        model = TariffBandMap
        exclude = ["tariff"]


class TariffSerializer(serializers.ModelSerializer):
    band_maps = TariffBandMapSerializer(many=True, read_only=True)

    class Meta:
        model = Tariff
        fields = ["id", "code", "name", "category", "time_of_use", "band_maps"]


class BillingAccountSerializer(serializers.ModelSerializer):
    reference_no = serializers.CharField(source="consumer.reference_no", read_only=True)

    class Meta:
        model = BillingAccount
        fields = ["id", "consumer", "reference_no", "tariff", "sanctioned_load_kw",
                  "reading_batch", "status", "updated_at"]  # fmt: skip
        read_only_fields = ["updated_at"]


class ReadingCycleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReadingCycle
        fields = ["id", "batch", "reading_date", "cutoff", "source"]


class RunExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunExport
        fields = ["id", "export_format", "sha256", "size_bytes", "rows", "path", "actor_name", "at"]


class BillingRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(source="progress_percent", read_only=True)
    started_by = serializers.StringRelatedField()
    approved_by = serializers.StringRelatedField()

    class Meta:
        model = BillingRun
        fields = ["id", "cycle", "kind", "supplements", "status", "consumers_total",
                  "consumers_done", "percent", "error", "started_by", "created_at",
                  "computed_at", "duration_seconds", "approved_by", "approved_at"]  # fmt: skip
        read_only_fields = fields


class RunStartSerializer(serializers.Serializer):
    cycle = serializers.PrimaryKeyRelatedField(queryset=ReadingCycle.objects.all())


class DeterminantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Determinant
        exclude = ["meter"]


class MirrorBillSerializer(serializers.ModelSerializer):
    reference_no = serializers.CharField(source="consumer.reference_no", read_only=True)
    paid = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, default=None)

    class Meta:
        model = MirrorBill
        fields = ["id", "reference_no", "month", "billed_units", "bill_amount", "due_date",
                  "arrears", "defaulter", "paid"]  # fmt: skip


class MirrorImportSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=100_000
    )
