"""Book sessions: a venue's books kept in sync over one WebSocket connection.

Through every disconnect, gap, checksum failure and venue rotation.

    session = BookSession("binance", [Instrument("BTCUSDT", 2, 8)], on_update=callback)
    await session.run(duration=60)          # or start() / stop()

What it does, per the integrity pipeline of `venuegate.feeds`:
- connect (exponential backoff with full jitter on failure), subscribe, and get snapshots: from
  REST (Binance), by `req` on the stream (HTX), or in band (the others);
- hand every message to its instrument's native feed (one call per message, no per-level Python);
- on GAP / CHECKSUM_MISMATCH / CROSSED / MALFORMED: the book is marked stale (callbacks see
  `stale=True`) and resynced — snapshots are throttled per symbol (exponential) and spread across
  symbols by a token bucket, so a mass disconnect never becomes a snapshot storm; a REST 429/418
  honours Retry-After;
- answer venue pings, send keepalives, watch for a silent feed (reconnect after `stale_after`);
- rotate connections before the venue's forced disconnect (Binance: 24 h) without a gap: the
  next connection opens beside the current one and takes over once it has bridged. Its messages
  go through Python while it is being rotated in (held until the bridge); from the switch on it
  is on the fused path like the first connection (native: `_on_read`; thread: the reader thread
  applies, `ThreadClient.enable_fused`), and the retired connection no longer touches the books.

Callbacks receive a `BookUpdate`: the symbol, the native-backed `OrderBook`, the status, the stale
flag and latency stamps (receive / applied / callback, monotonic ns).

Transports: `native` (asyncio protocol + the fused native read path), `picows`, and `thread`
(`venuegate.net.thread_ws`): a native reader thread applies each message of a one-instrument
connection (`VenueSpec.fusable` venues) without the GIL, and the loop hears only about events, so
Python code does not run per message. Resync, snapshots, keepalives, the stale watchdog, rotation
and reconnects stay here, driven by those events. `on_update` in thread mode:
- it is called on the event loop for every feed event (a status that needs a resync, or the
  feed becoming synced), and at most every `conflate_ms` milliseconds with the latest book when
  messages were applied since the last call (status APPLIED; `recv_ns` is the last socket read's
  stamp, `decoded_ns` = `applied_ns` = the time of the call: per-message receive → applied
  latency is recorded natively, see `latency()`);
- with `conflate_ms=None` it is called instead for every message, on the reader thread with the
  GIL held (it must not touch the event loop; it costs the GIL per message).
Other venues, and connections with several instruments, read on the thread but hand every
message to the loop (no CPU gain there). `coalesce_ms` (thread transport, 0 by default) lets the
thread read at most once per interval: messages that arrive meanwhile share one wake-up, for
less CPU per message at up to that much added latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from venuegate.book import OrderBook
from venuegate.feeds import FeedStatus, VenueBookFeed, book_feed
from venuegate.md.venues import VenueSpec, spec_for
from venuegate.net.thread_ws import ThreadClient
from venuegate.net.ws import (
    DEFAULT_TRANSPORT,
    Connection,
    OnRead,
    Transport,
    WsClient,
    WsOptions,
    connect,
)
from venuegate.ws import WsDecoder

log = logging.getLogger("venuegate.md")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A symbol and its precisions (digits after the point)."""

    symbol: str
    price_precision: int
    size_precision: int


@dataclass(slots=True)
class BookUpdate:
    """What a callback receives. Valid during the callback; the book keeps changing after.

    Attributes:
        symbol: the instrument.
        book: its native book (read `top_of_book()` for integers, `best_bid()` for Decimals).
        status: what the last message did.
        stale: True while the book awaits a resync: do not trade on it.
        recv_ns: when the socket read holding the message arrived (monotonic ns).
        decoded_ns: when its WebSocket frame was decoded (and inflated, for HTX) and the payload
            handed on. On the fused path frames, JSON and book are one native call, so this
            equals `applied_ns` there.
        applied_ns: when the book finished applying it.
        callback_ns: when the callback was entered.
    """

    symbol: str
    book: OrderBook
    status: FeedStatus
    stale: bool
    recv_ns: int
    decoded_ns: int
    applied_ns: int
    callback_ns: int


