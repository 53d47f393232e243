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
