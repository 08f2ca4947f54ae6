"""The FIX codec against simplefix (the common pure-Python FIX codec) and QuickFIX's Python
binding (C++ through SWIG), same message, same work:

- `fix-parse-execution-report`: wire bytes of a FIX 4.4 ExecutionReport (a fill, 27 fields) in →
  a message object → the same 6 fields read (ClOrdID, ExecID, OrdStatus, ExecType, CumQty,
  AvgPx). venuegate's `parse` also verifies BodyLength and CheckSum and returns text; simplefix
  checks neither and returns bytes; QuickFIX (`Message.setString`, validation off, no data
  dictionary) takes `str`, so its figure includes decoding the bytes.
- `fix-build-new-order-single`: the same NewOrderSingle fields (header included) → wire bytes
  with BodyLength and CheckSum. venuegate's `FixEncoder` is the per-session encoder the session
  layer uses (BeginString and comp ids prebuilt once); simplefix and QuickFIX build a message per
  order (QuickFIX writes fields in tag order, and its `toString` gives `str`, encoded to bytes).

Both sides are checked to produce/consume equivalent messages before timing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import quickfix
import simplefix

from venuegate.fix.codec import FixEncoder, encode_message, parse

TS = "20240102-03:04:05.678"
ER_FIELDS: list[tuple[int, str]] = [
    (35, "8"),
    (49, "VENUE"),
    (56, "CLIENT"),
    (34, "1042"),
    (52, TS),
    (37, "OID-9876543210"),
    (11, "vg-1700000000-000001"),
    (17, "EXEC-1234567890"),
    (150, "F"),
    (39, "2"),
    (1, "ACC-1"),
    (55, "BTC-USD"),
    (54, "1"),
    (38, "0.50000000"),
    (40, "2"),
    (44, "42000.10"),
    (59, "1"),
    (32, "0.50000000"),
    (31, "42000.10"),
    (151, "0"),
    (14, "0.50000000"),
    (6, "42000.10"),
    (60, TS),
    (12, "0.21"),
    (13, "3"),
    (479, "USD"),
    (58, "filled"),
]
ER = encode_message("FIX.4.4", ER_FIELDS)
READ = (11, 17, 39, 150, 14, 6)

NOS_BODY: list[tuple[int, str | Decimal]] = [
    (11, "vg-1700000000-000001"),
    (1, "ACC-1"),
    (55, "BTC-USD"),
    (54, "1"),
    (60, TS),
    (38, Decimal("0.50000000")),
    (40, "2"),
    (44, Decimal("42000.10")),
    (59, "1"),
]


@pytest.mark.benchmark(group="fix-parse-execution-report")
def test_venuegate_parse(benchmark: Any) -> None:
    def run() -> list[str | None]:
        msg = parse(ER)
        return [msg.get(t) for t in READ]

    out = benchmark(run)
    assert out == ["vg-1700000000-000001", "EXEC-1234567890", "2", "F", "0.50000000", "42000.10"]


@pytest.mark.benchmark(group="fix-parse-execution-report")
def test_simplefix_parse(benchmark: Any) -> None:
    def run() -> list[bytes | None]:
        parser = simplefix.FixParser()
        parser.append_buffer(ER)
        msg = parser.get_message()
        return [msg.get(t) for t in READ]

    out = benchmark(run)
    assert out == [
        b"vg-1700000000-000001",
        b"EXEC-1234567890",
        b"2",
        b"F",
        b"0.50000000",
        b"42000.10",
    ]


@pytest.mark.benchmark(group="fix-build-new-order-single")
def test_venuegate_build(benchmark: Any) -> None:
    enc = FixEncoder("FIX.4.4", "CLIENT", "VENUE")
    wire = benchmark(lambda: enc.encode("D", 1043, NOS_BODY, sending_time=TS))
    assert wire == _simplefix_nos()


def _simplefix_nos() -> bytes:
    msg = simplefix.FixMessage()
    msg.append_pair(8, "FIX.4.4", header=True)
    msg.append_pair(35, "D", header=True)
    msg.append_pair(49, "CLIENT", header=True)
    msg.append_pair(56, "VENUE", header=True)
    msg.append_pair(34, 1043, header=True)
    msg.append_pair(52, TS, header=True)
    for tag, value in NOS_BODY:
        msg.append_pair(tag, value)
    wire: bytes = msg.encode()
    return wire


@pytest.mark.benchmark(group="fix-build-new-order-single")
def test_simplefix_build(benchmark: Any) -> None:
    wire = benchmark(_simplefix_nos)
    assert parse(wire).get(44) == "42000.10"


@pytest.mark.benchmark(group="fix-parse-execution-report")
def test_quickfix_parse(benchmark: Any) -> None:
    def run() -> list[str]:
        msg = quickfix.Message()
        msg.setString(ER.decode(), False)
        return [msg.getField(t) for t in READ]

    out = benchmark(run)
    assert out == ["vg-1700000000-000001", "EXEC-1234567890", "2", "F", "0.50000000", "42000.10"]


def _quickfix_nos() -> bytes:
    msg = quickfix.Message()
    header = msg.getHeader()
    header.setField(8, "FIX.4.4")
    header.setField(35, "D")
    header.setField(49, "CLIENT")
    header.setField(56, "VENUE")
    header.setField(34, "1043")
    header.setField(52, TS)
    for tag, value in NOS_BODY:
        msg.setField(tag, str(value))
    wire: bytes = msg.toString().encode()
    return wire


@pytest.mark.benchmark(group="fix-build-new-order-single")
def test_quickfix_build(benchmark: Any) -> None:
    wire = benchmark(_quickfix_nos)
    ours = parse(
        FixEncoder("FIX.4.4", "CLIENT", "VENUE").encode("D", 1043, NOS_BODY, sending_time=TS)
    )
    assert sorted(parse(wire).fields()[2:-1]) == sorted(ours.fields()[2:-1])
