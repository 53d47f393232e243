"""Billing permissions per role: every role sees (view_ permissions); Revenue Officers run,
approve and export billing, keep the billing attributes of consumers, the reading cycles and
the mirror. Tariffs are edited by Administrators (Django admin). Operators only read here."""

from apps.accounts.roles import REVENUE_OFFICER

RUN_PERMISSION = "billing.run_billingrun"
APPROVE_PERMISSION = "billing.approve_billingrun"

ROLE_PERMISSIONS = {
    REVENUE_OFFICER: [
        RUN_PERMISSION,
        APPROVE_PERMISSION,
        "billing.add_readingcycle",
        "billing.add_billingaccount",
        "billing.change_billingaccount",
        "billing.add_meterfactor",
        "billing.change_meterfactor",
        "billing.add_mirrorbill",
        "billing.change_mirrorbill",
    ],
}
