"""List pages: one FilterSet drives the page and the API; tables export to CSV."""

from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin


class FilteredTableView(PermissionRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """A searchable, sortable, filterable, CSV-exportable list page.

    Subclasses set ``model``, ``table_class``, ``filterset_class``, ``permission_required``
    and ``title``.
    """

    template_name = "core/list.html"
    paginate_by = 50
    export_formats = ("csv",)
    title = ""
    create_url_name: str | None = None
    create_permission: str | None = None

    @property
    def export_name(self) -> str:
        return self.title.lower().replace(" ", "_") or "export"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        can_create = self.create_url_name and (
            self.create_permission is None or self.request.user.has_perm(self.create_permission)
        )
        context["create_url_name"] = self.create_url_name if can_create else None
        return context
