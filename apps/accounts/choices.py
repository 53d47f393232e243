"""Status choices of accounts (with badge colours)."""

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(active="success", expired="warning", revoked="secondary")
class TokenState(BadgeChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
