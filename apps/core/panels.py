"""Building blocks that apps contribute to pages they do not own.

- Dashboard panels: an app contributes panels to the home page with a
  ``dashboard_panels(request) -> list[Panel]`` function in its ``dashboard.py``; panels the user
  may not see are left out by the app itself.
- Object sections (NetBox's template extensions): an app adds a section to another app's
  detail page by registering it in its ``AppConfig.ready``::

      section_register("registry.meter", Section(
          template="warehouse/_meter_data.html", context=meter_data_context, order=10))

  The page calls ``sections_render(request, obj)`` and shows the fragments in order, so a lower
  app's page shows a higher app's data without importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from django.apps import apps as django_apps
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe


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


@dataclass(frozen=True)
class Section:
    """A fragment of another app's detail page: ``template`` rendered with ``context(request,
    obj)``; shown only to users with ``permission`` (when given)."""

    name: str
    template: str
    context: Callable[..., dict]
    order: int = 100
    permission: str | None = None


_SECTIONS: dict[str, dict[str, Section]] = {}


def section_register(model_label: str, section: Section) -> None:
    """Add ``section`` to the pages of ``model_label`` (``"registry.meter"``); registering the
    same name again replaces it (``ready`` may run twice in tests)."""
    _SECTIONS.setdefault(model_label.lower(), {})[section.name] = section


def sections_for(model_label: str) -> list[Section]:
    return sorted(_SECTIONS.get(model_label.lower(), {}).values(), key=lambda s: s.order)


def sections_render(request, obj) -> list[SafeString]:
    """The rendered sections of ``obj``'s page the user may see, in order."""
    rendered = []
    for section in sections_for(obj._meta.label_lower):
        if section.permission and not request.user.has_perm(section.permission):
            continue
        context = section.context(request, obj)
        if context is None:
            continue
        html = render_to_string(section.template, context, request=request)
        rendered.append(mark_safe(html))
    return rendered
