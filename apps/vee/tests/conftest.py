"""Hand-made load profiles: a meter's interval energies in, register rows loaded through the
warehouse loader (the real tables), so every rule sees what ingestion would give it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

PKT = ZoneInfo("Asia/Karachi")
#: A Monday.
DAY = dt.datetime(2026, 11, 2, tzinfo=PKT)


def text(at: dt.datetime) -> str:
    return at.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


def lp_rows(
    meter,
    kwh: list,
    *,
    start: dt.datetime = DAY,
    iv: int = 30,
    register0: Decimal = Decimal("1000"),
    voltage: str = "230",
    registers: bool = True,
    overrides: dict[int, dict] | None = None,
) -> list[dict]:
    """Rows for consecutive intervals from ``start``; ``kwh[i]`` is the energy of interval i
    (its row is stamped at the interval's end); ``None`` means the row never arrived (the
    energy, ``missing`` kWh a day spread evenly, still flows through the register)."""
    rows, register = [], Decimal(register0)
    for i, energy in enumerate(kwh):
        at = start + dt.timedelta(minutes=iv * (i + 1))
        used = Decimal(str(energy if energy is not None else "1"))
        register += used
        if energy is None:
            continue
        value = register if registers else used
        row = DATASETS["load_profile"].encode_row({})
        row.update(
            msn=str(meter.msn),
            global_device_id=meter.global_device_id,
            meter_datetime=text(at),
            interval=str(iv),
            active_energy_tl=f"{value:.3f}",
            active_energy_t1=f"{value:.3f}",
            active_energy_t2="0",
            active_energy_t3="0",
            active_energy_t4="0",
            voltage_phase_a=voltage,
            mdc_read_datetime=text(at),
            db_datetime=text(at),
        )
        row.update((overrides or {}).get(i, {}))
        rows.append(row)
    return rows


def load(meter, rows: list[dict], dataset: str = "load_profile"):
    return rows_load(dataset_code=dataset, mdc_id=meter.mdc_id, raw_rows=rows, source="test")


def billing_row(meter, at: dt.datetime, total: Decimal) -> dict:
    row = DATASETS["billing"].encode_row({})
    row.update(
        msn=str(meter.msn),
        global_device_id=meter.global_device_id,
        meter_datetime=text(at),
        active_energy_pos_tl=f"{total:.3f}",
        active_energy_pos_t1=f"{total:.3f}",
        mdc_read_datetime=text(at),
        db_datetime=text(at),
    )
    return row


@pytest.fixture
def meter(db):
    return MeterFactory(mdc=MdcFactory(lp_energy_kind="register"))


@pytest.fixture
def interval_meter(db):
    return MeterFactory(mdc=MdcFactory(lp_energy_kind="interval"))


@pytest.fixture(autouse=True)
def default_rules(db):
    """The default rule set (migration 0002 makes it, but a transactional test's flush before
    this one may have emptied the tables)."""
    from apps.vee.services.rules import rule_set_default_ensure

    return rule_set_default_ensure()
