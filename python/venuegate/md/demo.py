"""The market-data half of `venuegate demo`: every venue's book from the embedded simulator.

Faults are switched on; the engine keeps each book in sync; the result is checked against the
simulator's truth.

Live (on a terminal): top of book, messages/s, resyncs, reconnects and latency percentiles per
venue. At the end: a summary, with each book compared level for level to the simulator's.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from venuegate.md.session import BookSession, BookUpdate, Instrument
from venuegate.sim.md import Fault, SimServer
from venuegate.sim.md.market import CATALOG

# our venue → (simulator venue, ws path override, depth the venue streams)
DEMO_VENUES: dict[str, tuple[str, str | None, int | None]] = {
    "binance": ("binance", "", None),
    "binance-usdm": ("binanceusdm", "", None),
    "okx": ("okx", None, 400),
    "kraken": ("kraken", None, 10),
    "coinbase": ("coinbase", None, None),
    "bitfinex": ("bitfinex", None, 25),
    "htx": ("htx", None, 150),
}
_FAULTS = [
    Fault.GAP,
    Fault.DUPLICATE,
    Fault.REORDER,
    Fault.MALFORMED,
    Fault.FRAGMENT,
    Fault.DISCONNECT,
]
_CHECKSUMS = {"okx", "kraken", "bitfinex"}


def _precision(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(slots=True)
class _Lane:
    venue: str
    sim_venue: str
    symbol: str
    depth: int | None
    session: BookSession
    latencies: list[int] = field(default_factory=list)
    faults: int = 0

    def on_update(self, u: BookUpdate) -> None:
        if len(self.latencies) < 200_000:
            self.latencies.append(u.callback_ns - u.recv_ns)

    def percentiles(self) -> tuple[float, float, float]:
        if len(self.latencies) < 2:
            return (0.0, 0.0, 0.0)
        q = statistics.quantiles(self.latencies, n=1000)
        return q[499] / 1000, q[989] / 1000, q[998] / 1000


def _row(lane: _Lane, elapsed: float) -> str:
    s = lane.session
    book = s.book(lane.symbol)
    bid, ask = book.best_bid(), book.best_ask()
    p50, p99, p999 = lane.percentiles()
    state = "stale" if s.feeds[lane.symbol].stale else "synced"
    return (
        f"{lane.venue:<13}{lane.symbol:<10}{state:<7}"
        f"{(str(bid[0]) if bid else '-'):>12} {(str(ask[0]) if ask else '-'):<12}"
        f"{s.stats.messages:>8}{s.stats.messages / max(elapsed, 1e-9):>8.0f}"
        f"{lane.faults:>7}{s.stats.resyncs:>9}{s.stats.reconnects:>8}"
        f"{p50:>8.1f}{p99:>8.1f}{p999:>8.1f}"
    )


_HEADER = (
    f"{'venue':<13}{'symbol':<10}{'state':<7}{'bid':>12} {'ask':<12}{'msgs':>8}{'msg/s':>8}"
    f"{'faults':>7}{'resyncs':>9}{'reconn':>8}{'p50 µs':>8}{'p99 µs':>8}{'p99.9':>8}"
)


async def market_demo(
    seconds: float = 8.0, rate_hz: float = 200.0, out: TextIO | None = None
) -> int:
    """Streams every venue from the simulator for `seconds`, with faults.

    Returns:
        0 if every book ends exactly equal to the simulator's, else 1.
    """
    out = out if out is not None else sys.stdout  # resolved per call, not at import
    rng = random.Random(42)  # noqa: S311 - fault schedule, not security
    symbols = {sim: [CATALOG[sim][0]] for sim, _, _ in DEMO_VENUES.values()}
    interactive = out.isatty()
    async with SimServer(seed=11, symbols=symbols, rate_hz=rate_hz, heartbeat_s=0.5) as sim:
        lanes: list[_Lane] = []
        for venue, (sim_venue, path, depth) in DEMO_VENUES.items():
            inst = CATALOG[sim_venue][0]
            lane = _Lane(venue, sim_venue, inst.symbol, depth, session=None)  # type: ignore[arg-type]
            lane.session = BookSession(
                venue,
                [Instrument(inst.symbol, _precision(inst.tick), _precision(inst.lot))],
                ws_url=sim.ws_url(sim_venue, path) if path is not None else sim.ws_url(sim_venue),
                rest_url=sim.rest_url(sim_venue) if sim_venue.startswith("binance") else None,
                on_update=lane.on_update,
                backoff=(0.05, 1.0),
                resync_throttle=(0.05, 1.0),
            )
            lanes.append(lane)
            lane.session.start()
        started = time.monotonic()
        next_fault = started + 1.0
        out.write(
            f"\nMarket data: {len(lanes)} venues from the embedded simulator at {rate_hz:.0f} "
            f"updates/s each, faults on, {seconds:.0f} s.\n"
        )
        while (now := time.monotonic()) - started < seconds:
            if now >= next_fault:
                lane = rng.choice(lanes)
                faults = _FAULTS + ([Fault.BAD_CHECKSUM] if lane.venue in _CHECKSUMS else [])
                if sim.connections(lane.sim_venue):
                    sim.inject(rng.choice(faults), venue=lane.sim_venue)
                    lane.faults += 1
                next_fault = now + 0.3
            if interactive:
                out.write("\x1b[H\x1b[2J" + _HEADER + "\n")
                out.write("\n".join(_row(lane, now - started) for lane in lanes) + "\n")
                out.flush()
            await asyncio.sleep(0.25)
        # Freeze the market and let every session converge, then compare with the truth.
        sim.pause()
        elapsed = time.monotonic() - started
        exact: dict[str, bool] = {}
        for lane in lanes:
            exact[lane.venue] = await _converged(lane, sim)
        for lane in lanes:
            await lane.session.stop()
    out.write("\n" + _HEADER + f"{'exact':>7}\n")
    for lane in lanes:
        out.write(_row(lane, elapsed) + f"{'yes' if exact[lane.venue] else 'NO':>7}\n")
    out.write(
        "\nlatency: socket read → book applied → strategy callback, per message (µs).\n"
        "exact: the engine's book equals the simulator's true book, level for level, at the end.\n"
    )
    return 0 if all(exact.values()) else 1


async def _converged(lane: _Lane, sim: SimServer, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = lane.session
        if s.synced:
            want = sim.book(lane.sim_venue, lane.symbol, lane.depth)
            n = lane.depth or max(len(want[0]), len(want[1]))
            if s.book(lane.symbol).top(n) == (want[0][:n], want[1][:n]):
                return True
        await asyncio.sleep(0.05)
    return False


__all__ = ["DEMO_VENUES", "market_demo"]
