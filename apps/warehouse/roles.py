"""What the roles may do in the warehouse beyond reading (Viewers read every table: the data set
models are unmanaged, but Django still creates their view permissions)."""

from apps.accounts.roles import OPERATOR

ROLE_PERMISSIONS = {OPERATOR: ["warehouse.change_quarantinedrow"]}
