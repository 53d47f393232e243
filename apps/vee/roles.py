"""VEE permissions per role: every role sees the exceptions (view_ permissions); Operators and
Revenue Officers act on them (``vee.edit_data``); Administrators have everything."""

from apps.accounts.roles import OPERATOR, REVENUE_OFFICER

EDIT_PERMISSION = "vee.edit_data"

ROLE_PERMISSIONS = {
    OPERATOR: [EDIT_PERMISSION],
    REVENUE_OFFICER: [EDIT_PERMISSION],
}
