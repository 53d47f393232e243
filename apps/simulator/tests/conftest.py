import datetime as dt
import json
from pathlib import Path

import pytest

from apps.simulator.generator import clear_caches
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.timefmt import PKT

NOW = dt.datetime(2025, 3, 10, 12, 0, 0, tzinfo=PKT)
START = dt.datetime(2025, 2, 20, 0, 0, 0, tzinfo=PKT)
FIXTURES = Path(__file__).resolve().parents[2] / "udil" / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def frozen(monkeypatch):
    freeze_clock(monkeypatch, NOW)
    return NOW


@pytest.fixture
def make_mdc(db):
    def make(code="sim1", **kw):
        kw.setdefault("meters", 6)
        kw.setdefault("seed", 42)
        kw.setdefault("history_start", START)
        kw.setdefault("now", NOW)
        return make_sim_mdc(code=code, **kw)

    return make


def example(name: str) -> dict:
    """A corrected section-4 example request/response from apps/udil/tests/fixtures."""
    return json.loads((FIXTURES / name).read_text())
