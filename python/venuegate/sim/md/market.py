"""`MarketSim`: deterministic per-venue books and their venue-level sequence numbers.

Pure logic, no I/O. Each `(venue, symbol)` owns a seeded `RandomWalk`; `step()` advances them
and returns one `Update` per book with the net level changes and the venue's own update ids
(Binance `U`/`u`/`pu`, OKX `seqId`/`prevSeqId`, HTX `seqNum`/`prevSeqNum`). Feeds that publish a
depth-limited window of the book (OKX 400, Kraken 10..1000, Bitfinex 1..250, HTX 5..400) read it
through a `WindowView`, shared by every connection subscribed at that depth, so that what goes
on the wire is the same whichever connection asks.

Given the same seed, symbols and sequence of `step` calls, every update, id and message is the
same: all randomness comes from `random.Random` instances seeded from `(seed, venue, symbol)`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from venuegate.sim.md.book import Change, Instrument, L2Book, Level, RandomWalk, Side

__all__ = [
    "CATALOG",
    "VENUES",
    "MarketSim",
    "SymbolFeed",
    "Update",
    "WindowView",
]

VENUES: tuple[str, ...] = (
    "binance",
    "binanceusdm",
    "okx",
    "kraken",
    "coinbase",
    "bitfinex",
    "htx",
)
"""Venue names the simulator speaks: Binance spot, Binance USD-M futures, OKX v5, Kraken WS v2,
Coinbase Advanced Trade, Bitfinex v2 and HTX spot."""


def _i(symbol: str, tick: str, lot: str, price: str, size: str) -> Instrument:
    return Instrument(symbol, Decimal(tick), Decimal(lot), Decimal(price), Decimal(size))


CATALOG: Mapping[str, tuple[Instrument, ...]] = {
    "binance": (
        _i("BTCUSDT", "0.01", "0.00001", "43000", "0.5"),
        _i("ETHUSDT", "0.01", "0.0001", "2300", "4"),
    ),
    "binanceusdm": (
        _i("BTCUSDT", "0.1", "0.001", "43000", "2"),
        _i("ETHUSDT", "0.01", "0.001", "2300", "20"),
    ),
    "okx": (
        _i("BTC-USDT", "0.1", "0.00000001", "43000", "0.5"),
        _i("ETH-USDT", "0.01", "0.000001", "2300", "4"),
    ),
    "kraken": (
        _i("BTC/USD", "0.1", "0.00000001", "43000", "0.5"),
        _i("ETH/USD", "0.01", "0.00000001", "2300", "4"),
    ),
    "coinbase": (
        _i("BTC-USD", "0.01", "0.00000001", "43000", "0.3"),
        _i("ETH-USD", "0.01", "0.00000001", "2300", "3"),
    ),
    "bitfinex": (
        _i("tBTCUSD", "1", "0.00000001", "43000", "0.5"),
        _i("tETHUSD", "0.1", "0.00000001", "2300", "4"),
    ),
    "htx": (
        _i("btcusdt", "0.01", "0.000001", "43000", "0.5"),
        _i("ethusdt", "0.01", "0.0001", "2300", "4"),
    ),
}
"""Default instruments per venue, in each venue's symbol spelling."""


@dataclass(frozen=True, slots=True)
class Update:
    """One step of one book.

    Attributes:
        venue: Venue name.
        symbol: Venue symbol.
        step: Step number of this book (1 for the first update).
        time_ms: Simulated event time, milliseconds since the epoch.
        changes: Net changes of the full book, one per `(side, price)`.
        first_id: First venue update id in this update (Binance `U`).
        last_id: Last venue update id (Binance `u`, OKX `seqId`, HTX `seqNum`).
        prev_id: Last id of the previous update (Binance futures `pu`).
        windows: For each registered window depth, the changes of that window and its
            `(prev_id, last_id)`; absent when the window did not change.
    """

    venue: str
    symbol: str
    step: int
    time_ms: int
    changes: tuple[Change, ...]
    first_id: int
    last_id: int
    prev_id: int
    windows: Mapping[int, WindowDelta] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WindowDelta:
    """How one depth-limited window changed in one step.

    Attributes:
        changes: Changes of the window (deletions first).
        prev_id: The id the window last published (HTX `prevSeqNum`, OKX `prevSeqId`).
        last_id: The id of this change (HTX `seqNum`, OKX `seqId`).
    """

    changes: tuple[Change, ...]
    prev_id: int
    last_id: int


