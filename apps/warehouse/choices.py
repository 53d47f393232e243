"""Choices of the warehouse, with the colour each shows as a badge."""

from apps.core.choices import BadgeChoices, badge_colours
from apps.registry.choices import Dataset

#: The data sets: the registry's enum, itself derived from ``apps.udil`` (one enum, not two).
DataSetCode = Dataset


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
