"""``DataSet.copy_rows_json`` (JSON body straight into COPY rows) against the normal path
(``decode_response`` + ``response_rows`` + ``copy_rows`` / ``split_rows``): same rows, same
rejects, and None whenever the body is not in the shape the fast path reads."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.udil.codec import decode_response, response_rows
from apps.udil.datasets import DATASETS, TRANSACTION_STATUS
from apps.udil.errors import MalformedBody

from .test_properties import ALL, SETTINGS, rows

LP = DATASETS["load_profile"]
EV = DATASETS["events"]


def body_of(data, **payload) -> bytes:
    return orjson.dumps({"status": "1", "transactionid": "T1", "data": data, **payload})


def slow(ds, body: bytes):
    payload = decode_response(body, stringify=False)
    raw_rows = response_rows(payload)
    good, rejects = ds.copy_rows(raw_rows)
    split_good, split_rejects = ds.split_rows(raw_rows)
    assert split_rejects == rejects
    assert split_good == [tuple(v or None for v in row) for row in good]
    return {**payload, "data": []}, good, rejects


def fast(ds, body: bytes):
    result = ds.copy_rows_json(body)
    assert result is not None, "the fast path refused a body in the usual shape"
    payload, good, rejects = result
    assert (payload, good, rejects) == slow(ds, body)
    return payload, good, rejects


def refused(ds, body: bytes):
    """The fast path must decline; the normal path's answer is returned."""
    assert ds.copy_rows_json(body) is None
    return slow(ds, body)


def lp_row(gid="m1", at="2026-11-03 10:00:00", **values):
    row = LP.encode_row({})
    row.update(
        msn="4098562412",
        global_device_id=gid,
        meter_datetime=at,
        interval="30",
        active_energy_tl="1234.567",
        mdc_read_datetime=at,
        db_datetime=at,
    )
    row.update(values)
    return row


def ev_row(**values):
    row = {
        "msn": "4098562412",
        "global_device_id": "m1",
        "event_datetime": "2026-11-03 10:00:00",
        "event_code": "111",
        "event_description": "Power fail start",
        "mdc_read_datetime": "2026-11-03 10:05:00",
        "db_datetime": "2026-11-03 10:06:00",
    }
    row.update(values)
    return row


def lp_expected(gid, at):
    stamp = f"{at}+05:00"
    values = dict.fromkeys(LP.field_names, "")
    values.update(
        msn="4098562412",
        global_device_id=gid,
        meter_datetime=stamp,
        interval="30",
        active_energy_tl="1234.567",
        mdc_read_datetime=stamp,
        db_datetime=stamp,
    )
    return [values[n] for n in LP.field_names]


# ------------------------------------------------------------------ the usual shape


def test_good_body_gives_exact_rows_and_payload():
    body = body_of([lp_row("m1"), lp_row("m2", "2026-11-03 10:30:00")], message="ok")
    payload, good, rejects = fast(LP, body)
    assert payload == {"status": "1", "transactionid": "T1", "data": [], "message": "ok"}
    assert good == [
        lp_expected("m1", "2026-11-03 10:00:00"),
        lp_expected("m2", "2026-11-03 10:30:00"),
    ]
    assert rejects == []


def test_events_rows_are_exact():
    _, good, rejects = fast(EV, body_of([ev_row(event_description="Café ünïcode 电表")]))
    assert good == [
        [
            "4098562412",
            "m1",
            "2026-11-03 10:00:00+05:00",
            "111",
            "Café ünïcode 电表",
            "2026-11-03 10:05:00+05:00",
            "2026-11-03 10:06:00+05:00",
        ]
    ]
    assert rejects == []


def test_empty_data_gives_no_rows():
    payload, good, rejects = fast(LP, body_of([]))
    assert (payload["data"], good, rejects) == ([], [], [])


def test_status_and_message_come_back_for_the_caller_to_check():
    payload, good, _ = fast(LP, body_of([lp_row()], status="0", message="busy"))
    assert payload["status"] == "0" and payload["message"] == "busy"
    assert len(good) == 1


@pytest.mark.parametrize("field", ["meter_datetime", "mdc_read_datetime", "db_datetime"])
@pytest.mark.parametrize(
    "bad", ["2026-02-30 10:00:00", "2026-11-03 24:00:00", "2026-13-01 00:00:00"]
)
def test_bad_dates_are_rejected_naming_the_field(field, bad):
    good_row, bad_row = lp_row("m1"), lp_row("m2", **{field: bad})
    _, good, rejects = fast(LP, body_of([good_row, bad_row]))
    assert good == [lp_expected("m1", "2026-11-03 10:00:00")]
    assert len(rejects) == 1
    raw, reason = rejects[0]
    assert raw == bad_row
    assert reason.startswith(f"{field}:"), reason


