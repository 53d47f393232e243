"""The simulator's clock. Views read time only through :func:`now`, so a test can move time
(``monkeypatch.setattr("apps.simulator.clock.now", lambda: ...)``); it works over
``live_server`` too, which runs in the test's process."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
