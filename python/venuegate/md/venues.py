"""What each venue's public book stream needs: URLs, subscribe messages, routing, snapshots.

Production endpoints are the defaults (each cited from the venue's docs); tests and the demo pass
the simulator's URLs instead. The decoders and sync rules live natively in `engine/src/feeds/`;
this module only describes the conversation around them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Literal, override

from venuegate.ws import inflate_gzip

type SnapshotMode = Literal["rest", "in_band", "request"]


def _between(msg: bytes, start: bytes, end: bytes = b'"') -> bytes | None:
    """The bytes after `start` up to `end` (a cheap field read for routing; no JSON parse)."""
    i = msg.find(start)
    if i < 0:
        return None
    i += len(start)
    j = msg.find(end, i)
    return msg[i:j] if j >= 0 else None


class VenueSpec(ABC):
    """The conversation with one venue's public book stream."""

    name: ClassVar[str]
    """Venue name as `venuegate.feeds.book_feed` knows it."""
    ws_url: ClassVar[str]
    """Production WebSocket base URL."""
    rest_url: ClassVar[str] = ""
    """Production REST base URL (snapshot venues)."""
    snapshot_mode: ClassVar[SnapshotMode] = "in_band"
    keepalive: ClassVar[tuple[float, str] | None] = None
    """(interval seconds, text) for venues that want an application ping."""
    max_streams_per_connection: ClassVar[int] = 100
    connects: ClassVar[tuple[float, float]] = (1.0, 10.0)
    """New connections per second and burst, per process (one IP); a venue that publishes a
    connection-rate limit gets a budget under it."""
    max_sends_per_second: ClassVar[float] = 5.0
    """Messages the client may send per second on one connection (kept below the venue's
    limit where it publishes one; 5/s where it does not)."""
    max_connection_age: ClassVar[float | None] = None
    """Seconds after which the venue drops a connection (rotate before that)."""
    fusable: ClassVar[bool] = False
    """A connection with one instrument can use the fused read path: every message goes to the
    feed (acks, pongs and heartbeats are skipped there), none needs an answer or a connection
    sequence check."""
    global_update_ids: ClassVar[bool] = False
    """Update ids are the same on every connection (Binance), so rotation can be gapless."""

    def connect_url(self, base: str, symbols: Sequence[str]) -> str:
        """The URL to open for `symbols`."""
        return base

    @abstractmethod
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        """Messages to send after connecting."""

    def resubscribe(self, symbol: str) -> list[str]:
        """Messages that make an in-band venue send `symbol`'s snapshot again."""
        return self.subscribe([symbol])

    @abstractmethod
    def route(self, msg: bytes) -> str | None:
        """The symbol a message is about, or None (acks, heartbeats, pings)."""

    def decode(self, payload: bytes, opcode: int) -> bytes:
        """The JSON bytes of a frame (HTX inflates gzip)."""
        return payload

    def reply(self, msg: bytes) -> str | None:
        """An application-level answer the message needs (HTX ping → pong)."""
        return None

    def connection_seq(self, msg: bytes) -> int | None:
        """A connection-wide sequence number, for venues that number every message."""
        return None

    def first_update_id(self, msg: bytes) -> int | None:
        """The first update id a message carries (Binance `U`), for gapless rotation."""
        del msg
        return None

    def snapshot_path(self, symbol: str, depth: int) -> str:
        """REST path (with query) of the book snapshot."""
        raise NotImplementedError

    def snapshot_request(self, symbol: str) -> str:
        """Message asking for a snapshot on the stream itself (HTX `req`)."""
        raise NotImplementedError


class Binance(VenueSpec):
    """Binance spot diff depth (`<symbol>@depth@100ms`) + `GET /api/v3/depth`.

    https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams: base
    `wss://stream.binance.com:9443`, combined streams `/stream?streams=a/b`, up to 1024 streams
    per connection, connections dropped after 24 h, server pings every 20 s (answered by the
    transport).
    """

    name = "binance"
    ws_url = "wss://stream.binance.com:9443"
    rest_url = "https://api.binance.com"
    snapshot_mode = "rest"
    max_streams_per_connection = 1024
    # "WebSocket connections have a limit of 5 incoming messages per second" (spot docs);
    # "300 connections per attempt every 5 minutes per IP".
    max_sends_per_second = 4.0
    connects = (0.9, 20.0)
    max_connection_age = 24 * 3600.0
    global_update_ids = True
    fusable = True
    stream_suffix = "@depth@100ms"

    @override
    def first_update_id(self, msg: bytes) -> int | None:
        value = _between(msg, b'"U":', b",")
        return int(value) if value and value.isdigit() else None

    @override
    def connect_url(self, base: str, symbols: Sequence[str]) -> str:
        streams = "/".join(f"{s.lower()}{self.stream_suffix}" for s in symbols)
        return f"{base.rstrip('/')}/stream?streams={streams}"

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        return []  # the URL subscribes

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        return []  # snapshots come from REST

    @override
    def route(self, msg: bytes) -> str | None:
        stream = _between(msg, b'{"stream":"', b"@")
        return stream.decode().upper() if stream else None

    @override
    def snapshot_path(self, symbol: str, depth: int) -> str:
        return f"/api/v3/depth?symbol={symbol.upper()}&limit={min(depth, 5000)}"


