"""Estimation methods on hand-made data; versions, their inputs, and late actual readings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.registry.tests.factories import MeterFactory
from apps.vee.choices import ExceptionStatus, Method, RuleType, VersionKind
from apps.vee.models import ValidationException, ValueVersion
from apps.vee.services.estimation import estimates_make
from apps.vee.services.validation import validation_run

from .conftest import DAY, billing_row, load, lp_rows

pytestmark = pytest.mark.django_db
DAY_END = DAY + dt.timedelta(days=1)
D = Decimal


def at(i: int) -> dt.datetime:
    """End of interval i of the test day (30-minute intervals)."""
    return DAY + dt.timedelta(minutes=30 * (i + 1))


def gaps(meter):
    return ValidationException.objects.filter(rule__rule_type=RuleType.GAP, meter=meter)


def current(meter):
    return {
        v.meter_datetime: v
        for v in ValueVersion.objects.filter(meter=meter, is_current=True).order_by(
            "meter_datetime"
        )
    }


def validate(estimate=False, start=DAY, end=DAY_END):
    return validation_run(start=start, end=end, estimate=estimate)


def day_kwh(**changes):
    kwh = [D("1")] * 48
    for index, value in changes.items():
        kwh[int(index[1:])] = value
    return kwh


def test_linear_interpolation_of_a_register_gap_is_scaled_to_the_register_delta(meter):
    # interval 9 used 1 kWh, 13 used 3 kWh; rows 10 and 11 missing; 12 is the first reading
    # after them, so intervals 10-12 are unknown one by one but used 1 + 1 + 7 = 9 kWh together
    kwh = day_kwh(i9=D("1"), i10=None, i11=None, i12=D("7"), i13=D("3"))
    load(meter, lp_rows(meter, kwh))
    validate()
    gap = gaps(meter).get()
    assert estimates_make(exceptions=gaps(meter), method=None, actor=None) == 3
    versions = current(meter)
    # linear from the mean of intervals 6-9 (1) to that of 13-16 (1.5), centred 1.5 intervals
    # before and 2.5 after: 1.179, 1.25, 1.321 (sum 3.75) scaled by 9/3.75
    assert [versions[at(i)].value for i in (10, 11, 12)] == [D("2.829"), D("3.000"), D("3.171")]
    first = versions[at(10)]
    assert (first.kind, first.method, first.version, first.exception_id) == (
        VersionKind.ESTIMATED,
        Method.LINEAR,
        1,
        gap.pk,
    )
    assert first.inputs["before"]["value"] == 1.0 and first.inputs["after"]["value"] == 3.0
    assert first.inputs["before"]["at"] == "2026-11-02T05:00:00+05:00"
    assert (first.inputs["before_mean"], first.inputs["after_mean"]) == (1.0, 1.5)
    assert first.inputs["register_delta"] == 9.0 and first.inputs["scale_factor"] == 2.4
    assert sum(versions[at(i)].value for i in (10, 11, 12)) == D("9")
    gap.refresh_from_db()
    assert gap.status == ExceptionStatus.ESTIMATED
    assert AuditEntry.objects.filter(action="vee.estimate").count() == 1


def test_linear_interpolation_of_an_interval_kind_gap_is_not_scaled(interval_meter):
    kwh = day_kwh(i9=D("1"), i10=None, i11=None, i12=D("4"))
    load(interval_meter, lp_rows(interval_meter, kwh, registers=False))
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=None, actor=None)
    versions = current(interval_meter)
    assert sorted(versions) == [at(10), at(11)]
    # from the mean of 6-9 (1) to that of 12-15 (1.75): 1 + 0.75 x 2.5/6, 1 + 0.75 x 3.5/6
    assert [versions[at(i)].value for i in (10, 11)] == [D("1.313"), D("1.438")]
    assert "register_delta" not in versions[at(10)].inputs


def test_flat_fill_when_only_one_side_is_known(interval_meter):
    kwh = day_kwh(i9=D("1.5"), i10=None, i11=None, i12=D("4"))
    load(interval_meter, lp_rows(interval_meter, kwh, registers=False))
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=Method.FLAT_FILL, actor=None)
    versions = current(interval_meter)
    assert [versions[at(i)].value for i in (10, 11)] == [D("1.500"), D("1.500")]
    assert versions[at(10)].method == Method.FLAT_FILL


def test_linear_falls_back_to_flat_fill_when_the_interval_after_is_unknown(meter):
    kwh = day_kwh(i9=D("2"), i10=None, i11=None, i12=D("1"), i13=None)
    load(meter, lp_rows(meter, kwh))
    validate()
    first_gap = gaps(meter).order_by("period_start")[:1]
    estimates_make(exceptions=gaps(meter).filter(pk__in=first_gap), method=None, actor=None)
    versions = current(meter)
    assert {versions[at(i)].method for i in (10, 11, 12)} == {Method.FLAT_FILL}
    # flat 2, 2, 2 scaled to the delta 1 + 1 + 1 = 3
    assert [versions[at(i)].value for i in (10, 11, 12)] == [D("1.000"), D("1.000"), D("1.000")]


def _like_day_history(meter):
    """Eight days before the test day, each interval of a day using that day's constant."""
    per_day = {26: "50", 27: "1", 28: "2", 29: "3", 30: "4", 31: "100", 1: "100"}
    start = dt.datetime(2026, 10, 26, tzinfo=DAY.tzinfo)
    kwh = []
    for d in range(7):
        day = (start + dt.timedelta(days=d)).day
        kwh += [D(per_day[day])] * 48
    kwh += [D("9")] * 48  # the test day itself
    for i in range(10, 20):  # five hours missing: longer than linear's three
        kwh[7 * 48 + i] = None
    load(meter, lp_rows(meter, kwh, start=start, registers=False))


