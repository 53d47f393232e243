"""Choices of the commands app, with badge colours."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, IntegerBadgeChoices, badge_colours
from apps.udil.catalog import ON_DEMAND_TYPE_CHOICES, SERVICES, WRITE_COMMANDS

ON_DEMAND = "on_demand_request"
CANCEL = "transaction_cancel"


class Command(models.TextChoices):
    """The eleven write commands of spec 3.4, the on-demand read (3.5) and the cancel (3.5.3)."""

    AUX_RELAY_OPERATIONS = "aux_relay_operations", "Relay operation (connect/disconnect)"
    TIME_SYNCHRONIZATION = "time_synchronization", "Time synchronization"
    SANCTIONED_LOAD_CONTROL = "sanctioned_load_control", "Sanctioned load control"
    LOAD_SHEDDING_SCHEDULING = "load_shedding_scheduling", "Load shedding scheduling"
    TIME_OF_USE_CHANGE = "time_of_use_change", "Time of use change"
    DEVICE_CREATION = "device_creation", "Device creation"
    UPDATE_IP_PORT = "update_ip_port", "Update IP and port"
    METER_DATA_SAMPLING = "meter_data_sampling", "Meter data sampling"
    ACTIVATE_METER_OPTICAL_PORT = "activate_meter_optical_port", "Activate optical port"
    WAKE_UP_SIM_NUMBER_UPDATE = "wake_up_sim_number_update", "Wake-up SIM numbers"
    METER_STATUS_UPDATE = "meter_status_update", "Meter status (activate/deactivate)"
    ON_DEMAND_REQUEST = ON_DEMAND, "On-demand read"
    TRANSACTION_CANCEL = CANCEL, "Cancel"


assert {c.value for c in Command} == {*WRITE_COMMANDS, ON_DEMAND, CANCEL}
assert all(c.value in SERVICES for c in Command)

#: Commands a person picks in the console (a cancel is made from a request's page).
SENDABLE_COMMANDS = tuple(c for c in Command if c.value != CANCEL)


class OnDemandType(models.TextChoices):
    INST = "INST", dict(ON_DEMAND_TYPE_CHOICES)["INST"]
    BILL = "BILL", dict(ON_DEMAND_TYPE_CHOICES)["BILL"]
    MBIL = "MBIL", dict(ON_DEMAND_TYPE_CHOICES)["MBIL"]
    LPRO = "LPRO", dict(ON_DEMAND_TYPE_CHOICES)["LPRO"]
    EVNT = "EVNT", dict(ON_DEMAND_TYPE_CHOICES)["EVNT"]
    VISL = "VISL", dict(ON_DEMAND_TYPE_CHOICES)["VISL"]


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
