"""The seven venue protocols, market-data side, each as its public docs describe it.

Sources are listed in `tests/fixtures/feeds/SOURCES.md` and `shared/venues/book_sync_rules.md`.
Every class is sans-I/O (see `protocol.Session`); `SESSIONS` maps a venue name to its class and
`session_for` builds one for a request path, or returns None for a path the venue does not serve.
"""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from venuegate.sim.md.book import Change, Instrument, Level
from venuegate.sim.md.checksums import bitfinex_checksum, kraken_checksum, okx_checksum
from venuegate.sim.md.market import MarketSim, SymbolFeed, Update, window_key
from venuegate.sim.md.numbers import fixed, js_number, plain
from venuegate.sim.md.protocol import Out, Session, SessionOptions, encode, iso_ms, iso_ns, raw

__all__ = [
    "SESSIONS",
    "BinanceSession",
    "BinanceUsdmSession",
    "BitfinexSession",
    "CoinbaseSession",
    "HtxSession",
    "KrakenSession",
    "OkxSession",
    "binance_depth",
    "session_for",
]


def _orders(size: Decimal, lot: Decimal) -> int:
    """A deterministic order count for a level (OKX's 4th field, Bitfinex COUNT)."""
    return 1 + int(size / lot) % 7


def _text(obj: Any, data: bool = False) -> Out:
    return Out(encode(obj), data=data)


# --------------------------------------------------------------------------------------------
# Binance spot and USD-M futures


_DEPTH_STREAM = re.compile(r"^([a-z0-9]+)@depth(?:@(\d+)ms)?$")


def _binance_levels(levels: Sequence[Level], inst: Instrument, futures: bool) -> list[list[str]]:
    if futures:
        pp, qp = inst.price_precision, inst.qty_precision
        return [[fixed(p, pp), fixed(q, qp)] for p, q in levels]
    return [[fixed(p, 8), fixed(q, 8)] for p, q in levels]


def binance_depth(sim: MarketSim, venue: str, symbol: str, limit: int) -> dict[str, Any]:
    """The body of Binance `GET /api/v3/depth` (spot) or `GET /fapi/v1/depth` (USD-M).

    Args:
        sim: The market.
        venue: `"binance"` or `"binanceusdm"`.
        symbol: Upper-case symbol.
        limit: Levels per side (already validated).

    Returns:
        `{"lastUpdateId", "bids", "asks"}`, plus `"E"` and `"T"` for futures.
    """
    feed = sim.feed(venue, symbol)
    futures = venue == "binanceusdm"
    bids = _binance_levels(feed.book.levels("bid", limit), feed.instrument, futures)
    asks = _binance_levels(feed.book.levels("ask", limit), feed.instrument, futures)
    if futures:
        return {
            "lastUpdateId": feed.last_id,
            "E": feed.time_ms,
            "T": feed.time_ms - 1,
            "bids": bids,
            "asks": asks,
        }
    return {"lastUpdateId": feed.last_id, "bids": bids, "asks": asks}


