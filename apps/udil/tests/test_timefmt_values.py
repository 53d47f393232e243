from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from apps.udil.errors import FieldError
from apps.udil.timefmt import (
    PKT,
    datetime_text,
    format_datetime,
    format_time,
    parse_datetime,
    parse_time,
)
from apps.udil.values import (
    format_value,
    parse_bigint,
    parse_decimal,
    parse_flag,
    parse_int,
    parse_str,
)


class TestParseDatetime:
    def test_wire_format(self):
        dt = parse_datetime("2018-10-15 13:00:00")
        assert dt == datetime(2018, 10, 15, 13, 0, 0, tzinfo=PKT)
        assert dt.utcoffset() == timedelta(hours=5)

    @pytest.mark.parametrize(
        "text",
        [
            "2018-10-15T13:00:00",
            " 2018-10-15 13:00:00 ",
            "2018-10-15 13:00:00.000",
            "2018-10-15T08:00:00Z",
            "2018-10-15 13:00:00+05:00",
            "2018-10-15 08:00:00+00:00",
        ],
    )
    def test_variants(self, text):
        assert parse_datetime(text) == datetime(2018, 10, 15, 13, 0, tzinfo=PKT)
        assert parse_datetime(text).tzinfo is PKT

    def test_fraction_kept(self):
        assert parse_datetime("2018-10-15 13:00:00.25").microsecond == 250000

    @pytest.mark.parametrize("empty", [None, "", "   ", "0000-00-00 00:00:00", "0000-00-00"])
    def test_empty_is_none(self, empty):
        assert parse_datetime(empty) is None

    @pytest.mark.parametrize(
        "bad", ["2018-02-30 00:00:00", "yesterday", "2018-10-15 25:00:00", "15/10/2018", "2018"]
    )
    def test_garbage(self, bad):
        with pytest.raises(FieldError) as info:
            parse_datetime(bad, field="start_datetime")
        assert info.value.field == "start_datetime"
        assert str(info.value).startswith("start_datetime: ")

    @pytest.mark.parametrize("bad", [12, ["2018-10-15 13:00:00"], {"a": 1}])
    def test_wrong_types(self, bad):
        with pytest.raises(FieldError):
            parse_datetime(bad, field="x")

    def test_objects(self):
        naive = datetime(2020, 1, 1, 10, 0)  # noqa: DTZ001 - naive on purpose: taken as PKT
        assert parse_datetime(naive) == datetime(2020, 1, 1, 10, tzinfo=PKT)
        utc = datetime(2020, 1, 1, 5, 0, tzinfo=UTC)
        assert parse_datetime(utc) == datetime(2020, 1, 1, 10, tzinfo=PKT)


def test_format_datetime():
    assert format_datetime(None) == ""
    assert format_datetime(datetime(2018, 10, 15, 8, 0, 5, tzinfo=UTC)) == "2018-10-15 13:00:05"
    assert (
        format_datetime(datetime(2018, 10, 15, 13, 0, 5, 999, tzinfo=PKT)) == "2018-10-15 13:00:05"
    )
    assert format_datetime(date(2018, 1, 2)) == "2018-01-02 00:00:00"
    other = timezone(timedelta(hours=-3))
    assert format_datetime(datetime(2018, 10, 15, 0, 0, tzinfo=other)) == "2018-10-15 08:00:00"


def test_datetime_text():
    assert datetime_text("2018-10-15 13:00:00") == "2018-10-15 13:00:00+05:00"
    assert datetime_text("2018-10-15T13:00:00.5") == "2018-10-15 13:00:00.500000+05:00"
    assert datetime_text("0000-00-00 00:00:00") is None
    with pytest.raises(ValueError):
        datetime_text("2018-02-29 00:00:00")


def test_parse_time():
    assert parse_time("08:00") == time(8, 0)
    assert parse_time("23:59:59") == time(23, 59, 59)
    assert parse_time("") is None
    assert format_time(time(3, 0)) == "03:00:00"
    assert format_time(time(3, 0), seconds=False) == "03:00"
    for bad in ("24:00", "8", "08:60", "aa:bb"):
        with pytest.raises(FieldError):
            parse_time(bad, "action_time")
    with pytest.raises(FieldError):
        parse_time("08:00", "mdi_reset_time", seconds=True)


class TestDecimal:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("20", "20.000"),
            (" 1.5 ", "1.500"),
            (3, "3.000"),
            (0.1, "0.100"),
            ("-2.0005", "-2.001"),
            ("1e3", "1000.000"),
            (Decimal("7.1234"), "7.123"),
            (".5", "0.500"),
        ],
    )
    def test_good(self, raw, expected):
        value = parse_decimal(raw, "x")
        assert value == Decimal(expected)
        assert str(value) == expected

    @pytest.mark.parametrize(
        "bad",
        ["NaN", "inf", "-Infinity", "1,5", "abc", float("nan"), float("inf"), True, [1], "1" * 16],
    )
    def test_bad(self, bad):
        with pytest.raises(FieldError) as info:
            parse_decimal(bad, "load_limit")
        assert info.value.field == "load_limit"

    def test_blank(self):
        assert parse_decimal("") is None
        assert parse_decimal(None) is None


def test_ints():
    assert parse_int(" 42 ", "x") == 42
    assert parse_int("-7", "x") == -7
    assert parse_int(5.0, "x") == 5
    assert parse_int("", "x") is None
    assert parse_bigint("4098562412", "msn") == 4098562412
    for bad in ("4.5", "x", True, 2**31, "9" * 30, [1]):
        with pytest.raises(FieldError):
            parse_int(bad, "x")
    with pytest.raises(FieldError):
        parse_bigint(2**63, "msn")


def test_str():
    assert parse_str("  m1 ", "x") == "m1"
    assert parse_str("", "x") is None
    assert parse_str(12, "x") == "12"
    assert parse_str("a" * 50, "x") == "a" * 50
    with pytest.raises(FieldError) as info:
        parse_str("a" * 51, "event_description")
    assert str(info.value) == "event_description: must be at most 50 characters, got 51"
    with pytest.raises(FieldError):
        parse_str("a\x00b", "x")
    with pytest.raises(FieldError):
        parse_str({"a": 1}, "x")


def test_flag():
    assert [parse_flag(v) for v in ("1", 1, " 0 ", 0, True, False)] == [1, 1, 0, 0, 1, 0]
    assert parse_flag("") is None
    with pytest.raises(FieldError) as info:
        parse_flag("7", "relay_operate")
    assert str(info.value) == "relay_operate: must be 0 or 1, got '7'"
    for bad in ("I", "l", "|", 2, "yes"):
        with pytest.raises(FieldError):
            parse_flag(bad, "relay_operate")


def test_format_value():
    assert format_value(None) == ""
    assert format_value(Decimal("1.500")) == "1.500"
    assert format_value(True) == "1"
    assert format_value(7) == "7"
    assert format_value(datetime(2018, 1, 1, tzinfo=PKT)) == "2018-01-01 00:00:00"
    assert format_value(time(1, 2, 3)) == "01:02:03"
