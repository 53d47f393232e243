"""Choices of the commands app, with badge colours."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, IntegerBadgeChoices, badge_colours
from apps.udil.catalog import ON_DEMAND_TYPE_CHOICES
from apps.udil.catalog_v33 import PARAMETER_READ_TYPE_CHOICES
from apps.udil.commands import COMMAND_DEFS

ON_DEMAND = "on_demand_request"
PARAMETER_READ = "on_demand_parameter_read"
CANCEL = "transaction_cancel"
#: Commands that read from the meter (rows or parameters come back), with their ``type``.
ON_DEMAND_COMMANDS = frozenset(c.name for c in COMMAND_DEFS if c.kind == "on_demand")

#: Every command of every profile (apps.udil.commands: the protocol's table), by common name.
Command = models.TextChoices("Command", [(c.name.upper(), (c.name, c.label)) for c in COMMAND_DEFS])
Command.__doc__ = "The commands of apps.udil.commands.COMMAND_DEFS (writes, on-demand, cancel)."

#: Commands a person picks in the console (a cancel is made from a request's page).
SENDABLE_COMMANDS = tuple(c for c in Command if c.value != CANCEL)

#: The ``type`` of an on-demand read: the data (2019 on_demand_request, 3.3
#: on_demand_data_read) or the parameter (3.3 on_demand_parameter_read) it reads.
_READ_TYPES = {**dict(ON_DEMAND_TYPE_CHOICES), **dict(PARAMETER_READ_TYPE_CHOICES)}
OnDemandType = models.TextChoices("OnDemandType", [(k, (k, v)) for k, v in _READ_TYPES.items()])


@badge_colours(
    awaiting_approval="warning",
    rejected="dark",
    scheduled="info",
    dispatching="primary",
    in_progress="primary",
    completed="success",
    completed_with_errors="warning",
    failed="danger",
    cancelled="secondary",
)
class RequestState(BadgeChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    DISPATCHING = "dispatching", "Dispatching"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


#: States in which nothing more will happen to a request.
FINAL_REQUEST_STATES = frozenset(
    {
        RequestState.REJECTED,
        RequestState.COMPLETED,
        RequestState.COMPLETED_WITH_ERRORS,
        RequestState.FAILED,
        RequestState.CANCELLED,
    }
)


@badge_colours(pending="secondary", open="primary", done="success", failed="danger")
class TransactionState(BadgeChoices):
    PENDING = "pending", "Not sent yet"
    OPEN = "open", "Sent, being followed"
    DONE = "done", "Every device final"
    FAILED = "failed", "Could not be sent"


@badge_colours(
    pending="primary",
    executed="success",
    failed="danger",
    refused="warning",
    cancelled="secondary",
    timed_out="dark",
)
class Outcome(BadgeChoices):
    PENDING = "pending", "Pending"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


@badge_colours(pending="primary", confirmed="success", failed="danger")
class MdcConfirmation(BadgeChoices):
    """Whether a registered meter's MDC created it (its latest device_creation command)."""

    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed by the MDC"
    FAILED = "failed", "Failed"


FINAL_OUTCOMES = frozenset(o for o in Outcome if o != Outcome.PENDING)
#: Outcomes "retry failed" sends again.
RETRYABLE_OUTCOMES = frozenset({Outcome.FAILED, Outcome.REFUSED, Outcome.TIMED_OUT})


@badge_colours(**{"0": "danger", "1": "success"})
class IndvStatus(IntegerBadgeChoices):
    """A device's ``indv_status`` as the MDM keeps it: the UDIL 2019 meaning (1 accepted, going
    well or done; 0 refused or failed). A 3.3 MDC writes 0 in progress, 1 done, 2 failed; it is
    read in the MDC's profile (``Profile.indv_status``) before it is stored."""

    FAILED = 0, "0 · Refused or failed"
    OK = 1, "1 · Accepted, in progress or done"


#: What a badge of ``indv_status`` says when hovered: the two revisions' writing of it.
INDV_STATUS_HELP = (
    "UDIL 2019: 1 accepted or done, 0 refused or failed. "
    "UDIL 3.3 (read into the 2019 meaning): 0 in progress, 1 done, 2 failed."
)


@badge_colours(
    **{"0": "secondary", "1": "info", "2": "info", "3": "primary", "4": "primary", "5": "success"}
)
class StatusLevel(IntegerBadgeChoices):
    WAITING = 0, "0 · Waiting for processing"
    STARTED = 1, "1 · Processing started"
    REQUEST_SENT = 2, "2 · Request sent to meter"
    CONNECTED = 3, "3 · Connection established"
    COMMAND_SENT = 4, "4 · Command sent to meter"
    EXECUTED = 5, "5 · Executed by meter"
