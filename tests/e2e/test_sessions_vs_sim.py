"""End to end, per venue: the native transport + feeds + BookSession against the simulator, with
every fault the simulator can inject. After each resync the engine's book equals the simulator's
true book exactly (Decimal for Decimal, at the depth the venue streams)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

import pytest

from venuegate.md import BookSession, Instrument
from venuegate.md.demo import DEMO_VENUES
from venuegate.md.venues import spec_for
from venuegate.net.ws import Transport
from venuegate.sim.md import Fault, SimServer
from venuegate.sim.md.market import CATALOG

# our venue name → (simulator venue, ws path override, compared depth): the demo's table.
VENUES = DEMO_VENUES

COMMON_FAULTS = [
    Fault.GAP,
    Fault.DUPLICATE,
    Fault.REORDER,
    Fault.MALFORMED,
    Fault.FRAGMENT,
    Fault.DISCONNECT,
    Fault.ROTATE,
]
CHECKSUM_VENUES = {"okx", "kraken", "bitfinex"}


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def _precision(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _faults(venue: str) -> list[Fault]:
    faults = list(COMMON_FAULTS)
    if venue in CHECKSUM_VENUES:
        faults.append(Fault.BAD_CHECKSUM)
    if venue.startswith("binance"):
        faults.append(Fault.HTTP_429)
    return faults


async def _converge(
    session: BookSession, sim: SimServer, sim_venue: str, symbol: str, depth: int | None, what: str
) -> None:
    """Waits until the session is synced and its book equals the simulator's."""
    last: Any = None
    for _ in range(1000):
        if session.synced:
            want = sim.book(sim_venue, symbol, depth)
            n = depth if depth is not None else max(len(want[0]), len(want[1]))
            got = session.book(symbol).top(n)
            if got == (want[0][:n], want[1][:n]):
                return
            last = (got[0][:3], want[0][:3])
        await asyncio.sleep(0.01)
    feed = session.feeds[symbol]
    raise AssertionError(
        f"{sim_venue} {symbol} after {what}: never converged; state {feed.state} ({feed.reason}); "
        f"last top bids (ours, sim): {last}"
    )


@pytest.mark.parametrize(
    ("venue", "transport"),
    [(v, "native") for v in VENUES] + [("binance", "picows"), ("okx", "picows")]
    # The reader thread: fused on the thread (binance, okx, kraken) and handing every message to
    # the loop (htx: answers pings in Python; coinbase: connection sequence).
    + [(v, "thread") for v in ("binance", "okx", "kraken", "htx", "coinbase")],
)
def test_session_keeps_the_exact_book_through_every_fault(
    venue: str, transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    sim_venue, path, depth = VENUES[venue]
    inst = CATALOG[sim_venue][0]
    symbol = inst.symbol

    async def main() -> None:
        async with SimServer(seed=7, symbols={sim_venue: [symbol]}, heartbeat_s=0.2) as sim:
            ws_url = sim.ws_url(sim_venue, path) if path is not None else sim.ws_url(sim_venue)
            rest_url = sim.rest_url(sim_venue) if sim_venue.startswith("binance") else None
            session = BookSession(
                venue,
                [Instrument(symbol, _precision(inst.tick), _precision(inst.lot))],
                ws_url=ws_url,
                rest_url=rest_url,
                spec=spec_for(venue),
                backoff=(0.01, 0.2),
                resync_throttle=(0.01, 0.2),
                snapshots_per_second=50,
                transport=transport,
            )
            session.start()
            try:
                await sim.wait_connections(sim_venue, 1)
                await sim.step(20, venue=sim_venue)
                await _converge(session, sim, sim_venue, symbol, depth, "start")
                for fault in _faults(venue):
                    sim.inject(fault, venue=sim_venue)
                    await sim.step(10, venue=sim_venue)
                    if fault in (Fault.DISCONNECT, Fault.ROTATE):
                        await sim.wait_connections(sim_venue, 1, timeout=10)
                        await sim.step(5, venue=sim_venue)
                    await _converge(session, sim, sim_venue, symbol, depth, str(fault))
                    await sim.step(10, venue=sim_venue)
                    await _converge(session, sim, sim_venue, symbol, depth, f"{fault} + 10")
            finally:
                await session.stop()
            assert session.stats.messages > 100
            feed = session.feeds[symbol]
            if venue in CHECKSUM_VENUES:
                assert feed.stats()["checksum_mismatches"] >= 1
            assert session.stats.resyncs >= 1
            assert session.stats.reconnects >= 2  # DISCONNECT and ROTATE

    run(main())
