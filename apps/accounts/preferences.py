"""Per-user list preferences: the column chooser's columns and page size of each table, and
named filters of each list page (core's list view reads them through settings, since core
imports no higher app)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict

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


def saved_filter_default(*, user, path: str) -> SavedFilter | None:
    """The filter ``path`` opens with for ``user`` (none: the page opens unfiltered)."""
    if user is None or not user.is_authenticated:
        return None
    return SavedFilter.objects.filter(user=user, path=path, is_default=True).first()


# Parameters of a page's address that are no filter: a saved filter does not keep them (the
# export trigger would download on opening; "no default" would hide the filter's own default).
NOT_FILTERS = ("_export", "_default", "page")


def _query_clean(query: str) -> str:
    params = QueryDict(query.lstrip("?"), mutable=True)
    for name in NOT_FILTERS:
        params.pop(name, None)
    return params.urlencode()


def _name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the filter a name."})
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    return name


@transaction.atomic
def saved_filter_create(*, actor, path: str, name: str, query: str) -> SavedFilter:
    name = _name_clean(name)
    if len(path) > 200:
        raise ValidationError("The page's address is too long.")
    saved, _ = SavedFilter.objects.update_or_create(
        user=actor, path=path, name=name, defaults={"query": _query_clean(query)}
    )
    audit_record(actor=actor, action="saved_filter.create", target=saved, summary=f"{path} {name}")
    return saved


def _own(actor, saved: SavedFilter) -> None:
    if saved.user_id != actor.pk:
        raise ValidationError("That is another user's filter.")


@transaction.atomic
def saved_filter_update(*, actor, saved: SavedFilter, name: str, query: str) -> SavedFilter:
    """Rename ``saved`` and/or change its query (validated by the caller against the list's
    FilterSet: this layer does not know the list pages)."""
    _own(actor, saved)
    name = _name_clean(name)
    clash = SavedFilter.objects.filter(user=actor, path=saved.path, name=name)
    if clash.exclude(pk=saved.pk).exists():
        raise ValidationError({"name": "You have another filter of this list by that name."})
    before = (saved.name, saved.query)
    saved.name, saved.query = name, _query_clean(query)
    saved.save(update_fields=["name", "query"])
    audit_record(
        actor=actor,
        action="saved_filter.update",
        target=saved,
        summary=f"{saved.path} {before[0]} -> {saved.name}",
        detail={
            "before": {"name": before[0], "query": before[1]},
            "after": {"name": saved.name, "query": saved.query},
        },
    )
    return saved


@transaction.atomic
def saved_filter_default_set(*, actor, saved: SavedFilter, default: bool) -> SavedFilter:
    """Make ``saved`` the filter its list opens with (the list's previous default stops being
    one), or stop it being the default."""
    _own(actor, saved)
    if default:
        SavedFilter.objects.filter(user=actor, path=saved.path, is_default=True).exclude(
            pk=saved.pk
        ).update(is_default=False)
    saved.is_default = default
    saved.save(update_fields=["is_default"])
    audit_record(
        actor=actor,
        action="saved_filter.default" if default else "saved_filter.undefault",
        target=saved,
        summary=f"{saved.path} {saved.name}",
    )
    return saved


@transaction.atomic
def saved_filter_delete(*, actor, saved: SavedFilter) -> None:
    _own(actor, saved)
    audit_record(
        actor=actor,
        action="saved_filter.delete",
        target=saved,
        summary=f"{saved.path} {saved.name}",
    )
    saved.delete()
