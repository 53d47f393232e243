"""Table columns shared by list pages."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html


class BadgeColumn(tables.Column):
    """Shows a choices field as a coloured badge; exports the plain label."""

    def __init__(self, choices_class, *args, **kwargs):
        self.choices_class = choices_class
        super().__init__(*args, **kwargs)

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.accessor.split(".")[-1], value)
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', self.choices_class.colour_of(raw), value
        )

    def value(self, value):
        return value