def test_like_day_average_of_the_four_most_recent_weekdays(interval_meter):
    _like_day_history(interval_meter)
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=None, actor=None)
    versions = current(interval_meter)
    assert sorted(versions) == [at(i) for i in range(10, 20)]
    first = versions[at(10)]
    assert first.method == Method.LIKE_DAY
    assert first.value == D("2.500")  # Tue..Fri: 1, 2, 3, 4; the weekend is not alike
    assert first.inputs["like_days"] == [f"2026-10-{d}T05:30:00+05:00" for d in (30, 29, 28, 27)]


def test_like_day_skips_days_that_are_themselves_estimated(interval_meter):
    _like_day_history(interval_meter)
    ValueVersion.objects.create(
        meter=interval_meter,
        meter_datetime=at(10) - dt.timedelta(days=3),  # Friday's interval
        version=1,
        kind=VersionKind.ESTIMATED,
        value=D("4"),
        method=Method.LINEAR,
        created_at=DAY,
    )
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=Method.LIKE_DAY, actor=None)
    versions = current(interval_meter)
    # the whole of Friday is no like day: Mon 26th (50) replaces it, (1+2+3+50)/4
    assert versions[at(10)].value == D("14.000")
    assert versions[at(11)].value == D("14.000")


def _like_day_history_with_outage(meter):
    """As ``_like_day_history``, with an outage on Thursday 29th: one interval at night with
    no voltage (the rest of the day is as usual)."""
    per_day = {26: "50", 27: "1", 28: "2", 29: "3", 30: "4", 31: "100", 1: "100"}
    start = dt.datetime(2026, 10, 26, tzinfo=DAY.tzinfo)
    kwh = []
    for d in range(7):
        kwh += [D(per_day[(start + dt.timedelta(days=d)).day])] * 48
    kwh += [D("9")] * 48
    for i in range(10, 20):
        kwh[7 * 48 + i] = None
    outage = {3 * 48 + 40: {"voltage_phase_a": "0"}}
    load(meter, lp_rows(meter, kwh, start=start, registers=False, overrides=outage))


def test_like_day_skips_days_with_an_outage(interval_meter):
    _like_day_history_with_outage(interval_meter)
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=Method.LIKE_DAY, actor=None)
    versions = current(interval_meter)
    # Thursday is out: Mon 26th, Tue, Wed, Fri: (50+1+2+4)/4
    assert versions[at(10)].value == D("14.250")
    assert "2026-10-29T05:30:00+05:00" not in versions[at(10)].inputs["like_days"]


def test_the_reading_after_a_gap_states_its_own_interval_by_its_demand(meter):
    # rows 10 and 11 missing; row 12 used 2 kWh in its half hour (4 kW recorded with it), so
    # 10 and 11 share the rest of the register delta 1 + 1 + 2 = 4
    kwh = day_kwh(i10=None, i11=None, i12=D("2"))
    load(meter, lp_rows(meter, kwh, overrides={12: {"aggregate_active_pwr_pos": "4.000"}}))
    validate()
    estimates_make(exceptions=gaps(meter), method=None, actor=None)
    versions = current(meter)
    assert [versions[at(i)].value for i in (10, 11, 12)] == [D("1.000"), D("1.000"), D("2.000")]
    assert versions[at(12)].method == Method.DEMAND
    assert versions[at(12)].inputs["demand_kwh"] == 2.0
    assert versions[at(10)].method == Method.LINEAR
    # a demand that would exceed the whole delta is not believed: plain scaling
    other = MeterFactory(mdc=meter.mdc)
    load(other, lp_rows(other, kwh, overrides={12: {"aggregate_active_pwr_pos": "20.000"}}))
    validate()
    estimates_make(exceptions=gaps(other), method=None, actor=None)
    assert Method.DEMAND not in {v.method for v in current(other).values()}


