"""Settings of the commands app, read from the environment (see README, Configuration).

``MDM_COMMAND_TIMEOUT_MINUTES``: a device not final this long after its request was sent is
timed out (default 60). ``MDM_TWO_PERSON_THRESHOLD``: a disconnect or deactivation of more
meters than this needs a second person's approval (default 50).
"""

from __future__ import annotations

from django.conf import settings

from mdm.env import env_int


def timeout_minutes() -> int:
    return env_int("MDM_COMMAND_TIMEOUT_MINUTES", 60)


def two_person_threshold() -> int:
    return settings.TWO_PERSON_THRESHOLD


def two_person_window_minutes() -> int:
    """``MDM_TWO_PERSON_WINDOW_MINUTES``: disconnects/deactivations of one requester within
    this many minutes count together against the threshold (no bypass by splitting)."""
    return settings.TWO_PERSON_WINDOW_MINUTES


#: Seconds between polls of an open transaction: starts here, doubles while nothing changes.
POLL_BASE_SECONDS = env_int("MDM_COMMAND_POLL_BASE_SECONDS", 10)
POLL_MAX_SECONDS = env_int("MDM_COMMAND_POLL_MAX_SECONDS", 300)
#: transactionids per transaction_status call.
POLL_MAX_TRANSACTIONS = env_int("MDM_COMMAND_POLL_MAX_TRANSACTIONS", 100)
#: Beat tick: how often due polls, scheduled requests and lost dispatches are looked for.
TICK_SECONDS = env_int("MDM_COMMAND_TICK_SECONDS", 10)
#: Send attempts before a transaction is given up (MDC unreachable).
DISPATCH_MAX_ATTEMPTS = env_int("MDM_COMMAND_DISPATCH_MAX_ATTEMPTS", 6)
DISPATCH_BACKOFF_SECONDS = env_int("MDM_COMMAND_DISPATCH_BACKOFF_SECONDS", 15)
#: A pending dispatch not attempted this long after it was due is enqueued again (lost task).
DISPATCH_GRACE_SECONDS = env_int("MDM_COMMAND_DISPATCH_GRACE_SECONDS", 120)
