import pytest

from apps.udil.datasets import DATASETS


@pytest.fixture
def load_profile_row():
    """``load_profile_row(gid, "2026-11-03 10:00:00", **overrides)`` -> a wire row (strings)."""

    def make(gid: str = "m98562412", at: str = "2026-11-03 10:00:00", **values) -> dict:
        row = DATASETS["load_profile"].encode_row({})
        row.update(
            msn="4098562412",
            global_device_id=gid,
            meter_datetime=at,
            interval="30",
            active_energy_tl="1234.567",
            voltage_phase_a="230.100",
            mdc_read_datetime=at,
            db_datetime=at,
        )
        row.update(values)
        return row

    return make


@pytest.fixture
def event_row():
    def make(gid: str = "m98562412", at: str = "2026-11-03 10:00:00", code: str = "111", **values):
        row = {
            "msn": "4098562412",
            "global_device_id": gid,
            "event_datetime": at,
            "event_code": code,
            "event_description": "Power fail start",
            "mdc_read_datetime": at,
            "db_datetime": at,
        }
        row.update(values)
        return row

    return make
