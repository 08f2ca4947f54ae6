"""`start_fix_gateway`: one venue's simulator FIX gateway on loopback, and its handle.

See `venuegate.sim.fix` for the contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from venuegate.fix.dialects import BinanceFix, CoinbaseFix, Dialect, GenericFix, KrakenFix
from venuegate.fix.dialects._base import DialectApplication
from venuegate.fix.session import Application, FixInitiator, SessionSettings
from venuegate.sim.fix.binance import BinanceGateway
from venuegate.sim.fix.coinbase import CoinbaseGateway
from venuegate.sim.fix.credentials import FixCredentials, fix_credentials
from venuegate.sim.fix.faults import FIX_PROFILES, FixFaultDice, FixFaultProfile
from venuegate.sim.fix.gateway import FixGateway
from venuegate.sim.fix.generic import GenericGateway
from venuegate.sim.fix.kraken import KrakenGateway
from venuegate.sim.trade.exchange import Ledger, SimExchange

__all__ = ["GATEWAYS", "FixGatewayHandle", "start_fix_gateway"]

GATEWAYS: dict[str, type[FixGateway]] = {
    "coinbase": CoinbaseGateway,
    "binance": BinanceGateway,
    "kraken": KrakenGateway,
    "generic": GenericGateway,
}
"""Venue → gateway class."""


class FixGatewayHandle:
    """A running gateway: where it listens, what it accepts, and how to stop it."""

    def __init__(
        self,
        gateway: FixGateway,
        credentials: FixCredentials,
        host: str,
        stepper: asyncio.Task[None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.credentials = credentials
        self.host = host
        self._stepper = stepper

    @property
    def venue(self) -> str:
        """The venue."""
        return self.gateway.venue

    @property
    def port(self) -> int:
        """The listening port."""
        return self.gateway.port

    @property
    def account(self) -> str:
        """The exchange account the gateway's key trades on."""
        return self.gateway.account_for(self.credentials.api_key)

    @property
    def exchange(self) -> SimExchange:
        """The matching engine."""
        return self.gateway.exchange

    @property
    def faults(self) -> FixFaultDice:
        """The fault dice (`force(fault, n)` in tests)."""
        return self.gateway.faults

    def step(self, n: int = 1) -> None:
        """Moves the market `n` steps (resting orders may fill)."""
        for _ in range(n):
            self.gateway.exchange.step()

    def dialect(self, **options: Any) -> Dialect:
        """The client dialect for these credentials (`options` go to its constructor)."""
        c = self.credentials
        if self.venue == "coinbase":
            return CoinbaseFix(
                api_key=c.api_key,
                secret=c.secret,
                passphrase=c.passphrase or "",
                environment="sandbox",
                **options,
            )
        if self.venue == "binance":
            return BinanceFix(
                api_key=c.api_key,
                private_key_pem=c.secret,
                sender_comp_id=c.sender_comp_id,
                environment="testnet",
                **options,
            )
        if self.venue == "kraken":
            return KrakenFix(
                api_key=c.api_key,
                secret=c.secret,
                sender_comp_id=c.sender_comp_id,
                environment="uat",
                **options,
            )
        return GenericFix(
            begin_string=options.pop("begin_string", "FIX.4.4"),
            sender_comp_id=c.sender_comp_id,
            target_comp_id=c.target_comp_id,
            username=c.api_key,
            password=c.secret or None,
            **options,
        )

    def settings(self, **overrides: Any) -> SessionSettings:
        """The client's `SessionSettings` pointed at this gateway (plain TCP)."""
        base: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "ssl": False,
            "server_hostname": None,
        }
        return self.dialect().settings(**{**base, **overrides})

    def application(self, app: Application | None = None, **options: Any) -> DialectApplication:
        """The signing application wrapping `app`."""
        return self.dialect(**options).application(app)

    def initiator(
        self,
        app: Application | None = None,
        *,
        dialect_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> FixInitiator:
        """A `FixInitiator` that logs on to this gateway with the signed Logon."""
        dialect = self.dialect(**(dialect_options or {}))
        base: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "ssl": False,
            "server_hostname": None,
        }
        return FixInitiator(dialect.settings(**{**base, **overrides}), dialect.application(app))

    def summary(self) -> dict[str, object]:
        """Counters: gateway events, faults, exchange events."""
        return {
            "gateway": dict(self.gateway.stats),
            "faults": {str(k): n for k, n in self.faults.counts.items()},
            "exchange": dict(self.exchange.stats),
        }

    async def stop(self) -> None:
        """Stops the market stepper and the gateway."""
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        await self.gateway.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"FixGatewayHandle(venue={self.venue!r}, host={self.host!r}, port={self.port})"


async def _run_market(exchange: SimExchange, step_hz: float) -> None:
    period = 1.0 / step_hz
    while True:
        await asyncio.sleep(period)
        exchange.step()


async def start_fix_gateway(
    venue: str,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: str | FixFaultProfile = "none",
    *,
    seed: int = 1,
    exchange: SimExchange | None = None,
    credentials: FixCredentials | None = None,
    step_hz: float = 0.0,
    ledger: str | Path | None = None,
    cancel_on_disconnect: bool = False,
    account: str | None = None,
    comp_id: str | None = None,
    require_login: bool = True,
) -> FixGatewayHandle:
    """Starts `venue`'s FIX gateway on loopback; returns its handle (see `venuegate.sim.fix`).

    Args:
        venue: `coinbase`, `binance`, `kraken` or `generic`.
        host: where to listen (loopback by default).
        port: the port (0: ephemeral, read `handle.port`).
        faults: a profile name (`none`, `light`, `heavy`) or a `FixFaultProfile`.
        seed: seeds the credentials, the market walk and the fault dice.
        exchange: a `SimExchange` to share (e.g. with `TradeSim`); None creates one.
        credentials: the accepted credentials (default `fix_credentials(venue, seed)`).
        step_hz: market steps per second (0: only `handle.step()` moves the market).
        ledger: the exchange ledger path when the gateway creates the exchange.
        cancel_on_disconnect: generic venue only: cancel a session's orders when it ends.
        account: the exchange account FIX orders trade on (default: the FIX API key); pass the
            REST simulator's key (`TradeSim.credentials(venue).api_key`) to share its orders.
        comp_id: generic venue only: the gateway's CompID (default `VENUE`).
        require_login: generic venue only: False accepts every Logon (no 553/554 needed; the
            account is the client's SenderCompID) — for probes and interop peers.

    Raises:
        ValueError: an unknown venue or fault profile.
    """
    cls = GATEWAYS.get(venue)
    if cls is None:
        raise ValueError(f"no FIX gateway for venue {venue!r} (have {', '.join(GATEWAYS)})")
    profile = FIX_PROFILES[faults] if isinstance(faults, str) else faults
    cred = credentials or fix_credentials(venue, seed)
    if venue == "generic" and comp_id is not None:
        cred = dataclasses.replace(cred, target_comp_id=comp_id)
    if exchange is None:
        exchange = SimExchange(venue, seed=seed, ledger=Ledger(ledger))
    accepted = [cred] if venue != "generic" or require_login else []
    gateway = cls(
        exchange, accepted, FixFaultDice(profile, seed=seed), host=host, port=port, account=account
    )
    if isinstance(gateway, GenericGateway):
        gateway.cancel_on_disconnect_default = cancel_on_disconnect
        if comp_id is not None:
            gateway.comp_id = comp_id
    await gateway.start()
    stepper = asyncio.create_task(_run_market(exchange, step_hz)) if step_hz > 0 else None
    return FixGatewayHandle(gateway, cred, host, stepper)
