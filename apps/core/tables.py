"""The table base every list table derives from (as NetBox's ``BaseTable``), and shared columns.

- ``Meta.default_columns``: the columns shown until the user chooses others with the column
  chooser (remembered per user and table, ``accounts.TablePreference``); the other columns stay
  in CSV exports.
- Device ids and MDC codes link to their pages through the search, whose single exact hit opens
  the meter or MDC (so a warehouse row, which knows only the device id, links without a join).
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

PAGE_SIZES = (25, 50, 100, 250, 500)


def search_url(text) -> str:
    return f"{reverse('search')}?{urlencode({'q': text})}"


class MdmTable(tables.Table):
    """Hides the columns outside ``Meta.default_columns`` (or the user's choice, see
    ``show_columns``); its ``preference_key`` names it in the user's preferences."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.show_columns(self.default_column_names())

    @classmethod
    def preference_key(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    def default_column_names(self) -> list[str]:
        default = getattr(getattr(type(self), "Meta", None), "default_columns", None)
        return list(default) if default else [c.name for c in self.columns.iterall()]

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns.iterall()]

    def show_columns(self, names) -> None:
        wanted = set(names) & set(self.column_names())
        if not wanted:
            return
        for column in self.columns.iterall():
            if column.name in wanted:
                self.columns.show(column.name)
            else:
                self.columns.hide(column.name)

    def chooser(self) -> list[tuple[str, str, bool]]:
        """(name, header, shown) of every column, for the column chooser."""
        return [
            (column.name, str(column.header), column.visible) for column in self.columns.iterall()
        ]


class BadgeColumn(tables.Column):
    """Shows a choices field as a coloured badge; exports the plain label."""

    def __init__(self, choices_class, *args, **kwargs):
        self.choices_class = choices_class
        super().__init__(*args, **kwargs)

    def _label(self, value):
        """A field without choices gives its raw value: shown as its choice's label."""
        try:
            return self.choices_class(value).label
        except ValueError:
            return value

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.accessor.split(".")[-1], value)
        label = self._label(value) if value == raw else value
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', self.choices_class.colour_of(raw), label
        )

    def value(self, value):
        return self._label(value)


class SearchLinkColumn(tables.Column):
    """A device id, MSN or MDC code linking to its page (through the search's exact hit)."""

    def render(self, value):
        return format_html('<a href="{}">{}</a>', search_url(value), value)

    def value(self, value):
        return value


DeviceIdColumn = SearchLinkColumn
