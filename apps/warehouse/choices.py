"""Choices of the warehouse, with the colour each shows as a badge."""

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(
    instantaneous="info",
    billing="primary",
    monthly_billing="primary",
    load_profile="success",
    events="warning",
    meter_visuals="secondary",
)
class DataSetCode(BadgeChoices):
    INSTANTANEOUS = "instantaneous", "Instantaneous"
    BILLING = "billing", "Billing"
    MONTHLY_BILLING = "monthly_billing", "Monthly billing"
    LOAD_PROFILE = "load_profile", "Load profile"
    EVENTS = "events", "Events"
    METER_VISUALS = "meter_visuals", "Meter visuals"


@badge_colours(row="warning", body="danger")
class QuarantineKind(BadgeChoices):
    ROW = "row", "Row"
    BODY = "body", "Whole body"


@badge_colours(open="danger", resolved="success")
class QuarantineState(BadgeChoices):
    """Shown for the ``resolved`` flag."""

    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


@badge_colours(
    ok="success",
    interval="success",
    gap="info",
    rollover="info",
    meter_change="warning",
    first="secondary",
    fault="danger",
)
class ConsumptionStatus(BadgeChoices):
    """How a load profile reading's consumption was derived (apps.warehouse.consumption)."""

    OK = "ok", "Register difference"
    INTERVAL = "interval", "Per-interval value as sent"
    GAP = "gap", "After a gap (whole difference)"
    ROLLOVER = "rollover", "Register rollover"
    METER_CHANGE = "meter_change", "Meter change (no consumption)"
    FIRST = "first", "No earlier reading (no consumption)"
    FAULT = "fault", "Register decrease (fault, no consumption)"
