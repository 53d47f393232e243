"""Registry permissions per role. Administrators have everything and every role can view
(see apps.accounts.roles); Operators may also change meters (placement, activation)."""

from apps.accounts.roles import OPERATOR

ROLE_PERMISSIONS = {OPERATOR: ["registry.change_meter"]}

# Moving a meter to another MDC or changing its serial number is registry administration: it
# takes the permission to register meters (Administrators), not the Operators' change_meter.
METER_ADMINISTRATION_FIELDS = {"mdc": "registry.add_meter", "msn": "registry.add_meter"}
