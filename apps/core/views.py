"""List pages: one FilterSet drives the page and the API; tables export to CSV (streamed)."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.module_loading import import_string
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from apps.core.export import csv_response, table_rows
from apps.core.search import search, single_exact_hit
from apps.core.tables import PAGE_SIZES, MdmTable


def bounded_count(queryset, limit: int) -> tuple[int, bool]:
    """(rows, more): counts at most ``limit`` + 1 rows, so it stays cheap on tables of
    millions of rows; ``more`` says the true count is larger than ``limit``."""
    found = queryset.order_by()[: limit + 1].count()
    return min(found, limit), found > limit


def row_count_text(count: int, more: bool) -> str:
    if more:
        return f"more than {count:,} rows"
    return f"{count:,} row{'' if count == 1 else 's'}"


class FilteredTableView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    """A searchable, sortable, filterable, CSV-exportable list page.

    Subclasses set ``model``, ``table_class``, ``filterset_class``, ``permission_required``
    and ``title``. Lists paged lazily (warehouse tables) show a bounded count.
    """

    template_name = "core/list.html"
    paginate_by = 50
    export_formats = ("csv",)
    export_trigger_param = "_export"
    exclude_columns: tuple[str, ...] = ()
    title = ""
    create_url_name: str | None = None
    create_permission: str | None = None

    @property
    def export_name(self) -> str:
        return self.title.lower().replace(" ", "_") or "export"

    def _saved_filters(self):
        """The user's saved filters of this page (accounts.SavedFilter, read by label)."""
        if not self.request.user.is_authenticated:
            return apps.get_model("accounts", "SavedFilter").objects.none()
        return apps.get_model("accounts", "SavedFilter").objects.filter(
            user=self.request.user, path=self.request.path
        )

    def get(self, request, *args, **kwargs):
        if not request.GET:
            # The user's default filter of this page opens with it, in the address (so it can
            # be changed and shared); "Clear" asks for ``?_default=off``.
            default = self._saved_filters().filter(is_default=True).first()
            if default is not None and default.query:
                return redirect(f"{request.path}?{default.query}")
        if request.GET.get(self.export_trigger_param) == "csv":
            filterset = self.get_filterset(self.get_filterset_class())
            if not filterset.is_bound or filterset.is_valid():
                return self.export_csv(filterset.qs)
            messages.error(request, "The filters have errors (shown beside them): fix them first.")
        return super().get(request, *args, **kwargs)

    def export_csv(self, queryset):
        limit = settings.EXPORT_MAX_ROWS
        _, too_many = bounded_count(queryset, limit)
        if too_many:
            return self.export_in_background(queryset)
        table = self.get_table_class()(queryset.none(), **self.get_table_kwargs())
        rows = table_rows(table, queryset, exclude=self.exclude_columns)
        return csv_response(rows, filename=f"{self.export_name}.csv")

    def export_in_background(self, queryset):
        """More rows than one streamed download should carry: hand the export to a worker
        (``EXPORT_BACKGROUND_START``, which enforces the per-user limits) and show where its
        progress is; or say why not."""
        query = self.request.GET.copy()
        query.pop(self.export_trigger_param, None)
        back = redirect(f"{self.request.path}?{query.urlencode()}")
        rows, more = bounded_count(queryset, settings.EXPORT_BACKGROUND_MAX_ROWS)
        try:
            job = import_string(settings.EXPORT_BACKGROUND_START)(
                actor=self.request.user,
                path=self.request.path,
                query=query.urlencode(),
                title=self.title or "Export",
                rows_expected=rows + (1 if more else 0),
            )
        except ValidationError as exc:
            messages.error(self.request, " ".join(exc.messages))
            return back
        messages.info(
            self.request,
            f"This export has more than {settings.EXPORT_MAX_ROWS:,} rows: it is being written "
            f"in the background (export #{job.pk}). Download it from Exports when it is done.",
        )
        return redirect(settings.EXPORT_LIST_URL)

    def _preference(self) -> tuple[list[str], int | None]:
        """The user's (columns, per_page) for this table (accounts.TablePreference, read by
        label: core imports no higher app)."""
        if not hasattr(self, "_preference_cache"):
            table_class = self.get_table_class()
            found = None
            if issubclass(table_class, MdmTable) and self.request.user.is_authenticated:
                found = (
                    apps.get_model("accounts", "TablePreference")
                    .objects.filter(user=self.request.user, table=table_class.preference_key())
                    .first()
                )
            self._preference_cache = (
                (list(found.columns or []), found.per_page) if found else ([], None)
            )
        return self._preference_cache

    def get_paginate_by(self, table_data):
        asked = self.request.GET.get("per_page", "")
        if asked.isdigit() and int(asked) in PAGE_SIZES:
            return int(asked)
        return self._preference()[1] or self.paginate_by

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        columns, _ = self._preference()
        if columns and isinstance(table, MdmTable):
            table.show_columns(columns)
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        table = context.get("table")
        if isinstance(table, MdmTable):
            context["table_key"] = table.preference_key()
            context["table_chooser"] = table.chooser()
            context["page_sizes"] = PAGE_SIZES
            context["per_page"] = self.get_paginate_by(None)
        context["saved_filters"] = saved = list(self._saved_filters())
        context["default_filter"] = next((s for s in saved if s.is_default), None)
        can_create = self.create_url_name and (
            self.create_permission is None or self.request.user.has_perm(self.create_permission)
        )
        context["create_url_name"] = self.create_url_name if can_create else None
        paginator = getattr(context.get("table"), "paginator", None)
        if paginator is not None and not isinstance(paginator, LazyPaginator):
            count, more = paginator.count, False
        else:
            count, more = bounded_count(self.object_list, settings.LIST_COUNT_LIMIT)
        context["row_count"], context["row_count_more"] = count, more
        context["row_count_text"] = row_count_text(count, more)
        page = getattr(table, "page", None)
        if page is not None and count:
            first = (page.number - 1) * paginator.per_page + 1
            shown = len(page.object_list)
            if shown:
                context["row_range_text"] = f"{first:,} to {first + shown - 1:,} of "
        return context


class SearchView(PermissionRequiredMixin, TemplateView):
    """The navigation bar's search (see apps.core.search): results grouped by kind; a single
    exact hit (a device id, MSN, MDC code, reference number, request number) opens it."""

    permission_required = "registry.view_meter"
    template_name = "core/search.html"

    def get(self, request, *args, **kwargs):
        q = request.GET.get("q", "")[:100]
        groups = search(user=request.user, q=q)
        hit = single_exact_hit(groups)
        if hit is not None:
            return redirect(hit.url)
        return self.render_to_response(
            {
                "title": "Search",
                "q": q.strip(),
                "groups": groups,
                "total": sum(len(g.hits) for g in groups),
            }
        )
