"""`TradeSim`: the trading side of the embedded venue simulator, on loopback.

Each venue gets its own aiohttp server (REST paths and private WebSocket paths as the venue
serves them) on an ephemeral port, over one `SimExchange` per venue. Requests are verified as
the venue verifies them (`venuegate.sim.verify`), charged against the venue's documented rate
limits (`SimLimits`, with 418-style bans where the venue bans), and subjected to the fault
profile.

    async with TradeSim(["binance"], seed=7, profile="heavy", ledger="ledger.jsonl") as sim:
        creds = sim.credentials("binance")     # api_key / secret the venue accepts
        rest = sim.rest_url("binance")         # http://127.0.0.1:PORT
        ws = sim.private_ws_url("binance")

Venue API modules (`venuegate.sim.trade.<venue>`) subclass `VenueApi` and register in `APIS`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from venuegate.sim.trade.exchange import ExecEvent, Ledger, SimExchange
from venuegate.sim.trade.faults import PROFILES, FaultDice, FaultProfile, TradeFault
from venuegate.sim.trade.limits import SimLimits
from venuegate.sim.verify import Credentials, verify_request

__all__ = ["APIS", "PrivateHub", "TradeSim", "VenueApi", "VenueContext", "sim_credentials"]

log = logging.getLogger("venuegate.sim.trade")

APIS: dict[str, str] = {
    "binance": "venuegate.sim.trade.binance",
    "okx": "venuegate.sim.trade.okx",
    "kraken": "venuegate.sim.trade.kraken",
    "coinbase": "venuegate.sim.trade.coinbase",
    "bitfinex": "venuegate.sim.trade.bitfinex",
    "htx": "venuegate.sim.trade.htx",
}
"""Venue → module defining `Api` (a `VenueApi` subclass)."""


def sim_credentials(venue: str, seed: int = 1) -> Credentials:
    """The simulator's test credentials for `venue` (deterministic per seed; never real keys).

    Venues signing with a private key get a fresh key pair (Coinbase: an ES256 PEM; the key is
    generated, not derived from `seed`).
    """
    rng = random.Random(f"{venue}:{seed}")

    def hexs(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    if venue == "coinbase":
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        name = f"organizations/{hexs(8)}/apiKeys/{hexs(8)}"
        return Credentials(api_key=name, secret=pem)
    if venue == "kraken":
        return Credentials(
            api_key="vgsim" + hexs(51), secret=base64.b64encode(bytes.fromhex(hexs(128))).decode()
        )
    passphrase = "vgsim-" + hexs(8) if venue == "okx" else None
    return Credentials(api_key="vgsim" + hexs(59), secret=hexs(64), passphrase=passphrase)


@dataclass(slots=True)
class _AioRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None


@dataclass(slots=True)
class VenueContext:
    """Everything a venue API module needs besides its own wire formats."""

    venue: str
    exchange: SimExchange
    faults: FaultDice
    credentials: dict[str, Credentials]
    host: str = "127.0.0.1"
    skew_ms: int = 0
    skew_until: float = 0.0
    maintenance_until: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    """Venue settings of the simulated account (Kraken: `tier`)."""

    def now_ms(self) -> int:
        """The venue's clock (skewed while a CLOCK_SKEW fault lasts)."""
        now = time.time()
        skew = self.skew_ms if now < self.skew_until else 0
        return int(now * 1000) + skew

    def count(self, key: str) -> None:
        """Counts an event for the summary."""
        self.stats[key] = self.stats.get(key, 0) + 1

    async def verify(self, request: web.Request, api_key: str | None = None) -> Credentials:
        """Verifies a signed REST request as the venue does; returns the account's credentials.

        Raises:
            venuegate.sim.verify.VerificationError (StaleTimestampError for timestamps).
        """
        body = await request.read() if request.body_exists else None
        req = _AioRequest(request.method, request.path_qs, request.headers, body or None)
        return self.verify_parts(req, api_key)

    def verify_parts(self, req: _AioRequest, api_key: str | None = None) -> Credentials:
        """Verifies an already-read request (`api_key` picks the account when known)."""
        cred = self.credentials.get(api_key) if api_key else None
        errors: list[Exception] = []
        for c in [cred] if cred is not None else list(self.credentials.values()):
            try:
                verify_request(self.venue, req, c, now_ms=self.now_ms())
            except Exception as exc:
                errors.append(exc)
                continue
            return c
        raise errors[0] if errors else KeyError("no credentials")

    def maintenance(self) -> bool:
        """True while a maintenance window lasts (rolls the MAINTENANCE fault)."""
        now = time.time()
        if now >= self.maintenance_until and self.faults.roll(TradeFault.MAINTENANCE):
            self.maintenance_until = now + self.faults.profile.maintenance_s
            self.count("maintenance")
        active = now < self.maintenance_until
        self.exchange.maintenance = active
        return active

    def roll_skew(self) -> None:
        """Rolls the CLOCK_SKEW fault (the venue's clock jumps for a few seconds)."""
        now = time.time()
        if now >= self.skew_until and self.faults.roll(TradeFault.CLOCK_SKEW):
            self.skew_until = now + 5.0
            # Either way: ahead (Binance refuses timestamps > 1 s in its future) or behind.
            self.skew_ms = self.faults.profile.skew_ms * (1 if self.faults.roll_sign() else -1)
            self.count("clock_skew")

    async def after_accept(self, request: web.Request) -> str:
        """Faults after a request took effect: returns "ok", "5xx" or "drop".

        On "5xx", answer with the venue's unknown-status error; on "drop", the connection was
        aborted (return any response).
        """
        if self.faults.roll(TradeFault.DELAY_ACK):
            self.count("delayed")
            await asyncio.sleep(self.faults.profile.delay_s)
        if self.faults.roll(TradeFault.DROP_RESPONSE):
            self.count("dropped")
            if request.transport is not None:
                request.transport.abort()
            return "drop"
        if self.faults.roll(TradeFault.REST_5XX_AFTER):
            self.count("5xx_after")
            return "5xx"
        return "ok"


