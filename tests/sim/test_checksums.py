"""The simulator's checksums reproduce every published example (tests/fixtures/feeds/SOURCES.md).

The books are rebuilt with the simulator's own `L2Book` and number rendering, so these tests
cover the whole path the simulator uses to write a checksum, not only the CRC step.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.sim.conftest import fixture_json
from venuegate.sim.md.book import L2Book
from venuegate.sim.md.checksums import (
    bitfinex_checksum,
    kraken_checksum,
    okx_checksum,
    signed32,
)
from venuegate.sim.md.numbers import fixed, js_number, plain


def test_kraken_guide_example_with_string_levels() -> None:
    data = fixture_json("kraken/checksum_example.json")["data"][0]
    bids = [(lv["price"], lv["qty"]) for lv in data["bids"]]
    asks = [(lv["price"], lv["qty"]) for lv in data["asks"]]
    assert kraken_checksum(bids, asks, None, None) == 3310070434 == data["checksum"]


def test_kraken_channel_example_snapshot_and_update_at_instrument_precision() -> None:
    snap = fixture_json("kraken/book_snapshot.json", raw_numbers=True)["data"][0]
    book = L2Book()
    for side, key in (("bid", "bids"), ("ask", "asks")):
        for lv in snap[key]:
            # The simulator writes Kraken numbers with `plain`: the doc text round-trips.
            assert plain(Decimal(lv["price"])) == lv["price"]
            assert plain(Decimal(lv["qty"])) == lv["qty"]
            book.apply(side, Decimal(lv["price"]), Decimal(lv["qty"]))
    got = kraken_checksum(book.levels("bid"), book.levels("ask"), 4, 8)
    assert got == 2439117997 == int(snap["checksum"])
    upd = fixture_json("kraken/book_update.json", raw_numbers=True)["data"][0]
    for lv in upd["bids"]:
        book.apply("bid", Decimal(lv["price"]), Decimal(lv["qty"]))
    got = kraken_checksum(book.levels("bid"), book.levels("ask"), 4, 8)
    assert got == 2114181697 == int(upd["checksum"])


def test_kraken_rendering_numbers_as_written_does_not_reproduce_the_doc_value() -> None:
    snap = fixture_json("kraken/book_snapshot.json", raw_numbers=True)["data"][0]
    bids = [(lv["price"], lv["qty"]) for lv in snap["bids"]]
    asks = [(lv["price"], lv["qty"]) for lv in snap["asks"]]
    assert kraken_checksum(bids, asks, None, None) != 2439117997


@pytest.mark.parametrize("case", fixture_json("okx/checksum_example.json")["cases"])
def test_okx_published_checksums(case: dict[str, Any]) -> None:
    bids = [(lv[0], lv[1]) for lv in case["book"]["bids"]]
    asks = [(lv[0], lv[1]) for lv in case["book"]["asks"]]
    for price, size in bids + asks:
        assert plain(Decimal(price)) == price
        assert plain(Decimal(size)) == size
    assert okx_checksum(bids, asks) == case["expected_checksum"]


def test_okx_checksum_is_signed() -> None:
    assert okx_checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) < 0


def _bitfinex_tokens(text: str) -> Any:
    return json.loads(text, parse_float=str, parse_int=str)


@pytest.mark.parametrize("case", fixture_json("bitfinex/checksum_example.json")["cases"])
def test_bitfinex_published_checksums(case: dict[str, Any], feeds_dir: Any) -> None:
    snapshot = _bitfinex_tokens((feeds_dir / "bitfinex" / case["snapshot_file"]).read_text())
    book = L2Book()

    def apply(price: str, count: str, amount: str) -> None:
        # The simulator writes Bitfinex numbers with `js_number`: the SDK's text round-trips.
        assert js_number(Decimal(price)) == price
        assert js_number(Decimal(amount)) == amount
        side = "bid" if Decimal(amount) > 0 else "ask"
        size = Decimal(0) if count == "0" else abs(Decimal(amount))
        book.apply(side, Decimal(price), size)

    for level in snapshot[1]:
        apply(*level)
    for update in case["updates_raw"]:
        apply(*_bitfinex_tokens(update)[1])
    bids = [(js_number(p), js_number(s)) for p, s in book.levels("bid", 25)]
    asks = [(js_number(p), js_number(-s)) for p, s in book.levels("ask", 25)]
    assert bitfinex_checksum(bids, asks) == case["expected_checksum"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("7E-7", "7e-7"),
        ("6.6E-7", "6.6e-7"),
        ("0.000001", "0.000001"),
        ("0.00000121", "0.00000121"),
        ("-312043.19", "-312043.19"),
        ("260000", "260000"),
        ("1E+21", "1e+21"),
        ("1E+20", "100000000000000000000"),
        ("0", "0"),
    ],
)
def test_js_number_matches_javascript(value: str, text: str) -> None:
    assert js_number(Decimal(value)) == text


def test_plain_and_fixed() -> None:
    assert plain(Decimal("8477.00")) == "8477"
    assert plain(Decimal("1E+2")) == "100"
    assert plain(Decimal("1E-7")) == "0.0000001"
    assert fixed(Decimal("4.000002"), 8) == "4.00000200"
    with pytest.raises(ValueError, match="does not fit"):
        fixed(Decimal("0.123"), 2)


def test_signed32() -> None:
    assert signed32(2413953002) == -1881014294
    assert signed32(831078360) == 831078360