class WindowView:
    """The top `depth` levels a side, as last published.

    Args:
        book: The full book to read.
        depth: Levels per side.
        evict: Publish a deletion for a level that leaves the window while still resting in the
            book (Bitfinex, HTX, OKX). Kraken leaves these out: its clients truncate to depth.
        last_id: Id of the state the window starts from.
    """

    def __init__(self, book: L2Book, depth: int, *, evict: bool, last_id: int) -> None:
        self.depth = depth
        self.evict = evict
        self.last_id = last_id
        self.bids = dict(book.levels("bid", depth))
        self.asks = dict(book.levels("ask", depth))

    def levels(self, side: Side) -> list[Level]:
        """The window's levels on one side, best first."""
        levels = self.bids if side == "bid" else self.asks
        return [(p, levels[p]) for p in sorted(levels, reverse=side == "bid")]

    def advance(self, book: L2Book, last_id: int) -> WindowDelta | None:
        """Re-read the window from `book`; return what changed, or None.

        Args:
            book: The full book after the step.
            last_id: The venue id of the step.

        Returns:
            The window's changes, or None if the window is unchanged.
        """
        deletes: list[Change] = []
        sets: list[Change] = []
        for side in ("bid", "ask"):
            old = self.bids if side == "bid" else self.asks
            new = dict(book.levels(side, self.depth))
            full = book.bids if side == "bid" else book.asks
            for price in old:
                if price not in new and (self.evict or price not in full):
                    deletes.append((side, price, Decimal(0)))
            for price, size in new.items():
                if old.get(price) != size:
                    sets.append((side, price, size))
            if side == "bid":
                self.bids = new
            else:
                self.asks = new
        if not deletes and not sets:
            return None
        delta = WindowDelta(tuple(deletes + sets), self.last_id, last_id)
        self.last_id = last_id
        return delta


class SymbolFeed:
    """One venue's book for one symbol: the walk, the venue ids and the window views.

    Args:
        venue: Venue name (decides the id scheme).
        instrument: The instrument.
        seed: Master seed.
        depth: Target levels per side.
        start_ms: Simulated clock start.
        step_ms: Simulated clock increment per step.
    """

    def __init__(
        self,
        venue: str,
        instrument: Instrument,
        seed: int,
        depth: int,
        start_ms: int,
        step_ms: int,
        intensity: int = 1,
    ) -> None:
        self.venue = venue
        self.instrument = instrument
        rng = random.Random(f"{seed}:{venue}:{instrument.symbol}")
        self.walk = RandomWalk(instrument, rng, depth, intensity)
        self._ids = random.Random(f"{seed}:{venue}:{instrument.symbol}:ids")
        self.last_id = self._ids.randrange(10**9, 10**10)
        self.step_count = 0
        self.time_ms = start_ms
        self._step_ms = step_ms
        self.views: dict[tuple[int, bool], WindowView] = {}

    @property
    def book(self) -> L2Book:
        """The true book."""
        return self.walk.book

    def view(self, depth: int, *, evict: bool) -> WindowView:
        """The shared window view at `depth`, created (from the current book) on first use.

        Args:
            depth: Levels per side.
            evict: See `WindowView`.

        Returns:
            The view.
        """
        key = (depth, evict)
        view = self.views.get(key)
        if view is None:
            view = WindowView(self.book, depth, evict=evict, last_id=self.last_id)
            self.views[key] = view
        return view

    def advance(self) -> Update:
        """One random-walk step, with the venue's ids and every registered window's changes.

        Returns:
            The update.
        """
        changes = tuple(self.walk.step())
        self.step_count += 1
        self.time_ms += self._step_ms
        prev = self.last_id
        if self.venue == "binance":
            first, last = prev + 1, prev + len(changes)
        elif self.venue == "binanceusdm":
            # Futures ids are not contiguous: `U` jumps past `pu + 1`; `pu` chains.
            first = prev + 1 + self._ids.randrange(4)
            last = first + len(changes) - 1
        elif self.venue in ("okx", "htx"):
            first = last = prev + 1 + self._ids.randrange(3)
        else:
            first = last = prev + 1
        self.last_id = last
        windows: dict[int, WindowDelta] = {}
        for (depth, evict), view in self.views.items():
            delta = view.advance(self.book, last)
            if delta is not None:
                windows[window_key(depth, evict=evict)] = delta
        return Update(
            self.venue,
            self.instrument.symbol,
            self.step_count,
            self.time_ms,
            changes,
            first,
            last,
            prev,
            windows,
        )


