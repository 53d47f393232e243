"""The four portal roles, kept as Django groups whose permissions every app contributes.

An app grants permissions to roles in its own ``roles.py``::

    ROLE_PERMISSIONS = {OPERATOR: ["commands.send_commandrequest"]}

Administrators get every permission; Viewers get every ``view_`` permission of the project's
apps. ``roles_sync`` runs after every ``migrate``.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

ADMINISTRATOR = "Administrator"
OPERATOR = "Operator"
REVENUE_OFFICER = "Revenue Officer"
VIEWER = "Viewer"
ROLES = (ADMINISTRATOR, OPERATOR, REVENUE_OFFICER, VIEWER)


def _project_app_labels() -> list[str]:
    return [
        config.label for config in django_apps.get_app_configs() if config.name.startswith("apps.")
    ]


def _contributed_permissions() -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {role: set() for role in ROLES}
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = import_module(f"{config.name}.roles")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.roles":
                raise
            continue
        for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
            granted[role].update(perms)
    return granted


def _permissions_named(names: set[str]) -> list[Permission]:
    found = []
    for name in sorted(names):
        app_label, codename = name.split(".", 1)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


@transaction.atomic
def roles_sync() -> None:
    """Create the role groups and give them exactly their permissions."""
    project_labels = _project_app_labels()
    granted = _contributed_permissions()
    view_perms = Permission.objects.filter(
        content_type__app_label__in=project_labels, codename__startswith="view_"
    )
    groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
    groups[ADMINISTRATOR].permissions.set(Permission.objects.all())
    for role in (OPERATOR, REVENUE_OFFICER, VIEWER):
        perms = set(view_perms) | set(_permissions_named(granted[role]))
        groups[role].permissions.set(perms)
