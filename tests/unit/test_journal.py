"""The order journal: native write-ahead log, typed records, recovery, export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from venuegate.auth import signer
from venuegate.errors import JournalError
from venuegate.model import OrderState, Side
from venuegate.oms.journal import (
    AmendIntentRecord,
    CancelIntentRecord,
    IntentRecord,
    Journal,
    MarkerRecord,
    OrderJournal,
    Record,
    ReportRecord,
    StateRecord,
    decode_record,
    export_orders,
    read_journal,
    read_records,
)
from venuegate.oms.types import ReportKind, VenueReport

ROOT = Path(__file__).resolve().parents[2]


def intent(n: int, cid: str | None = None) -> IntentRecord:
    return IntentRecord(
        ts_ns=1_700_000_000_000_000_000 + n,
        intent_id=n,
        client_order_id=cid or f"vg-{n:06d}",
        venue="binance",
        symbol="BTCUSDT",
        side="buy",
        type="limit",
        time_in_force="gtc",
        quantity="0.00100000",
        price="67123.45",
        post_only=False,
        reduce_only=False,
        expire_at_ms=None,
    )


def fill(cid: str, trade_id: str, qty: str = "0.0005") -> ReportRecord:
    return ReportRecord.from_report(
        VenueReport(
            venue="binance",
            client_order_id=cid,
            kind=ReportKind.FILL,
            venue_order_id="881",
            symbol="BTCUSDT",
            side=Side.BUY,
            trade_id=trade_id,
            last_qty=Decimal(qty),
            last_price=Decimal("67123.45"),
            fee=Decimal("0.0000005"),
            fee_asset="BTC",
            liquidity="maker",
            ts_ms=1_700_000_000_123,
        ),
        ts_ns=1_700_000_000_200_000_000,
    )


def state(cid: str, st: OrderState, filled: str = "0", replaces: str | None = None) -> StateRecord:
    return StateRecord(
        ts_ns=1_700_000_000_300_000_000,
        client_order_id=cid,
        state=st.value,
        venue_order_id="881",
        quantity="0.00100000",
        price="67123.45",
        filled_qty=filled,
        avg_price=None if filled == "0" else "67123.45",
        replaces=replaces,
    )


def session_records() -> list[Record]:
    """A small session: two orders placed, one filled twice (one fill reported twice), one
    amended by cancel-replace, one adopted order, markers."""
    return [
        MarkerRecord(ts_ns=1, name="session_start", data={"pid": "1"}),
        intent(1, "a"),
        state("a", OrderState.PENDING_NEW),
        intent(2, "b"),
        ReportRecord.from_report(
            VenueReport(venue="binance", client_order_id="a", kind=ReportKind.ACK), ts_ns=5
        ),
        state("a", OrderState.NEW),
        fill("a", "t1"),
        state("a", OrderState.PARTIALLY_FILLED, "0.0005"),
        fill("a", "t1"),  # duplicate delivery
        fill("a", "t2"),
        state("a", OrderState.FILLED, "0.0010"),
        AmendIntentRecord(ts_ns=9, client_order_id="b", price="67000", new_client_order_id="b2"),
        state("b2", OrderState.NEW, replaces="b"),
        state("b", OrderState.CANCELED),
        CancelIntentRecord(ts_ns=10, client_order_id="b2"),
        ReportRecord(
            ts_ns=11,
            venue="okx",
            client_order_id="adopted-1",
            kind="status",
            symbol="BTC-USDT",
            side="sell",
            state="new",
            quantity="1",
            price="70000",
            filled_qty="0",
        ),
        state("adopted-1", OrderState.NEW),
        MarkerRecord(ts_ns=12, name="reconcile_done", data={}),
    ]


def test_round_trip_every_record_type(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    records = session_records()
    with OrderJournal(path) as j:
        seqs = [j.write(r) for r in records]
        assert j.next_seq == len(records) + 1
    assert seqs == list(range(1, len(records) + 1))
    assert list(OrderJournal.replay(path)) == list(zip(seqs, records, strict=True))
    again, end, torn = read_records(path)
    assert [r for _, r in again] == records
    assert end == path.stat().st_size
    assert torn == 0


def test_report_record_converts_exactly() -> None:
    report = fill("a", "t9").to_report()
    assert report.last_qty == Decimal("0.0005")
    assert report.fee == Decimal("0.0000005")
    assert report.side is Side.BUY
    assert report.kind is ReportKind.FILL
    assert ReportRecord.from_report(report, ts_ns=1_700_000_000_200_000_000) == fill("a", "t9")


def test_floats_and_foreign_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="decimal string"):
        StateRecord(
            ts_ns=1,
            client_order_id="a",
            state="new",
            venue_order_id=None,
            quantity=0.1,  # type: ignore[arg-type]
            price=None,
            filled_qty="0",
        )
    with pytest.raises(TypeError, match="decimal string"):
        AmendIntentRecord(ts_ns=1, client_order_id="a", price=Decimal("1"))  # type: ignore[arg-type]
    with OrderJournal(tmp_path / "j.wal") as j, pytest.raises(TypeError, match="not a journal"):
        j.write({"a": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("fsync", ["none", "group", "always"])
def test_every_fsync_mode_round_trips(tmp_path: Path, fsync: str) -> None:
    path = tmp_path / "j.wal"
    j = OrderJournal(path, fsync=fsync, group_interval_ms=1)  # type: ignore[arg-type]
    assert j.fsync == fsync
    for n in range(1, 51):
        assert j.write(intent(n)) == n
    assert j.write_many([intent(51), intent(52)]) == 52
    if fsync == "always":
        assert j.sync_count == 51  # once per append and once per batch
    j.sync()
    j.close()
    j.close()  # idempotent
    assert j.closed
    with pytest.raises(JournalError, match="closed"):
        j.write(intent(53))
    assert [r for _, r in OrderJournal.replay(path)] == [intent(n) for n in range(1, 53)]


def test_group_commit_thread_syncs(tmp_path: Path) -> None:
    with OrderJournal(tmp_path / "j.wal", fsync="group", group_interval_ms=1) as j:
        assert j.sync_count == 0
        j.write(intent(1))
        deadline = time.monotonic() + 30
        while j.sync_count == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert j.sync_count >= 1
        # Without writes the thread does not sync again.
        synced = j.sync_count
        time.sleep(0.02)
        assert j.sync_count == synced


def test_none_mode_never_syncs_unless_asked(tmp_path: Path) -> None:
    with OrderJournal(tmp_path / "j.wal") as j:
        for n in range(1, 20):
            j.write(intent(n))
        assert j.sync_count == 0
        j.sync()
        assert j.sync_count == 1


def test_torn_tail_at_every_offset_is_dropped_and_appending_resumes(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    with OrderJournal(path) as j:
        for n in range(1, 4):
            j.write(intent(n))
    _, last_start, _ = read_journal(str(path))
    with OrderJournal(path) as j:
        j.write(intent(4))
    full = path.read_bytes()
    assert len(full) > last_start
    for cut in range(last_start, len(full)):
        path.write_bytes(full[:cut])
        records, end, torn = read_journal(str(path))
        assert (len(records), end, torn) == (3, last_start, cut - last_start)
        assert path.stat().st_size == cut  # the reader never truncates
        with OrderJournal(path) as j:
            assert j.recovered_torn_bytes == cut - last_start
            assert j.next_seq == 4
            assert j.write(intent(4)) == 4
        assert path.read_bytes() == full


def test_mid_file_corruption_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    with OrderJournal(path) as j:
        for n in range(1, 6):
            j.write(intent(n))
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF  # inside the first record's payload
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="corrupt at byte 16"):
        OrderJournal(path)
    with pytest.raises(JournalError, match="corrupt"):
        list(OrderJournal.replay(path))
    assert path.read_bytes() == bytes(data)  # nothing dropped


def test_foreign_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("dear diary, today I did not write a journal\n")
    with pytest.raises(JournalError, match="not a venuegate journal"):
        OrderJournal(path)
    with pytest.raises(JournalError, match="not a venuegate journal"):
        read_journal(str(path))
    assert path.read_text().startswith("dear diary")


def test_unopenable_path_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="open failed"):
        OrderJournal(tmp_path / "missing-dir" / "j.wal")
    with pytest.raises(ValueError, match="fsync must be"):
        Journal(str(tmp_path / "j.wal"), "sometimes")  # type: ignore[arg-type]


def test_reader_tails_a_file_being_appended(tmp_path: Path) -> None:
    path = str(tmp_path / "j.wal")
    with Journal(path) as j:
        j.append(1, b"one")
        first, end, _ = read_journal(path)
        assert first == [(1, 1, b"one")]
        assert j.append_batch([(2, b"two"), (3, b"three")]) == 3
        more, end2, torn = read_journal(path, end)
        assert more == [(2, 2, b"two"), (3, 3, b"three")]
        assert (end2, torn) == (j.end_offset, 0)
        assert read_journal(path, end2) == ([], end2, 0)
    with pytest.raises(JournalError, match="inside the 16-byte header"):
        read_journal(path, 3)


_CHILD = """
import os, signal, sys
from venuegate.oms.journal import OrderJournal
sys.path.insert(0, {tests!r})
from tests.unit.test_journal import intent
j = OrderJournal({path!r}, fsync="none")
for n in range(1, {n} + 1):
    j.write(intent(n))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_after_write_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    n = 2000
    code = _CHILD.format(tests=str(ROOT), path=str(path), n=n)
    argv = [sys.executable, "-c", code]
    proc = subprocess.run(argv, check=False, timeout=60, cwd=ROOT)  # noqa: S603
    assert proc.returncode == -signal.SIGKILL
    records = [r for _, r in OrderJournal.replay(path)]
    assert records == [intent(k) for k in range(1, n + 1)]
    with OrderJournal(path) as j:
        assert j.recovered_torn_bytes == 0
        assert j.write(intent(n + 1)) == n + 1


