from datetime import datetime, time
from decimal import Decimal

import pytest

from apps.udil.catalog import READ_SERVICES, SERVICES, WRITE_COMMANDS, get_service
from apps.udil.errors import FieldError, ValidationErrors
from apps.udil.timefmt import PKT

GD = '["m98562412","m97524158"]'
RQ = "2018-10-15 13:00:00"


def base(**extra):
    return {"global_device_id": GD, "request_datetime": RQ, **extra}


def errors_of(service, params):
    with pytest.raises(ValidationErrors) as info:
        SERVICES[service].validate(params)
    return info.value.errors


def ok(service, params):
    return SERVICES[service].validate(params)


def test_catalogue():
    assert WRITE_COMMANDS == (
        "aux_relay_operations",
        "time_synchronization",
        "sanctioned_load_control",
        "load_shedding_scheduling",
        "time_of_use_change",
        "device_creation",
        "update_ip_port",
        "meter_data_sampling",
        "activate_meter_optical_port",
        "wake_up_sim_number_update",
        "meter_status_update",
    )
    for name in WRITE_COMMANDS:
        svc = SERVICES[name]
        assert (svc.kind, svc.path) == ("write", name)
        assert svc.needs_transactionid
        assert svc.param("request_datetime").required
    assert SERVICES["authorization_service"].kind == "auth"
    assert SERVICES["on_demand_request"].kind == "on_demand"
    assert SERVICES["transaction_status"].kind == "status"
    assert SERVICES["transaction_cancel"].kind == "cancel"
    assert sorted(s.path for s in READ_SERVICES.values()) == [
        "billing_data",
        "events",
        "instantaneous_data",
        "load_profile_data",
        "meter_visuals",
        "monthly_billing_data",
    ]
    assert get_service("AUX_RELAY_OPERATIONS") is SERVICES["aux_relay_operations"]
    for svc in SERVICES.values():
        for p in svc.params:
            assert p.description, (svc.name, p.name)
    relay = SERVICES["aux_relay_operations"].param("relay_operate")
    assert relay.choices == ((0, "Disconnect"), (1, "Connect"))


def test_error_message_format():
    errs = errors_of("aux_relay_operations", base(relay_operate="7"))
    assert errs == {"relay_operate": "must be 0 or 1, got '7'"}
    with pytest.raises(FieldError) as info:
        ok("aux_relay_operations", base(relay_operate="7"))
    assert str(info.value) == "relay_operate: must be 0 or 1, got '7'"
    assert info.value.field == "relay_operate"


def test_collects_all_errors():
    errs = errors_of("aux_relay_operations", {"global_device_id": "[]", "relay_operate": "x"})
    assert set(errs) == {"global_device_id", "request_datetime", "relay_operate"}
    assert errs["request_datetime"] == "is required"


def test_relay_and_quotes():
    typed = ok("aux_relay_operations", base(relay_operate='"1"', request_datetime='""' + RQ + '""'))
    assert typed == {
        "global_device_id": ["m98562412", "m97524158"],
        "request_datetime": datetime(2018, 10, 15, 13, tzinfo=PKT),
        "relay_operate": 1,
    }


class TestDeviceIds:
    def test_strip_dedupe_and_bare(self):
        typed = ok("time_synchronization", base(global_device_id='[" m1 ","m2","m1"]'))
        assert typed["global_device_id"] == ["m1", "m2"]
        assert ok("time_synchronization", base(global_device_id="m7"))["global_device_id"] == ["m7"]
        assert ok("time_synchronization", base(global_device_id=["a", "b"]))[
            "global_device_id"
        ] == ["a", "b"]

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("[]", "must contain at least one device id"),
            ('["m1", 5]', "item 2 must be a string"),
            ('["' + "x" * 51 + '"]', "item 1 must be at most 50 characters"),
            ('["m1", " "]', "item 2 is empty"),
            ('{"a": 1}', "must be a JSON array"),
            ("[not json", "must be a JSON array"),
        ],
    )
    def test_bad(self, value, reason):
        errs = errors_of("time_synchronization", base(global_device_id=value))
        assert reason in errs["global_device_id"]

    def test_missing(self):
        assert errors_of("time_synchronization", {"request_datetime": RQ}) == {
            "global_device_id": "is required"
        }


