"""Reads of the audit trail that detail pages reuse."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from apps.audit.models import AuditEntry

CHANGELOG_ROWS = 25


def entries_for(target: models.Model) -> QuerySet[AuditEntry]:
    """The audit rows written about ``target`` (the object's change log), newest first."""
    return AuditEntry.objects.filter(
        target_type=target._meta.label_lower, target_id=str(target.pk)
    ).order_by("-at", "-id")
