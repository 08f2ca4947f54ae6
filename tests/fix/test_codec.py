"""The native FIX codec: parse, framer, encoder, timestamps.

Published vectors:
- QuickFIX's C++ test suite (`MessagesTestCase::setString`, `ParserTestCase::readBadFixMessage`):
  a FIX 4.2 Heartbeat `9=45 ... 10=218`, and the same preceded by a message whose BodyLength
  (15) is wrong, which a parser must report while still reading the good one.
- Wikipedia, "Financial Information eXchange", the ExecutionReport example (`9=178`, `10=128`).
"""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venuegate.errors import ProtocolError
from venuegate.fix.codec import (
    SOH,
    SPEC_DIR,
    FixEncoder,
    FixError,
    FixFramer,
    FixMessage,
    encode_message,
    parse,
    parse_utc_timestamp,
    utc_timestamp,
)


def soh(text: str) -> bytes:
    return text.replace("|", "\x01").encode()


QF_GOOD = soh("8=FIX.4.2|9=45|35=0|34=3|49=TW|52=20000426-12:05:06|56=ISLD|10=218|")
QF_BAD_LEN = soh("8=FIX.4.2|9=15|35=0|34=2|49=TW|52=20000426-12:05:06|56=ISLD|10=217|")
WIKI_ER = soh(
    "8=FIX.4.2|9=178|35=8|49=PHLX|56=PERS|52=20071123-05:30:00.000|11=ATOMNOCCC9990900|20=3|"
    "150=E|39=E|55=MSFT|167=CS|54=1|38=15|40=2|44=15|58=PHLX EQUITY TESTING|59=0|47=C|32=0|"
    "31=0|151=15|14=0|6=0|10=128|"
)
TS = "20240102-03:04:05.678"


def test_parse_published_messages() -> None:
    msg = parse(QF_GOOD)
    assert (msg.begin_string, msg.msg_type, msg.seq_num) == ("FIX.4.2", "0", 3)
    assert msg.raw == QF_GOOD
    assert msg.get(49) == "TW"
    assert msg.get(56) == "ISLD"
    assert msg.get_int(34) == 3
    assert msg.get(58) is None
    assert not msg.has(58)
    assert msg.has(52)
    assert len(msg) == 8
    assert msg.fields()[0] == (8, b"FIX.4.2")
    assert msg.fields()[-1] == (10, b"218")
    er = parse(WIKI_ER)
    assert er.msg_type == "8"
    assert er.seq_num == 0
    assert er.get(58) == "PHLX EQUITY TESTING"
    assert er.get_bytes(55) == b"MSFT"
    assert "MsgSeqNum" not in repr(er)
    assert "msg_type=" in repr(er)


def test_fix_error_is_protocol_and_value_error() -> None:
    with pytest.raises(FixError) as info:
        parse(QF_GOOD.replace(b"10=218", b"10=219"))
    err = info.value
    assert isinstance(err, ProtocolError)
    assert isinstance(err, ValueError)
    assert (err.reason, err.tag, err.seq_num, err.reject_reason) == ("bad checksum", 10, 3, None)


@pytest.mark.parametrize(
    ("data", "reason", "tag"),
    [
        (QF_GOOD.replace(b"10=218", b"10=219"), "bad checksum", 10),
        (QF_GOOD.replace(b"9=45", b"9=44"), "body length mismatch", 9),
        (QF_BAD_LEN, "body length mismatch", 9),
        (soh("9=5|8=FIX.4.2|35=0|10=000|"), "missing 8", None),
        (soh("8=FIX.4.2|35=0|9=5|10=000|"), "missing 9", None),
        (soh("8=FIX.4.2|9=5|34=1|35=0|10=000|"), "missing 35", None),
        (soh("35=0|9=5|8=FIX.4.2|10=000|"), "missing 8", None),
        (QF_GOOD[: QF_GOOD.index(b"10=")], "missing 10", None),
        (QF_GOOD[:-1], "bad checksum format", 10),
        (QF_GOOD.replace(b"10=218", b"10=21"), "bad checksum format", 10),
        (QF_GOOD + b" ", "10 not last", 10),
        (QF_GOOD + QF_GOOD, "10 not last", 10),
        (soh("8=FIX.4.2|9=5|35=0|4x=1|10=000|"), "invalid tag", None),
        (soh("8=FIX.4.2|9=5|35=0|=1|10=000|"), "invalid tag", None),
        (soh("8=FIX.4.2|9=5|35=0|58|10=000|"), "invalid tag", None),
        (soh("8=FIX.4.2|9=5|35=0|58=|10=000|"), "empty value", 58),
        (soh("8=FIX.4.2|9=x|35=0|10=000|"), "bad body length", 9),
        (soh("8=NOTFIX|9=5|35=0|10=000|"), "bad begin string", 8),
        (soh("8=FIX.4.4|9=5|35=A|95=20|96=ab|10=000|"), "data length mismatch", 96),
        (soh("8=FIX.4.4|9=5|35=A|95=x|96=ab|10=000|"), "incorrect data format", 95),
        (b"", "missing 8", None),
    ],
)
def test_garbled(data: bytes, reason: str, tag: int | None) -> None:
    with pytest.raises(FixError) as info:
        parse(data)
    assert info.value.reason == reason
    assert info.value.tag == tag


