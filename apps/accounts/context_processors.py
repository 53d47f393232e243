"""Navigation built from the apps: each AppConfig may declare ``nav_items``.

``nav_items = [("Meters", "registry:meter-list", "registry.view_meter"), ...]``
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.urls import reverse


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_sections": []}
    sections = []
    for config in django_apps.get_app_configs():
        items = [
            {"label": label, "url": reverse(url_name)}
            for label, url_name, permission in getattr(config, "nav_items", [])
            if permission is None or user.has_perm(permission)
        ]
        if items:
            sections.append({"title": config.verbose_name, "items": items})
    return {"nav_sections": sections}