def test_validation_estimates_new_gaps_and_a_late_actual_replaces_the_estimate(meter):
    complete = day_kwh(i9=D("1"), i10=D("1.2"), i11=D("0.8"), i12=D("7"), i13=D("3"))
    rows = lp_rows(meter, complete)
    load(meter, [row for i, row in enumerate(rows) if i not in (10, 11)])
    run = validate(estimate=True)
    # (the 7 kWh half hour is also a demand above the sanctioned 5 kW: another rule's finding)
    assert (gaps(meter).count(), run.estimated) == (1, 3)
    gap = gaps(meter).get()
    assert gap.status == ExceptionStatus.ESTIMATED
    load(meter, [rows[10], rows[11]])  # the missing rows arrive late
    late = validate(estimate=True)
    assert (late.actualised, late.estimated) == (3, 0)
    gap.refresh_from_db()
    assert gap.status == ExceptionStatus.CLEARED
    history = list(
        ValueVersion.objects.filter(meter=meter, meter_datetime=at(10)).order_by("version")
    )
    assert [(v.version, v.kind, v.method, v.is_current) for v in history] == [
        (1, VersionKind.ESTIMATED, Method.LINEAR, False),
        (2, VersionKind.ACTUAL, Method.LATE_ACTUAL, True),
    ]
    assert history[1].value == D("1.200")
    assert history[1].inputs["replaced_version"] == 1
    assert current(meter)[at(12)].value == D("7.000")
    assert AuditEntry.objects.filter(action="vee.validation_run").count() == 2


def test_an_interval_kind_gap_is_scaled_to_the_daily_billing_registers(interval_meter):
    # 46 known intervals of 1 kWh; the billing snapshots at 00:00 say the day used 51 kWh, so
    # the two missing intervals used 5 together
    load(interval_meter, lp_rows(interval_meter, day_kwh(i10=None, i11=None), registers=False))
    load(
        interval_meter,
        [
            billing_row(interval_meter, DAY, D("1000")),
            billing_row(interval_meter, DAY_END, D("1051")),
        ],
        "billing",
    )
    validate()
    estimates_make(exceptions=gaps(interval_meter), method=None, actor=None)
    versions = current(interval_meter)
    assert [versions[at(i)].value for i in (10, 11)] == [D("2.500"), D("2.500")]
    inputs = versions[at(10)].inputs
    assert (inputs["register_delta"], inputs["register_delta_from"]) == (5.0, "billing")
    # with another interval of the day missing too, the day's energy is not the gap's alone
    other = MeterFactory(mdc=interval_meter.mdc)
    load(other, lp_rows(other, day_kwh(i10=None, i11=None, i30=None), registers=False))
    load(
        other,
        [billing_row(other, DAY, D("1000")), billing_row(other, DAY_END, D("1051"))],
        "billing",
    )
    validate()
    estimates_make(exceptions=gaps(other), method=None, actor=None)
    assert "register_delta" not in current(other)[at(10)].inputs


def registers(meter):
    return list(
        ValueVersion.objects.filter(meter=meter, quantity="billing_tl").order_by(
            "meter_datetime", "version"
        )
    )


def test_a_missing_daily_register_is_estimated_from_load_profile_until_it_arrives(meter):
    load(meter, lp_rows(meter, day_kwh(i20=D("3"))))  # registers 1001 .. 1050 at 00:00
    load(meter, [billing_row(meter, DAY, D("1000"))], "billing")
    validate(estimate=True)
    (estimate,) = registers(meter)
    assert (estimate.meter_datetime, estimate.value, estimate.method, estimate.kind) == (
        DAY_END,
        D("1050.000"),
        Method.FROM_LOAD_PROFILE,
        VersionKind.ESTIMATED,
    )
    assert estimate.inputs == {"load_profile_reading": 1050.0}
    validate(estimate=True)  # again: nothing new
    assert len(registers(meter)) == 1
    load(meter, [billing_row(meter, DAY_END, D("1050.100"))], "billing")
    validate(estimate=True)
    assert [(v.version, v.kind, v.value, v.is_current) for v in registers(meter)] == [
        (1, VersionKind.ESTIMATED, D("1050.000"), False),
        (2, VersionKind.ACTUAL, D("1050.100"), True),
    ]
    # the interval series downstream is not disturbed by the register's versions
    from apps.vee.selectors import interval_series

    points = interval_series(meter=meter, start=DAY, end=DAY_END)
    assert VersionKind.ESTIMATED not in {p.kind for p in points}
    assert (points[-1].at, points[-1].value) == (DAY_END, D("1.000"))


def test_an_interval_kind_days_register_adds_its_estimated_intervals(interval_meter):
    kwh = day_kwh(i10=None, i11=None)  # two intervals missing, estimated 1 + 1
    load(interval_meter, lp_rows(interval_meter, kwh, registers=False))
    load(interval_meter, [billing_row(interval_meter, DAY, D("1000"))], "billing")
    validate(estimate=True)
    (estimate,) = registers(interval_meter)
    assert (estimate.meter_datetime, estimate.value) == (DAY_END, D("1048.000"))
    assert estimate.inputs == {
        "previous_register": 1000.0,
        "load_profile_kwh": 48.0,
        "intervals": 48,
    }
    # a day with an interval neither received nor estimated gets no register
    other = MeterFactory(mdc=interval_meter.mdc)
    load(other, lp_rows(other, kwh, registers=False))
    load(other, [billing_row(other, DAY, D("1000"))], "billing")
    validate(estimate=False)
    assert registers(other) == []
