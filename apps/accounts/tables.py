"""The user's saved filters as a list table (My saved filters)."""

from __future__ import annotations

import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.models import SavedFilter
from apps.accounts.saved_filter_forms import list_page
from apps.core.tables import MdmTable


def opened_url(saved: SavedFilter) -> str:
    """The list opened with the filter applied."""
    return f"{saved.path}?{saved.query}" if saved.query else saved.path


class SavedFilterTable(MdmTable):
    name = tables.Column(linkify=lambda record: reverse("saved-filter-edit", args=[record.pk]))
    path = tables.Column(verbose_name="List")
    query = tables.Column(verbose_name="Filter", orderable=False)
    is_default = tables.BooleanColumn(verbose_name="Default", yesno="yes,—")
    created_at = tables.DateTimeColumn(verbose_name="Saved", format="SHORT_DATETIME_FORMAT")
    actions = tables.Column(
        empty_values=(), verbose_name="", orderable=False, exclude_from_export=True
    )

    class Meta:
        model = SavedFilter
        fields = ("name", "path", "query", "is_default", "created_at")
        attrs = {"class": "table table-sm table-hover", "id": "saved-filter-table"}
        order_by = ("path", "name")

    def render_path(self, record):
        return format_html(
            '<a href="{}" class="saved-filter-open">{}</a>',
            opened_url(record),
            list_page(record.path).title,
        )

    def value_path(self, record):
        return list_page(record.path).title

    def render_query(self, value):
        return format_html("<code>{}</code>", value) if value else "—"

    def render_actions(self, record):
        # Making a filter the default is a change, so a post (with the page's CSRF token).
        default = "0" if record.is_default else "1"
        label = "Not default" if record.is_default else "Make default"
        return format_html(
            '<a href="{}">Open</a> · <a href="{}">Edit</a> · '
            '<form method="post" action="{}" class="d-inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="default" value="{}">'
            '<button type="submit" class="btn btn-link btn-sm p-0 align-baseline">{}</button>'
            '</form> · <a href="{}" class="text-danger">Delete</a>',
            opened_url(record),
            reverse("saved-filter-edit", args=[record.pk]),
            reverse("saved-filter-default", args=[record.pk]),
            get_token(self.request),
            default,
            label,
            reverse("saved-filter-delete", args=[record.pk]),
        )
