"""`SimServer`: the market-data side of the embedded venue simulator, on loopback.

One asyncio process serves every simulated venue on its own ephemeral port (as the venues use
separate hosts): a WebSocket server (the `websockets` library) speaking the venue's paths and
messages, and for Binance spot and USD-M an aiohttp REST server with the depth snapshot
endpoints. Updates are pushed at `rate_hz` per book, and on demand with `await step(n)`.

    async with SimServer(seed=1, rate_hz=0) as sim:
        url = sim.ws_url("binance")              # ws://127.0.0.1:PORT/ws
        rest = sim.rest_url("binance")           # http://127.0.0.1:PORT
        await sim.step(10)                       # ten deterministic updates per book, flushed
        sim.inject(Fault.GAP, venue="binance")   # the next data message is dropped
        bids, asks = sim.book("binance", "BTCUSDT")

URLs per venue (`ws_url` gives the canonical one; other served paths in brackets):

* `binance`: `/ws` (`/ws/<stream>`, `/stream?streams=a/b`), REST `/api/v3/depth`,
  `/api/v3/ping`, `/api/v3/time`
* `binanceusdm`: `/ws` (`/ws/<stream>`, `/stream?streams=`, and the same under `/public` and
  `/market`), REST `/fapi/v1/depth`, `/fapi/v1/ping`, `/fapi/v1/time`
* `okx`: `/ws/v5/public`;  `kraken`: `/v2`;  `coinbase`: `/`;  `bitfinex`: `/ws/2`;
  `htx`: `/ws` (`/feed`)
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from venuegate.sim.md.book import Instrument, Level
from venuegate.sim.md.faults import DEFAULT_MAX_FRAME, Fault, FaultState
from venuegate.sim.md.market import MarketSim, Update
from venuegate.sim.md.protocol import Out, Session, SessionOptions, encode
from venuegate.sim.md.venues import CANONICAL_PATHS, SESSIONS, binance_depth, session_for

__all__ = ["SimServer"]

log = logging.getLogger("venuegate.sim")

_REST_VENUES = {"binance": "/api/v3", "binanceusdm": "/fapi/v1"}


@dataclass(frozen=True, slots=True)
class _Stall:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Oversize:
    size: int


type _Item = Out | _Stall | _Oversize


@dataclass(slots=True)
class _Conn:
    id: int
    venue: str
    ws: ServerConnection
    session: Session
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    faults: FaultState = field(default_factory=FaultState)
    held: Out | None = None
    closed: bool = False
    writer: asyncio.Task[None] | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


class SimServer:
    """Loopback venue simulator, market-data side.

    Args:
        seed: Seed of every book (see `MarketSim`).
        symbols: Per venue, symbols (venue spelling) or `Instrument`s; None for all venues with
            their default symbols (`CATALOG`).
        rate_hz: Updates pushed per second per book; 0 pushes only on `step()`.
        levels: Target levels per side of each book.
        okx_checksum_zero: Send OKX `checksum: 0` instead of the CRC32.
        heartbeat_s: Kraken / Coinbase heartbeat and Bitfinex `hb` interval.
        htx_ping_s: HTX `{"ping": ts}` interval.
        ping_interval: WebSocket protocol ping interval (None: no pings).
        max_queue: Frames queued for one connection before it is dropped as a slow consumer.
        intensity: Random-walk event batches per step (see `RandomWalk`).
        max_frame: Largest frame a client should accept; `OVERSIZED` sends one byte more.
        host: Loopback address to bind.
    """

    def __init__(
        self,
        seed: int = 1,
        symbols: Mapping[str, Sequence[str | Instrument]] | None = None,
        *,
        rate_hz: float = 0.0,
        levels: int = 200,
        intensity: int = 1,
        okx_checksum_zero: bool = False,
        heartbeat_s: float = 1.0,
        htx_ping_s: float = 5.0,
        ping_interval: float | None = 20.0,
        max_queue: int = 100_000,
        max_frame: int = DEFAULT_MAX_FRAME,
        host: str = "127.0.0.1",
    ) -> None:
        self.market = MarketSim(seed, symbols, levels=levels, intensity=intensity)
        self.options = SessionOptions(
            okx_checksum_zero=okx_checksum_zero,
            heartbeat_ms=int(heartbeat_s * 1000),
            htx_ping_ms=int(htx_ping_s * 1000),
        )
        self.rate_hz = rate_hz
        self.max_queue = max_queue
        self.max_frame = max_frame
        self.host = host
        self._ping_interval = ping_interval
        self._paused = False
        self._ws_servers: dict[str, Server] = {}
        self._ws_ports: dict[str, int] = {}
        self._rest: dict[str, web.AppRunner] = {}
        self._rest_ports: dict[str, int] = {}
        self._conns: dict[int, _Conn] = {}
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._http_429: dict[str, tuple[int, int]] = {}
        self._stats: dict[str, defaultdict[str, int]] = {
            v: defaultdict(int) for v in self.market.venues
        }
        self._steps = 0

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind every venue's servers on ephemeral loopback ports and start pushing."""
        for venue in self.market.venues:
            server = await serve(
                self._handler(venue),
                self.host,
                0,
                process_request=self._path_check(venue),
                compression=None,
                ping_interval=self._ping_interval,
                max_size=2**20,
                server_header=None,
            )
            self._ws_servers[venue] = server
            self._ws_ports[venue] = next(iter(server.sockets)).getsockname()[1]
            if venue in _REST_VENUES:
                await self._start_rest(venue)
        self._tasks.append(asyncio.create_task(self._pump(), name="sim-pump"))
        self._tasks.append(asyncio.create_task(self._timers(), name="sim-timers"))

    async def stop(self) -> None:
        """Stop pushing, close every connection (1001) and release the ports."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for server in self._ws_servers.values():
            server.close()
        for server in self._ws_servers.values():
            await server.wait_closed()
        self._ws_servers.clear()
        for runner in self._rest.values():
            await runner.cleanup()
        self._rest.clear()

    # ---------------------------------------------------------------- addresses and state

    def ws_url(self, venue: str, path: str | None = None) -> str:
        """The venue's public market-data WebSocket URL.

        Args:
            venue: Venue name.
            path: Path (and query) to use instead of the venue's canonical one.

        Returns:
            For example `ws://127.0.0.1:PORT/ws/v5/public`.
        """
        tail = CANONICAL_PATHS[venue] if path is None else path
        return f"ws://{self.host}:{self._ws_ports[venue]}{tail}"

    def rest_url(self, venue: str) -> str:
        """Base URL of the venue's REST server (Binance spot and USD-M only).

        Args:
            venue: `"binance"` or `"binanceusdm"`.

        Returns:
            For example `http://127.0.0.1:PORT`.

        Raises:
            KeyError: If the venue has no simulated REST endpoints.
        """
        if venue not in self._rest_ports:
            raise KeyError(f"{venue} has no simulated REST endpoints")
        return f"http://{self.host}:{self._rest_ports[venue]}"

    def book(
        self, venue: str, symbol: str, depth: int | None = None
    ) -> tuple[list[Level], list[Level]]:
        """The simulator's true book (see `MarketSim.book`)."""
        return self.market.book(venue, symbol, depth)

    def connections(self, venue: str | None = None) -> list[int]:
        """Ids of the open connections, optionally of one venue.

        Args:
            venue: Only this venue.

        Returns:
            Connection ids, oldest first.
        """
        return [
            c.id
            for c in self._conns.values()
            if not c.closed and (venue is None or c.venue == venue)
        ]

    async def wait_connections(self, venue: str, n: int = 1, timeout: float = 5.0) -> list[int]:
        """Wait until `venue` has at least `n` open connections.

        A client's handshake can complete before the server has registered the connection;
        tests that `step()` right after connecting wait here first.

        Args:
            venue: Venue name.
            n: Connections to wait for.
            timeout: Seconds to wait at most.

        Returns:
            The venue's open connection ids.
        """
        async with asyncio.timeout(timeout):
            while len(self.connections(venue)) < n:
                await asyncio.sleep(0.002)
        return self.connections(venue)

    def session(self, conn: int) -> Session:
        """The protocol session of an open connection.

        Args:
            conn: Connection id.

        Returns:
            The session.
        """
        return self._conns[conn].session

    def stats(self) -> dict[str, Any]:
        """Counters: `steps`, and per venue connections, frames, bytes and faults applied.

        Returns:
            A snapshot of the counters.
        """
        venues: dict[str, dict[str, int]] = {}
        for venue, counters in self._stats.items():
            entry = dict(counters)
            entry["connections"] = len(self.connections(venue))
            venues[venue] = entry
        return {"steps": self._steps, "venues": venues}

    # ---------------------------------------------------------------- driving the market

    def pause(self) -> None:
        """Stop the timed pushes (`step()` still works)."""
        self._paused = True

    def resume(self) -> None:
        """Resume timed pushes at `rate_hz`."""
        self._paused = False

    async def step(
        self, n: int = 1, venue: str | None = None, symbol: str | None = None
    ) -> list[Update]:
        """Advance the books `n` steps now, send the updates and wait until they are written.

        Args:
            n: Number of steps.
            venue: Only this venue.
            symbol: Only this symbol.

        Returns:
            The updates, in order.
        """
        updates: list[Update] = []
        for _ in range(n):
            batch = self.market.step(venue, symbol)
            self._dispatch(batch)
            updates.extend(batch)
        await self.flush()
        return updates

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued frame has been written to its socket (or dropped).

        Args:
            timeout: Seconds to wait at most.
        """
        queues = [c.queue.join() for c in self._conns.values()]
        if queues:
            await asyncio.wait_for(asyncio.gather(*queues), timeout)

    def _dispatch(self, updates: list[Update]) -> None:
        self._steps += 1
        conns = list(self._conns.values())
        for upd in updates:
            for conn in conns:
                if conn.venue == upd.venue and not conn.closed:
                    self._enqueue(conn, conn.session.update(upd))

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        start, done = loop.time(), 0
        while True:
            if self.rate_hz <= 0 or self._paused:
                await asyncio.sleep(0.01)
                start, done = loop.time(), 0
                continue
            owed = int((loop.time() - start) * self.rate_hz) - done
            if owed > self.rate_hz:  # more than a second behind: skip, do not burst
                start, done, owed = loop.time(), 0, 1
            for _ in range(owed):
                self._dispatch(self.market.step())
            done += owed
            await asyncio.sleep(max(0.0005, start + (done + 1) / self.rate_hz - loop.time()))

    async def _timers(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            now = _now_ms()
            for conn in list(self._conns.values()):
                if not conn.closed:
                    self._enqueue(conn, conn.session.timer(now))

    # ---------------------------------------------------------------- faults

    def inject(
        self,
        fault: Fault | str,
        venue: str,
        *,
        count: int = 1,
        conn: int | None = None,
        seconds: float = 1.0,
        size: int | None = None,
        pieces: int = 3,
        retry_after: int = 1,
    ) -> int:
        """Inject a fault (see `Fault`) on a venue's open connections or REST endpoint.

        Args:
            fault: The fault.
            venue: Venue name.
            count: Messages (or REST requests) affected, per connection.
            conn: Only this connection id (see `connections`).
            seconds: `STALL` duration.
            size: `OVERSIZED` frame size in bytes (default `max_frame + 1`).
            pieces: `FRAGMENT` frames per message.
            retry_after: `HTTP_429` `Retry-After` seconds.

        Returns:
            Connections affected (1 for `HTTP_429`).

        Raises:
            ValueError: `BAD_CHECKSUM` on a venue without checksums, `HTTP_429` on a venue
                without REST snapshots, or an unknown venue.
        """
        fault = Fault(fault)
        if venue not in self._stats:
            raise ValueError(f"{venue} is not simulated")
        if fault is Fault.HTTP_429:
            if venue not in _REST_VENUES:
                raise ValueError(f"{venue} has no simulated REST snapshot")
            self._http_429[venue] = (count, retry_after)
            return 1
        if fault is Fault.BAD_CHECKSUM and not SESSIONS[venue].has_checksum:
            raise ValueError(f"{venue} messages carry no checksum")
        targets = [
            c
            for c in self._conns.values()
            if c.venue == venue and not c.closed and (conn is None or c.id == conn)
        ]
        for c in targets:
            self._apply(c, fault, count, seconds, size, pieces)
        return len(targets)

    def _apply(
        self, c: _Conn, fault: Fault, count: int, seconds: float, size: int | None, pieces: int
    ) -> None:
        f = c.faults
        match fault:
            case Fault.GAP:
                f.gap += count
            case Fault.DUPLICATE:
                f.duplicate += count
            case Fault.REORDER:
                f.reorder += count
            case Fault.FRAGMENT:
                f.fragment += count
                f.fragment_pieces = max(2, pieces)
            case Fault.MALFORMED:
                f.malformed += count
            case Fault.BAD_CHECKSUM:
                c.session.bad_checksums += count
            case Fault.OVERSIZED:
                c.queue.put_nowait(_Oversize(size if size is not None else self.max_frame + 1))
            case Fault.STALL:
                c.queue.put_nowait(_Stall(seconds))
            case Fault.ROTATE:
                c.queue.put_nowait(Out(b"", close=c.session.rotate_close, text=False))
            case Fault.DISCONNECT:
                self._stats[c.venue]["disconnects"] += 1
                self._abort(c)
            case Fault.HTTP_429:  # pragma: no cover - handled by inject
                pass

    def _abort(self, c: _Conn) -> None:
        c.closed = True
        c.ws.transport.abort()

    # ---------------------------------------------------------------- connections

    def _path_check(self, venue: str) -> Any:
        cls = SESSIONS[venue]

        def check(connection: ServerConnection, request: Request) -> Response | None:
            if cls.accepts(request.path):
                return None
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

        return check

    def _handler(self, venue: str) -> Any:
        async def handle(ws: ServerConnection) -> None:
            cid = next(self._ids)
            path = ws.request.path if ws.request is not None else ""
            session = session_for(venue, self.market, path, self.options, cid)
            if session is None:  # pragma: no cover - refused in process_request
                return
            c = _Conn(cid, venue, ws, session)
            self._conns[cid] = c
            self._stats[venue]["connections_total"] += 1
            c.writer = asyncio.create_task(self._writer(c), name=f"sim-writer-{cid}")
            try:
                self._enqueue(c, session.open(_now_ms()))
                async for message in ws:
                    self._stats[venue]["frames_received"] += 1
                    self._enqueue(c, session.receive(message, _now_ms()))
            except ConnectionClosed:
                pass
            finally:
                c.closed = True
                self._conns.pop(cid, None)
                c.writer.cancel()
                await asyncio.gather(c.writer, return_exceptions=True)
                self._release(c)

        return handle

    def _enqueue(self, c: _Conn, outs: list[Out]) -> None:
        if c.closed:
            return
        for out in outs:
            c.queue.put_nowait(out)
        if c.queue.qsize() > self.max_queue:
            log.warning("sim %s connection %d: slow consumer, disconnecting", c.venue, c.id)
            self._stats[c.venue]["slow_consumer_drops"] += 1
            self._abort(c)

    @staticmethod
    def _release(c: _Conn) -> None:
        while not c.queue.empty():
            c.queue.get_nowait()
            c.queue.task_done()

    async def _writer(self, c: _Conn) -> None:
        try:
            while not c.closed:
                item = await c.queue.get()
                try:
                    await self._emit(c, item)
                finally:
                    c.queue.task_done()
        except ConnectionClosed:
            c.closed = True
        finally:
            self._release(c)

    async def _send(self, c: _Conn, payload: str | bytes, text: bool) -> None:
        stats = self._stats[c.venue]
        f = c.faults
        if f.fragment > 0 and len(payload) >= 2:
            f.fragment -= 1
            n = min(f.fragment_pieces, len(payload))
            cut = [len(payload) * i // n for i in range(n + 1)]
            pieces = [payload[cut[i] : cut[i + 1]] for i in range(n)]
            stats["fragmented"] += 1
            await c.ws.send(pieces, text=text if isinstance(payload, bytes) else None)
        else:
            await c.ws.send(payload, text=text if isinstance(payload, bytes) else None)
        stats["frames_sent"] += 1
        stats["bytes_sent"] += len(payload)

    async def _emit(self, c: _Conn, item: _Item) -> None:
        stats = self._stats[c.venue]
        if isinstance(item, _Stall):
            stats["stalls"] += 1
            await asyncio.sleep(item.seconds)
            return
        if isinstance(item, _Oversize):
            stats["oversized"] += 1
            body = '{"pad":"' + "x" * max(0, item.size - 10) + '"}'
            await c.ws.send(body)
            return
        if item.close is not None:
            if item.payload:
                await self._send(c, item.payload, item.text)
            stats["rotations" if item.close == c.session.rotate_close else "closes"] += 1
            c.closed = True
            await c.ws.close(*item.close)
            return
        if not item.data:
            await self._send(c, item.payload, item.text)
            return
        f = c.faults
        if f.gap > 0:
            f.gap -= 1
            stats["dropped"] += 1
            return
        if f.malformed > 0:
            f.malformed -= 1
            stats["malformed"] += 1
            await self._send(c, self._malformed(c, item), item.text)
        if f.reorder > 0 and c.held is None:
            f.reorder -= 1
            stats["reordered"] += 1
            c.held = item
            return
        times = 1
        if f.duplicate > 0:
            f.duplicate -= 1
            stats["duplicated"] += 1
            times = 2
        for _ in range(times):
            await self._send(c, item.payload, item.text)
            stats["data_sent"] += 1
        if c.held is not None:
            held, c.held = c.held, None
            await self._send(c, held.payload, held.text)
            stats["data_sent"] += 1

    @staticmethod
    def _malformed(c: _Conn, item: Out) -> str | bytes:
        payload = item.payload
        if c.venue == "htx" and isinstance(payload, bytes):
            text = gzip.decompress(payload)
            return gzip.compress(text[: max(1, len(text) // 2)], mtime=0)
        return payload[: max(1, len(payload) // 2)]

    # ---------------------------------------------------------------- REST

    async def _start_rest(self, venue: str) -> None:
        prefix = _REST_VENUES[venue]
        app = web.Application()
        app.router.add_get(f"{prefix}/depth", self._depth_handler(venue))
        app.router.add_get(f"{prefix}/ping", self._ping)
        app.router.add_get(f"{prefix}/time", self._time)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        site = web.SockSite(runner, sock)
        await site.start()
        self._rest[venue] = runner
        self._rest_ports[venue] = sock.getsockname()[1]

    @staticmethod
    async def _ping(_request: web.Request) -> web.Response:
        return web.json_response({})

    @staticmethod
    async def _time(_request: web.Request) -> web.Response:
        return web.json_response({"serverTime": _now_ms()})

    def _depth_handler(self, venue: str) -> Any:
        futures = venue == "binanceusdm"

        def error(status: int, code: int, msg: str) -> web.Response:
            return web.Response(
                status=status,
                body=encode({"code": code, "msg": msg}),
                content_type="application/json",
            )

        async def depth(request: web.Request) -> web.Response:
            stats = self._stats[venue]
            stats["rest_requests"] += 1
            pending, retry_after = self._http_429.get(venue, (0, 1))
            if pending > 0:
                self._http_429[venue] = (pending - 1, retry_after)
                stats["rest_429"] += 1
                resp = error(
                    429,
                    -1003,
                    f"Too many requests; current limit of IP({request.remote}) is 6000 "
                    "requests per minute. Please use WebSocket Streams for live updates to "
                    "avoid polling the API.",
                )
                resp.headers["Retry-After"] = str(retry_after)
                return resp
            symbol = request.query.get("symbol", "")
            if not symbol:
                return error(
                    400,
                    -1102,
                    "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
                )
            if not self.market.has(venue, symbol):
                return error(400, -1121, "Invalid symbol.")
            try:
                limit = int(request.query.get("limit", "500" if futures else "100"))
            except ValueError:
                return error(400, -1100, "Illegal characters found in parameter 'limit'.")
            if limit < 1:
                return error(400, -1100, "Illegal characters found in parameter 'limit'.")
            limit = min(limit, 1000 if futures else 5000)
            body = encode(binance_depth(self.market, venue, symbol, limit))
            resp = web.Response(body=body, content_type="application/json")
            resp.headers["X-MBX-USED-WEIGHT-1M"] = str(stats["rest_requests"] * 5)
            return resp

        return depth
