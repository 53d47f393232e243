"""Writes of the commands app. Every function is keyword-only, atomic where it writes, audited.

The life of a command::

    command_request_create  -> CommandRequest, its CommandTransactions (one per MDC and batch,
                               each with its own MDM transactionid) and CommandDevices
    command_request_approve -> (two-person rule) releases it
    command_dispatch        -> sends one transaction (a retry resends the same transactionid)
    transactions_poll       -> follows an MDC's open transactions to a final outcome per device,
                               applies effects to the registry and loads on-demand rows
    command_cancel          -> transaction_cancel for devices still at level 0, 1 or 2
    command_retry_failed    -> a new request for the devices that did not execute and can

Services raise ``django.core.exceptions.ValidationError`` (field -> messages) for bad input and
``PermissionDenied`` when the actor may not do it; views and the API show these messages.
Bulk work never queries per device: sets of devices are read and written in one statement.

The package by concern: ``requests`` (create, approve, reject, release), ``params`` (validation,
two-person rule), ``dispatch`` (sending), ``polling`` (transaction_status), ``effects`` (registry
and warehouse), ``cancel`` (cancel and retry), ``progress`` (requests' state), ``_shared``.
Everything the rest of the project imports is re-exported here.
"""

from apps.commands.choices import FINAL_OUTCOMES

from ._shared import (
    APPROVE_PERMISSION,
    AUTO_PARAMS,
    CANCEL_PERMISSION,
    SEND_PERMISSION,
    mdc_client_for,
    transactionid_new,
)
from ._shared import _clients as _clients  # a forking test clears the cache
from .cancel import CancelResult, RetryResult, command_cancel, command_retry_failed
from .dispatch import DispatchResult, command_dispatch
from .dispatch import _send_params as _send_params  # a test resends as a lost answer would
from .effects import Effects, registry_effects
from .params import command_params, params_validate, two_person_needed, two_person_recent
from .polling import PollResult, transactions_poll
from .progress import command_requests_close_finished
from .requests import (
    command_request_approve,
    command_request_create,
    command_request_reject,
    command_requests_release_due,
    transactions_lost,
    transactions_redispatch,
)

__all__ = [
    "APPROVE_PERMISSION",
    "AUTO_PARAMS",
    "CANCEL_PERMISSION",
    "FINAL_OUTCOMES",
    "SEND_PERMISSION",
    "CancelResult",
    "DispatchResult",
    "Effects",
    "PollResult",
    "RetryResult",
    "command_cancel",
    "command_dispatch",
    "command_params",
    "command_request_approve",
    "command_request_create",
    "command_request_reject",
    "command_requests_close_finished",
    "command_requests_release_due",
    "command_retry_failed",
    "mdc_client_for",
    "params_validate",
    "registry_effects",
    "transactionid_new",
    "transactions_lost",
    "transactions_poll",
    "transactions_redispatch",
    "two_person_needed",
    "two_person_recent",
]
