"""Per-user list preferences: the column chooser's columns and page size of each table, and
named filters of each list page (core's list view reads them through settings, since core
imports no higher app)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import SavedFilter, TablePreference
from apps.audit.services import audit_record

PAGE_SIZES = (25, 50, 100, 250, 500)


def table_preference_get(*, user, table: str) -> tuple[list[str], int | None]:
    """(columns, per_page) the user chose for ``table``; ([], None) when nothing is chosen."""
    if user is None or not user.is_authenticated:
        return [], None
    found = TablePreference.objects.filter(user=user, table=table).first()
    if found is None:
        return [], None
    return list(found.columns or []), found.per_page


@transaction.atomic
def table_preference_set(
    *, actor, table: str, columns: list[str], allowed: list[str], per_page: int | None = None
) -> TablePreference | None:
    """Remember the columns (in ``allowed``' order; none: the table's defaults) and page size
    of ``table`` for ``actor``. ``allowed`` is the table's column names."""
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ValidationError(f"Unknown columns: {', '.join(unknown)}.")
    if per_page is not None and per_page not in PAGE_SIZES:
        raise ValidationError(f"Rows per page: one of {', '.join(map(str, PAGE_SIZES))}.")
    chosen = [name for name in allowed if name in set(columns)]
    preference, _ = TablePreference.objects.update_or_create(
        user=actor, table=table, defaults={"columns": chosen, "per_page": per_page}
    )
    audit_record(
        actor=actor,
        action="table_preference.set",
        target=preference,
        summary=f"{table}: {len(chosen) or 'default'} columns, {per_page or 'default'} per page",
    )
    return preference


def saved_filters(*, user, path: str) -> list[SavedFilter]:
    if user is None or not user.is_authenticated:
        return []
    return list(SavedFilter.objects.filter(user=user, path=path))


@transaction.atomic
def saved_filter_create(*, actor, path: str, name: str, query: str) -> SavedFilter:
    name = name.strip()
    if not name:
        raise ValidationError("Give the filter a name.")
    if len(name) > 100 or len(path) > 200:
        raise ValidationError("The name or the page is too long.")
    saved, _ = SavedFilter.objects.update_or_create(
        user=actor, path=path, name=name, defaults={"query": query.lstrip("?")}
    )
    audit_record(actor=actor, action="saved_filter.create", target=saved, summary=f"{path} {name}")
    return saved


@transaction.atomic
def saved_filter_delete(*, actor, saved: SavedFilter) -> None:
    if saved.user_id != actor.pk:
        raise ValidationError("That is another user's filter.")
    audit_record(
        actor=actor,
        action="saved_filter.delete",
        target=saved,
        summary=f"{saved.path} {saved.name}",
    )
    saved.delete()
