"""Shared helpers: the section-4 examples as fixture files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted(p.name[: -len(".request.json")] for p in FIXTURES.glob("*.request.json"))


def load_example(name: str) -> tuple[dict, bytes, bytes]:
    """(request dict, response JSON bytes, response XML bytes) of an example."""
    request = json.loads((FIXTURES / f"{name}.request.json").read_text())
    return (
        request,
        (FIXTURES / f"{name}.response.json").read_bytes(),
        (FIXTURES / f"{name}.response.xml").read_bytes(),
    )


@pytest.fixture(params=EXAMPLES)
def example(request):
    return (request.param, *load_example(request.param))
