"""Binance 20-level depth update, bytes in → book updated → best bid/ask read, per message.

- venuegate: `book_feed(...).apply(msg)` (native decode, sequence check, fixed-point book) then
  `book.top_of_book()`;
- msgspec + bmoscon `order-book` (C) with Decimal prices: the fastest Python stack in BASELINE.md;
- msgspec + `sortedcontainers.SortedDict` with Decimal;
- stdlib json + SortedDict (the common stack).

All four apply the same messages to a book seeded with the same snapshot and read the top of book.
The WebSocket framing is benchmarked separately (test_ws_bench.py) and the fused socket→book path
arrives with the native transport.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from order_book import OrderBook as CBook  # bmoscon's C order book
from sortedcontainers import SortedDict

from benches._depth import snapshot, updates
from venuegate.feeds import FeedStatus, book_feed

MESSAGES = updates(20_000)
SNAPSHOT = snapshot()


class Depth(msgspec.Struct):
    U: int
    u: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


DECODER = msgspec.json.Decoder(Depth)


def _cycle(
    step: Callable[[bytes], object],
    reset: Callable[[], None],
    items: list[bytes] | None = None,
) -> Callable[[], object]:
    """Steps through `items` (default: the messages), resetting the book when they run out."""
    seq = MESSAGES if items is None else items
    state = {"i": 0}

    def run() -> object:
        i = state["i"]
        if i == len(seq):
            reset()
            i = 0
        state["i"] = i + 1
        return step(seq[i])

    return run


@pytest.mark.benchmark(group="binance-depth-20")
def test_venuegate(benchmark: Any) -> None:
    feed = book_feed("binance", "BTCUSDT", price_precision=2, size_precision=8)
    book = feed.book

    def reset() -> None:
        feed.invalidate("benchmark restart")
        feed.apply_snapshot(SNAPSHOT)

    def step(msg: bytes) -> object:
        feed.apply(msg)
        return book.top_of_book()

    reset()
    benchmark(_cycle(step, reset))
    assert feed.stats()["applied"] > 1000
    assert feed.apply(MESSAGES[0]) is FeedStatus.SKIPPED  # old by now: sequence checked


def _python_book(
    book_cls: Callable[[], Any], decode: Callable[[bytes], tuple[list[Any], list[Any]]]
) -> Callable[[], object]:
    snap = json.loads(SNAPSHOT)
    bids: Any = None
    asks: Any = None

    def reset() -> None:
        nonlocal bids, asks
        bids, asks = book_cls()
        for p, s in snap["bids"]:
            bids[Decimal(p)] = Decimal(s)
        for p, s in snap["asks"]:
            asks[Decimal(p)] = Decimal(s)

    def step(msg: bytes) -> object:
        b, a = decode(msg)
        for levels, side in ((b, bids), (a, asks)):
            for p, s in levels:
                price = Decimal(p)
                size = Decimal(s)
                if size:
                    side[price] = size
                elif price in side:
                    del side[price]
        return bids.peekitem(-1), asks.peekitem(0)

    reset()
    return step, reset


def _sorted_dicts() -> tuple[SortedDict, SortedDict]:
    return SortedDict(), SortedDict()


def _msgspec(msg: bytes) -> tuple[list[Any], list[Any]]:
    d = DECODER.decode(msg)
    return d.b, d.a


def _json(msg: bytes) -> tuple[list[Any], list[Any]]:
    d = json.loads(msg)
    return d["b"], d["a"]


@pytest.mark.benchmark(group="binance-depth-20")
def test_msgspec_sorteddict(benchmark: Any) -> None:
    top = benchmark(_cycle(*_python_book(_sorted_dicts, _msgspec)))
    assert top is not None


@pytest.mark.benchmark(group="binance-depth-20")
def test_json_sorteddict(benchmark: Any) -> None:
    top = benchmark(_cycle(*_python_book(_sorted_dicts, _json)))
    assert top is not None


@pytest.mark.benchmark(group="binance-depth-20")
def test_msgspec_bmoscon(benchmark: Any) -> None:
    snap = json.loads(SNAPSHOT)
    ob = CBook()

    def reset() -> None:
        nonlocal ob
        ob = CBook()
        for p, s in snap["bids"]:
            ob.bids[Decimal(p)] = Decimal(s)
        for p, s in snap["asks"]:
            ob.asks[Decimal(p)] = Decimal(s)

    def step(msg: bytes) -> object:
        d = DECODER.decode(msg)
        for levels, side in ((d.b, ob.bids), (d.a, ob.asks)):
            for p, s in levels:
                price = Decimal(p)
                size = Decimal(s)
                if size:
                    side[price] = size
                elif price in side:
                    del side[price]
        return ob.bids.index(0), ob.asks.index(0)

    reset()
    top = benchmark(_cycle(step, reset))
    assert top is not None


# --- with WebSocket framing: socket-read bytes in --------------------------------------------
def _frame(payload: bytes) -> bytes:
    """A server→client text frame (unmasked, RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + payload


FRAMES = [_frame(m) for m in MESSAGES]
BURST = 16
READS = [b"".join(FRAMES[i : i + BURST]) for i in range(0, len(FRAMES) - BURST + 1, BURST)]


def _fused(reads: list[bytes]) -> Callable[[], object]:
    from venuegate.ws import WsDecoder

    feed = book_feed("binance", "BTCUSDT", price_precision=2, size_precision=8)
    book = feed.book
    decoder = WsDecoder("client")

    def reset() -> None:
        feed.invalidate("benchmark restart")
        feed.apply_snapshot(SNAPSHOT)

    def step(read: bytes) -> object:
        feed.apply_ws(decoder, read)
        return book.top_of_book()

    reset()
    return _cycle(step, reset, reads)


@pytest.mark.benchmark(group="binance-depth-20-framed")
def test_venuegate_fused(benchmark: Any) -> None:
    """One WebSocket frame per socket read: frame + decode + book + top of book."""
    top = benchmark(_fused(FRAMES))
    assert top is not None


@pytest.mark.benchmark(group="binance-depth-20-framed")
def test_venuegate_fused_burst16_per_read(benchmark: Any) -> None:
    """16 frames per socket read (a busy feed): the figure is per read; divide by 16."""
    top = benchmark(_fused(READS))
    assert top is not None


@pytest.mark.benchmark(group="binance-depth-20-framed")
def test_websockets_json_sorteddict(benchmark: Any) -> None:
    """The common stack: websockets' (sans-I/O) frame parser + json + SortedDict + Decimal."""
    from websockets.protocol import OPEN, Protocol, Side

    proto = Protocol(Side.CLIENT, state=OPEN, max_size=None)
    step, reset = _python_book(_sorted_dicts, _json)

    def framed(frame_bytes: bytes) -> object:
        proto.receive_data(frame_bytes)
        (frame,) = proto.events_received()
        return step(frame.data)

    run = _cycle(framed, reset, FRAMES)
    assert run() is not None
    benchmark(run)