def test_sanctioned_load_control():
    params = base(
        load_limit="20",
        maximum_retries="10",
        retry_interval="60",
        threshold_duration="30",
        retry_clear_interval="3600",
    )
    typed = ok("sanctioned_load_control", params)
    assert typed["load_limit"] == Decimal("20.000")
    assert (typed["maximum_retries"], typed["retry_clear_interval"]) == (10, 3600)
    errs = errors_of(
        "sanctioned_load_control",
        dict(params, load_limit="0", retry_interval="-1", threshold_duration="x"),
    )
    assert errs == {
        "load_limit": "must be greater than 0, got '0'",
        "retry_interval": "must be 0 or more, got '-1'",
        "threshold_duration": "must be an integer, got 'x'",
    }
    assert "load_limit" in errors_of("sanctioned_load_control", dict(params, load_limit="NaN"))


class TestLoadShedding:
    params = base(
        start_datetime="2018-11-01 00:00:00",
        end_datetime="2018-12-01 00:00:00",
        load_shedding_slabs='[{"action_time":"03:00:00","relay_operate":"0"},'
        '{"action_time":"06:00:00","relay_operate":1}]',
    )

    def test_good(self):
        typed = ok("load_shedding_scheduling", self.params)
        assert typed["load_shedding_slabs"] == [
            {"action_time": time(3, 0), "relay_operate": 0},
            {"action_time": time(6, 0), "relay_operate": 1},
        ]

    @pytest.mark.parametrize(
        ("slabs", "reason"),
        [
            ("[]", "must contain at least one slab"),
            ('[{"action_time":"03:00:00","relay_operate":"2"}]', "relay_operate: must be 0 or 1"),
            ('[{"action_time":"25:00:00","relay_operate":"1"}]', "action_time"),
            ('[{"relay_operate":"1"}]', "needs action_time and relay_operate"),
            ('["03:00:00"]', "must be an object"),
            ('{"action_time":"03:00:00"}', "must be a JSON array"),
        ],
    )
    def test_bad_slabs(self, slabs, reason):
        errs = errors_of("load_shedding_scheduling", dict(self.params, load_shedding_slabs=slabs))
        assert reason in errs["load_shedding_slabs"]

    def test_order(self):
        errs = errors_of(
            "load_shedding_scheduling", dict(self.params, end_datetime="2018-10-01 00:00:00")
        )
        assert errs == {"end_datetime": "must not be before start_datetime (2018-11-01 00:00:00)"}


class TestTimeOfUse:
    params = base(
        activation_datetime="2018-11-01 00:00:00",
        season="1",
        days="1",
        time_slab='["08:00","17:00"]',
        tariff_identification="1",
    )

    def test_good(self):
        typed = ok("time_of_use_change", self.params)
        assert typed["time_slab"] == [time(8, 0), time(17, 0)]
        assert (typed["season"], typed["days"], typed["tariff_identification"]) == ("1", "1", "1")

    @pytest.mark.parametrize("slab", ['["08:00"]', "[]", '["08:00","xx"]', '["08:00","24:00"]'])
    def test_bad(self, slab):
        assert "time_slab" in errors_of("time_of_use_change", dict(self.params, time_slab=slab))

    def test_activation_required(self):
        params = dict(self.params)
        del params["activation_datetime"]
        assert errors_of("time_of_use_change", params) == {"activation_datetime": "is required"}


