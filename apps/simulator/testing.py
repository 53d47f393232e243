"""Helpers for tests of other apps that use the simulator as their MDC.

    from apps.simulator.testing import make_sim_mdc, sim_base_url, sim_credentials

    def test_pull(live_server, db):
        mdc, meters = make_sim_mdc(code="vendor_a", meters=5, days=2)
        base = sim_base_url(live_server, mdc)          # "<live_server.url>/sim/vendor_a/"
        username, password, code = sim_credentials(mdc)

``make_sim_mdc`` is :func:`apps.simulator.services.sim_mdc_create` with test-friendly defaults:
commands execute at once (pace 0), never fail, no offline meters and no gaps, so every row is
served as soon as its time has passed. Pass ``now=`` (and freeze ``apps.simulator.clock.now``
with :func:`freeze_clock`) to make every value exact.
"""

from __future__ import annotations

import datetime as dt

from apps.simulator.models import SimMdc
from apps.simulator.services import sim_mdc_create

TEST_DEFAULTS = {
    "command_pace_seconds": 0.0,
    "failure_rate": 0.0,
    "offline_rate": 0.0,
    "gap_rate": 0.0,
}


def make_sim_mdc(*, code: str = "sim", meters: int = 5, days: int = 2, seed: int = 1, **kwargs):
    """(SimMdc, [SimMeter]) with test-friendly defaults (override any of them)."""
    return sim_mdc_create(
        code=code, meters=meters, days=days, seed=seed, **{**TEST_DEFAULTS, **kwargs}
    )


def sim_base_url(live_server, mdc: SimMdc) -> str:
    return f"{live_server.url}/sim/{mdc.code}/"


def sim_credentials(mdc: SimMdc) -> tuple[str, str, str]:
    """(username, password, code) for authorization_service."""
    return mdc.username, mdc.password, mdc.auth_code


def freeze_clock(monkeypatch, when: dt.datetime) -> None:
    """Make the simulator's HTTP endpoints see ``when`` as now."""
    monkeypatch.setattr("apps.simulator.clock.now", lambda: when)
