"""Fixtures of the commands' tests."""

from __future__ import annotations

import pytest

from apps.commands.tests.e2e import Env, sim_registered


@pytest.fixture
def sim_env(live_server):
    made = []

    def make(code: str = "sima", meters: int = 3, batch_size: int = 100, **settings) -> Env:
        env = sim_registered(
            live_server, code, meters, mdc_fields={"batch_size": batch_size}, **settings
        )
        made.append(env)
        return env

    yield make
    from mdm.celery import app

    app.control.purge()  # the dispatches enqueued on commit: no worker consumes them here
