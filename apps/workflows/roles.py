"""Roles of the workflows app.

Existing roles get permissions through ``ROLE_PERMISSIONS`` (see apps.accounts.roles): Operators
start subdivision CPs (their commands go with the Operator's authority), Revenue Officers start
the Revenue Office CPs and record billing steps. Two groups are added here for the people the
commercial procedures name: the SDO (subdivision officer: approves and executes in the field,
so may send commands) and the Billing Control Section. They are kept in step after every
migrate, after the portal's roles (``workflow_groups_sync``)."""

from __future__ import annotations

from apps.accounts.roles import OPERATOR, REVENUE_OFFICER

SDO = "SDO"
BILLING_CONTROL = "Billing Control Section"

ROLE_PERMISSIONS = {
    OPERATOR: ["workflows.start_field_order"],
    REVENUE_OFFICER: ["workflows.start_revenue_order", "workflows.record_billing_step"],
}

GROUP_PERMISSIONS = {
    SDO: [
        "workflows.start_field_order",
        "workflows.approve_sdo",
        "commands.send_commandrequest",
        "commands.cancel_commandrequest",
    ],
    BILLING_CONTROL: ["workflows.approve_billing_control", "workflows.record_billing_step"],
}


def workflow_groups_sync() -> None:
    """Create the SDO and Billing Control Section groups with exactly their permissions (and
    every view_ permission of the project's apps, as every role has)."""
    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group, Permission

    labels = [c.label for c in django_apps.get_app_configs() if c.name.startswith("apps.")]
    views = set(
        Permission.objects.filter(content_type__app_label__in=labels, codename__startswith="view_")
    )
    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        granted = {
            Permission.objects.get(
                content_type__app_label=p.split(".")[0], codename=p.split(".")[1]
            )
            for p in perms
        }
        group.permissions.set(views | granted)
