import json
import time
from datetime import datetime
from datetime import time as dtime
from decimal import Decimal

import pytest

from apps.udil.catalog import SERVICES
from apps.udil.codec import (
    DeviceStatus,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    error_response,
    parse_status,
    response_devices,
    response_rows,
)
from apps.udil.datasets import EVENTS, TRANSACTION_STATUS
from apps.udil.errors import FieldError, MalformedBody, UdilError, ValidationErrors
from apps.udil.timefmt import PKT

from .conftest import load_example


# ------------------------------------------------------------ section 4 examples
def test_all_fourteen_examples_present(example):
    name, request, _, _ = example
    assert request["service"] in SERVICES
    assert name.startswith(request["example"].replace(".", "_"))


def test_example_request_round_trip(example):
    _, request, _, _ = example
    service = request["service"]
    typed, tid, key = decode_request(service, request["headers"], request["form"])
    if service == "authorization_service":
        assert (tid, key) == (None, None)
        headers, form = encode_request(service, typed, credentials_in="headers")
        assert (headers, form) == (request["headers"], {})
        headers, form = encode_request(service, typed, credentials_in="form")
        assert (headers, form) == ({}, request["headers"])
        return
    assert key == request["headers"]["privatekey"]
    if service == "transaction_status":
        assert typed == {"transactionid": [request["headers"]["transactionid"]]}
        headers, form = encode_request(service, typed, privatekey=key)
        assert (headers, form) == (request["headers"], {})
        return
    assert tid == request["headers"]["transactionid"]
    headers, form = encode_request(service, typed, transactionid=tid, privatekey=key)
    assert headers == request["headers"]
    # every parameter the service knows comes back (4.13's stray data_type is dropped)
    known = {p.name for p in SERVICES[service].params}
    assert set(form) == set(request["form"]) & known
    again, tid2, key2 = decode_request(service, headers, form)
    assert (again, tid2, key2) == (typed, tid, key)


def test_example_request_values():
    request, _, _ = load_example("4_05_load_shedding_scheduling")
    typed, tid, _ = decode_request(request["service"], request["headers"], request["form"])
    assert tid == "R5cvfg675d5hg85fhjffved47f65d3s3g"
    assert typed["start_datetime"] == datetime(2018, 11, 1, tzinfo=PKT)
    assert [s["action_time"] for s in typed["load_shedding_slabs"]] == [
        dtime(3),
        dtime(6),
        dtime(9),
        dtime(12),
        dtime(16),
    ]
    assert [s["relay_operate"] for s in typed["load_shedding_slabs"]] == [0, 1, 0, 1, 0]
    _, form = encode_request(request["service"], typed, transactionid=tid)
    assert form["load_shedding_slabs"] == (
        '[{"action_time":"03:00:00","relay_operate":"0"},'
        '{"action_time":"06:00:00","relay_operate":"1"},'
        '{"action_time":"09:00:00","relay_operate":"0"},'
        '{"action_time":"12:00:00","relay_operate":"1"},'
        '{"action_time":"16:00:00","relay_operate":"0"}]'
    )
    assert form["global_device_id"] == '["m98562412","m97524158"]'
    assert form["request_datetime"] == "2018-10-15 13:00:00"

    request, _, _ = load_example("4_07_device_creation")
    typed, _, _ = decode_request(request["service"], request["headers"], request["form"])
    _, form = encode_request(request["service"], typed, transactionid="T1")
    assert form["device_identity"] == (
        '[{"dsn":"4098562412","global_device_id":"m98562412"},'
        '{"dsn":"4097524158","global_device_id":"m97524158"}]'
    )
    assert (form["phase"], form["mdi_reset_time"], form["sim_number"]) == (
        "3",
        "00:00:00",
        "03218090100",
    )

    request, _, _ = load_example("4_06_time_of_use_change")
    typed, _, _ = decode_request(request["service"], request["headers"], request["form"])
    _, form = encode_request(request["service"], typed, transactionid="T1")
    assert form["time_slab"] == '["08:00","17:00"]'

    request, _, _ = load_example("4_04_sanctioned_load_control")
    typed, _, _ = decode_request(request["service"], request["headers"], request["form"])
    _, form = encode_request(request["service"], typed, transactionid="T1")
    assert form["load_limit"] == "20"


def test_example_responses_json_equals_xml(example):
    _, _, json_body, xml_body = example
    from_json = decode_response(json_body, "application/json")
    from_xml = decode_response(xml_body, "application/xml")
    assert from_json == from_xml
    assert parse_status(from_json) == 1
    for fmt in ("json", "xml"):
        body, ctype = encode_response(from_json, fmt)
        assert decode_response(body, ctype) == from_json
        assert decode_response(body, None) == from_json  # sniffed


def test_example_response_devices():
    _, json_body, xml_body = load_example("4_02_aux_relay_operations")
    for body in (json_body, xml_body):
        assert response_devices(decode_response(body)) == [
            DeviceStatus("m96541254", "4096541254", 1),
            DeviceStatus("m97524158", "4097524158", 0),
            ("m98562412", "4098562412", 1),
        ]
    payload = decode_response(load_example("4_07_device_creation")[1])
    assert payload["status"] == "1"  # a JSON number 1 is read as "1"


