from datetime import datetime
from decimal import Decimal

import pytest

from apps.udil.datasets import (
    BILLING,
    DATASETS,
    EVENTS,
    INSTANTANEOUS,
    LOAD_PROFILE,
    METER_VISUALS,
    MONTHLY_BILLING,
    TRANSACTION_STATUS,
    by_on_demand_type,
)
from apps.udil.errors import FieldError, MalformedBody
from apps.udil.timefmt import PKT

TIERS = ("t1", "t2", "t3", "t4", "tl")
BILLING_GROUPS = (
    "active_energy_pos",
    "active_energy_neg",
    "reactive_energy_pos",
    "reactive_energy_neg",
    "active_mdi_pos",
    "active_mdi_neg",
    "cumulative_mdi_pos",
    "cumulative_mdi_neg",
)


def test_registry():
    assert list(DATASETS) == [
        "instantaneous",
        "billing",
        "monthly_billing",
        "load_profile",
        "events",
        "meter_visuals",
    ]
    assert {ds.on_demand_type for ds in DATASETS.values()} == {
        "INST",
        "BILL",
        "MBIL",
        "LPRO",
        "EVNT",
        "VISL",
    }
    assert by_on_demand_type("LPRO") is LOAD_PROFILE
    assert by_on_demand_type(" mbil ") is MONTHLY_BILLING
    with pytest.raises(FieldError) as info:
        by_on_demand_type("XXXX")
    assert info.value.field == "type"
    assert [ds.read_path for ds in DATASETS.values()] == [
        "instantaneous_data",
        "billing_data",
        "monthly_billing_data",
        "load_profile_data",
        "events",
        "meter_visuals",
    ]
    assert [ds.table for ds in DATASETS.values()] == [
        "INSTANTANEOUS_DATA",
        "BILLING_DATA",
        "MONTHLY_BILLING_DATA",
        "LOAD_PROFILE_DATA",
        "EVENTS",
        "METER_VISUALS",
    ]


def test_billing_fields():
    registers = [f"{g}_{t}" for g in BILLING_GROUPS for t in TIERS]
    assert len(registers) == 40
    assert BILLING.field_names == (
        "msn",
        "global_device_id",
        "meter_datetime",
        *registers,
        "mdc_read_datetime",
        "db_datetime",
    )
    assert MONTHLY_BILLING.field_names == (
        "msn",
        "global_device_id",
        "meter_datetime",
        *registers,
        "mdi_reset_datetime",
        "reset_count",
        "mdc_read_datetime",
        "db_datetime",
    )
    assert all(BILLING.field(r).kind == "decimal" for r in registers)
    assert MONTHLY_BILLING.field("reset_count").kind == "int"


def test_load_profile_fields():
    names = LOAD_PROFILE.field_names
    assert names[:5] == ("msn", "global_device_id", "meter_datetime", "channel_id", "interval")
    for group in ("active_energy", "reactive_energy", "active_mdi", "cumulative_mdi"):
        for t in TIERS:
            assert f"{group}_{t}" in names
    for p in ("a", "b", "c"):
        for prefix in (
            "current",
            "voltage",
            "active_pwr_pos",
            "active_pwr_neg",
            "reactive_pwr_pos",
            "reactive_pwr_neg",
        ):
            assert f"{prefix}_phase_{p}" in names
    assert names[-3:] == ("average_pf", "mdc_read_datetime", "db_datetime")
    assert len(names) == 50
    assert LOAD_PROFILE.unique_key == ("global_device_id", "meter_datetime", "channel_id")


def test_keys_and_time_fields():
    assert INSTANTANEOUS.key == ("global_device_id", "meter_datetime")
    assert EVENTS.key == ("global_device_id", "event_datetime", "event_code")
    assert METER_VISUALS.key == ("global_device_id",)
    assert TRANSACTION_STATUS.key == ("transactionid", "global_device_id")
    assert [ds.time_field for ds in DATASETS.values()] == [
        "meter_datetime",
        "meter_datetime",
        "meter_datetime",
        "meter_datetime",
        "event_datetime",
        None,
    ]
    assert len(INSTANTANEOUS.fields) == 18
    assert len(EVENTS.fields) == 7
    assert len(METER_VISUALS.fields) == 33
    assert METER_VISUALS.field("meter_activation_status").kind == "int"
    assert INSTANTANEOUS.field("current_tariff_register").kind == "int"
    assert INSTANTANEOUS.field("msn").kind == "bigint"


