"""UDIL 3.3 rows in the warehouse: the 3.3 columns beside the 2019 ones, and the device
communication history data set (merge on its key, quarantine, page, API and CSV)."""

from decimal import Decimal

import pytest

from apps.udil.datasets import DATASETS
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.warehouse.models import (
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    QuarantinedRow,
)
from apps.warehouse.services import rows_load, rows_load_split

pytestmark = pytest.mark.django_db

AT = "2026-11-03 10:00:00"


def dch_row(gid="m1", at=AT, **values):
    row = DATASETS_3_3["device_comm_history"].encode_row(
        {
            "msn": "4098562412",
            "global_device_id": gid,
            "meter_datetime": at,
            "communication_status": "1",
            "message_log": f"{at} Establishing Connection with Meter\n{at} DC",
            "bytes_sent": "120",
            "bytes_received": "4096",
            "sim_id": "8992-1",
            "connection_duration": "35",
            "mdc_read_datetime": at,
            "db_datetime": at,
        }
    )
    row.update(values)
    return row


def test_device_communication_history_merges_on_its_key_and_quarantines_bad_rows():
    dataset = DATASETS_3_3["device_comm_history"]
    rows = [dch_row("m1"), dch_row("m2"), dch_row("m3", bytes_sent="many")]
    first = rows_load(
        dataset_code="device_comm_history", mdc_id=7, raw_rows=rows, source="t", dataset=dataset
    )
    assert (first.inserted, first.quarantined) == (2, 1)
    again = rows_load(dataset_code="device_comm_history", mdc_id=7, raw_rows=rows[:2], source="t")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    newer = dch_row("m1", communication_status="0", db_datetime="2026-11-03 10:05:00")
    assert (
        rows_load(
            dataset_code="device_comm_history", mdc_id=7, raw_rows=[newer], source="t"
        ).updated
        == 1
    )
    stored = DeviceCommunicationHistory.objects.get(global_device_id="m1")
    assert (stored.communication_status, stored.bytes_received) == (0, 4096)
    assert "Establishing Connection" in stored.message_log
    bad = QuarantinedRow.objects.get(dataset_code="device_comm_history")
    assert "bytes_sent" in bad.reason


def test_3_3_rows_fill_the_3_3_columns_and_2019_rows_leave_them_alone():
    inst_3_3 = DATASETS_3_3["instantaneous"]
    row = inst_3_3.encode_row(
        {
            "global_device_id": "m1",
            "meter_datetime": AT,
            "frequency": "49.980",
            "pf_phase_b": "0.930",
            "aggregate_active_pwr_abs": "1.250",
            "voltage_phase_a": "229.000",
            "db_datetime": AT,
        }
    )
    good, rejects = inst_3_3.copy_rows([row])
    # rows split by the 3.3 definition are told by their width
    rows_load_split(dataset_code="instantaneous", mdc_id=1, good=good, rejects=rejects, source="t")
    stored = InstantaneousReading.objects.get(global_device_id="m1")
    assert (stored.frequency, stored.pf_phase_b) == (Decimal("49.980"), Decimal("0.930"))
    assert stored.aggregate_active_pwr_abs == Decimal("1.250")
    # a later 2019 copy of the row changes the 2019 columns only
    old = DATASETS["instantaneous"].encode_row(
        {"global_device_id": "m1", "meter_datetime": AT, "voltage_phase_a": "231.000",
         "db_datetime": "2026-11-03 10:01:00"}
    )  # fmt: skip
    assert rows_load(dataset_code="instantaneous", mdc_id=1, raw_rows=[old], source="t").updated
    stored.refresh_from_db()
    assert (stored.voltage_phase_a, stored.frequency) == (Decimal("231.000"), Decimal("49.980"))


def test_3_3_load_profile_import_registers_are_the_2019_columns():
    lp = DATASETS_3_3["load_profile"]
    row = lp.encode_row(
        {
            "global_device_id": "m1",
            "meter_datetime": AT,
            "interval": "30",
            "active_energy_pos_tl": "100.500",
            "active_energy_abs_tl": "101.000",
            "frequency": "50.010",
            "db_datetime": AT,
        }
    )
    result = rows_load(
        dataset_code="load_profile", mdc_id=1, raw_rows=[row], source="t", dataset=lp
    )
    assert result.inserted == 1
    stored = LoadProfileReading.objects.get()
    assert stored.active_energy_tl == Decimal("100.500")  # what consumption and VEE read
    assert (stored.active_energy_abs_tl, stored.frequency) == (
        Decimal("101.000"),
        Decimal("50.010"),
    )
    assert stored.channel_id == 0


def test_device_communication_history_page_api_and_csv(client_as):
    rows_load(
        dataset_code="device_comm_history",
        mdc_id=3,
        raw_rows=[dch_row("m1", at="2030-01-01 00:00:00"), dch_row("m2", at="2030-01-01 00:00:00")],
        source="t",
    )
    viewer = client_as("Viewer")
    query = "global_device_id=m1&start=2029-12-31T00:00&end=2030-01-02T00:00"
    page = viewer.get(f"/warehouse/device-communication-history/?{query}")
    assert page.status_code == 200 and b"m1" in page.content and b">m2<" not in page.content
    api = viewer.get(f"/api/warehouse/device-communication-history/?{query}").json()
    [item] = api["results"]
    assert (item["global_device_id"], item["bytes_received"], item["mdc_id"]) == ("m1", 4096, 3)
    export = viewer.get(f"/warehouse/device-communication-history/?{query}&_export=csv")
    text = (
        b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    )
    assert export.status_code == 200 and "m1" in text and "m2" not in text
