"""API serializers. They check shapes; writes go through the services. Credentials are
write-only: the API says whether one is set, never what it is."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.registry import services
from apps.registry.field_lists import (
    CONSUMER_REGISTRATION,
    MDC_FIELDS,
    METER_FIELDS,
    METER_IDENTITY,
    with_secret_flags,
)
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


def call_service(function, **kwargs):
    """Run a service; its ValidationError becomes a 400 with the same messages."""
    try:
        return function(**kwargs)
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise serializers.ValidationError(exc.message_dict) from exc
        raise serializers.ValidationError({"non_field_errors": exc.messages}) from exc


def _with_codes(fields) -> list[str]:
    """Meter fields with the readable code after each related object's id."""
    codes = {
        "mdc": "mdc_code",
        "transformer": "transformer_code",
        "consumer": "consumer_reference_no",
    }
    out = []
    for name in fields:
        out.extend((name, codes[name]) if name in codes else (name,))
    return out


def _actor(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class MdcSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    auth_code = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    tabular_database_url = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    password_set = serializers.SerializerMethodField()
    auth_code_set = serializers.SerializerMethodField()
    tabular_database_url_set = serializers.SerializerMethodField()

    class Meta:
        model = Mdc
        fields = ["id", *with_secret_flags(MDC_FIELDS), "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # never show a user:password@ stored in the URL before that was refused
        data["base_url"] = instance.base_url_shown
        return data

    def get_password_set(self, mdc) -> bool:
        return bool(mdc.password)

    def get_auth_code_set(self, mdc) -> bool:
        return bool(mdc.auth_code)

    def get_tabular_database_url_set(self, mdc) -> bool:
        return bool(mdc.tabular_database_url)

    def create(self, validated_data):
        return call_service(services.mdc_register, actor=_actor(self), **validated_data)

    def update(self, instance, validated_data):
        return call_service(services.mdc_update, actor=_actor(self), mdc=instance, **validated_data)


class ConnectionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    latency_ms = serializers.IntegerField()
    message = serializers.CharField()


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "00:00:00",
        "description": "Time of day, hh:mm:ss, Pakistan time (no offset).",
    }
)
class ClockTimeField(serializers.TimeField):
    """A time of day in the utility's local time. OpenAPI's ``time`` format would demand an
    offset that the answers (``00:00:00``) do not carry."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M:%S", **kwargs)


class MeterSerializer(serializers.ModelSerializer):
    global_device_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="Assigned by the MDM when left out; never changes after registration.",
    )
    mdc_code = serializers.CharField(source="mdc.code", read_only=True)
    # null when the meter has no transformer / consumer: the schema says so
    transformer_code = serializers.CharField(
        source="transformer.code", read_only=True, default=None, allow_null=True
    )
    consumer_reference_no = serializers.CharField(
        source="consumer.reference_no", read_only=True, default=None, allow_null=True
    )
    mdi_reset_time = ClockTimeField(required=False)
    send_device_creation = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="On registration: send UDIL device_creation to the meter's MDC (a tracked "
        "command). Nothing is registered if it cannot be sent.",
    )

    class Meta:
        model = Meter
        fields = [
            "id",
            *METER_IDENTITY,
            *_with_codes(METER_FIELDS),
            "send_device_creation",
            "relay_state",
            "load_limit_kw",
            "device_settings",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "relay_state",
            "load_limit_kw",
            "device_settings",
            "created_at",
            "updated_at",
        ]
        # uniqueness is checked by the services, with the same messages as the pages
        extra_kwargs = {"msn": {"validators": []}}

    def create(self, validated_data):
        return call_service(
            services.meter_register_at_mdc,
            actor=_actor(self),
            global_device_id=validated_data.pop("global_device_id", None) or None,
            **validated_data,
        )

    def update(self, instance, validated_data):
        validated_data.pop("send_device_creation", None)  # a registration option only
        gdid = validated_data.pop("global_device_id", None)
        if gdid and gdid != instance.global_device_id:
            raise serializers.ValidationError({"global_device_id": "This id never changes."})
        return call_service(
            services.meter_update, actor=_actor(self), meter=instance, **validated_data
        )


class MeterImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    mdc = serializers.SlugRelatedField(
        slug_field="code", queryset=Mdc.objects.all(), required=False, allow_null=True
    )
    all_or_nothing = serializers.BooleanField(default=False)
    send_device_creation = serializers.BooleanField(
        default=False, help_text="Send UDIL device_creation for the imported meters."
    )


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.ListField())
    device_creation_requests = serializers.ListField(
        child=serializers.IntegerField(), required=False
    )
    device_creation_error = serializers.CharField(required=False, allow_blank=True)


class ConsumerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consumer
        fields = ["id", *CONSUMER_REGISTRATION, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def create(self, validated_data):
        return call_service(services.consumer_create, actor=_actor(self), **validated_data)

    def update(self, instance, validated_data):
        return call_service(
            services.consumer_update, actor=_actor(self), consumer=instance, **validated_data
        )


class _NodeSerializer(serializers.ModelSerializer):
    parent_field: str | None = None
    create_service = None

    def create(self, validated_data):
        return call_service(type(self).create_service, actor=_actor(self), **validated_data)

    def update(self, instance, validated_data):
        parent = validated_data.pop(self.parent_field, None) if self.parent_field else None
        if parent is not None and parent != getattr(instance, self.parent_field):
            raise serializers.ValidationError({self.parent_field: "A node cannot move."})
        return call_service(
            services.hierarchy_node_update, actor=_actor(self), node=instance, **validated_data
        )


class DiscoSerializer(_NodeSerializer):
    create_service = staticmethod(services.disco_create)

    class Meta:
        model = Disco
        fields = ["id", "code", "name"]


class CircleSerializer(_NodeSerializer):
    parent_field = "disco"
    create_service = staticmethod(services.circle_create)

    class Meta:
        model = Circle
        fields = ["id", "disco", "code", "name"]


class DivisionSerializer(_NodeSerializer):
    parent_field = "circle"
    create_service = staticmethod(services.division_create)

    class Meta:
        model = Division
        fields = ["id", "circle", "code", "name"]


class SubdivisionSerializer(_NodeSerializer):
    parent_field = "division"
    create_service = staticmethod(services.subdivision_create)

    class Meta:
        model = Subdivision
        fields = ["id", "division", "code", "name"]


class FeederSerializer(_NodeSerializer):
    parent_field = "subdivision"
    create_service = staticmethod(services.feeder_create)

    class Meta:
        model = Feeder
        fields = ["id", "subdivision", "code", "name"]


class TransformerSerializer(_NodeSerializer):
    parent_field = "feeder"
    create_service = staticmethod(services.transformer_create)

    class Meta:
        model = Transformer
        fields = ["id", "feeder", "code", "name", "capacity_kva"]
