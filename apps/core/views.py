"""List pages: one FilterSet drives the page and the API; tables export to CSV (streamed)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import redirect
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from apps.core.export import csv_response, table_rows


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

    def get(self, request, *args, **kwargs):
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
            messages.error(
                self.request,
                f"The export would have more than {limit:,} rows, the most one export may "
                "have. Narrow the filters (a shorter time range, one MDC) and export in parts.",
            )
            query = self.request.GET.copy()
            query.pop(self.export_trigger_param, None)
            return redirect(f"{self.request.path}?{query.urlencode()}")
        table = self.get_table_class()(queryset.none(), **self.get_table_kwargs())
        rows = table_rows(table, queryset, exclude=self.exclude_columns)
        return csv_response(rows, filename=f"{self.export_name}.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
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
        return context