type OnUpdate = Callable[[BookUpdate], None]


@dataclass(slots=True)
class SessionStats:
    """Session counters (per-feed counters are on the feeds)."""

    connects: int = 0
    reconnects: int = 0
    messages: int = 0
    resyncs: int = 0
    snapshot_requests: int = 0
    snapshot_refusals: int = 0
    connection_gaps: int = 0
    rotations: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Throttle:
    """Per-symbol resync throttle: exponential from `base` to `cap`, reset after a good sync."""

    base: float
    cap: float
    delay: float = 0.0
    not_before: float = 0.0

    def next_allowed(self, now: float) -> float:
        at = max(now, self.not_before)
        self.delay = self.base if self.delay == 0 else min(self.cap, self.delay * 2)
        self.not_before = at + self.delay
        return at

    def reset(self) -> None:
        self.delay = 0.0


@dataclass(slots=True)
class _Bucket:
    """Token bucket spreading snapshot requests across symbols (rate per second, burst)."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


_CONNECT_BUCKETS: dict[str, _Bucket] = {}
"""New-connection budgets per venue, shared by every session of this process (one IP)."""


def _connect_bucket(spec: VenueSpec) -> _Bucket:
    bucket = _CONNECT_BUCKETS.get(spec.name)
    if bucket is None:
        rate, burst = spec.connects
        bucket = _CONNECT_BUCKETS[spec.name] = _Bucket(rate, burst)
    return bucket


class BookSession:
    """Keeps `instruments`' books in sync on one venue (see module docs)."""

    def __init__(
        self,
        venue: str,
        instruments: Sequence[Instrument],
        *,
        on_update: OnUpdate | None = None,
        ws_url: str | None = None,
        rest_url: str | None = None,
        spec: VenueSpec | None = None,
        snapshot_depth: int = 1000,
        stale_after: float = 30.0,
        backoff: tuple[float, float] = (0.1, 30.0),
        resync_throttle: tuple[float, float] = (0.25, 30.0),
        snapshots_per_second: float = 5.0,
        max_connection_age: float | None = None,
        ws_options: WsOptions | None = None,
        http: aiohttp.ClientSession | None = None,
        transport: Transport = DEFAULT_TRANSPORT,
        conflate_ms: float | None = 100.0,
        coalesce_ms: float = 0.0,
    ) -> None:
        self.spec = spec or spec_for(venue)
        self.venue = venue
        if len(instruments) > self.spec.max_streams_per_connection:
            raise ValueError(
                f"{venue} allows {self.spec.max_streams_per_connection} streams per connection; "
                f"split {len(instruments)} instruments across sessions"
            )
        self.instruments = {i.symbol: i for i in instruments}
        self.feeds: dict[str, VenueBookFeed] = {}
        self._route: dict[str, str] = {}
        for inst in instruments:
            self.feeds[inst.symbol] = book_feed(
                venue,
                inst.symbol,
                price_precision=inst.price_precision,
                size_precision=inst.size_precision,
            )
            self._route[self._key(inst.symbol)] = inst.symbol
        self.on_update = on_update
        self.ws_base = ws_url or self.spec.ws_url
        self.rest_base = (rest_url or self.spec.rest_url).rstrip("/")
        self.snapshot_depth = snapshot_depth
        self.stale_after = stale_after
        self.backoff = backoff
        self.max_connection_age = max_connection_age or self.spec.max_connection_age
        self.ws_options = ws_options or WsOptions()
        self.transport: Transport = transport
        self.conflate_ms = conflate_ms
        self.coalesce_ms = coalesce_ms
        self.stats = SessionStats()
        self._http = http
        self._own_http = http is None
        self._throttles = {s: _Throttle(*resync_throttle) for s in self.instruments}
        self._bucket = _Bucket(snapshots_per_second, max(1.0, snapshots_per_second))
        self._send_bucket = _Bucket(self.spec.max_sends_per_second, 1.0)
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._client: Connection | None = None
        self._incoming: Connection | None = None
        self._incoming_buffer: list[tuple[bytes, int]] = []
        self._incoming_first: dict[str, int] = {}
        self._last_rx = time.monotonic()
        self._conn_seq: int | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._thread_client: ThreadClient | None = None

    def _key(self, symbol: str) -> str:
        # Routing keys as the venue writes them in messages.
        if self.spec.name.startswith("binance"):
            return symbol.upper()
        if self.spec.name == "htx":
            return symbol.lower()
        return symbol

    # public -----------------------------------------------------------------------------------
    def book(self, symbol: str) -> OrderBook:
        """The book of `symbol`."""
        return self.feeds[symbol].book

    @property
    def synced(self) -> bool:
        """True when every book is in sync."""
        return all(not f.stale for f in self.feeds.values())

    def latency(
        self, quantiles: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999)
    ) -> dict[str, int | None] | None:
        """Receive → applied ns recorded natively by the thread transport (latest connection).

        Returns:
            `{"count", "max", "p50", ...}` (keys `p` + the quantile's digits), or None when no
            reader thread applied messages (other transports, or venues not fused).
        """
        client = self._thread_client
        if client is None:
            return None
        count, high, values = client.latency(quantiles)
        out: dict[str, int | None] = {"count": count, "max": high if count else None}
        for q, v in zip(quantiles, values, strict=True):
            out["p" + f"{q * 100:g}".replace(".", "")] = v
        return out

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Waits until every book is in sync (now, not merely once before)."""

        async def until() -> None:
            while not self.synced:
                self._synced.clear()
                await self._synced.wait()

        await asyncio.wait_for(until(), timeout)

    def start(self) -> asyncio.Task[None]:
        """Runs the session in a background task."""
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name=f"book-session-{self.venue}")
        return self._task

    async def stop(self) -> None:
        """Stops the session: closes the connection and cancels pending snapshots."""
        self._stop.set()
        if self._client is not None:
            self._client.abort()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for t in self._pending.values():
            t.cancel()
        if self._http is not None and self._own_http:
            await self._http.close()
            self._http = None

    async def run(self, duration: float | None = None) -> None:
        """Runs until `duration` seconds pass (or forever), then stops."""
        self.start()
        try:
            if duration is None:
                await self._stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), duration)
        finally:
            await self.stop()

    # connection loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                await self._connection()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("%s: connection failed: %s", self.venue, self.stats.last_error)
            if self._stop.is_set():
                break
            attempt += 1
            self.stats.reconnects += 1
            # Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
            # And Jitter"): spreads reconnects of many clients.
            base, cap = self.backoff
            delay = random.uniform(0, min(cap, base * 2 ** min(attempt, 16)))  # noqa: S311
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _open(self, url: str, *, fused: bool = True) -> Connection:
        """Connects a handler that acts only for the active (or incoming) connection.

        Messages are handled while the connection is the active one, held while it is the one
        being rotated in, and dropped otherwise (before it becomes either, or once retired).

        With one fusable feed the connection has a fused path. `native`: each read takes it
        while the connection is the active one, and the unfused path (frames → `handler`)
        otherwise, so a rotated-in connection is fused from its switch on. `thread`: `fused`
        says whether the reader thread applies from the start; a connection being rotated in
        opens with `fused=False` and `_rotate` calls `enable_fused()` at the switch.
        """
        # The venue's connection-rate limit is per IP: every session of the process shares it.
        await _connect_bucket(self.spec).take()
        holder: list[Connection] = []

        def handler(payload: bytes, opcode: int, recv_ns: int) -> None:
            if holder and holder[0] is self._client:
                self._on_message(payload, opcode, recv_ns)
            elif holder and holder[0] is self._incoming:
                self._on_incoming(payload, opcode)

        fusable = self.spec.fusable and len(self.feeds) == 1
        if self.transport == "thread":
            return await self._open_thread(url, handler, holder, fusable, fused=fused)

        on_read: OnRead | None = None
        if self.transport == "native" and fusable:
            feed = next(iter(self.feeds.values()))

            def fused_read(
                decoder: WsDecoder, data: bytes, recv_ns: int
            ) -> list[tuple[int, bytes]]:
                if holder and holder[0] is self._client:
                    return self._on_read(feed, decoder, data, recv_ns)
                # Not the active connection (yet, or any more): the unfused path. The decoder
                # sees every read (frames stay in step, pings and closes are answered) and the
                # handler holds the data messages of the one being rotated in, drops others'.
                return decoder.feed_call(data, handler, recv_ns)

            on_read = fused_read

        if on_read is not None:
            client: Connection = await WsClient.connect(
                url, handler, options=self.ws_options, on_read=on_read
            )
        else:
            client = await connect(url, handler, options=self.ws_options, transport=self.transport)
        holder.append(client)
        return client

    async def _open_thread(
        self,
        url: str,
        handler: Callable[[bytes, int, int], None],
        holder: list[Connection],
        fusable: bool,
        *,
        fused: bool,
    ) -> Connection:
        """A reader-thread connection; with one fusable feed the thread applies its messages.

        With `fused=False` (a connection being rotated in) the messages go to `handler` until
        `enable_fused()`.
        """
        if not fusable:
            client = await ThreadClient.connect(url, handler, options=self.ws_options)
            holder.append(client)
            return client
        feed = next(iter(self.feeds.values()))
        on_update = self.on_update

        # Per-message mode calls on_update on the thread only: the loop's events do not.
        notify = self.conflate_ms is not None

        def on_status(status: FeedStatus, recv_ns: int) -> None:
            if holder and holder[0] is self._client:
                self._after_apply(feed.symbol, feed, status, recv_ns, 0, notify=notify)

        per_message = None
        if on_update is not None and self.conflate_ms is None:
            book = feed.book
            statuses = tuple(FeedStatus)

            def per_message_cb(
                _payload: bytes, _opcode: int, recv_ns: int, status: int | None
            ) -> None:
                st = statuses[status if status is not None else 1]
                now = time.monotonic_ns()
                on_update(BookUpdate(feed.symbol, book, st, feed.stale, recv_ns, now, now, now))

            per_message = per_message_cb
        client = await ThreadClient.connect(
            url,
            handler,
            options=self.ws_options,
            feed=feed,
            on_status=on_status,
            per_message=per_message,
            coalesce=self.coalesce_ms / 1000.0,
            fused=fused,
        )
        holder.append(client)
        if fused:
            self._thread_client = client
        return client

    async def _tick(self, client: ThreadClient) -> None:
        """Thread transport: counts, the stale watchdog's clock and the conflated callback.

        Adds the messages the thread applied to the stats, moves the watchdog's last-receive time,
        and calls `on_update` with the latest book at most every `conflate_ms`.
        """
        feed = next(iter(self.feeds.values()))
        period = (self.conflate_ms if self.conflate_ms is not None else 100.0) / 1000.0
        while True:
            await asyncio.sleep(period)
            new = client.take_applied()
            if not new:
                continue
            self.stats.messages += new
            self._last_rx = max(self._last_rx, client.last_rx_ns / 1e9)
            if client is not self._client:
                continue
            if not feed.stale:
                self._throttles[feed.symbol].reset()
            if self.on_update is not None and self.conflate_ms is not None:
                self._thread_update(feed, client)

    def _on_read(
        self, feed: VenueBookFeed, decoder: WsDecoder, data: bytes, recv_ns: int
    ) -> list[tuple[int, bytes]]:
        """The fused path: one socket read → frames → decode → book, one callback per read."""
        self._last_rx = time.monotonic()
        count, status, controls = feed.apply_ws(decoder, data)
        self.stats.messages += count
        self._after_apply(feed.symbol, feed, status, recv_ns, 0)
        return controls

    async def _connection(self) -> None:
        symbols = list(self.instruments)
        keys = [self._key(s) for s in symbols]
        url = self.spec.connect_url(self.ws_base, keys)
        for feed in self.feeds.values():
            feed.invalidate("reconnecting")
        self._synced.clear()
        self._conn_seq = None
        client = await self._open(url)
        self._client = client
        self.stats.connects += 1
        opened = time.monotonic()
        self._last_rx = opened
        tick = self._start_tick(client)
        try:
            for msg in self.spec.subscribe(keys):
                await self._send(client, msg)
            if self.spec.snapshot_mode != "in_band":
                for s in symbols:
                    self._schedule_resync(s)
            while client.open and not self._stop.is_set():
                await asyncio.sleep(min(1.0, self.stale_after / 4, self.max_connection_age or 1.0))
                now = time.monotonic()
                await self._keepalive(client, now)
                if self.max_connection_age and now - opened > self.max_connection_age * 0.98:
                    log.info("%s: rotating the connection before the venue drops it", self.venue)
                    replacement = await self._rotate(url, keys)
                    if replacement is None:
                        if not self._stop.is_set():
                            self.stats.rotations += 1  # by reconnecting
                        break  # no gapless rotation for this venue (or stopping): reconnect
                    old, client = client, replacement
                    opened = time.monotonic()
                    tick = await self._retire(old, tick, client)
            if not self._stop.is_set() and not client.open:
                code, reason = await client.wait_closed()
                raise ConnectionError(f"closed by the venue: {code} {reason}")
        finally:
            self._client = None
            if tick is not None:
                await self._stop_tick(tick, client)
            await client.close()

    def _start_tick(self, client: Connection) -> asyncio.Task[None] | None:
        """The `_tick` task of a connection whose reader thread applies (else None)."""
        if isinstance(client, ThreadClient) and client is self._thread_client:
            return asyncio.create_task(self._tick(client), name=f"book-session-tick-{self.venue}")
        return None

    async def _retire(
        self, old: Connection, tick: asyncio.Task[None] | None, client: Connection
    ) -> asyncio.Task[None] | None:
        """After a rotation: the new connection's tick starts, the old one's stops, it closes.

        Returns the new connection's tick (None when its thread does not apply).
        """
        new_tick = self._start_tick(client)
        if tick is not None:
            # The retired connection no longer applies: count its last messages.
            await self._stop_tick(tick, old)
        await old.close()
        return new_tick

    async def _stop_tick(self, tick: asyncio.Task[None], client: Connection) -> None:
        """Cancels a connection's `_tick` and counts what its thread applied since the last."""
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        if isinstance(client, ThreadClient):
            self.stats.messages += client.take_applied()

    async def _keepalive(self, client: Connection, now: float) -> None:
        """Sends the venue's application ping when due; raises on a silent feed."""
        if self.spec.keepalive is not None:
            interval, text = self.spec.keepalive
            if now - self._last_rx >= interval:
                await self._send(client, text)
        if now - self._last_rx > self.stale_after:
            raise TimeoutError(f"no message for {self.stale_after:.0f} s")

    async def _send(self, client: Connection, text: str) -> None:
        """Sends a control message (subscribe, resubscribe, `req`, keepalive) within limits.

        The venue's limit on messages a client may send is `VenueSpec.max_sends_per_second`: a
        venue that counts them drops connections that exceed it.
        """
        await self._send_bucket.take()
        client.send_text(text)

    async def _rotate(self, url: str, keys: list[str]) -> Connection | None:
        """Opens the next connection beside the current one and switches without a gap.

        For venues whose update ids are global (Binance: `U`/`u`), the new connection's messages
        are held until the current one has applied everything before the first of them; then
        the held messages are replayed (duplicates are skipped by the feeds) and the new
        connection takes over, on the fused path from then on (thread transport: its thread
        applies the messages queued after the held ones, then every later one; the retired
        connection's thread stops applying first). Venues without such ids return None (plain
        reconnect).
        """
        if not self.spec.global_update_ids:
            return None
        self._incoming_buffer = []
        self._incoming_first = {}
        try:
            incoming = await self._open(url, fused=False)
        except (OSError, TimeoutError) as exc:
            log.warning(
                "%s: rotation failed to connect (%s); reconnecting instead", self.venue, exc
            )
            return None
        self._incoming = incoming
        for msg in self.spec.subscribe(keys):
            await self._send(incoming, msg)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self._stop.is_set():
            if self._bridged():
                break
            await asyncio.sleep(0.005)
        else:
            self._incoming = None
            await incoming.close()
            return None
        # Switch: the held messages go through the normal path; the old connection goes quiet.
        # No await from here on: nothing else runs on the loop (no drain of the new thread's
        # events) until the new connection is fused.
        self._incoming = None
        retired = self._client
        if isinstance(retired, ThreadClient):
            retired.disable_fused()  # its later messages reach `handler`, which drops them
        self._client = incoming
        self.stats.connects += 1
        self.stats.rotations += 1
        held, self._incoming_buffer = self._incoming_buffer, []
        for payload, opcode in held:
            self._on_message(payload, opcode, time.monotonic_ns())
        if isinstance(incoming, ThreadClient):
            self._fused_in(incoming, incoming.enable_fused())
        # A gap the retired connection hit just before the switch reported on that connection,
        # whose events are now dropped: a stale book would wait for the next reconnect.
        for symbol, feed in self.feeds.items():
            if feed.stale:
                self._schedule_resync(symbol)
        return incoming

    def _fused_in(self, client: ThreadClient, applied: int) -> None:
        """A rotated-in reader thread now applies: it becomes the session's thread client.

        Its `_tick` (counts, watchdog, conflated callback) is started by `_connection`. In
        per-message mode, the `applied` messages `enable_fused` applied (those queued after the
        held ones) get one callback with the book as they left it.
        """
        if not client.fused:
            return  # no fusable feed: every message goes through `_on_message`
        self._thread_client = client
        if applied and self.on_update is not None and self.conflate_ms is None:
            self._thread_update(next(iter(self.feeds.values())), client)

    def _thread_update(self, feed: VenueBookFeed, client: ThreadClient) -> None:
        """`on_update` with the book a reader thread applied to (stamped at its last read)."""
        assert self.on_update is not None  # noqa: S101 - callers check
        now = time.monotonic_ns()
        self.on_update(
            BookUpdate(
                feed.symbol,
                feed.book,
                FeedStatus.APPLIED,
                feed.stale,
                client.last_rx_ns,
                now,
                now,
                now,
            )
        )

    def _on_incoming(self, payload: bytes, opcode: int) -> None:
        self._incoming_buffer.append((payload, opcode))
        msg = self.spec.decode(payload, opcode)
        key = self.spec.route(msg)
        symbol = self._route.get(key) if key is not None else None
        if symbol is not None and symbol not in self._incoming_first:
            first = self.spec.first_update_id(msg)
            if first is not None:
                self._incoming_first[symbol] = first

    def _bridged(self) -> bool:
        """True when every feed has applied up to just before the new connection's first ids."""
        if len(self._incoming_first) < len(self.feeds):
            return False
        for symbol, first in self._incoming_first.items():
            last = self.feeds[symbol].last_seq
            if last is None or last < first - 1 or self.feeds[symbol].stale:
                return False
        return True

    # messages ---------------------------------------------------------------------------------
    def _on_message(self, payload: bytes, opcode: int, recv_ns: int) -> None:
        self._last_rx = time.monotonic()
        self.stats.messages += 1
        spec = self.spec
        msg = spec.decode(payload, opcode)
        decoded_ns = time.monotonic_ns() if self.on_update is not None else 0
        answer = spec.reply(msg)
        if answer is not None and self._client is not None:
            self._client.send_text(answer)
            return
        seq = spec.connection_seq(msg)
        if seq is not None:
            if self._conn_seq is not None and seq > self._conn_seq + 1:
                self.stats.connection_gaps += 1
                log.warning(
                    "%s: connection sequence jumped %d → %d: resyncing every book",
                    self.venue,
                    self._conn_seq,
                    seq,
                )
                self._conn_seq = seq
                for s, feed in self.feeds.items():
                    feed.invalidate("connection sequence gap")
                    self._schedule_resync(s)
            elif self._conn_seq is None or seq > self._conn_seq:
                self._conn_seq = seq
        key = spec.route(msg)
        if key is None:
            return
        symbol = self._route.get(key)
        if symbol is None:
            return
        feed = self.feeds[symbol]
        self._after_apply(symbol, feed, feed.apply(msg), recv_ns, decoded_ns)

    def _after_apply(
        self,
        symbol: str,
        feed: VenueBookFeed,
        status: FeedStatus,
        recv_ns: int,
        decoded_ns: int,
        *,
        notify: bool = True,
    ) -> None:
        """What follows a message or a fused read: throttle reset, resync, the callback."""
        if status is FeedStatus.APPLIED:
            self._throttles[symbol].reset()
            if not self._synced.is_set() and self.synced:
                self._synced.set()
        elif status.needs_resync:
            self._schedule_resync(symbol)
        if notify and self.on_update is not None and status is not FeedStatus.SKIPPED:
            applied = time.monotonic_ns()
            self.on_update(
                BookUpdate(
                    symbol,
                    feed.book,
                    status,
                    feed.stale,
                    recv_ns,
                    decoded_ns or applied,
                    applied,
                    time.monotonic_ns(),
                )
            )

    # resync -----------------------------------------------------------------------------------
    def _schedule_resync(self, symbol: str) -> None:
        if symbol in self._pending and not self._pending[symbol].done():
            return
        self.stats.resyncs += 1
        self._pending[symbol] = asyncio.create_task(self._resync(symbol))

    async def _resync(self, symbol: str) -> None:
        at = self._throttles[symbol].next_allowed(time.monotonic())
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        await self._bucket.take()
        client = self._client
        if client is None or self._stop.is_set():
            return
        mode = self.spec.snapshot_mode
        if mode == "in_band":
            for msg in self.spec.resubscribe(self._key(symbol)):
                await self._send(client, msg)
        elif mode == "request":
            self.stats.snapshot_requests += 1
            await self._send(client, self.spec.snapshot_request(self._key(symbol)))
        else:
            await self._rest_snapshot(symbol)

    async def _rest_snapshot(self, symbol: str) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        url = self.rest_base + self.spec.snapshot_path(self._key(symbol), self.snapshot_depth)
        feed = self.feeds[symbol]
        self.stats.snapshot_requests += 1
        try:
            async with self._http.get(url) as resp:
                body = await resp.read()
                if resp.status in (418, 429):
                    self.stats.snapshot_refusals += 1
                    retry = float(resp.headers.get("Retry-After", "1") or 1)
                    log.warning(
                        "%s: snapshot refused (%d), retry after %.1f s",
                        self.venue,
                        resp.status,
                        retry,
                    )
                    self._throttles[symbol].not_before = time.monotonic() + retry
                    self._pending.pop(symbol, None)
                    self._schedule_resync(symbol)
                    return
                if resp.status != 200:
                    raise ConnectionError(f"snapshot HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            log.warning("%s %s: snapshot failed: %s", self.venue, symbol, exc)
            self._pending.pop(symbol, None)
            self._schedule_resync(symbol)
            return
        status = feed.apply_snapshot(body)
        if status is FeedStatus.APPLIED:
            if self.synced:
                self._synced.set()
        else:
            # Too old / too new for the buffered deltas, or garbled: try again (throttled).
            self._pending.pop(symbol, None)
            self._schedule_resync(symbol)


__all__ = ["BookSession", "BookUpdate", "Instrument", "OnUpdate", "SessionStats"]
