"""``{% load changelog %}{% changelog obj %}``: the object's change log (its audit rows), for
users who may read the audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from apps.audit.selectors import CHANGELOG_ROWS, entries_for

register = template.Library()


@register.inclusion_tag("audit/_changelog.html", takes_context=True)
def changelog(context, target):
    request = context.get("request")
    user = getattr(request, "user", None)
    if target is None or user is None or not user.has_perm("audit.view_auditentry"):
        return {"shown": False}
    query = {"target_type": target._meta.label_lower, "target_id": target.pk}
    return {
        "shown": True,
        "entries": list(entries_for(target)[:CHANGELOG_ROWS]),
        "limit": CHANGELOG_ROWS,
        "all_url": f"{reverse('audit:entry-list')}?{urlencode(query)}",
    }
