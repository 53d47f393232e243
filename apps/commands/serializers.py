from django.http import QueryDict
from rest_framework import serializers

from apps.commands.choices import SENDABLE_COMMANDS
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction


class CommandRequestSerializer(serializers.ModelSerializer):
    command_label = serializers.CharField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="commands-api:request-detail")

    class Meta:
        model = CommandRequest
        fields = [
            "id",
            "url",
            "command",
            "command_label",
            "on_demand_type",
            "params",
            "state",
            "requested_by_name",
            "created_at",
            "scheduled_at",
            "dispatched_at",
            "finished_at",
            "approval_required",
            "decided_by_name",
            "decided_at",
            "decision_note",
            "parent",
            "device_count",
            "mdc_count",
            "note",
        ]
        read_only_fields = fields


class CommandTransactionSerializer(serializers.ModelSerializer):
    mdc = serializers.CharField(source="mdc.code")
    transactionid = serializers.CharField(source="wire_transactionid")

    class Meta:
        model = CommandTransaction
        fields = [
            "transactionid",
            "mdc",
            "batch_index",
            "state",
            "device_count",
            "attempts",
            "last_error",
            "response_message",
            "sent_at",
            "polls",
            "last_polled_at",
            "next_poll_at",
            "finished_at",
        ]


class CommandRequestDetailSerializer(CommandRequestSerializer):
    progress = serializers.SerializerMethodField()
    transactions = serializers.SerializerMethodField()

    class Meta(CommandRequestSerializer.Meta):
        fields = [*CommandRequestSerializer.Meta.fields, "progress", "transactions"]
        read_only_fields = fields

    def get_progress(self, obj) -> dict:
        from apps.commands.selectors import request_progress

        return request_progress(obj).as_dict()

    def get_transactions(self, obj) -> list:
        txs = obj.transactions.select_related("mdc", "target")[:1000]
        return CommandTransactionSerializer(txs, many=True).data


class CommandRequestCreateSerializer(serializers.Serializer):
    command = serializers.ChoiceField(choices=[(c.value, c.label) for c in SENDABLE_COMMANDS])
    params = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    meters = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text="Global device ids (or meter ids as numbers in text).",
    )
    meter_filter = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='The registry\'s meter list filters, e.g. {"mdc": "3"}.',
    )
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("meters") and not attrs.get("meter_filter"):
            raise serializers.ValidationError("Give meters or meter_filter.")
        return attrs

    def meters_target(self):
        data = self.validated_data
        if data.get("meters"):
            return data["meters"]
        from apps.commands.selectors import meters_selected

        query = QueryDict(mutable=True)
        for key, value in data["meter_filter"].items():
            query[key] = value
        return meters_selected(data=query).meters


class CommandDeviceSerializer(serializers.ModelSerializer):
    transactionid = serializers.CharField(source="transaction.wire_transactionid")
    mdc = serializers.CharField(source="transaction.mdc.code")

    class Meta:
        model = CommandDevice
        fields = [
            "global_device_id",
            "msn",
            "mdc",
            "transactionid",
            "status_level",
            "command_receiving_datetime",
            "status_1_datetime",
            "status_2_datetime",
            "status_3_datetime",
            "status_4_datetime",
            "status_5_datetime",
            "indv_status",
            "request_cancelled",
            "cancel_reason",
            "cancel_datetime",
            "message",
            "outcome",
            "last_polled_at",
            "finished_at",
            "response_rows",
        ]


class CancelSerializer(serializers.Serializer):
    devices = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, allow_empty=False
    )


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
