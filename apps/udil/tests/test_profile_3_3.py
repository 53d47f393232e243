"""The UDIL 3.3 profile: renamed and new services, their parameters and checks, commands as
data over both profiles, and 3.3's indv_status."""

from __future__ import annotations

import json

import pytest

from apps.udil.commands import COMMANDS, command_params, commands_of, params_union
from apps.udil.errors import UdilError, ValidationErrors
from apps.udil.profiles import PROFILE_3_3, PROFILE_2019, PROFILES, get_profile

WHEN = "2025-10-15 13:00:00"
TOU = {
    "global_device_id": '["m98562412","m97524158"]',
    "request_datetime": WHEN,
    "activation_datetime": "2025-11-01 00:00:00",
    "day_profile": json.dumps(
        [
            {"name": "d1", "tariff_slabs": ["08:00", "17:00", "20:00"]},
            {"name": "d2", "tariff_slabs": ["08:00", "17:00"]},
            {"name": "d4", "tariff_slabs": ["08:00", "12:00", "17:00"]},
        ]
    ),
    "week_profile": json.dumps(
        [{"name": "w1", "weekly_day_profile": ["d1", "d1", "d1", "d1", "d1", "d2", "d2"]}]
    ),
    "season_profile": json.dumps(
        [
            {"name": "s1", "week_profile_name": "w1", "start_date": "01-01"},
            {"name": "s2", "week_profile_name": "w1", "start_date": "01-04"},
        ]
    ),
    "holiday_profile": json.dumps([{"name": "h1", "date": "23-03", "day_profile_name": "d4"}]),
}


def test_registered_and_selectable():
    assert get_profile("3.3") is PROFILE_3_3
    assert set(PROFILES) >= {"2019", "3.3"}


def test_renamed_services_keep_the_common_names():
    for common, own in (
        ("time_of_use_change", "update_time_of_use"),
        ("wake_up_sim_number_update", "update_wake_up_sim_number"),
        ("meter_status_update", "update_meter_status"),
        ("on_demand_request", "on_demand_data_read"),
    ):
        assert PROFILE_3_3.service(common).name == own
        assert PROFILE_3_3.path_for(common) == own
        assert PROFILE_3_3.common_name(own) == common
        assert common not in PROFILE_3_3.services
        assert PROFILE_2019.service(common).name == common
    with pytest.raises(UdilError):
        PROFILE_2019.service("update_major_alarms")


def test_commands_of_each_profile():
    new = {
        "update_device_metadata",
        "update_mdi_reset_date",
        "apms_tripping_events",
        "parameterization_cancellation",
        "update_major_alarms",
        "on_demand_parameter_read",
    }
    assert {c.name for c in commands_of(PROFILE_3_3)} - {
        c.name for c in commands_of(PROFILE_2019)
    } == new
    assert all(name in COMMANDS for name in new)
    union = [p.name for p in params_union([PROFILE_2019, PROFILE_3_3], "time_of_use_change")]
    assert {"time_slab", "day_profile", "holiday_profile"} <= set(union)
    assert [p.name for p in command_params(PROFILE_3_3, "update_mdi_reset_date")] == [
        "mdi_reset_date",
        "mdi_reset_time",
    ]


