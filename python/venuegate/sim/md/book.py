"""Plain-Python L2 book and the seeded random walk that drives it.

Prices and sizes are whole numbers of ticks and lots inside the walk and exact `Decimal` values
outside (`price = tick * n`, `size = lot * m`); nothing is ever a float.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Change", "Instrument", "L2Book", "Level", "RandomWalk", "Side"]

type Side = Literal["bid", "ask"]
type Level = tuple[Decimal, Decimal]
type Change = tuple[Side, Decimal, Decimal]
"""`(side, price, new size)`; size 0 removes the level."""


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # noqa: S101 - finite decimals only
    return max(0, -exponent)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One order book's static description, in the venue's own symbol spelling.

    Attributes:
        symbol: Venue symbol, e.g. `"BTCUSDT"`, `"BTC-USDT"`, `"BTC/USD"`, `"tBTCUSD"`.
        tick: Price increment.
        lot: Size increment.
        start_price: Mid price the walk starts from.
        typical_size: Mean level size.
    """

    symbol: str
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal("0.0001")
    start_price: Decimal = Decimal(100)
    typical_size: Decimal = Decimal(5)

    @property
    def price_precision(self) -> int:
        """Decimals of a price (Kraken's `price_precision`)."""
        return _places(self.tick)

    @property
    def qty_precision(self) -> int:
        """Decimals of a size (Kraken's `qty_precision`)."""
        return _places(self.lot)


class L2Book:
    """An aggregated price-level book: price -> size per side, exact decimals."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, side: Side, price: Decimal, size: Decimal) -> None:
        """Set the size at `price`; size 0 removes the level.

        Args:
            side: `"bid"` or `"ask"`.
            price: Level price.
            size: New absolute size.
        """
        levels = self.bids if side == "bid" else self.asks
        if size == 0:
            levels.pop(price, None)
        else:
            levels[price] = size

    def levels(self, side: Side, depth: int | None = None) -> list[Level]:
        """Levels of one side, best first.

        Args:
            side: `"bid"` (highest first) or `"ask"` (lowest first).
            depth: At most this many levels; None for all.

        Returns:
            `(price, size)` pairs.
        """
        levels = self.bids if side == "bid" else self.asks
        prices = sorted(levels, reverse=side == "bid")
        if depth is not None:
            prices = prices[:depth]
        return [(p, levels[p]) for p in prices]

    def copy(self) -> L2Book:
        """An independent copy."""
        other = L2Book()
        other.bids = dict(self.bids)
        other.asks = dict(self.asks)
        return other


class RandomWalk:
    """A seeded random walk over an L2 book.

    Each `step` makes one to four book events, biased towards the top of the book, as real books
    move: size changes, new levels (possibly inside the spread), cancels, and the best level
    being taken out. Depth is kept near `depth` levels a side by adding or trimming levels at the
    tail. The book never crosses. Given the same instrument, seed and depth, the sequence of
    changes is always the same.

    Args:
        instrument: The instrument (tick, lot, start price, typical size).
        rng: The random source this walk owns.
        depth: Target number of levels per side.
        intensity: Event batches per step (1: a quiet book; 8 gives about 20 level changes per
            step, like a busy BTCUSDT `@depth@100ms` message).
    """

    def __init__(
        self, instrument: Instrument, rng: random.Random, depth: int = 200, intensity: int = 1
    ) -> None:
        if depth < 10:
            raise ValueError("depth must be at least 10 levels a side")
        self.instrument = instrument
        self.depth = depth
        self.intensity = intensity
        self._rng = rng
        self._scale = max(1, int(instrument.typical_size / instrument.lot))
        self._bid_ticks: list[int] = []  # ascending, best bid last
        self._ask_ticks: list[int] = []  # ascending, best ask first
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self.book = L2Book()
        mid = int(instrument.start_price / instrument.tick)
        bid = mid - 1 - rng.randrange(2)
        ask = mid + 1 + rng.randrange(2)
        for _ in range(depth):
            if bid > 0:
                self._set("bid", bid, self._units())
            self._set("ask", ask, self._units())
            bid -= self._gap()
            ask += self._gap()

    def _gap(self) -> int:
        return 1 if self._rng.random() < 0.7 else self._rng.randrange(2, 5)

    def _units(self) -> int:
        # Exponential sizes with a few significant digits, like real resting liquidity.
        raw = max(1, int(self._scale * self._rng.expovariate(1.0)))
        keep = self._rng.choice((2, 3, 4, 8))
        digits = len(str(raw))
        if digits > keep:
            unit = 10 ** (digits - keep)
            raw = max(unit, raw // unit * unit)
        return raw

    def _set(self, side: Side, ticks: int, units: int) -> None:
        levels, order = (
            (self._bids, self._bid_ticks) if side == "bid" else (self._asks, self._ask_ticks)
        )
        if units == 0:
            if ticks in levels:
                del levels[ticks]
                order.pop(bisect.bisect_left(order, ticks))
        else:
            if ticks not in levels:
                bisect.insort(order, ticks)
            levels[ticks] = units
        inst = self.instrument
        self.book.apply(side, inst.tick * ticks, inst.lot * units)

    def _nth(self, side: Side, index: int) -> int:
        order = self._bid_ticks if side == "bid" else self._ask_ticks
        index = min(index, len(order) - 1)
        return order[-1 - index] if side == "bid" else order[index]

    def step(self) -> list[Change]:
        """Advance the book by one event batch.

        Returns:
            The net changes, in the order first touched, one per `(side, price)`; levels whose
            size ends where it started are left out. Never empty.
        """
        for _ in range(100):
            changes = self._try_step()
            if changes:
                return changes
        raise RuntimeError("random walk produced no change in 100 attempts")  # pragma: no cover

    def _try_step(self) -> list[Change]:
        rng = self._rng
        before: dict[tuple[Side, int], int] = {}

        def touch(side: Side, ticks: int, units: int) -> None:
            levels = self._bids if side == "bid" else self._asks
            before.setdefault((side, ticks), levels.get(ticks, 0))
            self._set(side, ticks, units)

        for _ in range(self.intensity * (1 + rng.randrange(4))):
            side: Side = "bid" if rng.random() < 0.5 else "ask"
            count = len(self._bid_ticks if side == "bid" else self._ask_ticks)
            roll = rng.random()
            if roll < 0.55 or count < 12:
                index = int(rng.expovariate(0.12))
                touch(side, self._nth(side, index), self._units())
            elif roll < 0.75:
                offset = int(rng.expovariate(0.25))
                best_bid, best_ask = self._bid_ticks[-1], self._ask_ticks[0]
                ticks = best_ask - 1 - offset if side == "bid" else best_bid + 1 + offset
                if ticks > 0:
                    touch(side, ticks, self._units())
            elif roll < 0.93:
                touch(side, self._nth(side, int(rng.expovariate(0.15))), 0)
            else:
                touch(side, self._nth(side, 0), 0)
        for side in ("bid", "ask"):
            order = self._bid_ticks if side == "bid" else self._ask_ticks
            while len(order) < self.depth:
                worst = order[0] - self._gap() if side == "bid" else order[-1] + self._gap()
                if worst <= 0:
                    break
                touch(side, worst, self._units())
            while len(order) > self.depth + 8:
                touch(side, order[0] if side == "bid" else order[-1], 0)
        inst = self.instrument
        out: list[Change] = []
        for (side, ticks), old in before.items():
            levels = self._bids if side == "bid" else self._asks
            new = levels.get(ticks, 0)
            if new != old:
                out.append((side, inst.tick * ticks, inst.lot * new))
        return out
