"""The home dashboard is made of panels that apps contribute.

An app contributes panels with a ``dashboard_panels(request) -> list[Panel]`` function in its
``dashboard.py``; panels the user may not see are left out by the app itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from django.apps import apps as django_apps
from django.utils.safestring import SafeString


@dataclass
class Panel:
    title: str
    order: int = 100
    kpis: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    chart_html: SafeString | None = None
    link_url: str | None = None
    width: int = 6  # Bootstrap columns out of 12


def collect_panels(request) -> list[Panel]:
    panels: list[Panel] = []
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = import_module(f"{config.name}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.dashboard":
                raise
            continue
        panels.extend(module.dashboard_panels(request))
    return sorted(panels, key=lambda panel: panel.order)
