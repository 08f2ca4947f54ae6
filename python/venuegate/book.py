"""The L2 order book: native, fixed point at the instrument's precision, Decimal at this boundary.

    b = OrderBook(price_precision=1, size_precision=8)
    b.apply_snapshot(bids=[("45283.5", "0.10000000")], asks=[("45290.2", "1.5")])
    b.apply_deltas(bids=[("45283.5", "0")], asks=[])      # size 0 deletes the level
    b.best_bid(), b.best_ask()                             # (Decimal, Decimal) or None
    b.top(5)                                               # (bids, asks), best first
    b.checksum("kraken")                                   # as the venue computes it

Hot paths read `top_of_book()` (integer mantissas, no Decimal) or `depth_packed(n)` (one bytes
object for numpy); the Decimal methods are for people and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from venuegate._native import Book, Fixed

type LevelInput = tuple[str | bytes | Decimal | Fixed, str | bytes | Decimal | Fixed]
"""A (price, size) pair as a venue sends it or as a user writes it."""
type Level = tuple[Decimal, Decimal]


class OrderBook:
    """An L2 book for one instrument; prices and sizes are exact at the given precisions.

    Args:
        price_precision: digits after the point in the instrument's prices.
        size_precision: digits after the point in its sizes.
        max_depth: keep only this many levels per side (venues that stream a depth-limited book).

    Raises:
        BookError: a level with more digits than the precision, a bad number or a negative size
            (the book is left unchanged).
    """

    __slots__ = ("_inner", "_ps", "_ss")

    def __init__(
        self, price_precision: int, size_precision: int, max_depth: int | None = None
    ) -> None:
        self._inner = Book(price_precision, size_precision, max_depth)
        self._ps = -price_precision
        self._ss = -size_precision

    @classmethod
    def _wrap(cls, inner: Book) -> OrderBook:
        """A facade over an existing native book (a feed's)."""
        book = cls.__new__(cls)
        book._inner = inner
        book._ps = -inner.price_precision
        book._ss = -inner.size_precision
        return book

    @property
    def price_precision(self) -> int:
        """Digits after the point in prices."""
        return -self._ps

    @property
    def size_precision(self) -> int:
        """Digits after the point in sizes."""
        return -self._ss

    def apply_snapshot(self, bids: Iterable[LevelInput], asks: Iterable[LevelInput]) -> None:
        """Replaces the book with these levels."""
        self._inner.apply_snapshot(bids, asks)

    def apply_deltas(self, bids: Iterable[LevelInput], asks: Iterable[LevelInput]) -> None:
        """Applies level changes (absolute sizes; 0 deletes), all or nothing."""
        self._inner.apply_deltas(bids, asks)

    def _level(self, raw: tuple[int, int] | None) -> Level | None:
        if raw is None:
            return None
        return Decimal(raw[0]).scaleb(self._ps), Decimal(raw[1]).scaleb(self._ss)

    def best_bid(self) -> Level | None:
        """The best bid as (price, size), or None."""
        return self._level(self._inner.best_bid())

    def best_ask(self) -> Level | None:
        """The best ask as (price, size), or None."""
        return self._level(self._inner.best_ask())

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The top `n` levels per side, best first."""
        bids, asks = self._inner.top(n)
        ps, ss = self._ps, self._ss
        return (
            [(Decimal(p).scaleb(ps), Decimal(s).scaleb(ss)) for p, s in bids],
            [(Decimal(p).scaleb(ps), Decimal(s).scaleb(ss)) for p, s in asks],
        )

    def top_of_book(self) -> tuple[int | None, int | None, int | None, int | None]:
        """The hot-path read: integer mantissas in one flat tuple, no Decimal.

        Returns:
            `(bid_price, bid_size, ask_price, ask_size)`; None for the fields of an empty side.
        """
        return self._inner.top_of_book()

    def depth_packed(self, n: int) -> bytes:
        """Top `n` rows of `[bid_px, bid_sz, ask_px, ask_sz]` mantissas as little-endian i64.

        `numpy.frombuffer(b, "<i8").reshape(-1, 4)` views it without a copy per level.
        """
        return self._inner.depth_packed(n)

    def checksum(self, venue: Literal["okx", "kraken", "bitfinex"]) -> int:
        """The venue's book checksum, exactly as the venue computes it."""
        return self._inner.checksum(venue)

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask."""
        return self._inner.is_crossed()

    def depth(self) -> tuple[int, int]:
        """Number of levels per side: (bids, asks)."""
        return self._inner.depth()

    def clear(self) -> None:
        """Removes every level."""
        self._inner.clear()

    def __repr__(self) -> str:
        bid, ask = self.best_bid(), self.best_ask()
        return (
            f"OrderBook(price_precision={self.price_precision}, "
            f"size_precision={self.size_precision}, depth={self.depth()}, bid={bid}, ask={ask})"
        )


__all__ = ["Level", "LevelInput", "OrderBook"]