class BinanceUsdm(Binance):
    """Binance USD-M futures diff depth + `GET /fapi/v1/depth` (`pu` chain).

    https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
    """

    name = "binance-usdm"
    ws_url = "wss://fstream.binance.com"
    rest_url = "https://fapi.binance.com"
    max_streams_per_connection = 200
    # USD-M: "WebSocket connections have a limit of 10 incoming messages per second".
    max_sends_per_second = 8.0

    @override
    def snapshot_path(self, symbol: str, depth: int) -> str:
        return f"/fapi/v1/depth?symbol={symbol.upper()}&limit={min(depth, 1000)}"


class Okx(VenueSpec):
    """OKX v5 `books` (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel).

    `wss://ws.okx.com:8443/ws/v5/public`; the text "ping" keeps the connection (closed after 30 s
    of silence); a resubscribe brings a fresh snapshot.
    """

    name = "okx"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    keepalive = (20.0, "ping")
    fusable = True
    # 3 requests per second per IP and 480 subscribe/unsubscribe/login per connection per hour
    # (https://www.okx.com/docs-v5/en/#overview-websocket-connect).
    max_sends_per_second = 2.5
    connects = (2.5, 3.0)
    channel = "books"

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        args = [{"channel": self.channel, "instId": s} for s in symbols]
        return [json.dumps({"op": "subscribe", "args": args})]

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        args = [{"channel": self.channel, "instId": symbol}]
        return [json.dumps({"op": "unsubscribe", "args": args}), *self.subscribe([symbol])]

    @override
    def route(self, msg: bytes) -> str | None:
        if b'"event"' in msg[:40]:
            return None
        inst = _between(msg, b'"instId":"')
        return inst.decode() if inst else None


class Kraken(VenueSpec):
    """Kraken WS v2 `book` (https://docs.kraken.com/api/docs/websocket-v2/book), `wss://ws.kraken.com/v2`."""

    name = "kraken"
    ws_url = "wss://ws.kraken.com/v2"
    keepalive = (30.0, '{"method":"ping"}')
    fusable = True

    def __init__(self, depth: int = 10) -> None:
        self.depth = depth

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        params: dict[str, object] = {
            "channel": "book",
            "symbol": list(symbols),
            "depth": self.depth,
            "snapshot": True,
        }
        return [json.dumps({"method": "subscribe", "params": params})]

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        params = {"channel": "book", "symbol": [symbol]}
        return [json.dumps({"method": "unsubscribe", "params": params}), *self.subscribe([symbol])]

    @override
    def route(self, msg: bytes) -> str | None:
        if not msg.startswith(b'{"channel":"book"'):
            return None
        sym = _between(msg, b'"symbol":"')
        return sym.decode() if sym else None


class Coinbase(VenueSpec):
    """Coinbase Advanced Trade `level2` + `heartbeats`, `wss://advanced-trade-ws.coinbase.com`.

    https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels: `sequence_num` counts every
    message of the connection, so a jump anywhere means loss for every product.
    """

    name = "coinbase"
    ws_url = "wss://advanced-trade-ws.coinbase.com"

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        return [
            json.dumps({"type": "subscribe", "product_ids": list(symbols), "channel": "level2"}),
            json.dumps(
                {"type": "subscribe", "product_ids": list(symbols), "channel": "heartbeats"}
            ),
        ]

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        unsub = {"type": "unsubscribe", "product_ids": [symbol], "channel": "level2"}
        sub = {"type": "subscribe", "product_ids": [symbol], "channel": "level2"}
        return [json.dumps(unsub), json.dumps(sub)]

    @override
    def route(self, msg: bytes) -> str | None:
        if b'"l2_data"' not in msg[:40]:
            return None
        pid = _between(msg, b'"product_id":"')
        return pid.decode() if pid else None

    @override
    def connection_seq(self, msg: bytes) -> int | None:
        n = _between(msg, b'"sequence_num":', b",")
        return int(n) if n and n.isdigit() else None


