"""Each rule type on hand-made data, through ``validation_run`` over the real warehouse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.registry.tests.factories import MeterFactory
from apps.vee.choices import ExceptionStatus, RuleType
from apps.vee.models import Rule, RuleSet, ValidationException
from apps.vee.services.validation import validation_run

from .conftest import DAY, billing_row, load, lp_rows

pytestmark = pytest.mark.django_db
DAY_END = DAY + dt.timedelta(days=1)


def validate(**kwargs):
    return validation_run(start=DAY, end=DAY_END, estimate=False, **kwargs)


def found(rule_type, meter=None):
    qs = ValidationException.objects.filter(rule__rule_type=rule_type)
    if meter is not None:
        qs = qs.filter(meter=meter)
    return list(qs.order_by("period_start"))


def flat_day(value="1.000", n=48):
    return [Decimal(value)] * n


def test_a_clean_day_raises_no_exception(meter):
    load(meter, lp_rows(meter, flat_day()))
    run = validate()
    assert run.intervals == 48
    assert ValidationException.objects.count() == 0


def test_gap_is_one_exception_per_stretch_with_found_vs_expected(meter):
    kwh = flat_day()
    kwh[10:13] = [None, None, None]  # three rows missing
    kwh[30] = None
    load(meter, lp_rows(meter, kwh))
    validate()
    gaps = found(RuleType.GAP, meter)
    assert [(g.period_start, g.period_end) for g in gaps] == [
        (DAY + dt.timedelta(minutes=30 * 11), DAY + dt.timedelta(minutes=30 * 14)),
        (DAY + dt.timedelta(minutes=30 * 31), DAY + dt.timedelta(minutes=30 * 32)),
    ]
    assert gaps[0].values["missing"] == 3
    assert gaps[0].values["found_in_day"] == 44
    assert gaps[0].values["expected_in_day"] == 48
    # the register rose by the gap's energy: 4 intervals of 1 kWh (3 missing + the one after)
    assert Decimal(str(gaps[0].values["register_delta"])) == Decimal("4")


def test_rollback_is_found_but_a_rollover_at_the_mdc_maximum_is_not(meter, db):
    kwh = flat_day()
    rows = lp_rows(meter, kwh)
    rows[20]["active_energy_tl"] = "900.000"  # register fell from ~1021 to 900
    load(meter, rows)
    other = MeterFactory(mdc=meter.mdc)
    meter.mdc.energy_register_max = Decimal("1010")
    meter.mdc.save()
    wrapped = lp_rows(other, flat_day(), register0=Decimal("1000"))
    for row in wrapped:  # passes 1010 and starts again at 0
        value = Decimal(row["active_energy_tl"])
        if value >= Decimal("1010"):
            row["active_energy_tl"] = f"{value - Decimal('1010'):.3f}"
    load(other, wrapped)
    validate()
    rollbacks = found(RuleType.ROLLBACK)
    assert [(r.meter_id, r.period_start) for r in rollbacks] == [
        (meter.pk, DAY + dt.timedelta(minutes=30 * 21))
    ]
    assert rollbacks[0].values["reading"] == 900.0


def test_spike_above_three_times_the_third_highest_of_its_day(meter):
    kwh = flat_day("0.800")
    kwh[5] = Decimal("1.000")
    kwh[6] = Decimal("1.100")
    kwh[40] = Decimal("9.000")  # the spike
    load(meter, lp_rows(meter, kwh))
    validate()
    spikes = found(RuleType.SPIKE, meter)
    assert [s.period_start for s in spikes] == [DAY + dt.timedelta(minutes=30 * 41)]
    assert spikes[0].values["third_highest"] == 1.0


def test_zero_consumption_with_voltage_needs_n_consecutive_intervals(meter, db):
    kwh = flat_day()
    kwh[10:20] = [Decimal("0")] * 10  # 10 zero intervals with voltage: found
    kwh[30:35] = [Decimal("0")] * 5  # only 5: below the default 8
    load(meter, lp_rows(meter, kwh))
    dark = MeterFactory(mdc=meter.mdc)
    load(dark, lp_rows(dark, [Decimal("0")] * 48, voltage="0"))  # no voltage: an outage
    validate()
    zeros = found(RuleType.ZERO_WITH_VOLTAGE)
    assert [(z.meter_id, z.period_start, z.period_end) for z in zeros] == [
        (meter.pk, DAY + dt.timedelta(minutes=30 * 11), DAY + dt.timedelta(minutes=30 * 20))
    ]
    assert zeros[0].values["intervals"] == 10


def test_negative_consumption_of_an_interval_kind_mdc(interval_meter):
    kwh = flat_day()
    rows = lp_rows(interval_meter, kwh, registers=False)
    rows[7]["active_energy_tl"] = "-0.500"
    rows[7]["active_energy_t1"] = "-0.500"
    load(interval_meter, rows)
    validate()
    assert [n.period_start for n in found(RuleType.NEGATIVE)] == [
        DAY + dt.timedelta(minutes=30 * 8)
    ]
    assert found(RuleType.ROLLBACK) == []


def test_sum_check_of_tariff_registers_against_the_total(meter):
    rows = lp_rows(meter, flat_day())
    rows[3]["active_energy_t2"] = "5.000"  # T1+T2+T3+T4 now 5 kWh above tl
    load(meter, rows)
    validate()
    sums = found(RuleType.SUM_CHECK_TOU, meter)
    assert [s.period_start for s in sums] == [DAY + dt.timedelta(minutes=30 * 4)]
    assert sums[0].values["difference"] == 5.0


def test_load_profile_day_against_the_billing_register_delta(meter, db):
    # 48 kWh over the day (a first reading at 00:00 closes the day before)
    before = DAY - dt.timedelta(minutes=30)
    load(meter, lp_rows(meter, flat_day(n=49), start=before, register0=Decimal("999")))
    load(
        meter,
        [billing_row(meter, DAY, Decimal("1000")), billing_row(meter, DAY_END, Decimal("1048"))],
        "billing",
    )
    honest = MeterFactory(mdc=meter.mdc)
    load(honest, lp_rows(honest, flat_day(n=49), start=before, register0=Decimal("999")))
    load(
        honest,
        [billing_row(honest, DAY, Decimal("1000")), billing_row(honest, DAY_END, Decimal("1048"))],
        "billing",
    )
    # the first meter's billing says 60 kWh: 12 kWh the load profile does not show
    load(meter, [billing_row(meter, DAY_END, Decimal("1060"))], "billing")
    validate()
    sums = found(RuleType.LP_VS_BILLING)
    assert [(s.meter_id, s.period_start, s.period_end) for s in sums] == [(meter.pk, DAY, DAY_END)]
    assert sums[0].values["difference"] == -12.0


def test_rule_set_scope_and_parameters_come_from_configuration(meter, db):
    """A narrower rule set with a stricter parameter applies to its MDC's meters only."""
    other = MeterFactory()
    for m in (meter, other):
        kwh = flat_day()
        kwh[10:14] = [Decimal("0")] * 4
        load(m, lp_rows(m, kwh))
    strict = RuleSet.objects.create(name="Strict", mdc=meter.mdc)
    Rule.objects.create(
        rule_set=strict,
        rule_type=RuleType.ZERO_WITH_VOLTAGE,
        name="Zero 4",
        parameters={"min_intervals": "4"},
        severity="high",
    )
    validate()
    zeros = found(RuleType.ZERO_WITH_VOLTAGE)
    assert [(z.meter_id, z.rule.name, z.severity) for z in zeros] == [(meter.pk, "Zero 4", "high")]


def test_validating_twice_changes_nothing_and_a_late_reading_clears_the_gap(meter):
    kwh = flat_day()
    kwh[10] = None
    rows_all = lp_rows(meter, [k if k is not None else Decimal("1") for k in kwh])
    load(meter, lp_rows(meter, kwh))
    first = validate()
    again = validate()
    assert (first.found, again.found, again.cleared) == (1, 0, 0)
    assert ValidationException.objects.get().status == ExceptionStatus.OPEN
    load(meter, [rows_all[10]])  # the missing row arrives late
    late = validate()
    assert late.cleared == 1
    assert ValidationException.objects.get().status == ExceptionStatus.CLEARED
