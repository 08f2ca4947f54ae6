"""QuickFIX XML data dictionaries: loading, lookups, validation with every SessionRejectReason
(373) code the validator reports, and exact repeating groups with nesting.

The dictionaries are QuickFIX 1.16.0's `spec/` files, vendored in `venuegate.fix.codec.SPEC_DIR`.
The codes are those of the FIX session protocol (SessionRejectReason, tag 373).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from venuegate.errors import ConfigError
from venuegate.fix.codec import (
    SPEC_DIR,
    FixDictionary,
    FixError,
    FixMessage,
    FixValidationError,
    encode_message,
    parse,
)

HEADER: list[tuple[int, str | int]] = [
    (35, "D"),
    (49, "CLIENT"),
    (56, "VENUE"),
    (34, 5),
    (52, "20240102-03:04:05.678"),
]
NOS: list[tuple[int, str | int]] = [
    (11, "ord-1"),
    (55, "BTC-USD"),
    (54, "1"),
    (60, "20240102-03:04:05.678"),
    (38, "0.5"),
    (40, "2"),
    (44, "42000.10"),
]


@pytest.fixture(scope="module")
def fix44() -> FixDictionary:
    return FixDictionary.load(str(SPEC_DIR / "FIX44.xml"))


def msg(
    body: list[tuple[int, str | int]], header: list[tuple[int, str | int]] = HEADER
) -> FixMessage:
    return parse(encode_message("FIX.4.4", [*header, *body]), verify=False)


def raw_msg(text: str) -> FixMessage:
    """A message from `|`-separated text, structurally parsed (no BodyLength/CheckSum check)."""
    return parse(text.replace("|", "\x01").encode(), verify=False)


def reject(d: FixDictionary, m: FixMessage) -> FixValidationError:
    with pytest.raises(FixValidationError) as info:
        d.validate(m)
    return info.value


def test_load_every_vendored_dictionary() -> None:
    d42 = FixDictionary.load(str(SPEC_DIR / "FIX42.xml"))
    d44 = FixDictionary.load(str(SPEC_DIR / "FIX44.xml"))
    d50 = FixDictionary.load(str(SPEC_DIR / "FIXT11.xml"), str(SPEC_DIR / "FIX50SP2.xml"))
    assert (d42.begin_string, d44.begin_string, d50.begin_string) == (
        "FIX.4.2",
        "FIX.4.4",
        "FIXT.1.1",
    )
    for d in (d42, d44, d50):
        assert d.is_admin("A")
        assert not d.is_admin("D")
        assert d.message_name("8") == "ExecutionReport"
        assert d.field_name(35) == "MsgType"
    assert d50.field_name(1128) == "ApplVerID"
    assert d50.message_name("AE") == "TradeCaptureReport"
    assert d44.required_fields("D") == [11, 54, 60, 40]
    assert d44.field_name(999999) is None
    assert d44.message_name("ZZ") is None
    assert "FIX.4.4" in repr(d44)


def test_valid_messages(fix44: FixDictionary) -> None:
    fix44.validate(msg(NOS))
    d50 = FixDictionary.load(str(SPEC_DIR / "FIXT11.xml"), str(SPEC_DIR / "FIX50SP2.xml"))
    logon = parse(
        encode_message("FIXT.1.1", [(35, "A"), *HEADER[1:], (98, 0), (108, 30), (1137, "9")])
    )
    d50.validate(logon)
    d50.validate(msg(NOS, [(35, "D"), *HEADER[1:]]))


def test_code_0_invalid_tag_number(fix44: FixDictionary) -> None:
    err = reject(
        fix44, raw_msg("8=FIX.4.4|9=1|35=0|49=A|56=B|34=2|52=20240102-03:04:05|0=1|10=000|")
    )
    assert (err.reject_reason, err.tag) == (0, 0)


def test_code_1_required_tag_missing(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([f for f in NOS if f[0] != 11]))
    assert (err.reject_reason, err.tag, err.business) == (1, 11, False)
    assert err.reason == "required tag missing"
    assert err.seq_num == 5
    assert isinstance(err, FixError)
    err = reject(fix44, msg(NOS, [h for h in HEADER if h[0] != 52]))
    assert (err.reject_reason, err.tag) == (1, 52)


def test_code_2_tag_not_defined_for_message(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (112, "test-req")]))
    assert (err.reject_reason, err.tag) == (2, 112)


def test_code_3_undefined_tag(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (5999, "x")]))
    assert (err.reject_reason, err.tag) == (3, 5999)


def test_code_4_tag_without_value(fix44: FixDictionary) -> None:
    err = reject(
        fix44, raw_msg("8=FIX.4.4|9=1|35=0|49=A|56=B|34=2|52=20240102-03:04:05|112=|10=000|")
    )
    assert (err.reject_reason, err.tag) == (4, 112)


def test_code_5_value_out_of_range(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS[:2], (54, "Z"), *NOS[3:]]))
    assert (err.reject_reason, err.tag) == (5, 54)


def test_code_6_incorrect_data_format(fix44: FixDictionary) -> None:
    for tag, value in ((38, "1.2.3"), (60, "2024-01-02"), (44, "abc")):
        body = [(t, value if t == tag else v) for t, v in NOS]
        err = reject(fix44, msg(body))
        assert (err.reject_reason, err.tag) == (6, tag)


def test_code_11_invalid_msg_type(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([], [(35, "ZZ"), *HEADER[1:]]))
    assert (err.reject_reason, err.tag, err.business) == (11, 35, False)


def test_code_11_business_for_a_valid_unsupported_type(tmp_path: Path) -> None:
    ext = tmp_path / "venue.xml"
    ext.write_text(
        "<fix major='4' minor='4'><fields>"
        "<field number='35' name='MsgType' type='STRING'><value enum='U9' description='X'/>"
        "</field></fields></fix>"
    )
    d = FixDictionary.load(str(SPEC_DIR / "FIX44.xml"))
    d.extend(str(ext))
    err = reject(d, msg([], [(35, "U9"), *HEADER[1:]]))
    assert (err.reject_reason, err.business) == (11, True)


def test_code_13_tag_appears_more_than_once(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (58, "a"), (58, "b")]))
    assert (err.reject_reason, err.tag) == (13, 58)


def test_code_14_out_of_required_order(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (115, "ON-BEHALF")]))
    assert (err.reject_reason, err.tag) == (14, 115)


def test_code_15_group_fields_out_of_order(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (453, 1), (447, "D"), (448, "A"), (452, 1)]))
    assert (err.reject_reason, err.tag) == (15, 447)


def test_code_16_incorrect_num_in_group(fix44: FixDictionary) -> None:
    err = reject(fix44, msg([*NOS, (453, 2), (448, "A"), (447, "D"), (452, 1)]))
    assert (err.reject_reason, err.tag) == (16, 453)
    err = reject(fix44, msg([*NOS, (453, 1), (448, "A"), (448, "B")]))
    assert (err.reject_reason, err.tag) == (16, 453)


def test_groups_exact_with_nesting(fix44: FixDictionary) -> None:
    m = msg(
        [
            *NOS[:1],
            (453, 2),
            (448, "A"),
            (447, "D"),
            (452, 1),
            (802, 2),
            (523, "sub-1"),
            (803, 1),
            (523, "sub-2"),
            (803, 2),
            (448, "B"),
            (452, 3),
            *NOS[1:],
        ]
    )
    fix44.validate(m)
    parties = fix44.groups(m, 453)
    assert parties == [
        [
            (448, b"A"),
            (447, b"D"),
            (452, b"1"),
            (802, b"2"),
            (523, b"sub-1"),
            (803, b"1"),
            (523, b"sub-2"),
            (803, b"2"),
        ],
        [(448, b"B"), (452, b"3")],
    ]
    assert fix44.groups(m, 802) == [[(523, b"sub-1"), (803, b"1")], [(523, b"sub-2"), (803, b"2")]]
    assert fix44.groups(m, 78) == []
    # Without a dictionary the heuristic cannot know the nested group's shape.
    assert m.group(453, 448) != parties


def test_extend_with_venue_fields(tmp_path: Path) -> None:
    ext = tmp_path / "venue.xml"
    ext.write_text(
        "<fix major='4' minor='4'>"
        "<messages><message name='NewOrderSingle' msgtype='D' msgcat='app'>"
        "<field name='SelfTradePrevention' required='N'/></message></messages>"
        "<fields><field number='7928' name='SelfTradePrevention' type='CHAR'>"
        "<value enum='N' description='NONE'/><value enum='Q' description='CANCEL'/></field>"
        "<field number='40' name='OrdType' type='CHAR'><value enum='X' description='VENUE'/>"
        "</field></fields></fix>"
    )
    d = FixDictionary.load(str(SPEC_DIR / "FIX44.xml"))
    with pytest.raises(FixValidationError):
        d.validate(msg([*NOS, (7928, "Q")]))
    d.extend(str(ext))
    d.validate(msg([*NOS, (7928, "Q")]))
    assert d.field_name(7928) == "SelfTradePrevention"
    assert reject(d, msg([*NOS, (7928, "Z")])).reject_reason == 5
    d.validate(msg([(t, "X" if t == 40 else v) for t, v in NOS]))


def test_bad_dictionary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        FixDictionary.load(str(tmp_path / "missing.xml"))
    bad = tmp_path / "bad.xml"
    bad.write_text("<fix><messages><message name='X' msgtype='X'><field name='Nope'/></message>")
    with pytest.raises(ValueError, match=r"bad\.xml"):
        FixDictionary.load(str(bad))
    bad.write_text(
        "<fix><messages><message name='X' msgtype='X'><field name='Nope'/></message></messages>"
        "</fix>"
    )
    with pytest.raises(ValueError, match="Nope"):
        FixDictionary.load(str(bad))
