"""Writing the audit trail. Every service that changes something calls ``audit_record``."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.audit.models import AuditEntry


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one action. ``actor`` is a user or None for the system (beat, workers)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:500],
        detail=detail or {},
    )
