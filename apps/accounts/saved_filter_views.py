"""My saved filters: the user's filters of every list (open, rename, edit the query on the
list's own filter form, make one a list's default, delete after confirming). Each user sees and
changes only their own: another user's filter is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from apps.accounts.filters import SavedFilterFilter
from apps.accounts.models import SavedFilter
from apps.accounts.preference_views import back_to
from apps.accounts.preferences import saved_filter_default_set, saved_filter_update
from apps.accounts.saved_filter_forms import (
    QueryForm,
    RawQueryForm,
    SavedFilterNameForm,
    list_page,
    may_see,
)
from apps.accounts.tables import SavedFilterTable, opened_url
from apps.core.views import FilteredTableView

LIST_URL = "saved-filter-list"


def _own(request, pk) -> SavedFilter:
    return get_object_or_404(SavedFilter, pk=pk, user=request.user)


class SavedFilterListView(FilteredTableView):
    model = SavedFilter
    table_class = SavedFilterTable
    filterset_class = SavedFilterFilter
    title = "My saved filters"
    exclude_columns = ("actions",)

    def has_permission(self):
        return self.request.user.is_authenticated  # everyone's own filters

    def get_queryset(self):
        return SavedFilter.objects.filter(user=self.request.user)


class SavedFilterEditView(View):
    """Rename the filter and change its values on the list's filter form; a value the list's
    FilterSet refuses is shown on its field (400), nothing is saved."""

    template_name = "accounts/saved_filter_edit.html"

    def _forms(self, request, saved, data=None):
        page = list_page(saved.path)
        name_form = SavedFilterNameForm(data, initial={"name": saved.name})
        if page.filterset_class is not None and may_see(page, request.user):
            return page, name_form, QueryForm(page, request=request, query=saved.query, data=data)
        return page, name_form, RawQueryForm(data, initial={"query": saved.query})

    def _render(self, request, saved, page, name_form, query_form, status=200):
        context = {
            "title": f"Saved filter “{saved.name}”",
            "saved": saved,
            "page": page,
            "open_url": opened_url(saved),
            "name_form": name_form,
            "filter_form": getattr(query_form, "form", query_form),
            "list_url": reverse(LIST_URL),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        saved = _own(request, pk)
        return self._render(request, saved, *self._forms(request, saved))

    def post(self, request, pk):
        saved = _own(request, pk)
        page, name_form, query_form = self._forms(request, saved, request.POST)
        valid = name_form.is_valid() & query_form.is_valid()  # both, so every error shows
        if not valid:
            return self._render(request, saved, page, name_form, query_form, status=400)
        query = (
            query_form.query()
            if isinstance(query_form, QueryForm)
            else query_form.cleaned_data["query"]
        )
        try:
            saved_filter_update(
                actor=request.user, saved=saved, name=name_form.cleaned_data["name"], query=query
            )
        except ValidationError as exc:
            errors = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
            for field, found in errors.items():
                name_form.add_error("name" if field == "name" else None, found)
            return self._render(request, saved, page, name_form, query_form, status=400)
        messages.success(request, f"Filter “{saved.name}” saved.")
        return redirect(LIST_URL)


class SavedFilterDefaultView(View):
    """``default=1``: the list opens with this filter; ``default=0``: it opens unfiltered."""

    http_method_names = ["post"]

    def post(self, request, pk):
        saved = _own(request, pk)
        default = request.POST.get("default", "1") == "1"
        saved_filter_default_set(actor=request.user, saved=saved, default=default)
        if default:
            messages.success(
                request, f"{list_page(saved.path).title} now opens with “{saved.name}”."
            )
        else:
            messages.success(request, f"“{saved.name}” is no longer the list's default.")
        return back_to(request, reverse(LIST_URL))
