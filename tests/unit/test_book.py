"""venuegate.book.OrderBook (engine/src/book.rs): the contract, exactness, and a reference model."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venuegate.book import OrderBook
from venuegate.errors import BookError
from venuegate.fixed import Fixed

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def test_contract() -> None:
    b = OrderBook(price_precision=1, size_precision=8)
    b.apply_snapshot(
        bids=[("45283.5", "0.10000000"), (Decimal("45283.4"), "1.5")],
        asks=[("45285.1", Decimal("2")), (Fixed("45290"), b"0.5")],
    )
    assert b.best_bid() == (Decimal("45283.5"), Decimal("0.1"))
    assert str(b.best_bid()[0]) == "45283.5"  # type: ignore[index]
    assert str(b.best_bid()[1]) == "0.10000000"  # type: ignore[index]
    assert b.best_ask() == (Decimal("45285.1"), Decimal(2))
    b.apply_deltas(bids=[("45283.5", "0")], asks=[("45284.0", "1")])
    bids, asks = b.top(5)
    assert bids == [(Decimal("45283.4"), Decimal("1.5"))]
    assert [p for p, _ in asks] == [Decimal("45284.0"), Decimal("45285.1"), Decimal("45290.0")]
    assert b.depth() == (1, 3)
    assert b.top_of_book() == (452834, 150000000, 452840, 100000000)
    assert not b.is_crossed()
    b.apply_deltas(bids=[("45300", "1")], asks=[])
    assert b.is_crossed()
    b.clear()
    assert b.best_bid() is None
    assert b.best_ask() is None


def test_bad_levels_raise_and_change_nothing() -> None:
    b = OrderBook(2, 4)
    b.apply_snapshot(bids=[("1.00", "1")], asks=[("2.00", "1")])
    for bids in ([("1.005", "1")], [("x", "1")], [("1.01", "-1")], [("1.01", "0.00001")]):
        with pytest.raises(BookError):
            b.apply_deltas(bids=[("1.01", "2"), *bids], asks=[])
        assert b.best_bid() == (Decimal("1.00"), Decimal(1))
    with pytest.raises(TypeError, match="float"):
        b.apply_deltas(bids=[(1.5, "1")], asks=[])  # type: ignore[list-item]


def test_depth_limit_and_packed_depth() -> None:
    b = OrderBook(0, 0, max_depth=2)
    b.apply_snapshot(
        bids=[(str(p), "1") for p in range(1, 6)], asks=[(str(p), "2") for p in range(10, 15)]
    )
    assert b.depth() == (2, 2)
    packed = b.depth_packed(3)
    rows = [
        int.from_bytes(packed[i : i + 8], "little", signed=True) for i in range(0, len(packed), 8)
    ]
    assert rows == [5, 1, 10, 2, 4, 1, 11, 2, 0, 0, 0, 0]


def test_documented_checksums() -> None:
    # OKX v5 docs "Calculate Checksum" examples (values from the OKEx v3 docs, same strings).
    okx = json.loads((FIXTURES / "okx" / "checksum_example.json").read_text())
    for case in okx["cases"]:
        b = OrderBook(1, 0)
        b.apply_snapshot(
            bids=[(p, s) for p, s, *_ in case["book"]["bids"]],
            asks=[(p, s) for p, s, *_ in case["book"]["asks"]],
        )
        assert b.checksum("okx") == case["expected_checksum"]
        expected_text = case["check_string"].encode()
        assert zlib.crc32(expected_text) == b.checksum("okx") & 0xFFFFFFFF
    # Kraken "Book checksum" guide example.
    k = json.loads((FIXTURES / "kraken" / "checksum_example.json").read_text())["data"][0]
    b = OrderBook(1, 8, max_depth=10)
    b.apply_snapshot(
        bids=[(lv["price"], lv["qty"]) for lv in k["bids"]],
        asks=[(lv["price"], lv["qty"]) for lv in k["asks"]],
    )
    assert b.checksum("kraken") == k["checksum"] == 3310070434
    with pytest.raises(ValueError, match="no book checksum"):
        b.checksum("binance")  # type: ignore[arg-type]


LEVELS = st.lists(st.tuples(st.booleans(), st.integers(1, 80), st.integers(0, 5)), max_size=200)


@given(LEVELS)
def test_matches_a_reference_model(ops: list[tuple[bool, int, int]]) -> None:
    b = OrderBook(1, 0)
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for is_bid, tick, size in ops:
        price = Decimal(tick).scaleb(-1)
        level = [(str(price), str(size))]
        if is_bid:
            b.apply_deltas(bids=level, asks=[])
            model = bids
        else:
            b.apply_deltas(bids=[], asks=level)
            model = asks
        if size:
            model[price] = Decimal(size)
        else:
            model.pop(price, None)
    got_bids, got_asks = b.top(1000)
    assert got_bids == sorted(bids.items(), reverse=True)
    assert got_asks == sorted(asks.items())