class Bitfinex(VenueSpec):
    """Bitfinex v2 `book` with checksums and sequence numbers, `wss://api-pub.bitfinex.com/ws/2`.

    https://docs.bitfinex.com/reference/ws-public-books; conf flags 131072 (checksum) + 65536
    (sequence on every message).
    """

    name = "bitfinex"
    ws_url = "wss://api-pub.bitfinex.com/ws/2"
    max_streams_per_connection = 25

    def __init__(self, length: int = 25) -> None:
        self.length = length
        self.channels: dict[bytes, str] = {}

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        self.channels.clear()
        msgs = [json.dumps({"event": "conf", "flags": 131072 + 65536})]
        msgs += [self._sub(s) for s in symbols]
        return msgs

    def _sub(self, symbol: str) -> str:
        return json.dumps(
            {
                "event": "subscribe",
                "channel": "book",
                "symbol": symbol,
                "prec": "P0",
                "freq": "F0",
                "len": str(self.length),
            }
        )

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        chan = next((c for c, s in self.channels.items() if s == symbol), None)
        out = [json.dumps({"event": "unsubscribe", "chanId": int(chan)})] if chan else []
        return [*out, self._sub(symbol)]

    @override
    def route(self, msg: bytes) -> str | None:
        if msg.startswith(b"{"):
            if b'"subscribed"' in msg or b'"unsubscribed"' in msg:
                event = json.loads(msg)
                event_chan = str(event.get("chanId")).encode()
                if event.get("event") == "subscribed":
                    # One live channel per symbol: forget any earlier one.
                    for old in [c for c, sym in self.channels.items() if sym == event["symbol"]]:
                        del self.channels[old]
                    self.channels[event_chan] = event["symbol"]
                elif event.get("event") == "unsubscribed":
                    self.channels.pop(event_chan, None)
            return None
        chan = _between(msg, b"[", b",")
        return self.channels.get(chan) if chan else None

    @override
    def connection_seq(self, msg: bytes) -> int | None:
        if not msg.startswith(b"[") or not msg.endswith(b"]"):
            return None
        tail = msg[msg.rfind(b",") + 1 : -1]
        return int(tail) if tail.isdigit() else None


class Htx(VenueSpec):
    """HTX `market.$symbol.mbp.$levels` (https://huobiapi.github.io/docs/spot/v1/en/#market-by-price-incremental-update).

    gzip binary frames; `{"ping": n}` must be answered `{"pong": n}`; the full image is a `req` on
    the same connection.
    """

    name = "htx"
    ws_url = "wss://api.huobi.pro/feed"
    snapshot_mode = "request"

    def __init__(self, levels: int = 150) -> None:
        self.levels = levels

    def _topic(self, symbol: str) -> str:
        return f"market.{symbol.lower()}.mbp.{self.levels}"

    @override
    def subscribe(self, symbols: Sequence[str]) -> list[str]:
        return [json.dumps({"sub": self._topic(s), "id": f"sub-{s}"}) for s in symbols]

    @override
    def resubscribe(self, symbol: str) -> list[str]:
        return []  # resync is a new `req`

    @override
    def snapshot_request(self, symbol: str) -> str:
        return json.dumps({"req": self._topic(symbol), "id": f"req-{symbol}"})

    @override
    def decode(self, payload: bytes, opcode: int) -> bytes:
        return inflate_gzip(payload) if opcode == 2 else payload

    @override
    def reply(self, msg: bytes) -> str | None:
        if msg.startswith(b'{"ping":'):
            return '{"pong":' + msg[8:].strip().rstrip(b"}").decode() + "}"
        return None

    @override
    def route(self, msg: bytes) -> str | None:
        topic = _between(msg, b'"ch":"market.', b".") or _between(msg, b'"rep":"market.', b".")
        return topic.decode() if topic else None


SPECS: dict[str, type[VenueSpec]] = {
    cls.name: cls for cls in (Binance, BinanceUsdm, Okx, Kraken, Coinbase, Bitfinex, Htx)
}
"""Venue name → spec class."""


def spec_for(venue: str) -> VenueSpec:
    """A fresh spec (some keep per-connection state, like Bitfinex channel ids)."""
    try:
        return SPECS[venue]()
    except KeyError:
        raise ValueError(
            f"no market-data spec for venue {venue!r}; known: {', '.join(SPECS)}"
        ) from None


__all__ = [
    "SPECS",
    "Binance",
    "BinanceUsdm",
    "Bitfinex",
    "Coinbase",
    "Htx",
    "Kraken",
    "Okx",
    "SnapshotMode",
    "VenueSpec",
    "spec_for",
]