def test_no_value_datetime_is_null_in_a_value_field_and_rejected_in_a_key_field():
    _, good, rejects = fast(LP, body_of([lp_row(db_datetime="0000-00-00 00:00:00")]))
    assert rejects == []
    assert good[0][LP.field_names.index("db_datetime")] == ""
    row = lp_row(meter_datetime="0000-00-00 00:00:00")
    _, good, rejects = fast(LP, body_of([row]))
    assert good == []
    assert rejects == [(row, "meter_datetime: is required (key field) but missing or empty")]


def test_empty_values_are_null_and_an_empty_key_is_rejected():
    _, good, rejects = fast(LP, body_of([lp_row(active_energy_tl="", msn="", interval="")]))
    assert rejects == []
    row = good[0]
    for name in ("active_energy_tl", "msn", "interval"):
        assert row[LP.field_names.index(name)] == ""
    bad = lp_row(global_device_id="")
    _, good, rejects = refused(LP, body_of([bad]))
    assert good == []
    assert rejects == [(bad, "global_device_id: is required (key field) but missing or empty")]


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.code)
def test_an_empty_or_blank_key_never_passes_the_fast_path(ds):
    for key in ds.key:
        for empty in ("", " "):
            raw = ds.encode_row({})
            for other in ds.key:
                raw[other] = "2026-11-03 10:00:00" if ds.field(other).kind == "datetime" else "7"
            raw[key] = empty
            result = ds.copy_rows_json(body_of([raw]))
            if result is not None:
                assert result[1] == [], (key, empty)
            _, good, rejects = slow(ds, body_of([raw]))
            assert good == []
            assert len(rejects) == 1 and rejects[0][1].startswith(f"{key}:")


@pytest.mark.parametrize(
    "spelling, stored", [("1.2345", "1.235"), ("1e3", "1000.000"), (" 1.5", "1.500")]
)
def test_non_canonical_decimals_leave_the_fast_path_and_are_normalised(spelling, stored):
    _, good, rejects = refused(LP, body_of([lp_row(active_energy_tl=spelling)]))
    assert rejects == []
    assert good[0][LP.field_names.index("active_energy_tl")] == stored


@pytest.mark.parametrize("bad", ["abc", "1,5", "--1", "1.2.3"])
def test_bad_decimals_leave_the_fast_path_and_are_rejected_naming_the_field(bad):
    row = lp_row("m1", active_energy_tl=bad)
    _, good, rejects = refused(LP, body_of([lp_row("m0"), row]))
    assert good == [lp_expected("m0", "2026-11-03 10:00:00")]
    assert rejects == [(row, f"active_energy_tl: must be a decimal number, got {bad!r}")]


def test_escaped_strings_are_read_by_the_normal_path():
    text = 'say "hi" \\ back\nslash\ttab é'
    body = body_of([ev_row(event_description=text)])
    assert b"\\" in body
    _, good, rejects = refused(EV, body)
    assert rejects == []
    assert good[0][EV.field_names.index("event_description")] == text.strip()
    escaped_unicode = json.dumps({"status": "1", "data": [ev_row(event_description="é")]})
    assert "\\u00e9" in escaped_unicode
    _, good, _ = refused(EV, escaped_unicode.encode())
    assert good[0][EV.field_names.index("event_description")] == "é"


def test_numbers_given_as_json_numbers_use_the_normal_path():
    row = lp_row()
    row.update(interval=30, active_energy_tl=1234.567)
    _, good, rejects = refused(LP, body_of([row]))
    assert rejects == []
    assert good == [lp_expected("m1", "2026-11-03 10:00:00")]


def test_missing_extra_and_shuffled_fields_use_the_normal_path():
    missing = lp_row()
    del missing["voltage_phase_a"]
    extra = {**lp_row(), "vendor_note": "x"}
    shuffled = dict(reversed(list(lp_row().items())))
    for row in (missing, extra, shuffled):
        _, good, rejects = refused(LP, body_of([row]))
        assert rejects == []
        assert good == [lp_expected("m1", "2026-11-03 10:00:00")]


def test_an_alias_uses_the_normal_path():
    row = ev_row()
    row["meter_datetime"] = row.pop("event_datetime")
    _, good, rejects = refused(EV, body_of([row]))
    assert rejects == []
    assert good[0][EV.field_names.index("event_datetime")] == "2026-11-03 10:00:00+05:00"


@pytest.mark.parametrize("data", [[["m1"]], ["row"], [None], [1]])
def test_non_object_rows_are_refused_and_the_normal_path_calls_them_malformed(data):
    body = body_of([lp_row(), *data])
    assert LP.copy_rows_json(body) is None
    with pytest.raises(MalformedBody, match=r"data\[1\] must be an object"):
        response_rows(decode_response(body, stringify=False))