INST_RAW = {
    "current_tariff_register": "2",
    "signal_strength": "-71.5",
    "msn": "4098562412",
    "global_device_id": " m98562412 ",
    "meter_datetime": "2018-10-15 13:00:00",
    "current_phase_a": "1.234",
    "voltage_phase_a": "230",
    "average_pf": "0.98",
    "mdc_read_datetime": "2018-10-15 13:00:05",
    "db_datetime": "0000-00-00 00:00:00",
    "vendor_extra": "x",
}


def test_decode_row():
    row = INSTANTANEOUS.decode_row(INST_RAW)
    assert row["current_tariff_register"] == 2
    assert row["signal_strength"] == Decimal("-71.500")
    assert row["msn"] == 4098562412
    assert row["global_device_id"] == "m98562412"
    assert row["meter_datetime"] == datetime(2018, 10, 15, 13, 0, tzinfo=PKT)
    assert row["voltage_phase_a"] == Decimal("230.000")
    assert row["current_phase_b"] is None
    assert row["db_datetime"] is None
    assert row.extras == {"vendor_extra": "x"}
    assert set(row) == set(INSTANTANEOUS.field_names)


def test_text_row():
    text = INSTANTANEOUS.text_row(INST_RAW)
    assert len(text) == 18
    as_dict = dict(zip(INSTANTANEOUS.field_names, text, strict=True))
    assert as_dict["signal_strength"] == "-71.5"
    assert as_dict["msn"] == "4098562412"
    assert as_dict["global_device_id"] == "m98562412"
    assert as_dict["meter_datetime"] == "2018-10-15 13:00:00+05:00"
    assert as_dict["db_datetime"] is None
    assert as_dict["current_phase_b"] is None
    assert as_dict["current_tariff_register"] == "2"


def test_text_row_slow_path_normalises():
    raw = dict(
        INST_RAW,
        current_tariff_register=3,
        signal_strength=" 1.23456 ",
        meter_datetime="2018-10-15T13:00:00",
        msn=4098562412,
        average_pf=0.5,
    )
    as_dict = dict(zip(INSTANTANEOUS.field_names, INSTANTANEOUS.text_row(raw), strict=True))
    assert as_dict["current_tariff_register"] == "3"
    assert as_dict["signal_strength"] == "1.235"
    assert as_dict["meter_datetime"] == "2018-10-15 13:00:00+05:00"
    assert as_dict["msn"] == "4098562412"
    assert as_dict["average_pf"] == "0.500"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("signal_strength", "abc", "must be a decimal number"),
        ("signal_strength", "NaN", "must be a decimal number"),
        ("current_tariff_register", "1.5", "must be an integer"),
        ("msn", "40985x", "must be a big integer"),
        ("meter_datetime", "2018-02-30 00:00:00", "is not a valid datetime"),
        ("mdc_read_datetime", "garbage", "must be a datetime"),
        ("global_device_id", "x" * 51, "must be at most 50 characters"),
        ("global_device_id", "", "is required"),
        ("meter_datetime", "0000-00-00 00:00:00", "is required"),
        ("average_pf", ["1"], "must be a decimal number"),
        ("current_phase_a", {"a": "1"}, "must be a decimal number"),
    ],
)
def test_bad_values_name_the_field(field, value, reason):
    raw = dict(INST_RAW, **{field: value})
    for decode in (INSTANTANEOUS.decode_row, INSTANTANEOUS.text_row):
        with pytest.raises(FieldError) as info:
            decode(raw)
        assert info.value.field == field
        assert reason in info.value.reason


def test_missing_key_field():
    raw = dict(INST_RAW)
    del raw["global_device_id"]
    with pytest.raises(FieldError, match="global_device_id: is required"):
        INSTANTANEOUS.text_row(raw)
    with pytest.raises(FieldError, match="global_device_id: is required"):
        INSTANTANEOUS.decode_row(raw)