class BinanceSession(Session):
    """Binance spot WebSocket streams: `/ws/<stream>`, `/stream?streams=a/b`, live SUBSCRIBE.

    Serves `<symbol>@depth`, `<symbol>@depth@100ms` and `@1000ms` diff depth streams
    (`depthUpdate` with `U`/`u`); combined streams are wrapped as
    `{"stream": <name>, "data": <event>}`. Prices and sizes are fixed 8-decimal strings, as
    Binance spot writes them. Other stream names are accepted and stay silent.
    """

    venue = "binance"
    futures = False
    PREFIXES: ClassVar[tuple[str, ...]] = ("",)

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is one of this venue's stream endpoints."""
        p = urlsplit(path).path
        return any(
            p in (f"{pre}/ws", f"{pre}/stream") or p.startswith(f"{pre}/ws/")
            for pre in cls.PREFIXES
        )

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        split = urlsplit(path)
        self.combined = split.path.endswith("/stream")
        self.streams: dict[str, str] = {}
        if self.combined:
            for value in parse_qs(split.query).get("streams", []):
                for name in value.split("/"):
                    self._add(name)
        else:
            self._add(split.path.rsplit("/", 1)[-1])

    def _add(self, name: str) -> None:
        match = _DEPTH_STREAM.match(name)
        if match and self.sim.has(self.venue, match.group(1).upper()):
            self.streams[name] = match.group(1).upper()

    def receive(  # noqa: D102 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        obj = self.parse(message)
        if not isinstance(obj, dict):
            return [_text({"code": 3, "msg": "Invalid JSON: expected value", "id": None})]
        method, rid, params = obj.get("method"), obj.get("id"), obj.get("params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return [_text({"code": 2, "msg": "Invalid request: invalid params", "id": rid})]
        if method == "SUBSCRIBE":
            for name in params:
                self._add(name)
            return [_text({"result": None, "id": rid})]
        if method == "UNSUBSCRIBE":
            for name in params:
                self.streams.pop(name, None)
            return [_text({"result": None, "id": rid})]
        if method == "LIST_SUBSCRIPTIONS":
            return [_text({"result": list(self.streams), "id": rid})]
        return [_text({"code": 0, "msg": "Unknown property", "id": rid})]

    def event(self, upd: Update) -> dict[str, Any]:
        """The `depthUpdate` event of `upd`.

        Args:
            upd: A Binance update.

        Returns:
            The event (unwrapped).
        """
        inst = self.sim.feed(self.venue, upd.symbol).instrument
        bids = [(p, s) for side, p, s in upd.changes if side == "bid"]
        asks = [(p, s) for side, p, s in upd.changes if side == "ask"]
        event: dict[str, Any] = {"e": "depthUpdate", "E": upd.time_ms}
        if self.futures:
            event["T"] = upd.time_ms - 1
        event |= {"s": upd.symbol, "U": upd.first_id, "u": upd.last_id}
        if self.futures:
            event["pu"] = upd.prev_id
        event["b"] = _binance_levels(bids, inst, self.futures)
        event["a"] = _binance_levels(asks, inst, self.futures)
        return event

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        if upd.venue != self.venue:
            return []
        names = [n for n, s in self.streams.items() if s == upd.symbol]
        if not names:
            return []
        event = self.event(upd)
        if not self.combined:
            body = encode(event)
            return [Out(body, data=True) for _ in names]
        return [_text({"stream": n, "data": event}, data=True) for n in names]


class BinanceUsdmSession(BinanceSession):
    """Binance USD-M futures streams: as spot, plus `T` and `pu`, ids not contiguous.

    Also served under `/public/...` and `/market/...`, the futures routed endpoints. Prices and
    sizes are strings at the instrument's precision.
    """

    venue = "binanceusdm"
    futures = True
    PREFIXES: ClassVar[tuple[str, ...]] = ("", "/public", "/market")


# --------------------------------------------------------------------------------------------
# OKX v5


class OkxSession(Session):
    """OKX v5 public WebSocket `/ws/v5/public`, channel `books` (400 levels).

    `{"op":"subscribe","args":[{"channel":"books","instId":...}]}` gives an ack, then a
    `snapshot` push (`prevSeqId: -1`), then `update` pushes whose `prevSeqId` is the previous
    push's `seqId`. `checksum` is the documented CRC32 of the top 25 levels, or 0 with
    `SessionOptions.okx_checksum_zero`. Text `ping` is answered with `pong`.
    """

    venue = "okx"
    has_checksum = True
    DEPTH = 400

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is this venue's public endpoint."""
        return urlsplit(path).path == "/ws/v5/public"

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        self.subs: set[str] = set()
        self.conn_tag = f"{conn_id:08x}"

    def _error(self, code: str, msg: str) -> Out:
        return _text({"event": "error", "code": code, "msg": msg, "connId": self.conn_tag})

    def receive(  # noqa: D102 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        if message in ("ping", b"ping"):
            return [Out("pong")]
        obj = self.parse(message)
        text = message if isinstance(message, str) else message.decode(errors="replace")
        if not isinstance(obj, dict) or obj.get("op") not in ("subscribe", "unsubscribe"):
            return [self._error("60012", f"Illegal request: {text}")]
        args = obj.get("args")
        if not isinstance(args, list):
            return [self._error("60012", f"Illegal request: {text}")]
        out: list[Out] = []
        for arg in args:
            channel = arg.get("channel") if isinstance(arg, dict) else None
            inst_id = arg.get("instId") if isinstance(arg, dict) else None
            if (
                channel != "books"
                or not isinstance(inst_id, str)
                or not self.sim.has("okx", inst_id)
            ):
                out.append(
                    self._error(
                        "60018",
                        f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please "
                        "use the correct URL, channel and parameters referring to API document.",
                    )
                )
                continue
            ack_arg = {"channel": channel, "instId": inst_id}
            out.append(_text({"event": obj["op"], "arg": ack_arg, "connId": self.conn_tag}))
            if obj["op"] == "subscribe":
                self.subs.add(inst_id)
                out.append(self._snapshot(inst_id))
            else:
                self.subs.discard(inst_id)
        return out

    @staticmethod
    def _level(price: Decimal, size: Decimal, inst: Instrument) -> list[str]:
        count = _orders(size, inst.lot) if size else 0
        return [plain(price), plain(size), "0", str(count)]

    def _checksum(self, feed: SymbolFeed) -> int:
        if self.options.okx_checksum_zero:
            return self.checksum(0)
        view = feed.view(self.DEPTH, evict=True)
        bids = [(plain(p), plain(s)) for p, s in view.levels("bid")[:25]]
        asks = [(plain(p), plain(s)) for p, s in view.levels("ask")[:25]]
        return self.checksum(okx_checksum(bids, asks))

    def _snapshot(self, inst_id: str) -> Out:
        feed = self.sim.feed("okx", inst_id)
        view = feed.view(self.DEPTH, evict=True)
        inst = feed.instrument
        data = {
            "asks": [self._level(p, s, inst) for p, s in view.levels("ask")],
            "bids": [self._level(p, s, inst) for p, s in view.levels("bid")],
            "ts": str(feed.time_ms),
            "checksum": self._checksum(feed),
            "prevSeqId": -1,
            "seqId": view.last_id,
        }
        push = {"arg": {"channel": "books", "instId": inst_id}, "action": "snapshot"}
        return _text(push | {"data": [data]}, data=True)

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        if upd.venue != "okx" or upd.symbol not in self.subs:
            return []
        delta = upd.windows.get(window_key(self.DEPTH, evict=True))
        if delta is None:
            return []
        feed = self.sim.feed("okx", upd.symbol)
        inst = feed.instrument
        data = {
            "asks": [self._level(p, s, inst) for side, p, s in delta.changes if side == "ask"],
            "bids": [self._level(p, s, inst) for side, p, s in delta.changes if side == "bid"],
            "ts": str(upd.time_ms),
            "checksum": self._checksum(feed),
            "prevSeqId": delta.prev_id,
            "seqId": delta.last_id,
        }
        push = {"arg": {"channel": "books", "instId": upd.symbol}, "action": "update"}
        return [_text(push | {"data": [data]}, data=True)]


# --------------------------------------------------------------------------------------------
# Kraken WS v2


class KrakenSession(Session):
    """Kraken spot WebSocket v2 `/v2`, channel `book`.

    Subscribe with `{"method":"subscribe","params":{"channel":"book","symbol":[...],"depth":N}}`
    (N in 10, 25, 100, 500, 1000; default 10): a per-symbol ack, then a `snapshot` and `update`
    messages truncated to the subscribed depth (levels pushed out of the window get no `qty: 0`,
    clients truncate), prices and quantities as JSON numbers, and a `checksum` over the top 10
    at the instrument's precision. `{"method":"ping"}` gets a `pong`; `{"channel":"heartbeat"}`
    is sent every `heartbeat_ms` while subscribed.
    """

    venue = "kraken"
    has_checksum = True
    DEPTHS = (10, 25, 100, 500, 1000)

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is this venue's v2 endpoint."""
        return urlsplit(path).path == "/v2"

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        self.subs: dict[str, int] = {}
        self.last_heartbeat = 0

    def open(self, now_ms: int) -> list[Out]:  # noqa: D102
        self.last_heartbeat = now_ms
        status = {
            "api_version": "v2",
            "connection_id": 14290418550395500000 + self.conn_id,
            "system": "online",
            "version": "2.0.10",
        }
        return [_text({"channel": "status", "type": "update", "data": [status]})]

    @staticmethod
    def _times(now_ms: int) -> dict[str, str]:
        return {"time_in": iso_ms(now_ms), "time_out": iso_ms(now_ms)}

    def receive(  # noqa: D102, PLR0911, PLR0912 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        obj = self.parse(message)
        if not isinstance(obj, dict):
            return [_text({"error": "Malformed request", "success": False} | self._times(now_ms))]
        method, req_id = obj.get("method"), obj.get("req_id")
        tail: dict[str, Any] = {"req_id": req_id} if req_id is not None else {}
        if method == "ping":
            return [_text({"method": "pong"} | tail | self._times(now_ms))]
        params = obj.get("params")
        if method not in ("subscribe", "unsubscribe") or not isinstance(params, dict):
            return [
                _text(
                    {"error": "Method not found", "method": method, "success": False}
                    | tail
                    | self._times(now_ms)
                )
            ]
        channel, symbols = params.get("channel"), params.get("symbol")
        depth = params.get("depth", 10)
        snapshot = params.get("snapshot", True)
        fail = {"method": method, "success": False}
        if channel != "book":
            return [_text({"error": "Channel not supported"} | fail | tail | self._times(now_ms))]
        if depth not in self.DEPTHS:
            return [_text({"error": "Invalid depth"} | fail | tail | self._times(now_ms))]
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            return [_text({"error": "Malformed request"} | fail | tail | self._times(now_ms))]
        out: list[Out] = []
        for sym in symbols:
            if not self.sim.has("kraken", sym):
                error = {"error": f"Currency pair not supported {sym}", "symbol": sym}
                out.append(_text(error | fail | tail | self._times(now_ms)))
                continue
            result: dict[str, Any] = {"channel": "book", "depth": depth}
            if method == "subscribe":
                result["snapshot"] = bool(snapshot)
            result["symbol"] = sym
            ack = {"method": method, "req_id": req_id, "result": result, "success": True}
            if req_id is None:
                del ack["req_id"]
            out.append(_text(ack | self._times(now_ms)))
            if method == "subscribe":
                self.subs[sym] = int(depth)
                self.sim.feed("kraken", sym).view(int(depth), evict=False)
                if snapshot:
                    out.append(self._snapshot(sym))
            else:
                self.subs.pop(sym, None)
        return out

    @staticmethod
    def _levels(levels: Sequence[Level]) -> list[dict[str, Any]]:
        return [{"price": raw(plain(p)), "qty": raw(plain(q))} for p, q in levels]

    def _checksum(self, feed: SymbolFeed, depth: int) -> int:
        view = feed.view(depth, evict=False)
        inst = feed.instrument
        return self.checksum(
            kraken_checksum(
                view.levels("bid")[:10],
                view.levels("ask")[:10],
                inst.price_precision,
                inst.qty_precision,
            )
        )

    def _snapshot(self, sym: str) -> Out:
        feed = self.sim.feed("kraken", sym)
        depth = self.subs[sym]
        view = feed.view(depth, evict=False)
        data = {
            "symbol": sym,
            "bids": self._levels(view.levels("bid")),
            "asks": self._levels(view.levels("ask")),
            "checksum": self._checksum(feed, depth),
            "timestamp": iso_ms(feed.time_ms),
        }
        return _text({"channel": "book", "type": "snapshot", "data": [data]}, data=True)

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        depth = self.subs.get(upd.symbol) if upd.venue == "kraken" else None
        if depth is None:
            return []
        delta = upd.windows.get(window_key(depth, evict=False))
        if delta is None:
            return []
        feed = self.sim.feed("kraken", upd.symbol)
        data = {
            "symbol": upd.symbol,
            "bids": self._levels([(p, s) for side, p, s in delta.changes if side == "bid"]),
            "asks": self._levels([(p, s) for side, p, s in delta.changes if side == "ask"]),
            "checksum": self._checksum(feed, depth),
            "timestamp": iso_ms(upd.time_ms),
        }
        return [_text({"channel": "book", "type": "update", "data": [data]}, data=True)]

    def timer(self, now_ms: int) -> list[Out]:  # noqa: D102
        if self.subs and now_ms - self.last_heartbeat >= self.options.heartbeat_ms:
            self.last_heartbeat = now_ms
            return [_text({"channel": "heartbeat"})]
        return []


# --------------------------------------------------------------------------------------------
# Coinbase Advanced Trade


def _go_time(now_ms: int, uptime_ms: int) -> str:
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"{stamp}000 +0000 UTC m=+{uptime_ms / 1000:.9f}"


class CoinbaseSession(Session):
    """Coinbase Advanced Trade market data WebSocket `/`, channels `level2` and `heartbeats`.

    `level2` messages carry `channel: "l2_data"` with `snapshot` then `update` events
    (`side` `bid` / `offer`, `price_level`, `new_quantity` strings). Every message on the
    connection carries the connection-wide `sequence_num` (0, 1, 2, ...). After a subscribe the
    server sends the snapshots, then a `subscriptions` message.
    """

    venue = "coinbase"

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is this venue's endpoint."""
        return urlsplit(path).path in ("", "/")

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        self.sequence = 0
        self.level2: list[str] = []
        self.heartbeats = False
        self.heartbeat_counter = 0
        self.opened_ms = 0
        self.last_heartbeat = 0

    def open(self, now_ms: int) -> list[Out]:  # noqa: D102
        self.opened_ms = self.last_heartbeat = now_ms
        return []

    def _message(self, channel: str, events: list[dict[str, Any]], ms: int, data: bool) -> Out:
        body = {
            "channel": channel,
            "client_id": "",
            "timestamp": iso_ns(ms),
            "sequence_num": self.sequence,
            "events": events,
        }
        self.sequence += 1
        return _text(body, data=data)

    def receive(  # noqa: D102 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        obj = self.parse(message)
        if not isinstance(obj, dict) or obj.get("type") not in ("subscribe", "unsubscribe"):
            return [_text({"type": "error", "message": "failure to parse request"})]
        channel, products = obj.get("channel"), obj.get("product_ids", [])
        subscribe = obj["type"] == "subscribe"
        if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
            return [_text({"type": "error", "message": "product_ids must be a list"})]
        out: list[Out] = []
        if channel == "heartbeats":
            self.heartbeats = subscribe
        elif channel == "level2":
            unknown = [p for p in products if not self.sim.has("coinbase", p)]
            if unknown:
                return [_text({"type": "error", "message": "Failure to subscribe"})]
            for product in products:
                if subscribe and product not in self.level2:
                    self.level2.append(product)
                    out.append(self._snapshot(product))
                elif not subscribe and product in self.level2:
                    self.level2.remove(product)
        else:
            return [_text({"type": "error", "message": f"unknown channel {channel}"})]
        subs: dict[str, list[str]] = {}
        if self.level2:
            subs["level2"] = list(self.level2)
        if self.heartbeats:
            subs["heartbeats"] = ["heartbeats"]
        out.append(self._message("subscriptions", [{"subscriptions": subs}], now_ms, False))
        return out

    @staticmethod
    def _entry(side: str, price: Decimal, size: Decimal, when: str) -> dict[str, str]:
        return {
            "side": "bid" if side == "bid" else "offer",
            "event_time": when,
            "price_level": plain(price),
            "new_quantity": plain(size),
        }

    def _snapshot(self, product: str) -> Out:
        feed = self.sim.feed("coinbase", product)
        epoch = "1970-01-01T00:00:00Z"
        updates = [self._entry("bid", p, s, epoch) for p, s in feed.book.levels("bid")]
        updates += [self._entry("ask", p, s, epoch) for p, s in feed.book.levels("ask")]
        event = {"type": "snapshot", "product_id": product, "updates": updates}
        return self._message("l2_data", [event], feed.time_ms, True)

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        if upd.venue != "coinbase" or upd.symbol not in self.level2:
            return []
        when = iso_ns(upd.time_ms)
        updates = [self._entry(side, p, s, when) for side, p, s in upd.changes]
        event = {"type": "update", "product_id": upd.symbol, "updates": updates}
        return [self._message("l2_data", [event], upd.time_ms, True)]

    def timer(self, now_ms: int) -> list[Out]:  # noqa: D102
        if self.heartbeats and now_ms - self.last_heartbeat >= self.options.heartbeat_ms:
            self.last_heartbeat = now_ms
            self.heartbeat_counter += 1
            event = {
                "current_time": _go_time(now_ms, now_ms - self.opened_ms),
                "heartbeat_counter": str(self.heartbeat_counter),
            }
            return [self._message("heartbeats", [event], now_ms, False)]
        return []


# --------------------------------------------------------------------------------------------
# Bitfinex v2


class BitfinexSession(Session):
    """Bitfinex v2 public WebSocket `/ws/2`, channel `book` at precision P0.

    An `info` event on connect; `conf` (flags 131072 = checksums, 65536 = sequence numbers);
    `subscribe` gives `subscribed` with a `chanId`, a snapshot `[chanId, [[price, count,
    amount], ...]]` (bids, then asks with negative amounts), then one `[chanId, [price, count,
    amount]]` per changed level (count 0 removes; amount 1 / -1 says the side), levels leaving
    the `len` window removed explicitly. With 131072, `[chanId, "cs", checksum]` follows each
    batch; with 65536 a sequence number is appended to every channel message. `[chanId, "hb"]`
    every `heartbeat_ms`; `{"event":"ping"}` gets a `pong`. Numbers are written as JavaScript
    writes them (`7e-7`), which is also the checksum's text. Only P0 books are simulated.
    """

    venue = "bitfinex"
    has_checksum = True
    LENGTHS = ("1", "25", "100", "250")
    CHECKSUM = 131072
    SEQ_ALL = 65536

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is this venue's v2 endpoint."""
        return urlsplit(path).path == "/ws/2"

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        rng = random.Random(f"{sim.seed}:bitfinex:conn:{conn_id}")
        self.next_chan = rng.randrange(10_000, 400_000)
        self.server_id = "%08x-%04x-4%03x-a%03x-%012x" % (  # noqa: UP031 - uuid layout
            rng.getrandbits(32),
            rng.getrandbits(16),
            rng.getrandbits(12),
            rng.getrandbits(12),
            rng.getrandbits(48),
        )
        self.flags = 0
        self.seq = 0
        self.chans: dict[int, tuple[str, int]] = {}
        self.batches: dict[int, int] = {}
        self.last_heartbeat = 0

    def open(self, now_ms: int) -> list[Out]:  # noqa: D102
        self.last_heartbeat = now_ms
        info = {
            "event": "info",
            "version": 2,
            "serverId": self.server_id,
            "platform": {"status": 1},
        }
        return [_text(info)]

    def _channel_msg(self, items: list[Any], data: bool) -> Out:
        if self.flags & self.SEQ_ALL:
            self.seq += 1
            items.append(self.seq)
        return _text(items, data=data)

    def receive(  # noqa: D102, PLR0911 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        obj = self.parse(message)
        if not isinstance(obj, dict):
            return [_text({"event": "error", "msg": "malformed", "code": 10000})]
        event = obj.get("event")
        if event == "ping":
            return [_text({"event": "pong", "ts": now_ms, "cid": obj.get("cid")})]
        if event == "conf":
            flags = obj.get("flags", 0)
            if not isinstance(flags, int):
                return [_text({"event": "conf", "status": "FAILED", "flags": flags})]
            self.flags = flags
            return [_text({"event": "conf", "status": "OK", "flags": flags})]
        if event == "unsubscribe":
            chan = obj.get("chanId")
            chan_id = int(chan) if isinstance(chan, int | str) and str(chan).isdigit() else -1
            if chan_id not in self.chans:
                return [_text({"event": "error", "msg": "unsubscribe: invalid", "code": 10400})]
            del self.chans[chan_id]
            return [_text({"event": "unsubscribed", "status": "OK", "chanId": chan_id})]
        if event == "subscribe":
            return self._subscribe(obj)
        return [_text({"event": "error", "msg": "event: invalid", "code": 10001})]

    def _subscribe(self, obj: dict[str, Any]) -> list[Out]:
        channel, symbol = obj.get("channel"), obj.get("symbol")
        prec, freq = obj.get("prec", "P0"), obj.get("freq", "F0")
        length = str(obj.get("len", "25"))
        error: dict[str, Any] = {"event": "error", "channel": channel, "symbol": symbol}
        if "subId" in obj:
            error["subId"] = obj["subId"]
        if channel != "book":
            return [_text(error | {"msg": "channel: unknown", "code": 10302})]
        if not isinstance(symbol, str) or not self.sim.has("bitfinex", symbol):
            return [_text(error | {"msg": "symbol: invalid", "code": 10300})]
        if prec != "P0" or freq not in ("F0", "F1") or length not in self.LENGTHS:
            return [_text(error | {"msg": "subscribe: invalid", "code": 10300})]
        if any(s == symbol for s, _ in self.chans.values()):
            return [_text(error | {"msg": "subscribe: dup", "code": 10301})]
        chan = self.next_chan
        self.next_chan += 1
        self.chans[chan] = (symbol, int(length))
        self.batches[chan] = 0
        sub: dict[str, Any] = {
            "event": "subscribed",
            "channel": "book",
            "chanId": chan,
            "symbol": symbol,
            "prec": prec,
            "freq": freq,
            "len": length,
        }
        if "subId" in obj:
            sub["subId"] = obj["subId"]
        sub["pair"] = symbol[1:]
        feed = self.sim.feed("bitfinex", symbol)
        view = feed.view(int(length), evict=True)
        levels = [self._level("bid", p, s, feed.instrument) for p, s in view.levels("bid")]
        levels += [self._level("ask", p, s, feed.instrument) for p, s in view.levels("ask")]
        out = [_text(sub), self._channel_msg([chan, levels], True)]
        if self.flags & self.CHECKSUM:
            out.append(self._cs(chan))
        return out

    @staticmethod
    def _level(side: str, price: Decimal, size: Decimal, inst: Instrument) -> list[Any]:
        if size == 0:
            return [raw(js_number(price)), 0, 1 if side == "bid" else -1]
        amount = size if side == "bid" else -size
        return [raw(js_number(price)), _orders(size, inst.lot), raw(js_number(amount))]

    def _cs(self, chan: int) -> Out:
        symbol, length = self.chans[chan]
        view = self.sim.feed("bitfinex", symbol).view(length, evict=True)
        bids = [(js_number(p), js_number(s)) for p, s in view.levels("bid")[:25]]
        asks = [(js_number(p), js_number(-s)) for p, s in view.levels("ask")[:25]]
        return self._channel_msg([chan, "cs", self.checksum(bitfinex_checksum(bids, asks))], True)

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        if upd.venue != "bitfinex":
            return []
        out: list[Out] = []
        for chan, (symbol, length) in self.chans.items():
            if symbol != upd.symbol:
                continue
            delta = upd.windows.get(window_key(length, evict=True))
            if delta is None:
                continue
            inst = self.sim.feed("bitfinex", symbol).instrument
            out.extend(
                self._channel_msg([chan, self._level(side, p, s, inst)], True)
                for side, p, s in delta.changes
            )
            self.batches[chan] += 1
            every = max(1, self.options.bitfinex_checksum_every)
            if self.flags & self.CHECKSUM and self.batches[chan] % every == 0:
                out.append(self._cs(chan))
        return out

    def timer(self, now_ms: int) -> list[Out]:  # noqa: D102
        if self.chans and now_ms - self.last_heartbeat >= self.options.heartbeat_ms:
            self.last_heartbeat = now_ms
            return [self._channel_msg([chan, "hb"], False) for chan in self.chans]
        return []


# --------------------------------------------------------------------------------------------
# HTX


_MBP = re.compile(r"^market\.([a-z0-9]+)\.mbp\.(5|20|150|400)$")


class HtxSession(Session):
    """HTX spot market WebSocket (`/ws`, `/feed`), topic `market.$symbol.mbp.$levels`.

    Every server frame is GZIP-compressed binary. `sub` gives an ack then incremental messages
    (`tick.seqNum` / `tick.prevSeqNum`; the 5/20-level feeds leave an unchanged side out, the
    150/400-level feeds send it empty); `req` on the same topic (5, 20, 150) returns the full
    image with `data.seqNum`. The server sends `{"ping": ts}` every `htx_ping_ms` and closes the
    connection when two pings in a row went unanswered by a matching `{"pong": ts}`.
    """

    venue = "htx"

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether `path` is one of this venue's market endpoints."""
        return urlsplit(path).path in ("/ws", "/feed")

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        super().__init__(sim, path, options, conn_id)
        self.subs: dict[str, tuple[str, int]] = {}
        self.pending_pings: list[int] = []
        self.last_ping = 0

    @staticmethod
    def frame(obj: Any, data: bool = False, close: tuple[int, str] | None = None) -> Out:
        """A GZIP-compressed binary frame of `obj` as JSON.

        Args:
            obj: The message.
            data: Book data (see `Out`).
            close: Close after sending.

        Returns:
            The frame.
        """
        return Out(gzip.compress(encode(obj), mtime=0), data=data, text=False, close=close)

    def open(self, now_ms: int) -> list[Out]:  # noqa: D102
        self.last_ping = now_ms
        return []

    def _topic(self, topic: Any) -> tuple[str, int] | None:
        match = _MBP.match(topic) if isinstance(topic, str) else None
        if match is None or not self.sim.has("htx", match.group(1)):
            return None
        return match.group(1), int(match.group(2))

    def _bad(self, rid: Any, topic: Any, now_ms: int) -> Out:
        return self.frame(
            {
                "status": "error",
                "ts": now_ms,
                "id": rid,
                "err-code": "bad-request",
                "err-msg": f"invalid topic {topic}",
            }
        )

    def receive(  # noqa: D102, PLR0911 - one branch per request kind
        self, message: str | bytes, now_ms: int
    ) -> list[Out]:
        if isinstance(message, bytes) and message[:2] == b"\x1f\x8b":
            try:
                message = gzip.decompress(message)
            except (OSError, EOFError):
                return [self._bad(None, "", now_ms)]
        obj = self.parse(message)
        if not isinstance(obj, dict):
            return [self._bad(None, "", now_ms)]
        if "pong" in obj:
            if obj["pong"] in self.pending_pings:
                self.pending_pings.clear()
            return []
        rid = obj.get("id")
        if "sub" in obj or "unsub" in obj:
            key = "sub" if "sub" in obj else "unsub"
            topics = obj[key] if isinstance(obj[key], list) else [obj[key]]
            out: list[Out] = []
            for topic in topics:
                parsed = self._topic(topic)
                if parsed is None:
                    out.append(self._bad(rid, topic, now_ms))
                    continue
                if key == "sub":
                    self.subs[topic] = parsed
                    self.sim.feed("htx", parsed[0]).view(parsed[1], evict=True)
                    out.append(
                        self.frame({"id": rid, "status": "ok", "subbed": topic, "ts": now_ms})
                    )
                else:
                    self.subs.pop(topic, None)
                    ack = {"id": rid, "status": "ok", "unsubbed": topic, "ts": now_ms}
                    out.append(self.frame(ack))
            return out
        if "req" in obj:
            parsed = self._topic(obj["req"])
            if parsed is None or parsed[1] == 400:
                return [self._bad(rid, obj["req"], now_ms)]
            view = self.sim.feed("htx", parsed[0]).view(parsed[1], evict=True)
            data = {
                "seqNum": view.last_id,
                "bids": self._levels(view.levels("bid")),
                "asks": self._levels(view.levels("ask")),
            }
            rep = {"id": rid, "rep": obj["req"], "status": "ok", "data": data}
            return [self.frame(rep, data=True)]
        return [self._bad(rid, "", now_ms)]

    @staticmethod
    def _levels(levels: Sequence[Level]) -> list[list[Any]]:
        return [[raw(plain(p)), raw(plain(s))] for p, s in levels]

    def update(self, upd: Update) -> list[Out]:  # noqa: D102
        if upd.venue != "htx":
            return []
        out: list[Out] = []
        for topic, (symbol, levels) in self.subs.items():
            if symbol != upd.symbol:
                continue
            delta = upd.windows.get(window_key(levels, evict=True))
            if delta is None:
                continue
            bids: list[Change] = [c for c in delta.changes if c[0] == "bid"]
            asks: list[Change] = [c for c in delta.changes if c[0] == "ask"]
            tick: dict[str, Any] = {"seqNum": delta.last_id, "prevSeqNum": delta.prev_id}
            if bids or levels >= 150:
                tick["bids"] = self._levels([(p, s) for _, p, s in bids])
            if asks or levels >= 150:
                tick["asks"] = self._levels([(p, s) for _, p, s in asks])
            out.append(self.frame({"ch": topic, "ts": upd.time_ms, "tick": tick}, data=True))
        return out

    def timer(self, now_ms: int) -> list[Out]:  # noqa: D102
        if now_ms - self.last_ping < self.options.htx_ping_ms:
            return []
        self.last_ping = now_ms
        if len(self.pending_pings) >= 2:
            return [Out(b"", close=(1000, "heartbeat timeout"), text=False)]
        self.pending_pings.append(now_ms)
        return [self.frame({"ping": now_ms})]


SESSIONS: dict[str, type[Session]] = {
    "binance": BinanceSession,
    "binanceusdm": BinanceUsdmSession,
    "okx": OkxSession,
    "kraken": KrakenSession,
    "coinbase": CoinbaseSession,
    "bitfinex": BitfinexSession,
    "htx": HtxSession,
}
"""Session class per venue name."""

CANONICAL_PATHS: dict[str, str] = {
    "binance": "/ws",
    "binanceusdm": "/ws",
    "okx": "/ws/v5/public",
    "kraken": "/v2",
    "coinbase": "",
    "bitfinex": "/ws/2",
    "htx": "/ws",
}
"""The path each venue's public market-data URL ends with."""


def session_for(
    venue: str, sim: MarketSim, path: str, options: SessionOptions, conn_id: int
) -> Session | None:
    """A new session for a connection to `path`, or None if `venue` does not serve `path`.

    Args:
        venue: Venue name.
        sim: The market.
        path: Request path and query.
        options: Behaviour switches.
        conn_id: Connection number.

    Returns:
        The session, or None.
    """
    cls = SESSIONS[venue]
    if not cls.accepts(path):
        return None
    return cls(sim, path, options, conn_id)