def test_no_secret_reaches_the_journal(tmp_path: Path) -> None:
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    s = signer("binance", api_key=api_key, secret=secret)
    path = tmp_path / "j.wal"
    with OrderJournal(path) as j:
        j.write(MarkerRecord(ts_ns=1, name="session_start", data={"signer": repr(s)}))
        for n, record in enumerate(session_records(), start=1):
            req = s.sign("POST", "/api/v3/order", {"symbol": "BTCUSDT", "newClientOrderId": n})
            j.write(record)
            j.write(MarkerRecord(ts_ns=n, name="sent", data={"path": req.path[:20]}))
    blob = path.read_bytes()
    for needle in (secret, secret[:12], secret[20:32], secret[-12:]):
        assert needle.encode() not in blob
        assert needle.encode("utf-16-le") not in blob
    assert bytes.fromhex(secret.encode().hex()) not in blob


def test_export_orders_format(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    with OrderJournal(path) as j:
        j.write_many(session_records())
    out = tmp_path / "orders.jsonl"
    assert export_orders(path, out) == 4
    lines = out.read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    keys = [
        "client_order_id",
        "venue_order_id",
        "state",
        "filled_qty",
        "fills",
        "venue",
        "symbol",
        "side",
        "intent_id",
        "replaces",
    ]
    assert all(list(r) == keys for r in rows)
    assert rows == [
        {
            "client_order_id": "a",
            "venue_order_id": "881",
            "state": "filled",
            "filled_qty": "0.0010",
            "fills": ["t1", "t2"],
            "venue": "binance",
            "symbol": "BTCUSDT",
            "side": "buy",
            "intent_id": 1,
            "replaces": None,
        },
        {
            "client_order_id": "b",
            "venue_order_id": "881",
            "state": "canceled",
            "filled_qty": "0",
            "fills": [],
            "venue": "binance",
            "symbol": "BTCUSDT",
            "side": "buy",
            "intent_id": 2,
            "replaces": None,
        },
        {
            "client_order_id": "b2",
            "venue_order_id": "881",
            "state": "new",
            "filled_qty": "0",
            "fills": [],
            "venue": "binance",
            "symbol": "BTCUSDT",
            "side": "buy",
            "intent_id": 2,
            "replaces": "b",
        },
        {
            "client_order_id": "adopted-1",
            "venue_order_id": "881",
            "state": "new",
            "filled_qty": "0",
            "fills": [],
            "venue": "okx",
            "symbol": "BTC-USDT",
            "side": "sell",
            "intent_id": None,
            "replaces": None,
        },
    ]


def test_unknown_record_kind_is_a_journal_error(tmp_path: Path) -> None:
    path = str(tmp_path / "j.wal")
    with Journal(path) as j:
        j.append(200, b"\x90")
    with pytest.raises(JournalError, match="unknown journal record kind 200"):
        list(OrderJournal.replay(path))
    os.remove(path)
    with Journal(path) as j:
        j.append(IntentRecord.KIND, b"\xc1")
    with pytest.raises(JournalError, match="does not decode"):
        read_records(path)


def test_state_record_venue_filled_round_trips_and_older_records_still_decode() -> None:
    rec = StateRecord(1, "c1", "filled", "v1", "0.15", "100", "0", None, None, "0.15")
    back = decode_record(StateRecord.KIND, msgspec.msgpack.encode(rec))
    assert back == rec
    # A record written before the field existed (nine fields) decodes with it unset.
    old = msgspec.msgpack.encode([1, "c1", "filled", "v1", "0.15", "100", "0", None, None])
    older = decode_record(StateRecord.KIND, old)
    assert isinstance(older, StateRecord)
    assert older.venue_filled is None
    with pytest.raises(TypeError, match="venue_filled"):
        StateRecord(1, "c1", "filled", "v1", "0.15", "100", "0", venue_filled=0.15)  # type: ignore[arg-type]
