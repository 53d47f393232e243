"""Simulated MDCs over real HTTP (``live_server``), registered in the registry like real ones.

Time is fixed: the simulator sees ``NOW`` (its clock is frozen), and pulls run ``until`` ten
minutes earlier, after every row of the pulled span has been stored by the MDC (the simulator
stores a row one to five minutes after its meter time). The expected rows come from the
simulator's own read service over the same span, so the tests compare against what the MDC
holds, not against numbers worked out by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator.services import sim_read
from apps.simulator.testing import freeze_clock, make_sim_mdc, sim_base_url, sim_credentials
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT
from apps.warehouse.schema import table_for

# A Wednesday; the three days before it include the first of the month (monthly billing).
NOW = dt.datetime(2025, 7, 2, 12, 7, 0, tzinfo=PKT)
UNTIL = NOW - dt.timedelta(minutes=10)
DAYS = 3
HISTORY_DATASETS = ("instantaneous", "billing", "monthly_billing", "load_profile", "events")


@pytest.fixture
def frozen(monkeypatch):
    freeze_clock(monkeypatch, NOW)
    return NOW


@pytest.fixture
def fast_retries(settings):
    settings.INGESTION_RETRY_BACKOFF_SECONDS = 0.01
    settings.INGESTION_REQUEST_ATTEMPTS = 3


def registered_mdc(live_server, sim, sim_meters, **overrides):
    """A registry MDC pointing at the simulated one, with the same meters."""
    username, password, code = sim_credentials(sim)
    fields = {
        "code": f"reg-{sim.code}".replace("_", "-"),
        "base_url": sim_base_url(live_server, sim),
        "data_format": sim.fmt,
        "credentials_in": "headers",
        "username": username,
        "password": password,
        "auth_code": code,
        "batch_size": 2,
        "window_minutes": {
            "instantaneous": 360,
            "billing": 1440,
            "monthly_billing": 44640,
            "load_profile": 720,
            "events": 1440,
            "meter_visuals": 1440,
        },
        **overrides,
    }
    mdc = MdcFactory(**fields)
    for meter in sim_meters:
        MeterFactory(
            mdc=mdc,
            global_device_id=meter.global_device_id,
            msn=meter.msn,
            transformer=None,
            consumer=None,
        )
    return mdc


def sim_mdc(code: str, *, meters: int = 5, **kwargs):
    return make_sim_mdc(code=code, meters=meters, days=DAYS, now=NOW, **kwargs)


def expected_rows(sim, dataset_code: str, device_ids, *, start=None, until=UNTIL):
    """What the simulated MDC holds for the span (its read service, inclusive end)."""
    fields, rows, _ = sim_read(
        mdc=sim,
        dataset=dataset_code,
        global_device_ids=list(device_ids),
        start=start or sim.history_start,
        end=until - dt.timedelta(seconds=1),
        now=NOW,
    )
    return [dict(zip(fields, row, strict=True)) for row in rows]


def stored_rows(mdc_id: int, dataset_code: str) -> list[dict]:
    """The warehouse rows an MDC delivered, as dicts of typed values."""
    table = table_for(dataset_code)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table.name}" WHERE mdc_id = %s', [mdc_id])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def key_of(dataset_code: str, row: dict) -> tuple:
    """The identity of a row, from wire text or from a stored row."""
    dataset = DATASETS[dataset_code]
    out = []
    for name in dataset.key:
        value = row[name]
        if isinstance(value, dt.datetime):
            value = value.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")
        out.append(str(value).strip())
    return tuple(out)


def as_decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value)).quantize(Decimal("0.001"))