def test_example_transaction_status_with_events():
    _, json_body, xml_body = load_example("4_14_transaction_status")
    for body, ctype in ((json_body, "application/json"), (xml_body, "text/xml")):
        payload = decode_response(body, ctype)
        rows = [TRANSACTION_STATUS.decode_row(r) for r in response_rows(payload)]
        assert [r["global_device_id"] for r in rows] == ["m98562412", "m97524158"]
        assert rows[0]["status_level"] == 4
        assert rows[0]["status_5_datetime"] is None
        assert rows[0]["request_cancel_datetime"] is None
        assert rows[0]["type_parameters"] is None
        events = [EVENTS.decode_row(e) for e in rows[0].extras["response_data"]]
        assert [(e["global_device_id"], e["event_code"]) for e in events] == [
            ("m98562412", 1234),
            ("m98562412", 2345),
        ]
        assert events[0]["event_datetime"] == datetime(2018, 10, 11, 15, 14, tzinfo=PKT)


def test_ocr_status_tolerated():
    assert parse_status({"status": "I"}) == 1
    assert parse_status({"status": " 1 "}) == 1
    assert parse_status({"status": 1}) == 1
    assert parse_status("0") == 0
    xml = (
        b'<?xml version="1.0"?><root><status>I</status><data><element>'
        b"<global_device_id>m1</global_device_id><msn>1</msn><indv_status>|</indv_status>"
        b"</element></data></root>"
    )
    payload = decode_response(xml)
    assert parse_status(payload) == 1
    assert response_devices(payload) == [("m1", "1", 1)]
    for bad in ({}, {"status": "yes"}, {"status": None}, {"status": [1]}):
        with pytest.raises(MalformedBody):
            parse_status(bad)


# ------------------------------------------------------------ request codec details
def test_transaction_status_several_ids_in_form():
    headers, form = encode_request(
        "transaction_status", {"transactionid": ["A1", "B2"]}, privatekey="k"
    )
    assert headers == {"privatekey": "k"}
    assert form == {"transactionid": '["A1","B2"]'}
    typed, tid, key = decode_request("transaction_status", headers, form)
    assert (typed, tid, key) == ({"transactionid": ["A1", "B2"]}, None, "k")
    headers, form = encode_request("transaction_status", transactionid="A1", privatekey="k")
    assert (headers, form) == ({"transactionid": "A1", "privatekey": "k"}, {})


def test_ids_and_key_as_form_fields_and_header_case():
    typed, tid, key = decode_request(
        "meter_status_update",
        {"PrivateKey": "k1"},
        {
            "transactionid": " T-9 ",
            "global_device_id": '["m1"]',
            "request_datetime": "2018-10-15 13:00:00",
            "meter_activation_status": ["1"],
        },
    )
    assert (tid, key, typed["meter_activation_status"]) == ("T-9", "k1", 1)
    typed, _, _ = decode_request(
        "authorization_service", {}, {"username": "u", "password": "p", "code": "c"}
    )
    assert typed == {"username": "u", "password": "p", "code": "c"}
    headers, form = encode_request("authorization_service", typed, credentials_in="both")
    assert headers == form == {"username": "u", "password": "p", "code": "c"}


def test_decode_request_errors_collect_transactionid():
    with pytest.raises(ValidationErrors) as info:
        decode_request(
            "aux_relay_operations",
            {"privatekey": "k"},
            {
                "global_device_id": '["m1"]',
                "relay_operate": "7",
                "request_datetime": "2018-10-15 13:00:00",
            },
        )
    assert info.value.errors == {
        "transactionid": "is required",
        "relay_operate": "must be 0 or 1, got '7'",
    }
    with pytest.raises(ValidationErrors) as info:
        decode_request(
            "time_synchronization",
            {"transactionid": "bad id!"},
            {"global_device_id": '["m1"]', "request_datetime": "2018-10-15 13:00:00"},
        )
    assert list(info.value.errors) == ["transactionid"]


def test_encode_request_needs_transactionid():
    with pytest.raises(FieldError) as info:
        encode_request(
            "time_synchronization",
            {"global_device_id": ["m1"], "request_datetime": "2018-10-15 13:00:00"},
        )
    assert info.value.field == "transactionid"
    headers, form = encode_request(
        "time_synchronization",
        {"global_device_id": ["m1"], "request_datetime": datetime(2018, 10, 15, 8, tzinfo=PKT)},
        transactionid="T1",
        privatekey="k",
    )
    assert headers == {"transactionid": "T1", "privatekey": "k"}
    assert form == {"global_device_id": '["m1"]', "request_datetime": "2018-10-15 08:00:00"}


