"""WebSocket order entry: place, cancel and amend over one persistent venue connection.

Where a venue takes orders over a WebSocket (Binance's WebSocket API `order.place`, OKX's
private connection `op: order`, Kraken's WS v2 `add_order`), a request skips the HTTP round
trip and its signing per connection. `WsOrderEntry` keeps that connection up and gives the same
contract as the REST path (`RestClient.call` + `adapter.parse_*`):

    entry = WsOrderEntry(adapter, ssl=True, timeout_s=5.0, limiter=limiter)
    await entry.start()                    # connects (and logs in) in the background
    await entry.wait_ready(5.0)
    reports = await entry.place(order)     # the ACK (and fills), or the classified VenueError

A venue that needs REST calls before connecting (Kraken: a GetWebSocketsToken token) has
`ws_entry_prepare(call)` on its adapter (`WsEntryPreparer`); `WsOrderEntry` then needs a REST
caller, `WsOrderEntry(adapter, rest=rest_client)`, runs the step before every connection
attempt (a reconnect gets a fresh token) and again, connection kept, after the delay the step
returns (a token renewed before it expires). Binance and OKX have no such step.

Outcomes, as `docs/ORDER_PATH.md` classifies them:

* not connected (or logging in, or closed): `RetryableError` — nothing was sent;
* the venue's error answer: the adapter's classification (`ERRORS` of the venue), unchanged;
* no answer within `timeout_s`, or the connection lost with the request pending:
  `UnknownOutcomeError` — the request may have been acted on; the caller queries by client
  order id (never resends blindly), exactly as after a REST timeout. A late answer to such a
  request is dropped (the query settles the order).

The connection reconnects with full-jitter backoff (`venuegate.net.backoff.Backoff`), sends the
venue's keepalive (OKX's text "ping", Kraken's `{"method":"ping"}`) and, with a limiter,
charges every request the same
`RequestCost` as the REST call it replaces (the venues share those limits between REST and
WebSocket order entry). The adapter builds and decodes every message (`ws_place`,
`parse_ws_answer`, ...); this module does the I/O only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl as _ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

import aiohttp

from venuegate.errors import (
    AuthError,
    BannedError,
    ConfigError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
    VenuegateError,
)
from venuegate.model import Order
from venuegate.net.backoff import Backoff
from venuegate.net.priority import RequestCost
from venuegate.oms.types import VenueReport
from venuegate.venues.base import Amend, HttpCall, RestCaller

__all__ = ["RENEW_GRACE", "WsEntryAdapter", "WsEntryPreparer", "WsOrderEntry"]

_ENTRY_SERIAL = itertools.count(1)

RENEW_GRACE = 1.4
"""A connection whose preparation was not renewed within this many times the delay the last
preparation asked for is dropped (see `WsOrderEntry._renew`)."""

log = logging.getLogger("venuegate.oms.ws_entry")


class WsEntryAdapter(Protocol):
    """What `WsOrderEntry` needs of a venue adapter (Binance, OKX and Kraken adapters have it)."""

    @property
    def venue(self) -> str:
        """The venue name."""
        ...

    @property
    def signs_with_server_time(self) -> bool:
        """Whether signatures carry the venue's clock."""
        ...

    def ws_entry_url(self) -> str:
        """The order-entry WebSocket URL."""
        ...

    def ws_entry_open_messages(self, timestamp_ms: int | None = None) -> list[str]:
        """Messages to send after connecting (a login), or none."""
        ...

    def parse_ws_login(self, data: str | bytes) -> bool | VenueError | None:
        """True: logged in; a VenueError: refused; None: not a login answer."""
        ...

    def ws_entry_keepalive(self) -> str | None:
        """An application-level ping, or None."""
        ...

    def ws_place(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """The place request."""
        ...

    def ws_cancel(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """The cancel request."""
        ...

    def ws_amend(
        self, order: Order, amend: Amend, req_id: str, timestamp_ms: int | None = None
    ) -> str:
        """The amend request."""
        ...

    def ws_forget(self, req_id: str) -> None:
        """Forgets a request that will not be waited for."""
        ...

    def parse_ws_answer(
        self, data: str | bytes
    ) -> tuple[str | None, list[VenueReport] | VenueError]:
        """(request id, reports or error); (None, []) for other messages."""
        ...

    def place(self, order: Order) -> HttpCall:
        """The REST place call (its cost is charged)."""
        ...

    def cancel(self, order: Order) -> HttpCall:
        """The REST cancel call (its cost is charged)."""
        ...

    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """The REST amend call (its cost is charged)."""
        ...


class WsEntryPreparer(Protocol):
    """The optional part of a `WsEntryAdapter`: REST steps before connecting (Kraken's token).

    An adapter with `ws_entry_prepare` gets it called before every connection attempt, with the
    `rest` caller given to `WsOrderEntry`; a VenueError from it fails the attempt like a refused
    login (an AuthError is kept in `last_error`, and the attempt is retried with backoff).
    """

    async def ws_entry_prepare(self, call: RestCaller) -> float | None:
        """Prepares the next connection (e.g. fetches a token).

        Returns:
            Seconds after which to prepare again while the connection stays up (a token's
            renewal), or None.
        """
        ...


class _Limiter(Protocol):
    async def acquire(self, cost: RequestCost) -> float: ...

    def on_rate_limited(self, retry_after: float | None) -> None: ...

    def on_ban(self, retry_after: float) -> None: ...


class WsOrderEntry:
    """One venue's WebSocket order-entry connection.

    Args:
        adapter: the venue adapter (Binance, OKX, Kraken) with its signer.
        ssl: TLS verification (True), an SSLContext, or False (loopback tests only).
        timeout_s: how long an answer is awaited before the outcome counts as unknown; also
            the connect and login timeout.
        keepalive_s: how often the adapter's keepalive message is sent.
        limiter: the venue's `RateLimiter` (shared with the REST client), or None.
        clock_ms: the venue's clock (`ClockSync.now_ms`) for request timestamps, or None (the
            signer's clock).
        backoff: reconnect delays (default full jitter, 50 ms to 5 s).
        rest: the REST caller (`RestClient`) for an adapter's `ws_entry_prepare` (Kraken's
            token); required by such adapters, unused by the others.

    Raises:
        ConfigError: the adapter needs REST calls before connecting and `rest` is None.
    """

    def __init__(
        self,
        adapter: WsEntryAdapter,
        *,
        ssl: bool | _ssl.SSLContext = True,
        timeout_s: float = 5.0,
        keepalive_s: float = 20.0,
        limiter: _Limiter | None = None,
        clock_ms: Callable[[], int] | None = None,
        backoff: Backoff | None = None,
        rest: RestCaller | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        prepare = getattr(adapter, "ws_entry_prepare", None)
        self._prepare = cast(Callable[[RestCaller], Awaitable[float | None]] | None, prepare)
        if self._prepare is not None and rest is None:
            raise ConfigError(
                f"{self.venue}: WebSocket order entry needs REST calls before connecting "
                "(pass rest=, e.g. the RestClient)",
                venue=self.venue,
            )
        self._rest = rest
        self.timeout_s = timeout_s
        self.keepalive_s = keepalive_s
        self.limiter = limiter
        self._clock_ms = clock_ms
        self._ssl = ssl
        self._backoff = backoff or Backoff(0.05, 5.0)
        self._ids = itertools.count(1)
        # Unique among the entries of the process (several may share one adapter, whose maps
        # are keyed by these ids); letters and digits only (OKX's `id` alphabet).
        self._rid_prefix = f"vg{next(_ENTRY_SERIAL)}n"
        self._pending: dict[str, asyncio.Future[list[VenueReport]]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.ready = asyncio.Event()
        self.connects = 0
        self._closers: set[asyncio.Task[Any]] = set()
        self.sent = 0  # requests written to the socket (answered or not)
        self.last_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"WsOrderEntry(venue={self.venue!r}, ready={self.ready.is_set()})"

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Starts the connection task (connects and logs in in the background)."""
        self._closing = False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.venue}-ws-entry")

    async def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Waits until the connection is up and logged in; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.ready.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Closes the connection; pending requests end with `UnknownOutcomeError`."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._lost("the order-entry connection was closed")

    async def __aenter__(self) -> WsOrderEntry:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests ----------------------------------------------------------------------------
    async def place(self, order: Order) -> list[VenueReport]:
        """Places `order`: the ACK (and fills the answer carries).

        Raises:
            RetryableError: not connected (nothing sent).
            UnknownOutcomeError: no answer in time, or the connection dropped meanwhile.
            VenueError: the venue's refusal, classified by the adapter.
        """
        cost = self.adapter.place(order).cost
        return await self._request(cost, lambda rid, ts: self.adapter.ws_place(order, rid, ts))

    async def cancel(self, order: Order) -> list[VenueReport]:
        """Cancels `order` (as `place` for the errors)."""
        cost = self.adapter.cancel(order).cost
        return await self._request(cost, lambda rid, ts: self.adapter.ws_cancel(order, rid, ts))

    async def amend(self, order: Order, amend: Amend) -> list[VenueReport]:
        """Amends `order` (as `place` for the errors)."""
        cost = self.adapter.amend(order, amend).cost
        return await self._request(
            cost, lambda rid, ts: self.adapter.ws_amend(order, amend, rid, ts)
        )

    def _timestamp(self) -> int | None:
        if self._clock_ms is not None and self.adapter.signs_with_server_time:
            return self._clock_ms()
        return None

    def _not_connected(self) -> RetryableError:
        return RetryableError(
            f"{self.venue}: WebSocket order entry not connected (nothing sent)", venue=self.venue
        )

    async def _request(
        self, cost: RequestCost, build: Callable[[str, int | None], str]
    ) -> list[VenueReport]:
        if not self.ready.is_set() or self._ws is None:
            raise self._not_connected()
        if self.limiter is not None:
            await self.limiter.acquire(cost)
        ws = self._ws
        if not self.ready.is_set() or ws is None or ws.closed:
            raise self._not_connected()
        rid = f"{self._rid_prefix}{next(self._ids)}"
        msg = build(rid, self._timestamp())
        fut: asyncio.Future[list[VenueReport]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            try:
                await ws.send_str(msg)
            except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
                # aiohttp refuses before writing to a closing transport: nothing left.
                raise RetryableError(
                    f"{self.venue}: WebSocket send failed ({type(exc).__name__})",
                    venue=self.venue,
                ) from None
            self.sent += 1
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await fut
            except TimeoutError:
                raise UnknownOutcomeError(
                    f"{self.venue}: no WebSocket answer in {self.timeout_s} s; outcome unknown",
                    venue=self.venue,
                ) from None
        except RateLimitedError as exc:
            if self.limiter is not None:
                if isinstance(exc, BannedError):
                    self.limiter.on_ban(exc.retry_after if exc.retry_after is not None else 120.0)
                else:
                    self.limiter.on_rate_limited(exc.retry_after)
            raise
        finally:
            if self._pending.pop(rid, None) is not None:
                self.adapter.ws_forget(rid)

    # -- connection --------------------------------------------------------------------------
    def _lost(self, why: str) -> None:
        self.ready.clear()
        self._ws = None
        pending, self._pending = self._pending, {}
        for rid, fut in pending.items():
            self.adapter.ws_forget(rid)
            if not fut.done():
                fut.set_exception(
                    UnknownOutcomeError(f"{self.venue}: {why}; outcome unknown", venue=self.venue)
                )

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while not self._closing:
                try:
                    await self._connect_once(http)
                except asyncio.CancelledError:
                    raise
                except AuthError as exc:
                    self.last_error = exc
                    log.error("%s order entry: login or REST step refused: %s", self.venue, exc)
                except (aiohttp.ClientError, OSError, TimeoutError, VenuegateError) as exc:
                    self.last_error = exc
                    log.warning("%s order entry dropped: %s", self.venue, type(exc).__name__)
                finally:
                    self._lost("the order-entry connection dropped with the request pending")
                if not self._closing:
                    await asyncio.sleep(self._backoff.next())

    async def _prepare_once(self) -> float | None:
        """The adapter's REST step before connecting (None without one)."""
        if self._prepare is None or self._rest is None:
            return None
        async with asyncio.timeout(self.timeout_s):
            return await self._prepare(self._rest)

    async def _connect_once(self, http: aiohttp.ClientSession) -> None:
        renew_s = await self._prepare_once()
        async with asyncio.timeout(self.timeout_s):
            ws = await http.ws_connect(
                self.adapter.ws_entry_url(),
                ssl=self._ssl,
                heartbeat=None,
                autoping=True,
                max_msg_size=1 << 24,
            )
        async with ws:
            self.connects += 1
            opening = self.adapter.ws_entry_open_messages(self._timestamp())
            for m in opening:
                await ws.send_str(m)
            if opening:
                async with asyncio.timeout(self.timeout_s):
                    await self._login(ws)
            self._ws = ws
            self.ready.set()
            self._backoff.reset()
            tasks = [asyncio.create_task(self._keepalive(ws))]
            if renew_s is not None:
                tasks.append(asyncio.create_task(self._renew(ws, renew_s)))
            try:
                async for msg in ws:
                    if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        self._on_message(msg.data)
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                        break
            finally:
                self.ready.clear()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _login(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            msg = await ws.receive()
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise RetryableError(f"{self.venue}: closed during login", venue=self.venue)
            verdict = self.adapter.parse_ws_login(msg.data)
            if verdict is True:
                return
            if isinstance(verdict, VenueError):
                raise verdict

    def _on_message(self, data: Any) -> None:
        rid, out = self.adapter.parse_ws_answer(data)
        if rid is None:
            return
        if isinstance(out, AuthError):
            # The connection's credentials no longer work (Kraken: the token expired or was
            # revoked): drop it, so requests go over REST until a reconnect prepares afresh.
            self._drop("a request was refused for its credentials")
        fut = self._pending.pop(rid, None)
        if fut is None or fut.done():
            return  # a late answer after a timeout: the caller queries instead
        if isinstance(out, VenueError):
            fut.set_exception(out)
        else:
            fut.set_result(out)

    def _drop(self, why: str) -> None:
        """Closes the current connection (not ready from now on); the run loop reconnects."""
        ws = self._ws
        if ws is None or ws.closed:
            return
        log.warning("%s order entry: dropping the connection: %s", self.venue, why)
        self.ready.clear()
        task = asyncio.get_running_loop().create_task(ws.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _renew(self, ws: aiohttp.ClientWebSocketResponse, delay_s: float) -> None:
        """Repeats the preparation (a token's renewal) while the connection stays up.

        A failure keeps the connection and the previous preparation (a token is still valid
        for the rest of its life) and is retried sooner, until `RENEW_GRACE` times the delay
        the last preparation asked for has passed (Kraken: renewal due at 600 s of a 900 s
        token, dropped at 840 s): then the connection is dropped, so requests go over REST
        rather than into certain refusals, and the reconnect prepares afresh.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay_s * RENEW_GRACE
        while True:
            await asyncio.sleep(max(0.0, min(delay_s, deadline - loop.time())))
            try:
                next_s = await self._prepare_once()
            except Exception as exc:  # a renewal failure of any kind is handled here
                self.last_error = exc
                log.warning("%s order entry: renewal failed: %s", self.venue, type(exc).__name__)
                if loop.time() >= deadline:
                    self._drop("its preparation (token) could not be renewed in time")
                    return
                delay_s = min(delay_s, 30.0)
                continue
            if next_s is None or ws.closed:
                return
            delay_s = next_s
            deadline = loop.time() + delay_s * RENEW_GRACE

    async def _keepalive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            msg = self.adapter.ws_entry_keepalive()
            if msg is not None:
                await ws.send_str(msg)
