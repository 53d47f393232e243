"""Property tests: typed rows survive the whole wire, and both decoders agree."""

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.udil.codec import decode_response, encode_response, response_rows
from apps.udil.datasets import DATASETS, TRANSACTION_STATUS, DataSet
from apps.udil.timefmt import PKT

ALL = [*DATASETS.values(), TRANSACTION_STATUS]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co"))


def _value(field):
    if field.kind == "decimal":
        return st.decimals(
            min_value=Decimal("-999999999999999.999"),
            max_value=Decimal("999999999999999.999"),
            places=3,
            allow_nan=False,
            allow_infinity=False,
        )
    if field.kind == "int":
        return st.integers(-(2**31), 2**31 - 1)
    if field.kind == "bigint":
        return st.integers(-(2**63), 2**63 - 1)
    if field.kind == "datetime":
        return st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(  # noqa: DTZ001
            lambda d: d.replace(microsecond=0, tzinfo=PKT)
        )
    size = field.max_length or 120
    return st.text(_TEXT_CHARS, min_size=1, max_size=size).map(str.strip).filter(bool)


def rows(ds: DataSet):
    keys = set(ds.key)
    return st.fixed_dictionaries(
        {f.name: _value(f) if f.name in keys else st.none() | _value(f) for f in ds.fields}
    )


def assert_text_agrees(ds, text, decoded):
    assert len(text) == len(ds.fields)
    for f, t, v in zip(ds.fields, text, (decoded[n] for n in ds.field_names), strict=True):
        if v is None:
            assert t is None, f.name
        elif f.kind == "decimal":
            assert Decimal(t) == v, f.name
        elif f.kind in ("int", "bigint"):
            assert int(t) == v, f.name
        elif f.kind == "datetime":
            assert t.endswith(("+05:00", "+06:00")), t
            assert datetime.fromisoformat(t) == v, f.name
        else:
            assert t == v, f.name


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.code)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_rows_round_trip_through_the_wire(ds, fmt):
    @SETTINGS
    @given(st.lists(rows(ds), min_size=1, max_size=3))
    def check(values):
        payload = {
            "status": "1",
            "transactionid": "T1",
            "data": [ds.encode_row(v) for v in values],
            "message": "",
        }
        body, ctype = encode_response(payload, fmt)
        decoded_payload = decode_response(body, ctype)
        assert decoded_payload == payload
        back = [ds.decode_row(r) for r in response_rows(decoded_payload)]
        for original, row in zip(values, back, strict=True):
            assert dict(row) == original
            assert row.extras == {}
            assert_text_agrees(ds, ds.text_row(dict(row_wire(ds, original))), row)

    check()


def row_wire(ds, values):
    return ds.encode_row(values)


def _messy(field, text):
    """Legal but non-canonical wire spellings (exercise the slow path)."""
    if not text:
        return st.sampled_from(["", "  ", None])
    options = [st.just(text), st.just(f"  {text} ")]
    if field.kind == "datetime":
        options.append(st.just(text.replace(" ", "T") + ".000"))
    if field.kind in ("int", "bigint"):
        options.append(st.just(int(text)))
    if field.kind == "decimal":
        options.append(st.just(text + "0"))
        options.append(st.just(float(text)) if abs(Decimal(text)) < 10**9 else st.just(text))
    return st.one_of(options)


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.code)
def test_text_row_agrees_with_decode_row_on_messy_input(ds):
    @SETTINGS
    @given(st.data())
    def check(data):
        values = data.draw(rows(ds))
        wire = ds.encode_row(values)
        messy = {name: data.draw(_messy(ds.field(name), text)) for name, text in wire.items()}
        decoded = ds.decode_row(messy)
        for f in ds.fields:
            expected = values[f.name]
            if f.kind == "decimal" and isinstance(messy[f.name], float):
                assert decoded[f.name] == Decimal(repr(messy[f.name])).quantize(Decimal("0.001"))
            else:
                assert decoded[f.name] == expected, f.name
        assert_text_agrees(ds, ds.text_row(messy), decoded)
        good, rejects = ds.split_rows([messy])
        assert rejects == []
        assert good == [ds.text_row(messy)]

    check()


@SETTINGS
@given(
    st.recursive(
        st.text(_TEXT_CHARS, max_size=20),
        lambda children: (
            st.lists(children, min_size=1, max_size=3)
            | st.dictionaries(
                st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
                    lambda k: k != "element" and not k.startswith("xml")
                ),
                children,
                min_size=1,
                max_size=3,
            )
        ),
        max_leaves=12,
    )
)
def test_any_payload_json_and_xml_agree(tree):
    payload = {"status": "1", "data": [tree] if not isinstance(tree, list) else tree}
    from_json = decode_response(*encode_response(payload, "json"))
    from_xml = decode_response(*encode_response(payload, "xml"))
    assert from_json == payload
    if _xml_faithful(payload):
        assert from_xml == payload


def _xml_faithful(value, tag="root"):
    """XML cannot tell an empty string from an empty element list, nor keep
    surrounding whitespace of text that sits beside elements: skip those cases."""
    if isinstance(value, dict):
        return all(_xml_faithful(v, k) for k, v in value.items())
    if isinstance(value, list):
        return bool(value) and all(_xml_faithful(v, "element") for v in value)
    return not (tag in ("data", "response_data") and value.strip() == "") and "\r" not in value
