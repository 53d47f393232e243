"""The simulator is served by threaded web servers: its generator caches must be thread-safe."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.simulator import generator
from apps.simulator.testing import make_sim_mdc

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=generator.PKT)


def _snapshot(spec, t):
    state = generator.state_at(spec, t)
    return state.t, tuple(state.reg), tuple(state.mdi), tuple(state.cum), state.resets


def test_register_states_are_the_same_when_many_threads_fill_the_cache_at_once():
    mdc, meters = make_sim_mdc(code="threads", meters=4, days=20, now=NOW)
    specs = [generator.spec_of(meter, mdc) for meter in meters]
    start = generator.epoch_of(NOW) - 19 * 86400
    times = [start + hours * 3600 for hours in range(0, 19 * 24, 7)]
    work = [(spec, t) for spec in specs for t in reversed(times)]

    generator._STATES.clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: _snapshot(*job), work))
    generator._STATES.clear()
    sequential = [_snapshot(spec, t) for spec, t in work]

    assert concurrent == sequential
