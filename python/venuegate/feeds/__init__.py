"""Venue book feeds: raw WebSocket message bytes in, a synced `OrderBook` out.

    f = book_feed("binance", "BTCUSDT", price_precision=2, size_precision=8)
    f.apply_snapshot(rest_snapshot_bytes)
    status = f.apply(ws_message_bytes)     # FeedStatus
    f.book                                 # OrderBook

`apply` never raises on venue input: a bad message returns MALFORMED (sequence trouble GAP, a
checksum disagreement CHECKSUM_MISMATCH, an impossible book CROSSED), the feed goes stale, the
reason is logged once, and the next snapshot resyncs it. Venues whose snapshot comes from a
separate request (Binance REST, HTX `req`) have their deltas buffered (BUFFERED) and replayed.

Venues: `binance` (spot), `binance-usdm`, `okx`, `kraken` (WS v2), `coinbase` (Advanced Trade),
`bitfinex`, `htx`. Sync rules and sources: `engine/src/feeds/`.
"""

from __future__ import annotations

import logging
from enum import IntEnum

from venuegate._native import Book, BookFeed, WsDecoder
from venuegate.book import OrderBook

log = logging.getLogger("venuegate.feeds")

VENUES = ("binance", "binance-usdm", "okx", "kraken", "coinbase", "bitfinex", "htx")
# Kraken streams a depth-limited book and expects the client to truncate (default depth 10).
_DEFAULT_DEPTH = {"kraken": 10}


class FeedStatus(IntEnum):
    """What one message did to the feed."""

    APPLIED = 0
    SKIPPED = 1
    BUFFERED = 2
    GAP = 3
    CHECKSUM_MISMATCH = 4
    CROSSED = 5
    MALFORMED = 6

    @property
    def needs_resync(self) -> bool:
        """True when the feed went stale and needs a snapshot."""
        return self >= FeedStatus.GAP


_STATUS = tuple(FeedStatus)
_FIRST_FAILURE = int(FeedStatus.GAP)
_NO_CONTROLS: list[tuple[int, bytes]] = []  # shared and never mutated: most reads have no control


class VenueBookFeed:
    """One instrument's book feed (see module docs). Build it with `book_feed`."""

    __slots__ = ("_book", "_inner", "symbol", "venue")

    def __init__(self, venue: str, symbol: str, book: Book) -> None:
        self.venue = venue
        self.symbol = symbol
        self._inner = BookFeed(venue, book)
        self._book = OrderBook._wrap(book)  # same package: a facade over the shared native book

    @property
    def book(self) -> OrderBook:
        """The book this feed keeps in sync."""
        return self._book

    def apply(self, message: bytes | bytearray | memoryview | str) -> FeedStatus:
        """Applies one WebSocket message."""
        code = self._inner.apply(message)
        if code >= _FIRST_FAILURE:  # compare ints: the hot path avoids enum arithmetic
            self._log(_STATUS[code])
        return _STATUS[code]

    def apply_ws(
        self, decoder: WsDecoder, data: bytes | bytearray | memoryview
    ) -> tuple[int, FeedStatus, list[tuple[int, bytes]]]:
        """The fused path: one socket read → frames → decode → book, in one native call.

        For a connection that carries only this feed.

        Returns:
            (messages applied or examined, the worst status among them, control frames
            `(opcode, payload)` for the transport to answer).

        Raises:
            ProtocolError: the read broke RFC 6455 (with `close_code`); what preceded it applied.
        """
        count, code, controls = self._inner.apply_ws(decoder, data)
        if code >= _FIRST_FAILURE:
            self._log(_STATUS[code])
        return count, _STATUS[code], controls or _NO_CONTROLS

    def apply_snapshot(self, message: bytes | bytearray | memoryview | str) -> FeedStatus:
        """Applies a snapshot (REST body, `req` reply, in-band snapshot) and replays the buffer.

        GAP means the snapshot cannot be bridged to the buffered deltas: fetch another.
        """
        status = _STATUS[self._inner.apply_snapshot(message)]
        if status >= FeedStatus.GAP:
            self._log(status)
        return status

    def invalidate(self, reason: str) -> None:
        """Marks the feed stale (after a disconnect, say) until the next snapshot."""
        self._inner.invalidate(reason)

    def log_failure(self, status: FeedStatus) -> None:
        """Logs why the feed needs a resync (for statuses reported by a reader thread)."""
        self._log(status)

    @property
    def native(self) -> BookFeed:
        """The native feed, for a reader thread that applies messages to it without the GIL."""
        return self._inner

    def _log(self, status: FeedStatus) -> None:
        log.warning(
            "book feed %s %s %s: %s; resync needed",
            self.venue,
            self.symbol,
            status.name,
            self._inner.reason,
        )

    @property
    def state(self) -> str:
        """`awaiting_snapshot`, `synced` or `stale`."""
        return self._inner.state

    @property
    def stale(self) -> bool:
        """True when the book must not be trusted until resynced."""
        return self._inner.state != "synced"

    @property
    def reason(self) -> str | None:
        """Why the feed last went stale."""
        return self._inner.reason

    @property
    def last_seq(self) -> int | None:
        """The venue's last applied sequence value (Binance `u`, OKX `seqId`, ...)."""
        return self._inner.last_seq

    @property
    def buffered(self) -> int:
        """Deltas waiting for a snapshot."""
        return self._inner.buffered

    @property
    def snapshot_out_of_band(self) -> bool:
        """True when the snapshot is fetched separately (Binance REST, HTX `req`)."""
        return self._inner.snapshot_out_of_band

    def stats(self) -> dict[str, int]:
        """Counters: messages, applied, snapshots, gaps, checksum mismatches, crossed, ..."""
        return self._inner.stats()

    def __repr__(self) -> str:
        return f"VenueBookFeed({self.venue!r}, {self.symbol!r}, state={self.state!r})"


def book_feed(
    venue: str,
    symbol: str,
    *,
    price_precision: int,
    size_precision: int,
    depth: int | None = None,
) -> VenueBookFeed:
    """A book feed for `symbol` on `venue` at the instrument's precisions.

    Args:
        venue: one of `VENUES`.
        symbol: the venue's symbol (for logs and routing).
        price_precision: digits after the point in prices.
        size_precision: digits after the point in sizes.
        depth: keep only this many levels per side (Kraken: the subscribed depth, default 10).
    """
    book = Book(price_precision, size_precision, depth or _DEFAULT_DEPTH.get(venue))
    return VenueBookFeed(venue, symbol, book)


__all__ = ["VENUES", "FeedStatus", "VenueBookFeed", "book_feed"]
