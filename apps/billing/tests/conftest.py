"""Hand-made billing readings: registry consumers and meters from the registry factories,
billing rows loaded through the warehouse loader (the real partitioned tables)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.billing.models import BillingAccount, MeterFactor, ReadingCycle, Tariff, TariffBandMap
from apps.registry.tests.factories import ConsumerFactory, MdcFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.warehouse.services import rows_load

PKT = ZoneInfo("Asia/Karachi")


def at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=PKT)


def reading(meter, when: dt.datetime, *, dataset: str = "billing", **registers) -> None:
    """Load one billing row: ``t1=``, ``t2=``, ``tl=`` (kWh import), ``ex=`` (export),
    ``kv=`` (kvarh), ``mdi=`` (total MDI kW), ``mdi_t1=`` ..., ``reset=`` (monthly)."""
    names = {
        "t1": "active_energy_pos_t1",
        "t2": "active_energy_pos_t2",
        "t3": "active_energy_pos_t3",
        "t4": "active_energy_pos_t4",
        "tl": "active_energy_pos_tl",
        "ex": "active_energy_neg_tl",
        "kv": "reactive_energy_pos_tl",
        "mdi": "active_mdi_pos_tl",
        "mdi_t1": "active_mdi_pos_t1",
        "mdi_t2": "active_mdi_pos_t2",
    }
    text = when.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")
    row = DATASETS[dataset].encode_row({})
    row.update(
        msn=str(meter.msn),
        global_device_id=meter.global_device_id,
        meter_datetime=text,
        mdc_read_datetime=text,
        db_datetime=text,
    )
    if "tl" not in registers:
        registers["tl"] = sum(Decimal(str(registers.get(t, 0))) for t in ("t1", "t2", "t3", "t4"))
    for key, value in registers.items():
        if key == "reset":
            row["mdi_reset_datetime"] = value.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")
        else:
            row[names[key]] = f"{Decimal(str(value)):.3f}"
    result = rows_load(dataset_code=dataset, mdc_id=meter.mdc_id, raw_rows=[row], source="test")
    assert not getattr(result, "quarantined", 0), result


@pytest.fixture
def tou_tariff(db):
    """Registers by season: summer (Apr-Oct) T1 off-peak, T2 peak; winter (Nov-Mar) the other
    way round (a made-up mapping, so the season visibly decides)."""
    tariff = Tariff.objects.create(code="A-1 TOU", name="Residential TOU", category="A-1")
    tariff.time_of_use = True
    tariff.save()
    TariffBandMap.objects.create(
        tariff=tariff, season="Summer", start_month=4, end_month=10,
        valid_from=dt.date(2026, 1, 1), t1_band="off_peak", t2_band="peak",
    )  # fmt: skip
    TariffBandMap.objects.create(
        tariff=tariff, season="Winter", start_month=11, end_month=3,
        valid_from=dt.date(2026, 1, 1), t1_band="peak", t2_band="off_peak",
    )  # fmt: skip
    return tariff


@pytest.fixture
def mdc(db):
    return MdcFactory(energy_register_max=Decimal("100000"))


@pytest.fixture
def account(db, mdc):
    """``account(batch="05", tariff=..., sanctioned=..., mf=...)`` -> (consumer, meter)."""

    def make(batch="05", tariff=None, sanctioned=None, mf=None, reference=None, **meter_kw):
        consumer = ConsumerFactory(**({"reference_no": reference} if reference else {}))
        meter = MeterFactory(mdc=mdc, consumer=consumer, **meter_kw)
        BillingAccount.objects.create(
            consumer=consumer, reading_batch=batch, tariff=tariff, sanctioned_load_kw=sanctioned
        )
        if mf is not None:
            MeterFactor.objects.create(meter=meter, multiplying_factor=Decimal(str(mf)))
        return consumer, meter

    return make


@pytest.fixture
def cycles(db):
    """Batch 05: read 5 October and 5 November 2026, cut-off 10:00 Pakistan time."""
    october = ReadingCycle.objects.create(
        batch="05", reading_date=dt.date(2026, 10, 5), cutoff=at("2026-10-05", 10)
    )
    november = ReadingCycle.objects.create(
        batch="05", reading_date=dt.date(2026, 11, 5), cutoff=at("2026-11-05", 10)
    )
    return october, november