def test_not_a_dict():
    for bad in (["a"], "row", None, 5):
        with pytest.raises(MalformedBody):
            INSTANTANEOUS.decode_row(bad)
        with pytest.raises(MalformedBody):
            INSTANTANEOUS.text_row(bad)


def test_split_rows_keeps_rejects():
    good_row = dict(INST_RAW)
    bad_row = dict(INST_RAW, signal_strength="1.2.3")
    good, rejects = INSTANTANEOUS.split_rows([good_row, bad_row, ["junk"], good_row])
    assert len(good) == 2
    assert rejects[0] == (bad_row, "signal_strength: must be a decimal number, got '1.2.3'")
    assert rejects[1][0] == ["junk"]
    assert "must be an object" in rejects[1][1]


def test_events_aliases_from_example_4_14():
    raw = {
        "global_device_id": "m98562412 ",
        "msn": "4098562412",
        "meter_datetime": "2018-10-11 15:14:00",
        "event_code": "1234",
        "event_counter": "5",
        "event_description": "event1",
        "read_datetime": "2018-10-11 15:13:00",
    }
    row = EVENTS.decode_row(raw)
    assert row["event_datetime"] == datetime(2018, 10, 11, 15, 14, tzinfo=PKT)
    assert row["mdc_read_datetime"] == datetime(2018, 10, 11, 15, 13, tzinfo=PKT)
    assert row["event_code"] == 1234
    assert row.extras == {"event_counter": "5"}
    assert EVENTS.text_row(raw) == (
        "4098562412",
        "m98562412",
        "2018-10-11 15:14:00+05:00",
        "1234",
        "event1",
        "2018-10-11 15:13:00+05:00",
        None,
    )


def test_encode_row():
    values = {
        "msn": 4098562412,
        "global_device_id": "m1",
        "event_datetime": datetime(2018, 10, 11, 15, 14, tzinfo=PKT),
        "event_code": 101,
        "event_description": "MDI reset",
        "mdc_read_datetime": None,
    }
    assert EVENTS.encode_row(values) == {
        "msn": "4098562412",
        "global_device_id": "m1",
        "event_datetime": "2018-10-11 15:14:00",
        "event_code": "101",
        "event_description": "MDI reset",
        "mdc_read_datetime": "",
        "db_datetime": "",
    }


def test_visuals_long_array_text():
    slabs = '[{"action_time":"03:00:00","relay_operate":"0"}]' * 3
    row = METER_VISUALS.decode_row({"global_device_id": "m1", "meter_ls_schedule_slabs": slabs})
    assert row["meter_ls_schedule_slabs"] == slabs


def test_transaction_status_row_keeps_response_data():
    raw = {
        "transactionid": "T1",
        "global_device_id": "m1",
        "status_level": "4",
        "request_cancel_datetime": "0000-00-00 00:00:00",
        "response_data": [{"a": "1"}],
    }
    row = TRANSACTION_STATUS.decode_row(raw)
    assert row["status_level"] == 4
    assert row["request_cancel_datetime"] is None
    assert row.extras == {"response_data": [{"a": "1"}]}


def test_text_path_bulk():
    """20k load-profile rows through the bulk path, all accepted and in field order (its speed
    is measured in bench/bench_loader.py, not here: a timed test fails on a busy machine)."""
    template = {}
    for i, f in enumerate(LOAD_PROFILE.fields):
        template[f.name] = {
            "decimal": f"{i * 7.123:.3f}",
            "int": "15",
            "bigint": "4098562412",
            "datetime": "2024-01-01 00:15:00",
            "str": "m98562412",
        }[f.kind]
    rows = []
    for i in range(20000):
        row = dict(template)
        row["active_energy_tl"] = f"{i}.{i % 1000:03d}"
        row["meter_datetime"] = f"2024-01-{1 + i % 28:02d} {i % 24:02d}:{(i // 24) % 4 * 15:02d}:00"
        rows.append(row)
    good, rejects = LOAD_PROFILE.split_rows(rows)
    assert (len(good), rejects) == (20000, [])
    assert good[-1][LOAD_PROFILE.field_names.index("active_energy_tl")] == "19999.999"
