"""Determinants on hand-made readings: bands by season, multiplying factor, meter change,
rollover and rollback, estimated readings (VEE), missing and stale readings, MDI above load."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing.models import BillingRun, ReadingCycle
from apps.billing.services.runs import run_compute
from apps.billing.tests.conftest import at, reading
from apps.registry.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def compute(cycle: ReadingCycle) -> dict:
    run = BillingRun.objects.create(cycle=cycle)
    run_compute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "ready" and run.consumers_done == run.consumers_total
    return {d.reference_no: d for d in run.determinants.all()}


def test_tou_bands_follow_the_season_and_units_take_the_multiplying_factor(
    account, tou_tariff, cycles
):
    consumer, meter = account(tariff=tou_tariff, mf=2, sanctioned=Decimal("10"))
    reading(meter, at("2026-09-05"), t1=50, t2=20, kv=5)
    reading(meter, at("2026-10-05"), t1=100, t2=50, kv=10, mdi=Decimal("3.1"), mdi_t2="3.1")
    reading(meter, at("2026-11-05"), t1=180, t2=70, kv=40, mdi="2.5", mdi_t1="2.5", mdi_t2="1.9")
    october, november = cycles

    summer = compute(october)[consumer.reference_no]  # T1 off-peak, T2 peak
    assert (summer.units_off_peak, summer.units_peak) == (Decimal("100.000"), Decimal("60.000"))
    assert summer.units_total == Decimal("160.000")
    assert summer.mdi_peak == Decimal("3.100") and summer.mdi_off_peak is None

    winter = compute(november)[consumer.reference_no]  # T1 peak, T2 off-peak
    assert winter.previous_datetime == at("2026-10-05")
    assert winter.present_datetime == at("2026-11-05")
    assert (winter.previous_peak, winter.present_peak) == (Decimal("100.000"), Decimal("180.000"))
    assert (winter.units_peak, winter.units_off_peak) == (Decimal("160.000"), Decimal("40.000"))
    assert winter.units_total == Decimal("200.000")
    assert winter.units_kvarh == Decimal("60.000")
    # PF = kWh / sqrt(kWh^2 + kvarh^2) = 200 / sqrt(200^2 + 60^2)
    assert winter.power_factor == Decimal("0.958")
    assert (winter.mdi_peak, winter.mdi_off_peak, winter.mdi_total) == (
        Decimal("2.500"), Decimal("1.900"), Decimal("2.500"),
    )  # fmt: skip
    assert winter.days == 31 and winter.multiplying_factor == Decimal("2.000")
    assert winter.reading_mode == "automatic" and winter.vee_flag == "actual"
    assert winter.discrepancies == []


def test_meter_change_in_cycle_combines_old_final_and_new_initial(account, mdc, cycles):
    consumer, old = account(activation_status=0)
    new = MeterFactory(mdc=mdc, consumer=consumer)
    reading(old, at("2026-10-05"), t1=1000)
    reading(old, at("2026-10-20"), t1=1100)  # final reading of the removed meter
    reading(new, at("2026-10-21"), t1=5)  # initial reading of the new one
    reading(new, at("2026-11-05"), t1=65)
    det = compute(cycles[1])[consumer.reference_no]
    assert det.units_total == Decimal("160.000")  # 100 on the old meter + 60 on the new
    assert det.global_device_id == new.global_device_id
    assert det.old_global_device_id == old.global_device_id
    assert (det.previous_total, det.present_total) == (Decimal("1000.000"), Decimal("65.000"))
    assert "METER_CHANGED" in det.discrepancies
    assert det.units_off_peak is None  # no TOU tariff: total units only


def test_rollover_wraps_and_rollback_is_flagged(account, cycles):
    rolled, m1 = account()
    back, m2 = account()
    reading(m1, at("2026-10-05"), t1="99990")
    reading(m1, at("2026-11-05"), t1="40")  # wrapped at the MDC's register maximum 100000
    reading(m2, at("2026-10-05"), t1="500")
    reading(m2, at("2026-11-05"), t1="400")
    dets = compute(cycles[1])
    assert dets[rolled.reference_no].units_total == Decimal("50.000")
    assert dets[rolled.reference_no].discrepancies == ["ROLLOVER"]
    assert dets[back.reference_no].units_total is None
    assert dets[back.reference_no].discrepancies == ["ROLLBACK"]


def test_estimated_reading_missing_reading_stale_reading_and_mdi_above_load(account, cycles):
    from apps.vee.models import ValueVersion

    estimated, m1 = account()
    missing, _ = account()
    stale, m3 = account()
    heavy, m4 = account(sanctioned=Decimal("2"))
    other_batch, m5 = account(batch="20")
    for meter in (m1, m3, m4, m5):
        reading(meter, at("2026-10-05"), t1=10)
    reading(m1, at("2026-11-05"), t1=20)
    reading(m3, at("2026-10-25"), t1=15)  # 11 days before the cut-off
    reading(m4, at("2026-11-05"), t1=30, mdi="3.1")
    ValueVersion.objects.create(
        meter=m1, channel_id=0, meter_datetime=at("2026-10-20", 12), version=2,
        kind="estimated", value=Decimal("0.5"), method="linear", created_at=timezone.now(),
    )  # fmt: skip
    dets = compute(cycles[1])
    assert other_batch.reference_no not in dets and len(dets) == 4
    assert dets[estimated.reference_no].vee_flag == "estimated"
    assert dets[estimated.reference_no].reading_mode == "estimated"
    assert dets[missing.reference_no].discrepancies == ["NO_READING"]
    assert dets[missing.reference_no].reading_mode == "none"
    assert dets[missing.reference_no].units_total is None
    assert dets[stale.reference_no].discrepancies == ["STALE_READING"]
    assert dets[stale.reference_no].units_total == Decimal("5.000")
    assert dets[heavy.reference_no].discrepancies == ["MDI_OVER_LOAD"]


def test_monthly_cycle_reads_the_mdi_reset_row(account, db):
    consumer, meter = account(batch="01")
    reading(meter, at("2026-10-01"), dataset="monthly_billing", t1=10, reset=at("2026-10-01"))
    reading(meter, at("2026-11-01"), dataset="monthly_billing", t1=90, mdi="4",
            reset=at("2026-11-01"))  # fmt: skip
    reading(meter, at("2026-10-31"), t1=85)  # a daily snapshot: not what a monthly cycle reads
    cycle = ReadingCycle.objects.create(
        batch="01", reading_date=dt.date(2026, 11, 1), cutoff=at("2026-11-01", 6),
        source="monthly",
    )  # fmt: skip
    det = compute(cycle)[consumer.reference_no]
    assert det.units_total == Decimal("80.000")
    assert det.mdi_reset_datetime == at("2026-11-01") and det.mdi_total == Decimal("4.000")