class TestDeviceCreation:
    params = {
        "device_identity": '[{"dsn":"4098562412","global_device_id":"m98562412"},'
        '{"dsn":4097524158,"global_device_id":"m97524158"}]',
        "request_datetime": RQ,
        "communication_interval": "15",
        "device_type": "1",
        "mdi_reset_date": "1",
        "mdi_reset_time": "00:00:00",
        "sim_number": "03218090100",
        "sim_id": "11199oijjh78",
        "phase": "3",
        "meter_type": "2",
        "communication_mode": "1",
    }

    def test_good(self):
        typed = ok("device_creation", self.params)
        assert typed["device_identity"] == [
            {"dsn": 4098562412, "global_device_id": "m98562412"},
            {"dsn": 4097524158, "global_device_id": "m97524158"},
        ]
        assert typed["mdi_reset_time"] == time(0, 0)
        assert (typed["phase"], typed["meter_type"], typed["communication_type"]) == (3, 2, None)

    @pytest.mark.parametrize(
        ("field", "value", "reason"),
        [
            ("phase", "2", "must be one of 1, 3, got '2'"),
            ("meter_type", "5", "must be one of 1, 2, 3, 4, got '5'"),
            ("meter_type", "0", "must be one of 1, 2, 3, 4, got '0'"),
            ("communication_mode", "6", "must be one of 1, 2, 3, 4, 5, got '6'"),
            ("communication_type", "3", "must be one of 0, 1, 2, got '3'"),
            ("device_type", "4", "must be one of 1, 2, 3, got '4'"),
            ("mdi_reset_date", "29", "must be between 1 and 28, got '29'"),
            ("mdi_reset_date", "0", "must be between 1 and 28, got '0'"),
            ("mdi_reset_time", "00:00", "must be a time 'HH:mm:ss'"),
            ("mdi_reset_time", "24:00:00", "is not a valid time"),
            ("sim_number", "12ab", "must be 7 to 15 digits"),
            ("device_identity", '[{"dsn":"abc","global_device_id":"m1"}]', "item 1 dsn"),
            ("device_identity", '[{"dsn":"1"}]', "item 1 global_device_id is missing"),
            ("device_identity", '["m1"]', "item 1 must be an object"),
            ("device_identity", "[]", "must contain at least one device"),
        ],
    )
    def test_bad(self, field, value, reason):
        errs = errors_of("device_creation", dict(self.params, **{field: value}))
        assert list(errs) == [field]
        assert reason in errs[field]

    def test_interval_required_when_periodic(self):
        params = dict(self.params, communication_type="1")
        del params["communication_interval"]
        assert errors_of("device_creation", params) == {
            "communication_interval": "is required when communication_type is 1 (periodic)"
        }
        assert (
            ok("device_creation", dict(params, communication_type="0"))["communication_type"] == 0
        )
        assert (
            ok("device_creation", dict(params, communication_type="2"))["communication_interval"]
            is None
        )


class TestIpPort:
    params = base(
        primary_ip_address="192.168.100.120",
        secondary_ip_address="192.168.100.121",
        primary_port="8080",
        secondary_port="8080",
    )

    def test_good(self):
        typed = ok("update_ip_port", self.params)
        assert (typed["primary_ip_address"], typed["primary_port"]) == ("192.168.100.120", 8080)
        typed = ok("update_ip_port", dict(self.params, primary_ip_address="2001:DB8::1"))
        assert typed["primary_ip_address"] == "2001:db8::1"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("primary_ip_address", "300.1.1.1"),
            ("primary_ip_address", "host.example"),
            ("secondary_ip_address", "1.2.3"),
            ("primary_port", "0"),
            ("primary_port", "65536"),
            ("secondary_port", "http"),
        ],
    )
    def test_bad(self, field, value):
        assert list(errors_of("update_ip_port", dict(self.params, **{field: value}))) == [field]


class TestSampling:
    params = base(
        activation_datetime="2018-11-01 00:00:00",
        data_type="BILL",
        sampling_interval="30",
        sampling_initial_time="00",
    )

    def test_good(self):
        typed = ok("meter_data_sampling", dict(self.params, data_type=" lpro "))
        assert (typed["data_type"], typed["sampling_interval"], typed["sampling_initial_time"]) == (
            "LPRO",
            30,
            0,
        )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("data_type", "MBIL"),
            ("data_type", "EVNT"),
            ("sampling_interval", "0"),
            ("sampling_interval", "60"),
            ("sampling_initial_time", "60"),
            ("sampling_initial_time", "-1"),
        ],
    )
    def test_bad(self, field, value):
        errs = errors_of("meter_data_sampling", dict(self.params, **{field: value}))
        assert list(errs) == [field]

    def test_edges(self):
        for interval, initial in (("1", "0"), ("59", "59")):
            ok(
                "meter_data_sampling",
                dict(self.params, sampling_interval=interval, sampling_initial_time=initial),
            )