@pytest.mark.parametrize(
    "body",
    [
        # duplicate "data" keys: a JSON parser keeps the last one
        b'{"status":"1","data":[],"data":[' + orjson.dumps(lp_row()) + b"]}",
        b'{"status":"1","data":[' + orjson.dumps(lp_row()) + b'],"data":[]}',
        # "data" nested elsewhere first
        b'{"status":"1","meta":{"data":[]},"data":[' + orjson.dumps(lp_row()) + b"]}",
        # pretty-printed
        json.dumps({"status": "1", "data": [lp_row()]}, indent=1).encode(),
        json.dumps({"status": "1", "data": [lp_row()]}).encode(),  # ", " and ": "
        # an escape outside the rows
        b'{"status":"1","message":"a\\"b","data":[' + orjson.dumps(lp_row()) + b"]}",
    ],
)
def test_unusual_shapes_are_refused_and_agree_with_the_normal_path(body):
    assert LP.copy_rows_json(body) is None
    slow(LP, body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"status":"1","data":[' + orjson.dumps(lp_row()) + b"]",  # cut
        b'{"status":"1","data":[' + orjson.dumps(lp_row()) + b"}",
        b'{"status":"1","data":[' + orjson.dumps(lp_row()) + b",]}",
        b'{"status":"1","data":[' + orjson.dumps(lp_row()) + b"] x}",
        b'{"status":"1","data":[]',
        b'["data":[]]',
        b'{"status":"\xff","data":[]}',  # not UTF-8
        b"{}",
    ],
)
def test_broken_bodies_are_refused(body):
    assert LP.copy_rows_json(body) is None


def test_long_strings_are_checked_against_the_column_length():
    limit = EV.field("event_description").max_length
    ok = ev_row(event_description="x" * limit)
    _, good, _ = fast(EV, body_of([ok]))
    assert good[0][EV.field_names.index("event_description")] == "x" * limit
    too_long = ev_row(event_description="x" * (limit + 1))
    _, good, rejects = refused(EV, body_of([too_long]))
    assert good == [] and rejects[0][1].startswith("event_description:")


def test_unlimited_strings_and_the_transaction_status_key():
    raw = TRANSACTION_STATUS.encode_row({"transactionid": "T9", "global_device_id": "m1"})
    raw["request_cancel_reason"] = "r" * 5000
    _, good, rejects = fast(TRANSACTION_STATUS, body_of([raw]))
    assert rejects == [] and good[0][0] == "T9" and good[0][-2] == "r" * 5000
    raw["transactionid"] = ""
    _, good, rejects = refused(TRANSACTION_STATUS, body_of([raw]))
    assert good == []
    assert rejects[0][1] == "transactionid: is required (key field) but missing or empty"


def test_a_day_with_a_clock_change_goes_through_the_full_parser():
    # Pakistan kept summer time in 2008 and 2009 (+06:00)
    rows_ = [lp_row(at="2008-07-01 10:00:00"), lp_row("m2", at="2009-01-15 10:00:00")]
    _, good, rejects = fast(LP, body_of(rows_))
    assert rejects == []
    at = LP.field_names.index("meter_datetime")
    assert [row[at] for row in good] == ["2008-07-01 10:00:00+06:00", "2009-01-15 10:00:00+05:00"]


# ------------------------------------------------------------------ property

_BAD = {
    "decimal": ["1.2345", "x", "", " 5 ", 7, 1.5],
    "int": ["1.5", "x", "", "99999999999", 3],
    "bigint": ["x", "", "1" * 20, 12],
    "datetime": ["2026-02-30 10:00:00", "0000-00-00 00:00:00", "", "2026-11-03T10:00:00", 5],
    "str": ["", "  ", 'a"b', "a\\b", "tab\there", "é", 5],
}


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.code)
def test_fast_path_equals_the_normal_path_on_generated_rows(ds):
    @SETTINGS
    @given(st.data())
    def check(data):
        values = data.draw(st.lists(rows(ds), min_size=0, max_size=4))
        wire = [ds.encode_row(v) for v in values]
        for row in wire:  # some rows spoiled, one field each
            if data.draw(st.booleans()):
                name = data.draw(st.sampled_from(ds.field_names))
                row[name] = data.draw(st.sampled_from(_BAD[ds.field(name).kind]))
        body = body_of(wire, message="")
        expected = slow(ds, body)
        result = ds.copy_rows_json(body)
        if result is not None:  # declining is always allowed; answering differently is not
            assert result == expected

    check()


def _beyond_canonical_digits(ds, wire) -> bool:
    digits = {"int": 9, "bigint": 18}
    return any(
        len(value.lstrip("-")) > digits.get(ds.field(name).kind, 99)
        for row in wire
        for name, value in row.items()
    )


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.code)
def test_clean_generated_rows_always_take_the_fast_path(ds):
    @SETTINGS
    @given(st.lists(rows(ds), min_size=1, max_size=4))
    def check(values):
        wire = [ds.encode_row(v) for v in values]
        body = body_of(wire)
        if b"\\" in body or _beyond_canonical_digits(ds, wire):
            # a string needing an escape, or an integer longer than the canonical text the
            # fast path checks (9 digits for int, 18 for bigint): the normal path reads it
            assert ds.copy_rows_json(body) is None
        else:
            assert ds.copy_rows_json(body) == slow(ds, body)

    check()
