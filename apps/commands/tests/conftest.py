"""Fixtures of the commands' tests."""

from __future__ import annotations

import pytest

from apps.commands.tests.e2e import Env
from apps.registry.models import Mdc, Meter
from apps.simulator.testing import make_sim_mdc, sim_base_url


@pytest.fixture
def sim_env(live_server):
    made = []

    def make(code: str = "sima", meters: int = 3, batch_size: int = 100, **settings) -> Env:
        sim, fleet = make_sim_mdc(code=code, meters=meters, days=1, **settings)
        mdc = Mdc.objects.create(
            code=code,
            name=f"Registry view of {code}",
            base_url=sim_base_url(live_server, sim),
            username=sim.username,
            password=sim.password,
            auth_code=sim.auth_code,
            batch_size=batch_size,
        )
        registered = Meter.objects.bulk_create(
            [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet]
        )
        env = Env(sim=sim, mdc=mdc, meters=registered)
        made.append(env)
        return env

    yield make
    from mdm.celery import app

    app.control.purge()  # the dispatches enqueued on commit: no worker consumes them here
