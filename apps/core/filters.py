"""Filters every FilterSet shares (pages and API alike).

Times: ``LocalDateTimeFilter`` reads ISO 8601 (``2026-12-01T00:00:00+05:00``, ``...Z``), the
pages' ``2026-12-01 10:00`` and a bare date (its midnight). A time without an offset is
Pakistan time, as everything in UDIL. An offset no place on earth uses (beyond -12:00 ..
+14:00, e.g. ``+16:00``) or a time outside the years the database stores is refused with a
message, instead of reaching PostgreSQL and failing there.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

EARLIEST_OFFSET = datetime.timedelta(hours=-12)
LATEST_OFFSET = datetime.timedelta(hours=14)


def _offset_text(offset: datetime.timedelta) -> str:
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")


def _day_first(text: str) -> datetime.datetime | None:
    """The portal's own day-first writing (02/12/2026 10:00 is 2 December), as pages show it."""
    for pattern in DAY_FIRST:
        try:
            return datetime.datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
    return None


class LocalDateTimeField(forms.DateTimeField):
    default_error_messages = {
        "invalid": "Enter a date and time such as 01/12/2026 10:00 or 2026-12-01 10:00 "
        "(Pakistan time, day first) or 2026-12-01T10:00:00+05:00.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            parsed = value
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                if parsed is None and (day := parse_date(text)) is not None:
                    parsed = datetime.datetime.combine(day, datetime.time())
            except ValueError:  # well formed but impossible: month 13, hour 25, offset 99:00
                parsed = None
            if parsed is None:
                parsed = _day_first(text)
            if parsed is None:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            try:
                return timezone.make_aware(parsed, timezone.get_default_timezone())
            except (OverflowError, ValueError) as exc:
                raise ValidationError("The time is out of range.", code="invalid") from exc
        offset = parsed.utcoffset()
        if not EARLIEST_OFFSET <= offset <= LATEST_OFFSET:
            raise ValidationError(
                f"The UTC offset {_offset_text(offset)} is out of range: use one between "
                f"-12:00 and +14:00 (Pakistan is +05:00), or none for Pakistan time.",
                code="offset",
            )
        try:
            parsed.astimezone(datetime.UTC)
        except OverflowError as exc:
            raise ValidationError("The time is out of range.", code="invalid") from exc
        return parsed


class LocalDateTimeFilter(django_filters.DateTimeFilter):
    field_class = LocalDateTimeField


def time_from(field_name: str, label: str = "From") -> LocalDateTimeFilter:
    return LocalDateTimeFilter(field_name=field_name, lookup_expr="gte", label=label)


def time_until(field_name: str, label: str = "Until") -> LocalDateTimeFilter:
    """Exclusive: ``until`` 2026-12-02 00:00 ends with the last interval of 1 December."""
    return LocalDateTimeFilter(field_name=field_name, lookup_expr="lt", label=label)


class CodeOrIdChoiceField(forms.ModelChoiceField):
    """A choice of object named by its code (``?mdc=demo_alpha``, what people type and links
    carry), case-insensitively; a number that is no code is taken as the internal id, so links
    and API clients of before keep working. Options read "code · name"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        key = self.to_field_name or "pk"
        found = self.queryset.filter(**{f"{key}__iexact": text}).first()
        if found is None and text.isdigit() and len(text) < 19:
            found = self.queryset.filter(pk=int(text)).first()
        if found is None:
            # the typed text goes in as a parameter: a "%" in it must not be read as a format
            raise ValidationError(
                f"Select a valid choice: no {self.queryset.model._meta.verbose_name} has the "
                "code or id %(value)s.",
                code="invalid_choice",
                params={"value": text[:60]},
            )
        return found

    def label_from_instance(self, obj):
        code, name = getattr(obj, "code", ""), getattr(obj, "name", "")
        return f"{code} · {name}" if code and name and code != name else str(code or obj)


class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """Filter by an object's code (or, for old links, its id): MDCs, hierarchy nodes."""

    field_class = CodeOrIdChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)


class ParentedSelect(forms.Select):
    """A select of hierarchy nodes whose options carry their parent's id (``data-parent``) and
    which names the select of the level above (``data-parent-select``), so
    ``static/js/hierarchy-filter.js`` narrows each level to the choices above it."""

    def __init__(self, *args, parent_attr: str = "", parent_select: str = "", **kwargs):
        self.parent_attr = parent_attr
        super().__init__(*args, **kwargs)
        if parent_select:
            self.attrs["data-parent-select"] = parent_select

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None and self.parent_attr:
            option["attrs"]["data-parent"] = getattr(instance, self.parent_attr, "")
        return option


def node_filter(*, field_name: str, queryset, label: str, parent: str = "", parent_select=""):
    """A hierarchy level's filter (by id; options narrowed by the level above in the page)."""
    return django_filters.ModelChoiceFilter(
        field_name=field_name,
        queryset=queryset,
        label=label,
        widget=ParentedSelect(parent_attr=parent, parent_select=parent_select),
    )
