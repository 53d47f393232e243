"""Flat files of a UDIL 3.3 MDC: the simulated MDC's deliveries have the 3.3 columns (its read
API's layout, and device_comm_history files), and the MDM loads them with the 3.3 definitions."""

from __future__ import annotations

import csv

import pytest
from django.db.models import F

from apps.ingestion import services
from apps.ingestion.tests.conftest import UNTIL, sim_mdc
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator import generator as gen
from apps.simulator.files import sim_files_deliver
from apps.warehouse.models import (
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterVisuals,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_3_3_mdc_delivers_files_with_the_3_3_columns(tmp_path):
    inbox = tmp_path / "inbox"
    sim, sim_meters = sim_mdc(
        "files_33", meters=2, transport="file", file_directory=str(inbox), udil_profile="3.3"
    )
    mdc = MdcFactory(
        code="files-33",
        transport="file",
        base_url="",
        file_directory=str(inbox),
        udil_profile="3.3",
    )
    for meter in sim_meters:
        MeterFactory(
            mdc=mdc, global_device_id=meter.global_device_id, msn=meter.msn, transformer=None
        )
    files = sim_files_deliver(mdc=sim, until=UNTIL)
    headers = {}
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            headers[path.name.rsplit("_", 1)[0]] = tuple(next(csv.reader(handle)))
    assert {"instantaneous", "load_profile", "meter_visuals", "device_comm_history"} <= set(headers)
    for code, header in headers.items():
        assert header == gen.FIELDS_3_3[code], code

    runs = services.deliveries_scan(mdc_id=mdc.pk)

    assert runs and all(run.outcome == "succeeded" for run in runs), [
        (run.dataset, run.outcome, run.error) for run in runs
    ]
    inst = InstantaneousReading.objects.filter(mdc_id=mdc.pk)
    assert inst.exists() and not inst.filter(frequency__isnull=True).exists()
    lp = LoadProfileReading.objects.filter(mdc_id=mdc.pk)
    assert lp.exists() and not lp.filter(active_energy_tl__isnull=True).exists()
    assert not lp.exclude(active_energy_abs_tl=F("active_energy_tl")).exists()
    visuals = MeterVisuals.objects.filter(mdc_id=mdc.pk)
    assert visuals.count() == 2 and not visuals.filter(frequency__isnull=True).exists()
    assert DeviceCommunicationHistory.objects.filter(mdc_id=mdc.pk).exists()
