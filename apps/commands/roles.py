"""Role permissions of the commands app (Administrators get all; Viewers get view_)."""

from apps.accounts.roles import OPERATOR

ROLE_PERMISSIONS = {
    OPERATOR: ["commands.send_commandrequest", "commands.cancel_commandrequest"],
}