def test_optical_port_order():
    params = base(
        optical_port_on_datetime="2018-10-15 13:00:00",
        optical_port_off_datetime="2018-10-15 13:00:00",
    )
    assert ok("activate_meter_optical_port", params)["optical_port_off_datetime"] == datetime(
        2018, 10, 15, 13, tzinfo=PKT
    )
    errs = errors_of(
        "activate_meter_optical_port", dict(params, optical_port_off_datetime="2018-10-15 12:59:59")
    )
    assert list(errs) == ["optical_port_off_datetime"]


def test_wakeup_numbers():
    typed = ok(
        "wake_up_sim_number_update",
        base(wakeup_number_1="01234567890", wakeup_number_2="+923001234567"),
    )
    assert (typed["wakeup_number_2"], typed["wakeup_number_3"]) == ("+923001234567", None)
    errs = errors_of(
        "wake_up_sim_number_update", base(wakeup_number_1="123", wakeup_number_3="1234567890123456")
    )
    assert set(errs) == {"wakeup_number_1", "wakeup_number_3"}
    assert errors_of("wake_up_sim_number_update", base()) == {"wakeup_number_1": "is required"}


def test_meter_status():
    assert (
        ok("meter_status_update", base(meter_activation_status="0"))["meter_activation_status"] == 0
    )
    assert errors_of("meter_status_update", base(meter_activation_status="2")) == {
        "meter_activation_status": "must be 0 or 1, got '2'"
    }


class TestOnDemand:
    def test_types(self):
        for kind in ("INST", "VISL"):
            typed = ok("on_demand_request", {"global_device_id": GD, "type": kind})
            assert typed["type"] == kind
        for kind in ("BILL", "MBIL", "LPRO", "EVNT"):
            assert errors_of("on_demand_request", {"global_device_id": GD, "type": kind}) == {
                "start_datetime": f"is required for type {kind}",
                "end_datetime": f"is required for type {kind}",
            }
            ok(
                "on_demand_request",
                {"global_device_id": GD, "type": kind, "start_datetime": RQ, "end_datetime": RQ},
            )

    def test_bad_type_and_order(self):
        errs = errors_of("on_demand_request", {"global_device_id": GD, "type": "XXXX"})
        assert errs == {"type": "must be one of INST, BILL, MBIL, LPRO, EVNT, VISL, got 'XXXX'"}
        errs = errors_of(
            "on_demand_request",
            {
                "global_device_id": GD,
                "type": "LPRO",
                "start_datetime": "2018-10-22 13:00:00",
                "end_datetime": "2018-10-15 13:00:00",
            },
        )
        assert list(errs) == ["end_datetime"]


def test_transaction_ids():
    svc = SERVICES["transaction_status"]
    assert svc.validate({"transactionid": '["T-1","T_2"," T3 "]'})["transactionid"] == [
        "T-1",
        "T_2",
        "T3",
    ]
    assert svc.validate({"transactionid": " ABC "})["transactionid"] == ["ABC"]
    for bad in ('["a b"]', '["x"]'.replace("x", "x" * 65), "[]", '["ok", "bad!"]'):
        with pytest.raises(ValidationErrors) as info:
            svc.validate({"transactionid": bad})
        assert list(info.value.errors) == ["transactionid"]


def test_reads_and_auth():
    svc = READ_SERVICES["load_profile"]
    typed = svc.validate(
        {"global_device_id": GD, "start_datetime": RQ, "end_datetime": "2018-10-16 13:00:00"}
    )
    assert typed["end_datetime"] == datetime(2018, 10, 16, 13, tzinfo=PKT)
    assert svc.dataset.code == "load_profile"
    with pytest.raises(ValidationErrors):
        svc.validate(
            {"global_device_id": GD, "start_datetime": "2018-10-17 00:00:00", "end_datetime": RQ}
        )
    auth = SERVICES["authorization_service"]
    assert auth.validate({"username": "u", "password": "p", "code": "223"}) == {
        "username": "u",
        "password": "p",
        "code": "223",
    }
    assert set(errors_of("authorization_service", {"username": "u"})) == {"password", "code"}


def test_not_a_mapping():
    with pytest.raises(ValidationErrors):
        SERVICES["time_synchronization"].validate(["x"])
