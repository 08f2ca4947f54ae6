"""cryptofeed, a second client nobody here wrote, keeps a book from the simulator's venue feeds.

For each venue whose cryptofeed feed speaks a protocol the simulator serves, the cryptofeed
`Feed` is pointed at the simulator and driven in the test's own event loop (no `FeedHandler`):

* its WebSocket (and, for Binance, REST) endpoints are replaced on the instance;
* its symbol table is preloaded (`Symbols`), so it fetches no exchange info over REST;
* `WSAsyncConn` accepts only `wss://` addresses, so the loopback `ws://` URL is let through by a
  thin subclass that connects exactly as cryptofeed does otherwise.

The simulator is stepped until cryptofeed delivers a book, then stepped further, and the top
`DEPTH` levels of the `OrderBook` handed to the `L2_BOOK` callback must equal the simulator's
true book exactly (Decimal against Decimal).

Not covered, because cryptofeed 2.5 cannot keep these books from the venues' current formats:

* Kraken: cryptofeed speaks WS v1 (`wss://ws.kraken.com`, `{"event": "subscribe",
  "subscription": {"name": "book"}}`); the simulator serves WS v2 (`/v2`).
* HTX: cryptofeed subscribes `market.$symbol.depth.step0` (refreshed snapshots); the simulator
  serves the incremental `market.$symbol.mbp.$levels` topics.
* Coinbase Advanced Trade: cryptofeed's `level2` snapshot parser keeps asks only where
  `side == "ask"`, but the venue (and the simulator) label them `"offer"`, so cryptofeed's book
  starts with no asks (its update parser treats every non-bid as an ask, so only touched ask
  levels ever appear).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import cryptofeed.feed
import pytest
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint, WSAsyncConn
from cryptofeed.defines import L2_BOOK
from cryptofeed.exchanges import OKX, Binance, BinanceFutures, Bitfinex
from cryptofeed.symbols import Symbol, Symbols

from tests.sim.conftest import run
from venuegate.sim.md import SimServer

STEPS = 60
DEPTH = 20


class LoopbackWSConn(WSAsyncConn):
    """cryptofeed's WebSocket connection, allowed to use the simulator's plain `ws://` URL."""

    def __init__(self, address: str, conn_id: str, **kwargs: Any) -> None:
        super().__init__(address.replace("ws://", "wss://", 1), conn_id, **kwargs)
        self.address = address


@dataclass(frozen=True)
class Case:
    venue: str
    venue_symbol: str
    symbol: Symbol


CASES = [
    Case("binance", "BTCUSDT", Symbol("BTC", "USDT")),
    Case("binanceusdm", "BTCUSDT", Symbol("BTC", "USDT", type="perpetual")),
    Case("okx", "BTC-USDT", Symbol("BTC", "USDT")),
    Case("bitfinex", "tBTCUSD", Symbol("BTC", "USD")),
]


def feed(case: Case, sim: SimServer, on_book: Any) -> Any:
    """A cryptofeed feed for `case`, pointed at the simulator."""
    kw: dict[str, Any] = {
        "symbols": [case.symbol.normalized],
        "channels": [L2_BOOK],
        "callbacks": {L2_BOOK: on_book},
        "timeout": -1,
        "retries": 0,
    }
    base = sim.ws_url(case.venue, "")
    f: Any
    match case.venue:
        case "binance":
            f = Binance(**kw)
            f.websocket_endpoints = [WebsocketEndpoint(base)]
            f.rest_endpoints = [
                RestEndpoint(
                    sim.rest_url("binance"),
                    routes=Routes("", l2book="/api/v3/depth?symbol={}&limit={}"),
                )
            ]
        case "binanceusdm":
            f = BinanceFutures(open_interest_interval=3600, **kw)
            f.websocket_endpoints = [WebsocketEndpoint(base)]
            f.rest_endpoints = [
                RestEndpoint(
                    sim.rest_url("binanceusdm"),
                    routes=Routes("", l2book="/fapi/v1/depth?symbol={}&limit={}"),
                )
            ]
        case "okx":
            f = OKX(checksum_validation=True, **kw)  # CRC32 of the top 25, every push
            f.websocket_endpoints = [
                WebsocketEndpoint(
                    sim.ws_url("okx"),
                    channel_filter=("books",),
                    options={"compression": None},
                )
            ]
        case "bitfinex":
            f = Bitfinex(**kw)
            f.websocket_endpoints = [WebsocketEndpoint(sim.ws_url("bitfinex"))]
        case _:
            raise AssertionError(case.venue)
    return f


FEED_IDS = {
    "binance": Binance.id,
    "binanceusdm": BinanceFutures.id,
    "okx": OKX.id,
    "bitfinex": Bitfinex.id,
}


def levels(side: Any, best_high: bool) -> list[tuple[Decimal, Decimal]]:
    prices = sorted(side.keys(), reverse=best_high)[:DEPTH]
    return [(Decimal(p), Decimal(side[p])) for p in prices]


async def interop(case: Case) -> tuple[list[Any], list[Any], int]:
    books: list[Any] = []

    async def on_book(book: Any, receipt: float) -> None:
        books.append(book)

    async with SimServer(seed=7, heartbeat_s=0.2) as sim:
        f = feed(case, sim, on_book)
        f.start(asyncio.get_running_loop())
        try:
            await sim.wait_connections(case.venue)
            for _ in range(500):  # until cryptofeed has a book (Binance needs a diff first)
                if books:
                    break
                await sim.step(1, venue=case.venue)
                await asyncio.sleep(0.005)
            assert books, "cryptofeed delivered no book"
            await sim.step(STEPS, venue=case.venue)
            mine: list[Any] = []
            theirs: list[Any] = []
            for _ in range(400):  # until cryptofeed has read everything sent
                bids, asks = sim.book(case.venue, case.venue_symbol, DEPTH)
                mine = list(bids) + list(asks)
                book = books[-1].book
                theirs = levels(book.bids, True) + levels(book.asks, False)
                if mine == theirs:
                    break
                await asyncio.sleep(0.01)
            assert all(h.conn.is_open for h in f.connection_handlers), "cryptofeed reconnected"
            data_sent = sim.stats()["venues"][case.venue]["data_sent"]
            return mine, theirs, data_sent
        finally:
            f.stop()
            await f.shutdown()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[c.venue for c in CASES])
def test_cryptofeed_book_equals_simulator_book(
    case: Case, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cryptofeed.feed, "WSAsyncConn", LoopbackWSConn)
    monkeypatch.setattr(Symbols, "data", dict(Symbols.data))
    Symbols.set(
        FEED_IDS[case.venue],
        {case.symbol.normalized: case.venue_symbol},
        {"instrument_type": {case.symbol.normalized: case.symbol.type}, "tick_size": {}},
    )
    caplog.set_level(logging.WARNING, logger="feedhandler")
    mine, theirs, data_sent = run(interop(case))
    assert [r.getMessage() for r in caplog.records if r.name == "feedhandler"] == []
    assert len(mine) == 2 * DEPTH
    assert theirs == mine
    assert data_sent >= STEPS
