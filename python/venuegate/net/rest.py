"""`RestClient`: one venue's REST connection pool.

It signs at send time, rate limits before, breaks the circuit around, and classifies errors after.

    client = RestClient(adapter, limiter=limiter, clock=clock)
    async with client:
        resp = await client.call(adapter.place(order))   # raises classified VenueErrors
        reports = adapter.parse_place(order, resp)

Transport failures are classified by what may have happened: a connection that could not be
made sent nothing (RetryableError); a timeout or a dropped connection after the request was
written may have acted (UnknownOutcomeError for state-changing calls — resolve by query, never
resend blindly; RetryableError for queries).

TLS verification is on by default (`ssl=True` uses the system trust store through aiohttp);
turning it off needs an explicit `ssl=False`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import NoReturn, Protocol, Self

import aiohttp

from venuegate._native import urlencode
from venuegate.errors import (
    BannedError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
)
from venuegate.net.priority import PriorityLock, RequestCost
from venuegate.venues.base import HttpCall, HttpResponse, RestCaller, VenueAdapter

__all__ = ["Limiter", "RestClient", "Timeouts", "retry_after_seconds"]

log = logging.getLogger("venuegate.rest")


class Limiter(Protocol):
    """What the client needs of a rate limiter (`venuegate.net.ratelimit.RateLimiter`)."""

    async def acquire(self, cost: RequestCost) -> float:
        """Waits until `cost` is granted, then charges it."""
        ...

    def observe(self, headers: Mapping[str, str]) -> None:
        """Corrects local usage from a response's used-count headers."""
        ...

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The venue refused a request for rate (HTTP 429): grant nothing for a while."""
        ...

    def on_ban(self, retry_after: float) -> None:
        """The venue banned this IP or key: raise `BannedError` until it ends."""
        ...


class Gate(Protocol):
    """What the client needs of a circuit breaker (`venuegate.net.circuit.CircuitBreaker`)."""

    def check(self, priority: int) -> None:
        """Refuses a request of `priority` while the circuit is open."""
        ...

    def record_success(self) -> None:
        """A request succeeded."""
        ...

    def record_failure(self, err: Exception) -> None:
        """A request failed."""
        ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, to read the answer, and in total."""

    connect: float = 3.0
    read: float = 5.0
    total: float = 10.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The `Retry-After` header in seconds (delta-seconds form), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class RestClient(RestCaller):
    """A pooled keep-alive HTTP client for one venue.

    Args:
        adapter: the venue adapter (its signer signs, its `check` classifies).
        limiter: the venue's rate limiter, or None.
        gate: the venue's circuit breaker, or None.
        clock_ms: the venue's clock for signatures (a `ClockSync.now_ms`), default the signer's.
        timeouts: connect / read / total timeouts.
        ssl: True (verify, default), an SSLContext, or False (only for loopback tests).
        connections: pool size.
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        *,
        limiter: Limiter | None = None,
        gate: Gate | None = None,
        clock_ms: Callable[[], int] | None = None,
        timeouts: Timeouts = Timeouts(),
        ssl: bool | _ssl.SSLContext = True,
        connections: int = 16,
        on_response: Callable[[HttpCall, HttpResponse], Awaitable[None] | None] | None = None,
    ) -> None:
        self.adapter = adapter
        self.limiter = limiter
        self.gate = gate
        self._clock_ms = clock_ms
        self.timeouts = timeouts
        self._ssl = ssl
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._base = adapter.endpoints.rest_url.rstrip("/")
        self._on_response = on_response
        self._closed = False
        self.sent = 0
        # Nonce-ordered venues: held from signing until the answer, so nonces arrive in order.
        # Handed to the best priority waiting: a cancel does not queue behind queries.
        self._nonce_lock = PriorityLock() if adapter.nonce_ordered else None

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RetryableError(
                f"{self.adapter.venue}: the REST client is closed", venue=self.adapter.venue
            )
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connections, ssl=self._ssl, keepalive_timeout=30.0
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.total,
                    sock_connect=self.timeouts.connect,
                    sock_read=self.timeouts.read,
                ),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        """Closes the pool (for good: a closed client sends nothing more)."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _prepare(self, call: HttpCall) -> tuple[str, str, dict[str, str], bytes | None]:
        if call.signed:
            signer = self.adapter.signer
            if signer is None:
                raise VenueError(f"{call.op} needs credentials", venue=self.adapter.venue)
            ts = (
                self._clock_ms()
                if self._clock_ms is not None and self.adapter.signs_with_server_time
                else None
            )
            signed = signer.sign(
                call.method, call.path, params=call.params or None, body=call.body, timestamp_ms=ts
            )
            return signed.method, signed.path, dict(signed.headers), signed.body
        path = call.path
        if call.params:
            path = f"{path}?{urlencode(list(call.params))}"
        headers = {"Content-Type": "application/json"} if call.body else {}
        return call.method, path, headers, call.body

    async def send(self, call: HttpCall) -> HttpResponse:
        """Sends `call` and returns the answer, whatever its status.

        Rate-limit statuses are fed to the limiter and raised.

        Raises:
            RetryableError: nothing was sent (connection refused, pool closed).
            UnknownOutcomeError: sent, no answer, and the call changes orders.
            RateLimitedError / BannedError: HTTP 429 / the venue's ban status.
            VenueUnavailableError: the circuit is open for this priority.
        """
        venue = self.adapter.venue
        if self.gate is not None:
            self.gate.check(call.cost.priority)
        if self.limiter is not None:
            await self.limiter.acquire(call.cost)
        ordered = self._nonce_lock if call.signed else None
        async with (
            ordered.hold(call.cost.priority) if ordered is not None else contextlib.nullcontext()
        ):
            written = False
            try:
                method, path, headers, body = self._prepare(call)
                session = self._open()
                async with session.request(
                    method, self._base + path, data=body, headers=headers, allow_redirects=False
                ) as r:
                    written = True
                    raw = await r.read()
                    resp = HttpResponse(r.status, {k.lower(): v for k, v in r.headers.items()}, raw)
            except aiohttp.ClientConnectorError as exc:
                err: VenueError = RetryableError(
                    f"{venue}: cannot connect ({type(exc).__name__})", venue=venue
                )
                self._failed(err)
                raise err from None
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                err = self._transport_error(call, exc)
                _ = written
                self._failed(err)
                raise err from None
        self.sent += 1
        if self.limiter is not None:
            self.limiter.observe(resp.headers)
        if resp.status == 429 or resp.status in self._ban_statuses():
            self._raise_rate_limited(resp)
        if resp.status >= 500:
            self._failed(RetryableError("5xx", venue=venue))
        elif self.gate is not None:
            self.gate.record_success()
        if self._on_response is not None:
            maybe = self._on_response(call, resp)
            if asyncio.iscoroutine(maybe):
                await maybe
        return resp

    def _transport_error(self, call: HttpCall, exc: BaseException) -> VenueError:
        """Classifies a transport failure after the connection was made."""
        venue = self.adapter.venue
        what = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        if call.op.changes_state:
            return UnknownOutcomeError(
                f"{venue}: {call.op} {what} after sending; outcome unknown",
                venue=venue,
            )
        return RetryableError(f"{venue}: {call.op} {what}", venue=venue)

    def _raise_rate_limited(self, resp: HttpResponse) -> NoReturn:
        """Feeds a 429 or ban status to the limiter (and a ban to the gate), then raises it."""
        venue = self.adapter.venue
        after = retry_after_seconds(resp.headers)
        if resp.status == 429:
            if self.limiter is not None:
                self.limiter.on_rate_limited(after)
            raise RateLimitedError(
                f"{venue}: rate limited (HTTP 429)",
                retry_after=after,
                venue=venue,
                http_status=429,
            )
        if self.limiter is not None:
            self.limiter.on_ban(after if after is not None else 120.0)
        ban = BannedError(
            f"{venue}: banned for rate (HTTP {resp.status})",
            retry_after=after,
            venue=venue,
            http_status=resp.status,
        )
        self._failed(ban)
        raise ban

    def _ban_statuses(self) -> frozenset[int]:
        return self.adapter.rate_model.ban_statuses

    def _failed(self, err: Exception) -> None:
        if self.gate is not None:
            self.gate.record_failure(err)

    async def call(self, call: HttpCall) -> HttpResponse:
        """`send`, then the adapter's classification: raises the venue's error, if any."""
        resp = await self.send(call)
        self.adapter.check(call.op, resp)
        return resp

    async def __call__(self, call: HttpCall) -> HttpResponse:
        """`send`, without classification (the `RestCaller` protocol)."""
        return await self.send(call)
