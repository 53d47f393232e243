"""Choices of the conformance bench, with badge colours."""

from __future__ import annotations

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(
    queued="secondary", running="info", passed="success", failed="danger", error="danger"
)
class RunState(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    # the suite itself could not run to the end (the worker died, a bug): not a verdict
    ERROR = "error", "Error"


@badge_colours(pending="secondary", passed="success", failed="danger", not_applicable="warning")
class CheckOutcome(BadgeChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Pass"
    FAILED = "failed", "Fail"
    # the check did not apply (a command the administrator left out, no rows to look at)
    NOT_APPLICABLE = "not_applicable", "Not applicable"


FINAL_RUN_STATES = frozenset({RunState.PASSED, RunState.FAILED, RunState.ERROR})