def test_reject_reason_hints() -> None:
    with pytest.raises(FixError) as info:
        parse(soh("8=FIX.4.2|9=5|35=0|34=7|58=|10=000|"))
    assert (info.value.reject_reason, info.value.seq_num) == (4, 7)
    with pytest.raises(FixError) as info:
        parse(soh("8=FIX.4.2|9=5|35=0|34=7|0=1|10=000|"))
    assert info.value.reject_reason == 0


def test_verify_false_checks_structure_only() -> None:
    msg = parse(QF_GOOD.replace(b"10=218", b"10=000"), verify=False)
    assert msg.get(10) == "000"
    assert parse(soh("8=FIX.4.2|9=5|35=0|58=|10=000|"), verify=False).get(58) == ""
    with pytest.raises(FixError, match="missing 35"):
        parse(soh("8=FIX.4.2|9=5|10=000|"), verify=False)


def test_data_field_may_hold_soh() -> None:
    enc = FixEncoder("FIX.4.4", "C", "V")
    raw = b"sig\x01with=soh\x01"
    wire = enc.encode("A", 1, [(98, 0), (108, 30), (95, len(raw)), (96, raw)], sending_time=TS)
    msg = parse(wire)
    assert msg.get_bytes(96) == raw
    assert msg.get_int(95) == len(raw)
    assert [t for t, _ in msg.fields()] == [8, 9, 35, 49, 56, 34, 52, 98, 108, 95, 96, 10]
    with pytest.raises(FixError, match="data length mismatch"):
        enc.encode("A", 1, [(95, 3), (96, raw)])
    with pytest.raises(FixError, match="data field without length"):
        enc.encode("A", 1, [(96, raw)])
    with pytest.raises(FixError, match="value contains SOH") as info:
        enc.encode("D", 1, [(58, "a\x01b")])
    assert info.value.tag == 58
    with pytest.raises(FixError, match="empty value"):
        enc.encode("D", 1, [(58, "")])


def test_encoder_header_order_and_poss_dup() -> None:
    enc = FixEncoder("FIX.4.4", "CLIENT", "VENUE", header=[(50, "DESK"), (57, "ROUTE")])
    assert (enc.begin_string, enc.sender_comp_id, enc.target_comp_id) == (
        "FIX.4.4",
        "CLIENT",
        "VENUE",
    )
    wire = enc.encode(
        "D",
        42,
        [(11, "id-1"), (54, "1")],
        sending_time=TS,
        poss_dup=True,
        orig_sending_time="20240102-03:00:00.000",
    )
    msg = parse(wire)
    tags = [t for t, _ in msg.fields()]
    assert tags == [8, 9, 35, 49, 56, 34, 43, 122, 52, 50, 57, 11, 54, 10]
    assert msg.get(43) == "Y"
    assert msg.get(122) == "20240102-03:00:00.000"
    assert msg.seq_num == 42
    default_time = parse(enc.encode("0", 1, [])).get(52)
    assert default_time is not None
    assert abs(parse_utc_timestamp(default_time) - parse_utc_timestamp(utc_timestamp())) < 10**11


def test_encode_message_matches_published_checksum() -> None:
    fields: list[tuple[int, str | int]] = [
        (35, "0"),
        (34, 3),
        (49, "TW"),
        (52, "20000426-12:05:06"),
        (56, "ISLD"),
    ]
    assert encode_message("FIX.4.2", fields) == QF_GOOD
    with pytest.raises(FixError, match="missing 35"):
        encode_message("FIX.4.2", [(34, 3), (35, "0")])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("101.50"), "101.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("-0.00012"), "-0.00012"),
        (Decimal("12345678901234567890.123456789"), "12345678901234567890.123456789"),
        (7, "7"),
        (-3, "-3"),
        (2**70, str(2**70)),
        (True, "Y"),
        (False, "N"),
        ("abc", "abc"),
        (b"xyz", "xyz"),
    ],
)
def test_value_rendering(value: str | bytes | int | Decimal, text: str) -> None:
    wire = encode_message("FIX.4.4", [(35, "D"), (44, value)])
    assert parse(wire).get(44) == text


