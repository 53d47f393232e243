"""What the roles may do in analytics beyond reading: Operators run reports and acknowledge
events (Viewers read the reports and download them)."""

from apps.accounts.roles import OPERATOR

ROLE_PERMISSIONS = {
    OPERATOR: ["analytics.add_report", "analytics.add_eventacknowledgement"],
}
