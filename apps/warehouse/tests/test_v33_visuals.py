"""End to end for UDIL 3.3 meter visuals (3.1.6): a simulated 3.3 MDC serves METER_VISUALS under
3.3's column names over real HTTP; ingestion pulls it into the warehouse, the renamed columns
land in the 2019 columns of the same meaning and the new ones in their own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.ingestion.choices import RunOutcome
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import NOW, UNTIL, expected_rows, registered_mdc, sim_mdc
from apps.simulator.testing import freeze_clock
from apps.udil.datasets import METER_VISUALS
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.warehouse.models import MeterVisuals

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def v33(live_server, monkeypatch):
    freeze_clock(monkeypatch, NOW)
    sim, meters = sim_mdc("v33_visl", meters=3, udil_profile="3.3")
    mdc = registered_mdc(live_server, sim, meters, udil_profile="3.3")
    return sim, meters, mdc


def test_the_3_3_definition_renames_into_2019_columns():
    v33 = DATASETS_3_3["meter_visuals"]
    stored = {f.name: f.stored_as for f in v33.fields}
    assert stored["active_energy_pos_tl"] == "last_active_energy_pos_tl"
    assert stored["lsch_load_shedding_slabs"] == "meter_ls_schedule_slabs"
    assert stored["mtst_meter_activation_status"] == "meter_activation_status"
    assert stored["frequency"] == "frequency"
    # every 2019 column but the 3.3-reshaped TOU array has a 3.3 source
    assert set(METER_VISUALS.field_names) - set(stored.values()) == {"meter_tariff_identification"}
    assert len(v33.field_names) == len(set(v33.field_names)) == 96


def test_a_3_3_mdc_delivers_its_visuals_into_the_warehouse(v33):
    sim, meters, mdc = v33
    ids = [m.global_device_id for m in meters]
    expected = expected_rows(sim, "meter_visuals", ids)
    assert len(expected) == len(ids)
    assert set(expected[0]) == set(DATASETS_3_3["meter_visuals"].field_names)
    assert "last_active_energy_pos_tl" not in expected[0]

    run = pull_run(
        mdc_id=mdc.pk, dataset_code="meter_visuals", since=sim.history_start, until=UNTIL
    )
    from apps.warehouse.models import QuarantinedRow

    assert run.outcome == RunOutcome.SUCCEEDED, list(
        QuarantinedRow.objects.values_list("reason", flat=True)
    )
    assert run.rows_inserted == len(ids)

    by_id = {row["global_device_id"]: row for row in expected}
    for stored in MeterVisuals.objects.filter(mdc_id=mdc.pk):
        served = by_id[stored.global_device_id]
        assert stored.last_active_energy_pos_tl == Decimal(served["active_energy_pos_tl"])
        assert stored.last_active_energy_pos_tl > 0
        assert stored.aggregate_active_energy_abs_tl == stored.last_active_energy_pos_tl + (
            stored.last_active_energy_neg_tl or 0
        )
        assert Decimal("49.9") < stored.frequency < Decimal("50.1")
        assert stored.auxr_status in (0, 1)
        assert stored.meter_activation_status == int(served["mtst_meter_activation_status"])
        assert stored.msim_id == served["msim_id"] and stored.db_datetime is not None
        assert stored.meter_tariff_identification is None  # 2019 only

    # pulled again: the same rows, nothing doubled
    again = pull_run(
        mdc_id=mdc.pk, dataset_code="meter_visuals", since=sim.history_start, until=UNTIL
    )
    assert again.outcome == RunOutcome.SUCCEEDED, again.error
    assert MeterVisuals.objects.filter(mdc_id=mdc.pk).count() == len(ids)
