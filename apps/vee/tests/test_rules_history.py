"""The rule types that look beyond the interval: usage against like days, demand and MDI
against the sanctioned load, the meter's clock, inactive meters and open relays; hand-made data
through ``validation_run`` over the real warehouse and registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.registry.tests.factories import ConsumerFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.vee.choices import RuleType
from apps.vee.models import Rule
from apps.vee.services.rules import rule_update
from apps.vee.services.validation import validation_run

from .conftest import DAY, load, lp_rows, text

pytestmark = pytest.mark.django_db
DAY_END = DAY + dt.timedelta(days=1)


def validate(start=DAY, end=DAY_END):
    return validation_run(start=start, end=end, estimate=False)


def found(rule_type, meter=None):
    from apps.vee.models import ValidationException

    qs = ValidationException.objects.filter(rule__rule_type=rule_type)
    if meter is not None:
        qs = qs.filter(meter=meter)
    return list(qs.order_by("meter_id", "period_start"))


def history(meter, per_day: list[str], *, first: dt.datetime, iv: int = 60):
    """Consecutive days from ``first`` (a midnight), day k using ``per_day[k]`` kWh evenly; the
    first row is the midnight reading opening the first day."""
    kwh = [Decimal("0")]
    for total in per_day:
        kwh += [Decimal(total) / (1440 // iv)] * (1440 // iv)
    return lp_rows(meter, kwh, start=first - dt.timedelta(minutes=iv), iv=iv)


def test_daily_usage_far_above_or_below_its_like_days(meter, db):
    # four weeks before DAY (a Monday): weekdays 24 kWh, weekends 48 kWh; DAY itself 60 kWh
    first = DAY - dt.timedelta(days=28)
    days = [
        "48" if (first + dt.timedelta(days=k)).isoweekday() in (6, 7) else "24" for k in range(28)
    ]
    load(meter, history(meter, [*days, "60"], first=first))
    steady = MeterFactory(mdc=meter.mdc)
    load(steady, history(steady, [*days, "30"], first=first))  # 125 %: within bounds
    below = MeterFactory(mdc=meter.mdc)
    load(below, history(below, [*days, "20"], first=first))  # 83 %: within bounds too
    low = MeterFactory(mdc=meter.mdc)
    load(low, history(low, [*days, "6"], first=first))  # 25 %: below the 60 % bound
    validate()
    usage = found(RuleType.HIGH_LOW_USAGE)
    assert [(u.meter_id, u.period_start, u.period_end) for u in usage] == [
        (meter.pk, DAY, DAY_END),
        (low.pk, DAY, DAY_END),
    ]
    high = usage[0].values
    assert (high["usage_kwh"], high["like_day_average_kwh"], high["like_days"]) == (60, 24, 20)
    assert high["percent_of_average"] == 250.0


def test_usage_without_enough_like_days_is_not_judged(meter):
    first = DAY - dt.timedelta(days=1)  # one like day only (the default needs 2)
    load(meter, history(meter, ["24", "96"], first=first))
    validate()
    assert found(RuleType.HIGH_LOW_USAGE) == []


def test_demand_above_the_sanctioned_load(db):
    consumer = ConsumerFactory(sanctioned_load_kw=Decimal("5"))
    meter = MeterFactory(mdc__lp_energy_kind="register", consumer=consumer)
    kwh = [Decimal("1")] * 48  # 2 kW
    kwh[20] = Decimal("3")  # 6 kW for half an hour
    kwh[21] = Decimal("2.6")  # 5.2 kW
    kwh[30] = Decimal("2.5")  # exactly 5 kW: not above
    load(meter, lp_rows(meter, kwh))
    validate()
    over = found(RuleType.DEMAND_OVER_SANCTIONED)
    assert [(o.meter_id, o.period_start, o.period_end) for o in over] == [
        (meter.pk, DAY + dt.timedelta(minutes=30 * 21), DAY + dt.timedelta(minutes=30 * 22))
    ]
    assert over[0].values["max_demand_kw"] == 6.0
    assert over[0].values["intervals"] == 2
    # a stricter rule (80 %) also finds the 5 kW interval
    rule = Rule.objects.get(rule_type=RuleType.DEMAND_OVER_SANCTIONED)
    rule_update(rule=rule, actor=None, parameters={"percent": "80"})
    validate()
    assert found(RuleType.DEMAND_OVER_SANCTIONED)[0].values["intervals"] == 3


def test_mdi_above_the_sanctioned_load_or_a_limit(db):
    consumer = ConsumerFactory(sanctioned_load_kw=Decimal("5"))
    meter = MeterFactory(mdc__lp_energy_kind="register", consumer=consumer)
    over = {i: {"active_mdi_tl": "6.500" if i >= 30 else "4.000"} for i in range(48)}
    load(meter, lp_rows(meter, [Decimal("1")] * 48, overrides=over))
    validate()
    mdi = found(RuleType.MDI_OVER_LIMIT)
    assert [(m.period_start, m.period_end) for m in mdi] == [
        (DAY + dt.timedelta(minutes=30 * 31), DAY_END)
    ]
    assert (mdi[0].values["max_mdi_kw"], mdi[0].values["limit_kw"]) == (6.5, 5.0)
    rule = Rule.objects.get(rule_type=RuleType.MDI_OVER_LIMIT)
    rule_update(rule=rule, actor=None, parameters={"limit_kw": "7"})
    run = validate()
    assert run.cleared == 1


def _instantaneous(meter, meter_time: dt.datetime, read_at: dt.datetime) -> dict:
    row = DATASETS["instantaneous"].encode_row({})
    row.update(
        msn=str(meter.msn),
        global_device_id=meter.global_device_id,
        meter_datetime=text(meter_time),
        mdc_read_datetime=text(read_at),
        db_datetime=text(read_at),
    )
    return row


def test_meter_clock_beyond_the_tolerance(meter, db):
    ahead = {i: {"mdc_read_datetime": text(DAY + dt.timedelta(minutes=30 * i))} for i in (10,)}
    # interval 10 ends at 05:30 but the MDC read it at 05:00: the meter is 30 minutes ahead
    load(meter, lp_rows(meter, [Decimal("1")] * 48, overrides=ahead))
    behind = MeterFactory(mdc=meter.mdc)
    load(behind, lp_rows(behind, [Decimal("1")] * 48))
    noon = DAY + dt.timedelta(hours=12)
    load(
        behind,
        [
            _instantaneous(behind, noon - dt.timedelta(minutes=25), noon),  # 25 min behind
            _instantaneous(  # 5 minutes ahead
                behind, noon + dt.timedelta(hours=1, minutes=5), noon + dt.timedelta(hours=1)
            ),
        ],
        "instantaneous",
    )
    validate()
    clock = found(RuleType.TIME_TOLERANCE)
    assert [(c.meter_id, c.period_start) for c in clock] == [
        (meter.pk, DAY + dt.timedelta(minutes=30 * 11)),
        (behind.pk, noon),
    ]
    assert clock[0].values["largest_offset_minutes"] == 30.0
    assert clock[1].values["largest_offset_minutes"] == -25.0
    assert clock[1].values["readings"] == 1  # 5 minutes ahead is within the tolerance


def test_inactive_or_disconnected_meter_that_still_advances(meter, db):
    meter.activation_status = 0
    meter.save()
    load(meter, lp_rows(meter, [Decimal("1")] * 48))
    cut = MeterFactory(mdc=meter.mdc, consumer=ConsumerFactory(connection_status="disconnected"))
    standing = [Decimal("0")] * 48  # disconnected and standing still: fine
    load(cut, lp_rows(cut, standing))
    active = MeterFactory(mdc=meter.mdc)
    load(active, lp_rows(active, [Decimal("1")] * 48))
    validate()
    advancing = found(RuleType.INACTIVE_ADVANCING)
    assert [(a.meter_id, a.period_start, a.period_end) for a in advancing] == [
        (meter.pk, DAY + dt.timedelta(minutes=60), DAY_END)
    ]
    assert advancing[0].values["kwh"] == 47.0  # the first row has no reading before it


def test_usage_while_the_relay_is_open(meter, db):
    meter.relay_state = "disconnected"
    meter.save()
    kwh = [Decimal("0")] * 48
    kwh[40] = Decimal("0.7")
    load(meter, lp_rows(meter, kwh))
    closed = MeterFactory(mdc=meter.mdc, relay_state="connected")
    load(closed, lp_rows(closed, [Decimal("1")] * 48))
    validate()
    relay = found(RuleType.RELAY_OPEN_USAGE)
    assert [(r.meter_id, r.period_start) for r in relay] == [
        (meter.pk, DAY + dt.timedelta(minutes=30 * 41))
    ]
    assert relay[0].values["relay_state"] == "disconnected"