def window_key(depth: int, *, evict: bool) -> int:
    """Key of a window's delta in `Update.windows`.

    Args:
        depth: Levels per side.
        evict: See `WindowView`.

    Returns:
        The key.
    """
    return depth * 2 + int(evict)


class MarketSim:
    """Deterministic books for every simulated venue and symbol.

    Args:
        seed: Master seed; the same seed gives the same books, updates and ids.
        symbols: Per venue, the symbols to simulate: venue symbols from `CATALOG` or
            `Instrument`s. Venues left out are not simulated; None simulates every venue in
            `CATALOG` with its default symbols.
        levels: Target levels per side of each book.
        start_ms: Simulated clock start (ms since the epoch).
        step_ms: Simulated time per step.

    Raises:
        ValueError: For an unknown venue or symbol.
    """

    def __init__(
        self,
        seed: int = 1,
        symbols: Mapping[str, Sequence[str | Instrument]] | None = None,
        *,
        levels: int = 200,
        start_ms: int = 1_700_000_000_000,
        step_ms: int = 10,
        intensity: int = 1,
    ) -> None:
        self.seed = seed
        wanted: Mapping[str, Sequence[str | Instrument]] = (
            symbols if symbols is not None else {v: CATALOG[v] for v in VENUES}
        )
        self._feeds: dict[str, dict[str, SymbolFeed]] = {}
        for venue, entries in wanted.items():
            if venue not in CATALOG:
                raise ValueError(f"unknown venue {venue!r}; known: {', '.join(VENUES)}")
            catalog = {i.symbol: i for i in CATALOG[venue]}
            feeds: dict[str, SymbolFeed] = {}
            for entry in entries:
                if isinstance(entry, str) and entry not in catalog:
                    raise ValueError(
                        f"{venue} has no default instrument {entry!r}; pass an Instrument"
                    )
                inst = catalog[entry] if isinstance(entry, str) else entry
                feeds[inst.symbol] = SymbolFeed(
                    venue, inst, seed, levels, start_ms, step_ms, intensity
                )
            self._feeds[venue] = feeds

    @property
    def venues(self) -> tuple[str, ...]:
        """Venues simulated."""
        return tuple(self._feeds)

    def symbols(self, venue: str) -> tuple[str, ...]:
        """Symbols simulated on `venue`.

        Args:
            venue: Venue name.

        Returns:
            Venue symbols.
        """
        return tuple(self._feeds[venue])

    def feed(self, venue: str, symbol: str) -> SymbolFeed:
        """The feed of one book.

        Args:
            venue: Venue name.
            symbol: Venue symbol.

        Returns:
            The feed.

        Raises:
            KeyError: If not simulated.
        """
        try:
            return self._feeds[venue][symbol]
        except KeyError:
            raise KeyError(f"{venue} {symbol} is not simulated") from None

    def has(self, venue: str, symbol: str) -> bool:
        """Whether `symbol` is simulated on `venue`."""
        return symbol in self._feeds.get(venue, {})

    def step(self, venue: str | None = None, symbol: str | None = None) -> list[Update]:
        """Advance the books by one step each.

        Args:
            venue: Only this venue (default: all).
            symbol: Only this symbol (default: all of the venue's).

        Returns:
            One update per advanced book, in venue then symbol order.
        """
        out: list[Update] = []
        for name, feeds in self._feeds.items():
            if venue is not None and name != venue:
                continue
            for sym, feed in feeds.items():
                if symbol is not None and sym != symbol:
                    continue
                out.append(feed.advance())
        return out

    def book(
        self, venue: str, symbol: str, depth: int | None = None
    ) -> tuple[list[Level], list[Level]]:
        """The true book: `(bids, asks)`, each `(price, size)` best first.

        Args:
            venue: Venue name.
            symbol: Venue symbol.
            depth: At most this many levels a side.

        Returns:
            Bids (highest first) and asks (lowest first).
        """
        book = self.feed(venue, symbol).book
        return book.levels("bid", depth), book.levels("ask", depth)

    def all_feeds(self) -> Iterable[SymbolFeed]:
        """Every feed."""
        for feeds in self._feeds.values():
            yield from feeds.values()
