"""Model field defaults that must be callables.

A fixed ``datetime.time`` default makes Django's system check (fields.W161) warn whenever the
check runs within ten seconds of midnight UTC, so ``check --deploy`` would fail by the clock.
"""

import datetime


def midnight() -> datetime.time:
    """00:00, the default MDI reset time."""
    return datetime.time(0, 0)
