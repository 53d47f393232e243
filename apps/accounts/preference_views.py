"""The column chooser's and saved filters' form posts (each user's own; any logged-in user);
deleting a saved filter from My saved filters asks first."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.views import View

from apps.accounts.models import SavedFilter
from apps.accounts.preferences import (
    saved_filter_create,
    saved_filter_delete,
    table_preference_set,
)
from apps.accounts.saved_filter_forms import list_page
from apps.core.tables import MdmTable

TABLE_KEY = re.compile(r"^apps\.\w+\.tables\.\w+$")


def back_to(request, fallback: str = "/"):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = fallback
    return redirect(target or fallback)


def _table_class(key: str):
    if not TABLE_KEY.match(key):
        return None
    try:
        found = import_string(key)
    except ImportError:
        return None
    return found if isinstance(found, type) and issubclass(found, MdmTable) else None


class TableConfigView(View):
    http_method_names = ["post"]

    def post(self, request):
        table_class = _table_class(request.POST.get("table", ""))
        if table_class is None:
            return HttpResponseBadRequest("Unknown table.")
        allowed = [name for name, _ in table_class.base_columns.items()]
        reset = "reset" in request.POST
        per_page = request.POST.get("per_page", "")
        try:
            table_preference_set(
                actor=request.user,
                table=table_class.preference_key(),
                columns=[] if reset else request.POST.getlist("columns"),
                allowed=allowed,
                per_page=None if reset or not per_page.isdigit() else int(per_page),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return back_to(request)


class SavedFilterCreateView(View):
    http_method_names = ["post"]

    def post(self, request):
        path = request.POST.get("path", "")
        if not path.startswith("/"):
            return HttpResponseBadRequest("Unknown page.")
        try:
            saved = saved_filter_create(
                actor=request.user,
                path=path,
                name=request.POST.get("name", ""),
                query=request.POST.get("query", ""),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return back_to(request, path)
        messages.success(request, f"Filter “{saved.name}” saved.")
        return back_to(request, path)


class SavedFilterDeleteView(View):
    """GET: the confirmation (the list page's cross posts at once); POST: delete."""

    def get(self, request, pk):
        saved = get_object_or_404(SavedFilter, pk=pk, user=request.user)
        context = {
            "title": f"Delete the saved filter “{saved.name}”?",
            "saved": saved,
            "list_title": list_page(saved.path).title,
            "next": reverse("saved-filter-list"),
        }
        return render(request, "accounts/saved_filter_delete.html", context)

    def post(self, request, pk):
        saved = get_object_or_404(SavedFilter, pk=pk, user=request.user)
        saved_filter_delete(actor=request.user, saved=saved)
        messages.success(request, f"Filter “{saved.name}” deleted.")
        return back_to(request, saved.path)
