"""Registry permissions per role. Administrators have everything and every role can view
(see apps.accounts.roles); Operators may also change meters (placement, activation)."""

from apps.accounts.roles import OPERATOR

ROLE_PERMISSIONS = {OPERATOR: ["registry.change_meter"]}
