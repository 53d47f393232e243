"""Helpers shared by the registry's services (validation, audit of changes)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from apps.registry import field_lists

SECRET_FIELDS = field_lists.SECRET_FIELDS
MDC_FIELDS = frozenset(field_lists.MDC_FIELDS)
METER_FIELDS = frozenset(field_lists.METER_FIELDS)
CONSUMER_FIELDS = frozenset(field_lists.CONSUMER_FIELDS)


# --- helpers -----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Decimal | datetime.date | datetime.time | datetime.datetime):
        return str(value)
    return value


def _audit_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a change: values, except secrets, which only say they changed."""
    return {
        name: ("(changed)" if name in SECRET_FIELDS else _jsonable(value))
        for name, value in changes.items()
    }


def _reject_unknown(changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in unknown})


def _save_validated(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:  # a concurrent writer won a unique race
        raise ValidationError(f"Conflicts with an existing record: {exc}") from exc