def test_time_of_use_calendar_of_the_example_validates():
    typed = PROFILE_3_3.service("update_time_of_use").validate(TOU)
    assert typed["day_profile"][0] == {"name": "d1", "tariff_slabs": ["08:00", "17:00", "20:00"]}
    assert typed["season_profile"][1]["start_date"] == "01-04"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("day_profile", [{"name": "d1", "tariff_slabs": ["17:00", "08:00"]}], "ascending"),
        (
            "day_profile",
            [{"name": "d1", "tariff_slabs": ["25:00"]}],
            "tariff_slabs 1 must be HH:mm",
        ),
        ("day_profile", [{"name": "d1", "tariff_slabs": []}], "non-empty"),
        ("week_profile", [{"name": "w1", "weekly_day_profile": ["d1"] * 6}], "7 day profiles"),
        ("week_profile", [{"name": "w1", "weekly_day_profile": ["d9"] * 7}], "unknown day profile"),
        (
            "season_profile",
            [{"name": "s1", "week_profile_name": "w1", "start_date": "30-02"}],
            "dd-MM",
        ),
        (
            "season_profile",
            [{"name": "s1", "week_profile_name": "w9", "start_date": "01-01"}],
            "unknown week profile",
        ),
        (
            "holiday_profile",
            [{"name": "h1", "date": "14-08", "day_profile_name": "d9"}],
            "unknown day profile",
        ),
        (
            "holiday_profile",
            [
                {"name": "h1", "date": "14-08", "day_profile_name": "d1"},
                {"name": "h1", "date": "23-03", "day_profile_name": "d1"},
            ],
            "repeats the name",
        ),
    ],
)
def test_time_of_use_mistakes_name_the_field_and_row(field, value, reason):
    with pytest.raises(ValidationErrors) as caught:
        PROFILE_3_3.service("update_time_of_use").validate({**TOU, field: json.dumps(value)})
    assert reason in caught.value.errors[field]


def test_new_write_services_check_their_parameters():
    base = {"global_device_id": '["m1"]', "request_datetime": WHEN}
    alarms = PROFILE_3_3.service("update_major_alarms")
    assert alarms.validate({**base, "major_alarms_list": "[111, 121]"})["major_alarms_list"] == [
        111,
        121,
    ]
    with pytest.raises(ValidationErrors) as caught:
        alarms.validate({**base, "major_alarms_list": json.dumps(list(range(101, 112)))})
    assert "at most 10" in caught.value.errors["major_alarms_list"]
    tripping = PROFILE_3_3.service("apms_tripping_events")
    with pytest.raises(ValidationErrors) as caught:
        tripping.validate({**base, "type": "XXXX", "critical_event_threshold_limit": "-1"})
    assert set(caught.value.errors) >= {"type", "critical_event_threshold_limit", "enable_tripping"}
    metadata = PROFILE_3_3.service("update_device_metadata")
    with pytest.raises(ValidationErrors) as caught:
        metadata.validate(
            {
                **base,
                "communication_mode": "1",
                "bidirectional_device": "0",
                "communication_type": "1",
                "phase": "2",
                "meter_type": "5",
            }
        )
    assert caught.value.errors == {
        "communication_interval": "is required when communication_type is 1 (Mode-I)"
    }
    cancel = PROFILE_3_3.service("parameterization_cancellation")
    assert cancel.validate({"global_device_id": "m1", "type": "tiou"})["type"] == "TIOU"


def test_on_demand_reads_name_one_device():
    read = PROFILE_3_3.service("on_demand_request")
    assert read.max_devices == 1
    assert read.validate({"global_device_id": "m1", "type": "INST"})["global_device_id"] == ["m1"]
    with pytest.raises(ValidationErrors) as caught:
        read.validate({"global_device_id": '["m1","m2"]', "type": "LPRO"})
    assert "exactly one device" in caught.value.errors["global_device_id"]
    assert caught.value.errors["start_datetime"] == "is required for type LPRO"
    with pytest.raises(ValidationErrors):
        read.validate({"global_device_id": "m1", "type": "VISL"})  # not a 3.3 data read type
    params = PROFILE_3_3.service("on_demand_parameter_read")
    assert params.validate({"global_device_id": '["m1"]', "type": "mtst"})["type"] == "MTST"


def test_indv_status_in_the_2019_meaning():
    # 3.3: 0 in progress, 1 done, 2 failed -> 2019: 1 fine so far, 0 failed
    assert [PROFILE_3_3.indv_status(v) for v in (0, 1, 2, None)] == [1, 1, 0, None]
    assert [PROFILE_2019.indv_status(v) for v in (0, 1)] == [0, 1]