# ------------------------------------------------------------ response codec details
def test_encode_response_shapes():
    payload = {"status": "1", "transactionid": "T1", "data": [], "message": "a < b & c"}
    body, ctype = encode_response(payload, "xml")
    assert ctype.startswith("application/xml")
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<root><status>1</status>'
        b"<transactionid>T1</transactionid><data></data>"
        b"<message>a &lt; b &amp; c</message></root>"
    )
    assert decode_response(body) == payload
    body, ctype = encode_response(
        {"status": "1", "load": Decimal("1.500"), "at": datetime(2018, 1, 1, tzinfo=PKT)}, "json"
    )
    assert ctype == "application/json"
    assert json.loads(body) == {"status": "1", "load": "1.500", "at": "2018-01-01 00:00:00"}
    body, _ = error_response("bad request", "json", transactionid="T1")
    assert json.loads(body) == {"status": "0", "transactionid": "T1", "message": "bad request"}
    with pytest.raises(UdilError):
        encode_response({"bad name": "x"}, "xml")
    with pytest.raises(UdilError):
        encode_response({"m": "\x01"}, "xml")
    with pytest.raises(ValueError):
        encode_response({}, "yaml")


def test_xml_variants():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
    <root xmlns="urn:x"><status>1</status><data><row><a>1</a></row><row><a>2</a></row></data>
    <!-- comment --><message/></root>"""
    assert decode_response(body) == {
        "status": "1",
        "data": {"row": [{"a": "1"}, {"a": "2"}]},
        "message": "",
    }
    single = decode_response(b"<root><data><element><a>1</a></element></data></root>")
    assert single == {"data": [{"a": "1"}]}
    assert decode_response(b"<root/>") == {}
    iso = '<?xml version="1.0" encoding="ISO-8859-1"?><root><m>caf\xe9</m></root>'
    assert decode_response(iso.encode("latin-1")) == {"m": "café"}


def test_json_stringify_and_raw():
    body = b'\xef\xbb\xbf {"status": 1, "ok": true, "none": null, "f": 1.5, "n": [2, {"x": 3}]}'
    assert decode_response(body) == {
        "status": "1",
        "ok": "1",
        "none": "",
        "f": "1.5",
        "n": ["2", {"x": "3"}],
    }
    assert decode_response(body, stringify=False)["status"] == 1


def test_content_type_mismatch_is_sniffed():
    assert decode_response(b"<root><status>1</status></root>", "application/json") == {
        "status": "1"
    }
    assert decode_response(b'{"status":"1"}', "text/html") == {"status": "1"}


# ------------------------------------------------------------ hostile input
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<root><status>1</status><message>&lol9;</message></root>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<root><status>1</status><message>&xxe;</message></root>"""


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        (BILLION_LAUGHS, "application/xml", "not allowed"),
        (EXTERNAL_ENTITY, "application/xml", "not allowed"),
        (b'<?xml version="1.0"?><!DOCTYPE root><root/>', None, "not allowed"),
        (b'{"status": "1", "data": [', "application/json", "invalid JSON"),
        (b'{"status": "1"', None, "invalid JSON"),
        (b"<root><status>1</status>", "application/xml", "invalid XML"),
        (b"<root><a></b></root>", None, "invalid XML"),
        (b'["status", "1"]', "application/json", "must be an object"),
        (b'"status"', "application/json", "must be an object"),
        (b"<root><element>1</element><element>2</element></root>", None, "one element per field"),
        (b"", "application/json", "invalid JSON"),
        (b"", None, "empty body"),
        (b"status=1", "text/plain", "neither JSON nor XML"),
        (b"\xff\xfe{", "application/json", "invalid JSON"),
        (b"[" * 5000 + b"]" * 5000, "application/json", ""),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "application/json", "nest"),
        (b"<a>" * 100 + b"</a>" * 100, "application/xml", "nested deeper"),
    ],
)
def test_hostile_bodies(body, ctype, reason):
    start = time.perf_counter()
    with pytest.raises(MalformedBody) as info:
        decode_response(body, ctype)
    assert reason in info.value.reason
    assert time.perf_counter() - start < 1.0


def test_huge_body_rejected_by_size_quickly():
    body = b'{"data": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    start = time.perf_counter()
    with pytest.raises(MalformedBody) as info:
        decode_response(body, "application/json", max_bytes=16 * 1024 * 1024)
    assert "exceeds the limit of 16777216 bytes" in info.value.reason
    assert time.perf_counter() - start < 0.5


def test_wrong_shapes():
    for payload in ({"data": "x"}, {"data": [1, 2]}, {"data": [["a"]]}):
        with pytest.raises(MalformedBody):
            response_devices(payload)
    with pytest.raises(MalformedBody):
        response_devices({"data": [{"msn": "1", "indv_status": "1"}]})
    with pytest.raises(MalformedBody):
        response_devices({"data": [{"global_device_id": "m", "indv_status": "maybe"}]})
    with pytest.raises(MalformedBody):
        response_rows(["not", "a", "dict"])
    assert response_rows({"data": ""}) == []
    assert response_rows({}) == []
    assert response_rows({"data": {"a": "1"}}) == [{"a": "1"}]
    with pytest.raises(MalformedBody):
        decode_response(12345)
