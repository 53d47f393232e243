"""Status choices of accounts (with badge colours)."""

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(active="success", expired="warning", revoked="secondary")
class TokenState(BadgeChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


@badge_colours(queued="secondary", running="info", done="success", failed="danger")
class ExportState(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

    @classmethod
    def active(cls) -> list[str]:
        return [cls.QUEUED, cls.RUNNING]
