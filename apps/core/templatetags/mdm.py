import datetime
from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def badge(choices_class, value):
    """Render a status as a coloured badge: ``{% badge RunStatus run.status %}``."""
    try:
        label = choices_class(value).label
    except ValueError:
        label = value
    return format_html(
        '<span class="badge text-bg-{}">{}</span>', choices_class.colour_of(value), label
    )


@register.simple_tag(takes_context=True)
def query_replace(context, **kwargs):
    """The current query string with some parameters replaced (for export and paging links)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        query[key] = value
    return query.urlencode()


def _duration_text(delta: datetime.timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2] or ["0 s"]
    return ("-" if delta.total_seconds() < 0 else "") + " ".join(shown)


@register.filter
def duration(value):
    """A timedelta (or seconds) as people read it: ``14 min 21 s``, ``2 d 3 h`` (two largest
    units; never ``0:14:21.554679``)."""
    if value in (None, ""):
        return ""
    if isinstance(value, int | float | Decimal):
        value = datetime.timedelta(seconds=float(value))
    if not isinstance(value, datetime.timedelta):
        return value
    return _duration_text(value)


def _key_text(key) -> str:
    return str(key).replace("_", " ").capitalize()


@register.filter
def mapping(value):
    """A dict as ``Events: 1,440 · Load profile: 96`` (never a Python dict on a page); a list
    as comma-separated values."""
    if isinstance(value, dict):
        if not value:
            return "—"
        return " · ".join(f"{_key_text(k)}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "—"
    return value


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict | list | tuple):
        return str(mapping(value))
    return str(value)
