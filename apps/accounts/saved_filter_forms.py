"""A saved filter's list page and its query as that page's own filter form.

Accounts sits below the apps whose lists it remembers filters of, so it imports none of them:
the list is found by resolving the saved path, and its view names the FilterSet. The filter's
fields are shown by their labels and validated by that FilterSet, so a value the list would
refuse is refused here, on its field.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.urls import Resolver404, resolve

#: The filter's fields are posted as ``q-<name>``, next to the form's own ``name``: a FilterSet
#: may well have a field called ``name``.
PREFIX = "q"


@dataclass(frozen=True)
class ListPage:
    path: str
    title: str
    view_class: type | None
    filterset_class: type | None


def list_page(path: str) -> ListPage:
    """The list at ``path`` (a list no longer there: its path as title, and no FilterSet)."""
    try:
        match = resolve(path)
    except Resolver404:
        return ListPage(path=path, title=path, view_class=None, filterset_class=None)
    view_class = getattr(match.func, "view_class", None)
    title = str(getattr(view_class, "title", "") or path)
    filterset_class = getattr(view_class, "filterset_class", None)
    return ListPage(path=path, title=title, view_class=view_class, filterset_class=filterset_class)


def may_see(page: ListPage, user) -> bool:
    """Whether ``user`` may open the list (its filter form lists choices the list shows)."""
    if page.view_class is None:
        return False
    required = getattr(page.view_class, "permission_required", None)
    if required is None:
        return user.is_authenticated
    return user.has_perms((required,) if isinstance(required, str) else required)


def _claims(form, key: str) -> bool:
    """Whether the query parameter ``key`` is one of ``form``'s fields (a range field's
    widgets read ``<name>_min``/``<name>_after`` and the like)."""
    for name, field in form.fields.items():
        if key == name:
            return True
        if key.startswith(f"{name}_") and isinstance(field.widget, forms.MultiWidget):
            return True
    return False


class QueryForm:
    """The list's filter form bound to a query string (saved) or to a post (edited)."""

    def __init__(self, page: ListPage, *, request, query: str = "", data: QueryDict | None = None):
        self.page = page
        fields_form = page.filterset_class(
            data=QueryDict(mutable=True), request=request, prefix=PREFIX,
            queryset=self._queryset(page),
        ).form  # fmt: skip
        saved = QueryDict(query)
        # what the form does not show (sorting, page size) is kept as it was
        self.kept = QueryDict(mutable=True)
        if data is None:
            data = QueryDict(mutable=True)
            for key, values in saved.lists():
                if _claims(fields_form, key):
                    data.setlist(f"{PREFIX}-{key}", values)
        for key, values in saved.lists():
            if not _claims(fields_form, key):
                self.kept.setlist(key, values)
        self.data = data
        self.filterset = page.filterset_class(
            data=data, request=request, prefix=PREFIX, queryset=self._queryset(page)
        )
        self.form = self.filterset.form

    @staticmethod
    def _queryset(page: ListPage):
        model = page.filterset_class._meta.model or getattr(page.view_class, "model", None)
        return model._default_manager.none() if model is not None else None

    def is_valid(self) -> bool:
        return self.form.is_valid()

    def query(self) -> str:
        """The query string the list reads: the form's non-empty values, then what was kept."""
        out = QueryDict(mutable=True)
        start = f"{PREFIX}-"
        for key, values in self.data.lists():
            if not key.startswith(start) or not _claims(self.form, key[len(start) :]):
                continue
            values = [v for v in values if v.strip()]
            if values:
                out.setlist(key[len(start) :], values)
        for key, values in self.kept.lists():
            out.setlist(key, values)
        return out.urlencode()


class SavedFilterNameForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")


class RawQueryForm(forms.Form):
    """A filter of a list that is gone (or no longer visible to its user): its query as text."""

    query = forms.CharField(
        required=False, label="Query string", widget=forms.TextInput(attrs={"size": 60})
    )
