"""REST API of API tokens: list your tokens (administrators: everyone's), create one (the
secret is in the answer, once), revoke one."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.accounts.models import ApiToken
from apps.accounts.selectors import tokens_visible_to
from apps.accounts.services import api_token_create, api_token_revoke
from apps.core.api_errors import service_call


class ApiTokenSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id", "name", "username", "key_prefix", "created_at", "expires_at", "last_used_at",
            "revoked_at", "state",
        ]  # fmt: skip
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    username = serializers.CharField(
        required=False, help_text="Administrators only: whose token (default: yours)."
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The token. Shown this once only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields



class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Everyone may hold tokens for themselves; the services decide whose tokens one manages.
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; the real one is per user
    ordering_fields = ["created_at", "expires_at", "last_used_at"]

    def get_queryset(self):
        return tokens_visible_to(self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = request.user
        if data.get("username") and data["username"] != user.get_username():
            user = get_user_model().objects.filter(username=data["username"]).first()
            if user is None:
                raise ValidationError({"username": "No such user."})
        token, secret = service_call(
            api_token_create,
            actor=request.user,
            user=user,
            name=data["name"],
            expires_at=data.get("expires_at"),
        )
        token.key = secret
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = service_call(api_token_revoke, actor=request.user, token=self.get_object())
        return Response(ApiTokenSerializer(token).data)
