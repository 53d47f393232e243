"""End to end for UDIL 3.3: a simulated 3.3 MDC over real HTTP, pulled by ingestion into the
warehouse: the 3.3 fields are stored (and equal what the MDC serves), and the device
communication history arrives as its own data set."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F

from apps.ingestion.choices import RunOutcome
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import NOW, UNTIL, expected_rows, registered_mdc, sim_mdc
from apps.simulator.testing import freeze_clock
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.udil.events_v33 import EVENT_CODES_3_3
from apps.warehouse.models import (
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MonthlyBillingReading,
)

pytestmark = pytest.mark.django_db(transaction=True)

WINDOWS = {
    "instantaneous": 360,
    "billing": 1440,
    "monthly_billing": 44640,
    "load_profile": 720,
    "events": 1440,
    "meter_visuals": 1440,
    "device_comm_history": 720,
}


@pytest.fixture
def v33(live_server, monkeypatch):
    freeze_clock(monkeypatch, NOW)
    sim, meters = sim_mdc("v33_e2e", meters=3, udil_profile="3.3")
    mdc = registered_mdc(live_server, sim, meters, udil_profile="3.3", window_minutes=WINDOWS)
    return sim, meters, mdc


def pull(mdc, code: str, sim):
    run = pull_run(mdc_id=mdc.pk, dataset_code=code, since=sim.history_start, until=UNTIL)
    assert run.outcome == RunOutcome.SUCCEEDED, (code, run.error)
    return run


def test_a_3_3_mdc_delivers_its_3_3_fields_into_the_warehouse(v33):
    sim, meters, mdc = v33
    ids = [m.global_device_id for m in meters]
    for code in ("instantaneous", "monthly_billing", "load_profile", "events"):
        run = pull(mdc, code, sim)
        expected = expected_rows(sim, code, ids)
        assert expected and run.rows_inserted == len(expected), code
        assert set(expected[0]) == set(DATASETS_3_3[code].field_names), code

    inst = InstantaneousReading.objects.filter(mdc_id=mdc.pk)
    assert inst.count() and not inst.filter(frequency__isnull=True).exists()
    row = inst.order_by("meter_datetime").first()
    currents = [row.current_phase_a, row.current_phase_b, row.current_phase_c]
    assert row.current_total == sum(c or Decimal(0) for c in currents)
    assert Decimal("49.9") < row.frequency < Decimal("50.1")
    assert row.aggregate_active_pwr_abs == row.aggregate_active_pwr_pos

    # a 3.3 load profile's import registers land where 2019 keeps them (consumption reads them)
    lp = LoadProfileReading.objects.filter(mdc_id=mdc.pk)
    assert not lp.filter(active_energy_tl__isnull=True).exists()
    assert not lp.exclude(active_energy_abs_tl=F("active_energy_tl")).exists()

    monthly = MonthlyBillingReading.objects.filter(mdc_id=mdc.pk)
    assert monthly.exists() and set(monthly.values_list("reading_mode", flat=True)) == {1}
    assert not monthly.exclude(active_energy_abs_tl=F("active_energy_pos_tl")).exists()

    names = set(
        MeterEvent.objects.filter(mdc_id=mdc.pk).values_list("event_code", "event_description")
    )
    assert names and all(EVENT_CODES_3_3[code] == name for code, name in names)


def test_device_communication_history_is_pulled_once(v33):
    sim, meters, mdc = v33
    ids = [m.global_device_id for m in meters]
    first = pull(mdc, "device_comm_history", sim)
    expected = expected_rows(sim, "device_comm_history", ids)
    assert expected and first.rows_inserted == len(expected)
    stored = DeviceCommunicationHistory.objects.filter(mdc_id=mdc.pk)
    assert stored.count() == len(expected)
    sample = stored.filter(communication_status=1).first()
    assert sample.bytes_received > 0 and "Establishing Connection" in sample.message_log
    # pulled again from the start: nothing new, nothing doubled
    again = pull(mdc, "device_comm_history", sim)
    assert again.rows_inserted == 0
    assert stored.count() == len(expected)
    assert stored.latest("meter_datetime").meter_datetime <= UNTIL + dt.timedelta(seconds=1)
