"""Tabular UDIL 3.3: a simulated 3.3 MDC's tables carry the 3.3 columns (its read API's layout,
plus ``id`` / ``is_synced``), and the tabular pull of a 3.3 MDC stores them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from apps.ingestion.choices import RunOutcome
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import UNTIL, sim_mdc
from apps.ingestion.tests.test_pull_tabular import tabular_mdc
from apps.simulator import generator as gen
from apps.simulator.tabular import TABLES, TABLES_3_3, sim_tabular_sync
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.warehouse.models import (
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterVisuals,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _columns(sim, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [sim.tabular_schema, table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_3_3_mdc_tables_carry_and_deliver_the_3_3_columns():
    sim, sim_meters = sim_mdc("tab33_cols", meters=2, transport="tabular", udil_profile="3.3")
    sim_tabular_sync(mdc=sim, until=UNTIL - dt.timedelta(hours=6))
    tables = {**TABLES, **TABLES_3_3}
    for code in DATASETS_3_3:
        assert _columns(sim, tables[code]) == [*gen.FIELDS_3_3[code], "id", "is_synced"], code

    views = {ds.table: f"{sim.tabular_schema}.{tables[c]}" for c, ds in DATASETS_3_3.items()}
    mdc = tabular_mdc(sim, sim_meters, udil_profile="3.3")
    mdc.tabular_views = views  # the 3.3 MDC's seven tables
    mdc.save(update_fields=["tabular_views"])
    for code in ("instantaneous", "load_profile", "meter_visuals", "device_comm_history"):
        run = pull_run(mdc_id=mdc.pk, dataset_code=code, until=UNTIL)
        assert run.outcome == RunOutcome.SUCCEEDED, (code, run.error)
        assert run.rows_inserted > 0, code

    inst = InstantaneousReading.objects.filter(mdc_id=mdc.pk)
    assert inst.exists() and not inst.filter(frequency__isnull=True).exists()
    lp = LoadProfileReading.objects.filter(mdc_id=mdc.pk)
    assert lp.exists() and not lp.exclude(active_energy_abs_tl=F("active_energy_tl")).exists()
    visuals = MeterVisuals.objects.filter(mdc_id=mdc.pk)
    assert visuals.count() == len(sim_meters)
    assert all(Decimal("49.9") < v.frequency < Decimal("50.1") for v in visuals)
    assert not visuals.filter(last_active_energy_pos_tl__isnull=True).exists()
    assert DeviceCommunicationHistory.objects.filter(mdc_id=mdc.pk).exists()
