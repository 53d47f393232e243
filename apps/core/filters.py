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


class LocalDateTimeField(forms.DateTimeField):
    default_error_messages = {
        "invalid": "Enter a date and time such as 2026-12-01 10:00 (Pakistan time) or "
        "2026-12-01T10:00:00+05:00.",
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