def test_refused_values() -> None:
    with pytest.raises(TypeError, match="floats"):
        encode_message("FIX.4.4", [(35, "D"), (44, 1.5)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="NaN"):
        encode_message("FIX.4.4", [(35, "D"), (44, Decimal("NaN"))])
    with pytest.raises(FixError, match="invalid tag"):
        encode_message("FIX.4.4", [(35, "D"), (0, "x")])


def test_get_int_and_text_decoding() -> None:
    msg = parse(encode_message("FIX.4.4", [(35, "D"), (38, "12x"), (58, b"caf\xe9"), (58, "2")]))
    with pytest.raises(FixError) as info:
        msg.get_int(38)
    assert (info.value.reason, info.value.tag, info.value.reject_reason) == (
        "incorrect data format",
        38,
        6,
    )
    assert msg.get(58) == "café"  # latin-1 fallback
    assert msg.get_all(58) == ["café", "2"]
    assert msg.get_int(999) is None


def test_group_without_dictionary() -> None:
    msg = parse(
        encode_message(
            "FIX.4.4",
            [
                (35, "D"),
                (453, 2),
                (448, "A"),
                (447, "D"),
                (452, 1),
                (448, "B"),
                (447, "D"),
                (452, 3),
                (54, 1),
            ],
        )
    )
    assert msg.group(453, 448) == [
        [(448, b"A"), (447, b"D"), (452, b"1")],
        [(448, b"B"), (447, b"D"), (452, b"3")],
    ]
    assert msg.group(999, 1) == []


def test_framer_published_bad_then_good() -> None:
    framer = FixFramer()
    items = framer.feed(QF_BAD_LEN + QF_GOOD)
    assert len(items) == 2
    assert isinstance(items[0], FixError)
    assert items[0].reason == "body length mismatch"
    assert isinstance(items[1], FixMessage)
    assert items[1].raw == QF_GOOD
    assert framer.buffered == 0


def test_framer_byte_by_byte_with_garbage() -> None:
    stream = b"\r\nnoise" + QF_GOOD + b"xx" + WIKI_ER + QF_GOOD[:30]
    framer = FixFramer()
    items: list[FixMessage | FixError] = []
    for i in range(len(stream)):
        items += framer.feed(stream[i : i + 1])
    kinds = [i.reason if isinstance(i, FixError) else i.msg_type for i in items]
    assert kinds == ["garbage before 8=FIX", "0", "garbage before 8=FIX", "8"]
    assert framer.buffered == 30
    items = framer.feed(QF_GOOD[30:])
    assert [m.raw for m in items if isinstance(m, FixMessage)] == [QF_GOOD]


def test_framer_garbled_checksum_and_oversized() -> None:
    framer = FixFramer(max_message_size=100)
    bad = QF_GOOD.replace(b"10=218", b"10=000")
    items = framer.feed(bad + WIKI_ER + QF_GOOD)
    reasons = [i.reason if isinstance(i, FixError) else i.msg_type for i in items]
    # The ER (203 bytes) is over the limit: reported, then the stream resumes.
    assert reasons == ["bad checksum", "message too large", "0"]
    assert isinstance(items[0], FixError)
    assert items[0].seq_num == 3


def test_timestamps() -> None:
    ns = 956_750_706 * 10**9 + 123_456_789
    assert utc_timestamp(ns) == "20000426-12:05:06.123"
    assert utc_timestamp(ns, "s") == "20000426-12:05:06"
    assert utc_timestamp(ns, "us") == "20000426-12:05:06.123456"
    assert utc_timestamp(ns, "ns") == "20000426-12:05:06.123456789"
    assert parse_utc_timestamp("20000426-12:05:06.123456789") == ns
    assert parse_utc_timestamp("20000426-12:05:06") == 956_750_706 * 10**9
    for bad in ("20000230-12:05:06", "2000-04-26T12:05:06", "20000426-12:05:06.1", ""):
        with pytest.raises(FixError, match="bad timestamp"):
            parse_utc_timestamp(bad)
    with pytest.raises(ValueError, match="precision"):
        utc_timestamp(ns, "m")  # type: ignore[arg-type]


def test_spec_dir_is_shipped() -> None:
    names = {p.name for p in SPEC_DIR.iterdir()}
    assert {"FIX42.xml", "FIX44.xml", "FIXT11.xml", "FIX50SP2.xml", "LICENSE-QuickFIX"} <= names
    assert SOH == b"\x01"


# Raw-data length and data tags: their values follow other rules (tested above).
_DATA_TAGS = {212, 213, 445, 446, 618, 619, 621, 622, 1184, 1185, 1277, 1278, 1280, 1281}
_DATA_TAGS |= set(range(348, 366)) | {1282, 1283, 1397, 1398, 1401, 1402, 1403, 1404, 1468, 1469}
_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + " .-_:/+=é", min_size=1, max_size=20
)
_VALUE = st.one_of(
    _TEXT,
    st.integers(min_value=-(2**62), max_value=2**62),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9
    ),
)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=100, max_value=9999).filter(lambda t: t not in _DATA_TAGS), _VALUE
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=2**40),
)
def test_encode_parse_round_trip(fields: list[tuple[int, str | int | Decimal]], seq: int) -> None:
    enc = FixEncoder("FIX.4.4", "SENDER", "TARGET")
    wire = enc.encode("D", seq, fields, sending_time=TS)
    msg = parse(wire)
    assert msg.seq_num == seq
    assert msg.msg_type == "D"
    body = msg.fields()[7:-1]
    expected = [
        (t, (format(v, "f") if isinstance(v, Decimal) else str(v)).encode()) for t, v in fields
    ]
    assert body == expected
    # And the framer, fed in two pieces, yields the same message.
    cut = len(wire) // 3
    framer = FixFramer()
    out = framer.feed(wire[:cut]) + framer.feed(wire[cut:])
    assert [m.raw for m in out if isinstance(m, FixMessage)] == [wire]
