"""Account writes."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts.roles import ADMINISTRATOR
from apps.audit.services import audit_record


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