class PrivateHub:
    """Private-stream fan-out with faults: duplicates, reordering, drops, disconnects."""

    def __init__(self, ctx: VenueContext) -> None:
        self._ctx = ctx

    async def serve(
        self,
        ws: web.WebSocketResponse,
        account: str,
        encode: Callable[[ExecEvent], Sequence[str]],
        *,
        on_message: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        """Streams `account`'s events to `ws` (encoded per venue) until it closes.

        Incoming messages go to `on_message`, whose replies are sent back (pings).
        """
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        held: list[str] = []
        faults = self._ctx.faults

        def listener(ev: ExecEvent) -> None:
            msgs = list(encode(ev))
            if not msgs:
                return
            if faults.roll(TradeFault.DROP_REPORT):
                self._ctx.count("report_dropped")
                return
            if faults.roll(TradeFault.REORDER_REPORTS) and not held:
                held.extend(msgs)
                return
            for m in msgs:
                queue.put_nowait(m)
            if faults.roll(TradeFault.DUPLICATE_REPORT):
                self._ctx.count("report_duplicated")
                for m in msgs:
                    queue.put_nowait(m)
            while held:
                queue.put_nowait(held.pop(0))
            if faults.roll(TradeFault.DISCONNECT_PRIVATE):
                self._ctx.count("private_disconnect")
                queue.put_nowait(None)

        unsubscribe = self._ctx.exchange.subscribe(account, listener)

        async def pump() -> None:
            while True:
                msg = await queue.get()
                if msg is None:
                    if ws._req is not None and ws._req.transport is not None:
                        ws._req.transport.abort()
                    return
                await ws.send_str(msg)

        task = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and on_message is not None:
                    for reply in on_message(msg.data):
                        await ws.send_str(reply)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
                if task.done():
                    break
        finally:
            unsubscribe()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()


class VenueApi(ABC):
    """One venue's REST and private WebSocket API over a `SimExchange`.

    Subclasses set `venue`, the rate `limits()` and `install` their routes. Paths are the
    venue's real ones; URLs come from `rest_path`/`private_ws_path`.
    """

    venue: ClassVar[str]
    private_ws_path: ClassVar[str] = "/ws"
    ws_api_path: ClassVar[str | None] = None

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.ex = ctx.exchange
        self.hub = PrivateHub(ctx)
        self.limits = self.make_limits()

    @abstractmethod
    def make_limits(self) -> SimLimits:
        """The venue's documented limits (the simulator's own copy)."""

    @abstractmethod
    def install(self, app: web.Application) -> None:
        """Adds the venue's routes."""


class TradeSim:
    """Every requested venue's trading API on loopback, with a moving market.

    Args:
        venues: venue names (keys of `APIS`).
        seed: seeds the markets, fills and faults.
        profile: a fault profile name or object.
        ledger: path of the JSON-lines ledger (None: kept in memory, `ledger_events`).
        step_hz: market steps per second (0: only `step()` moves it).
        options: per venue, settings of the simulated account (`{"kraken": {"tier": "pro"}}`).
    """

    def __init__(
        self,
        venues: Sequence[str],
        *,
        seed: int = 1,
        profile: str | FaultProfile = "none",
        ledger: str | Path | None = None,
        step_hz: float = 20.0,
        port: int = 0,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.venues = tuple(venues)
        self.seed = seed
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.ledger = Ledger(ledger)
        self.step_hz = step_hz
        self._port = port
        self.options = dict(options or {})
        self.contexts: dict[str, VenueContext] = {}
        self.apis: dict[str, VenueApi] = {}
        self._runners: list[web.AppRunner] = []
        self._ports: dict[str, int] = {}
        self._stepper: asyncio.Task[None] | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    @web.middleware
    async def _track(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        # Every connection is remembered so `stop` can close long-lived WebSocket ones.
        if request.transport is not None:
            self._transports.add(request.transport)
        return await handler(request)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Starts every venue's server and the market."""
        for i, venue in enumerate(self.venues):
            module = importlib.import_module(APIS[venue])
            exchange = SimExchange(venue, seed=self.seed + i, ledger=self.ledger)
            cred = sim_credentials(venue, self.seed)
            ctx = VenueContext(
                venue,
                exchange,
                FaultDice(self.profile, seed=self.seed * 1000 + i),
                {cred.api_key: cred},
                options=self.options.get(venue, {}),
            )
            api: VenueApi = module.Api(ctx)
            app = web.Application(client_max_size=1 << 20, middlewares=[self._track])
            api.install(app)
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", self._port + i if self._port else 0)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self._ports[venue] = sockets[0].getsockname()[1]
            ctx.host = f"127.0.0.1:{self._ports[venue]}"
            self._runners.append(runner)
            self.contexts[venue] = ctx
            self.apis[venue] = api
        if self.step_hz > 0:
            self._stepper = asyncio.create_task(self._run_market())

    async def _run_market(self) -> None:
        period = 1.0 / self.step_hz
        while True:
            await asyncio.sleep(period)
            self.step()

    def step(self, n: int = 1) -> None:
        """Moves every venue's market `n` steps."""
        for _ in range(n):
            for ctx in self.contexts.values():
                ctx.exchange.step()

    async def stop(self) -> None:
        """Stops servers and the market; closes the ledger."""
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
        for transport in self._transports:
            if not transport.is_closing():
                transport.close()
        self._transports.clear()
        for runner in self._runners:
            # Idle keep-alive connections the client side left open are closed too.
            server = runner.server
            for conn in list(server.connections if server is not None else ()):
                if conn.transport is not None and not conn.transport.is_closing():
                    conn.transport.close()
            await runner.cleanup()
        self._runners.clear()
        self.ledger.close()

    def credentials(self, venue: str) -> Credentials:
        """The credentials the venue accepts."""
        return next(iter(self.contexts[venue].credentials.values()))

    def port(self, venue: str) -> int:
        """The venue's port."""
        return self._ports[venue]

    def rest_url(self, venue: str) -> str:
        """REST base URL."""
        return f"http://127.0.0.1:{self._ports[venue]}"

    def private_ws_url(self, venue: str) -> str:
        """Private stream URL (Binance appends `/<listenKey>` itself)."""
        return f"ws://127.0.0.1:{self._ports[venue]}{self.apis[venue].private_ws_path}"

    def ws_api_url(self, venue: str) -> str | None:
        """WebSocket order-entry URL, where the venue has one."""
        path = self.apis[venue].ws_api_path
        return f"ws://127.0.0.1:{self._ports[venue]}{path}" if path else None

    def exchange(self, venue: str) -> SimExchange:
        """The venue's matching engine."""
        return self.contexts[venue].exchange

    def bans(self) -> int:
        """418-style bans issued so far, all venues."""
        return sum(api.limits.bans for api in self.apis.values())

    def summary(self) -> dict[str, object]:
        """Counts per venue: exchange events, faults, rate rejections, bans."""
        return {
            v: {
                "exchange": dict(ctx.exchange.stats),
                "faults": {str(k): n for k, n in ctx.faults.counts.items()},
                "events": dict(ctx.stats),
                "rate_rejections": self.apis[v].limits.rejections,
                "bans": self.apis[v].limits.bans,
            }
            for v, ctx in self.contexts.items()
        }
