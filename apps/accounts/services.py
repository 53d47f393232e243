"""Account writes."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import KEY_PREFIX_LENGTH, ApiToken
from apps.accounts.roles import ADMINISTRATOR
from apps.audit.services import audit_record

LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


@transaction.atomic
def administrator_ensure(*, username: str, password: str | None = None, email: str = "") -> tuple:
    """Create the first administrator if it is missing. Returns (user, password or None).

    The password is generated when not given, and returned only when the user was created.
    """
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, None
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_superuser(username=username, email=email, password=password)
    user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    audit_record(actor=None, action="user.create", target=user, summary=f"administrator {username}")
    return user, password


@transaction.atomic
def user_create(*, username: str, password: str, role: str, actor=None):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get(name=role))
    audit_record(actor=actor, action="user.create", target=user, summary=f"{username} as {role}")
    return user


class TokenRefused(Exception):
    """A presented API token that authenticates nobody; the message says why."""


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_token_can_manage(*, actor, user) -> bool:
    """Everyone manages their own tokens; administrators manage everyone's."""
    return actor.pk == user.pk or actor.has_perm("accounts.manage_all_apitoken")


@transaction.atomic
def api_token_create(
    *, actor, user, name: str, expires_at: datetime.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: returns (token, secret). The secret is shown to the caller
    once and never stored (only its SHA-256)."""
    if not api_token_can_manage(actor=actor, user=user):
        raise PermissionDenied("Only administrators create tokens for other users.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Say what the token is for."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not user.is_active:
        raise ValidationError({"user": "The user is inactive."})
    secret = secrets.token_urlsafe(30)  # 40 characters, 240 random bits
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        key_prefix=secret[:KEY_PREFIX_LENGTH],
        key_hash=_token_hash(secret),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="accounts.api_token_create",
        target=token,
        summary=f"API token {token.key_prefix}… '{token.name}' for {user.get_username()}",
        detail={
            "user": user.get_username(),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: revoking twice changes and audits nothing)."""
    if not api_token_can_manage(actor=actor, user=token.user):
        raise PermissionDenied("Only administrators revoke other users' tokens.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="accounts.api_token_revoke",
        target=token,
        summary=f"API token {token.key_prefix}… '{token.name}' of {token.user.get_username()}",
    )
    return token


def api_token_authenticate(*, secret: str) -> ApiToken:
    """The active token ``secret`` belongs to, or ``TokenRefused`` saying why.

    Its last use is recorded at most once a minute (one UPDATE, not audited: a use is not a
    change, and a program may call many times a second)."""
    candidates = ApiToken.objects.select_related("user").filter(
        key_prefix=secret[:KEY_PREFIX_LENGTH]
    )
    digest = _token_hash(secret)
    token = next((t for t in candidates if hmac.compare_digest(t.key_hash, digest)), None)
    if token is None:
        raise TokenRefused("Invalid token.")
    if token.revoked_at is not None:
        raise TokenRefused("Token revoked.")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("Token expired.")
    if not token.user.is_active:
        raise TokenRefused("User inactive or deleted.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
