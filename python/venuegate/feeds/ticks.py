"""Trades and best bid/offer (BBO) of the venue feeds: raw message bytes in, exact values out.

    d = tick_decoder("binance", price_precision=2, size_precision=8)
    d.decode(message)        # list[Trade] | Bbo | None (None: not a tick, e.g. an ack)
    d.decode_raw(message)    # the native tuple, integer mantissas, for hot paths

Channels: Binance spot and USD-M `@trade` / `@aggTrade` / `@bookTicker`, OKX `trades` /
`bbo-tbt`, Kraken v2 `trade` / `ticker`, Coinbase Advanced Trade `market_trades` / `ticker`,
Bitfinex `trades` (snapshot and `te`; `tu` repeats a `te` trade and is ignored) / `ticker`, HTX
`market.$symbol.trade.detail` / `market.$symbol.bbo`. One decoder serves one instrument.
Formats and sources: `engine/src/feeds/ticks.rs`.

Malformed input (not JSON, missing documented fields, a number not exact at the precision)
raises `venuegate.errors.ProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from venuegate._native import TickDecoder

type Side = Literal["buy", "sell"]
type RawTrade = tuple[int, int, int, int, str]
type RawBbo = tuple[int | None, int | None, int | None, int | None, int | None]
type RawTick = (
    tuple[Literal["trades"], list[RawTrade]]
    | tuple[Literal["bbo"], RawBbo]
    | tuple[Literal["ignored"], None]
)

_SIDES: dict[int, Side | None] = {1: "buy", -1: "sell", 0: None}


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade.

    Attributes:
        price: the trade price.
        size: the traded quantity (positive).
        side: the aggressor's side, or None when the venue does not say.
        ts_ms: trade time, Unix milliseconds.
        trade_id: the venue's trade id.
    """

    price: Decimal
    size: Decimal
    side: Side | None
    ts_ms: int
    trade_id: str


@dataclass(frozen=True, slots=True)
class Bbo:
    """Best bid and offer; a side's fields are None when the venue sent no such side.

    Attributes:
        bid_price: best bid price.
        bid_size: size at the best bid.
        ask_price: best ask price.
        ask_size: size at the best ask.
        ts_ms: venue time, Unix milliseconds, when the message carries one.
    """

    bid_price: Decimal | None
    bid_size: Decimal | None
    ask_price: Decimal | None
    ask_size: Decimal | None
    ts_ms: int | None


class VenueTickDecoder:
    """Decodes one instrument's trade and BBO messages. Build it with `tick_decoder`."""

    __slots__ = ("_inner", "_ps", "_ss")

    def __init__(self, venue: str, price_precision: int, size_precision: int) -> None:
        self._inner = TickDecoder(venue, price_precision, size_precision)
        self._ps = -price_precision
        self._ss = -size_precision

    @property
    def venue(self) -> str:
        """The venue name."""
        return self._inner.venue

    def decode_raw(self, message: bytes | bytearray | memoryview | str) -> RawTick:
        """Decodes one message into the native tuple (integer mantissas, no Decimal).

        Returns:
            `("trades", [(price, size, side, ts_ms, trade_id), ...])` with side 1 buy, -1 sell,
            0 unknown; `("bbo", (bid_px, bid_sz, ask_px, ask_sz, ts_ms))` with None for a missing
            side or time; or `("ignored", None)`.

        Raises:
            ProtocolError: the message is malformed.
        """
        return self._inner.decode(message)

    def decode(self, message: bytes | bytearray | memoryview | str) -> list[Trade] | Bbo | None:
        """Decodes one message into `Trade`s or a `Bbo` with `Decimal` values.

        Returns:
            A list of trades (possibly empty: an empty snapshot), a `Bbo`, or None for a message
            that is not a tick (ack, heartbeat, other channel).

        Raises:
            ProtocolError: the message is malformed.
        """
        match self._inner.decode(message):
            case ("trades", trades):
                ps, ss = self._ps, self._ss
                return [
                    Trade(Decimal(p).scaleb(ps), Decimal(s).scaleb(ss), _SIDES[side], ts, tid)
                    for p, s, side, ts, tid in trades
                ]
            case ("bbo", (bp, bs, ap, asz, ts)):
                return Bbo(self._price(bp), self._size(bs), self._price(ap), self._size(asz), ts)
            case _:
                return None

    def _price(self, mantissa: int | None) -> Decimal | None:
        return None if mantissa is None else Decimal(mantissa).scaleb(self._ps)

    def _size(self, mantissa: int | None) -> Decimal | None:
        return None if mantissa is None else Decimal(mantissa).scaleb(self._ss)

    def __repr__(self) -> str:
        return f"VenueTickDecoder({self._inner.venue!r}, {-self._ps}, {-self._ss})"


def tick_decoder(venue: str, *, price_precision: int, size_precision: int) -> VenueTickDecoder:
    """A trade / BBO decoder for `venue` at the instrument's precisions.

    Args:
        venue: one of `venuegate.feeds.VENUES`.
        price_precision: digits after the point in prices.
        size_precision: digits after the point in sizes.

    Raises:
        ValueError: unknown venue or a precision above 18.
    """
    return VenueTickDecoder(venue, price_precision, size_precision)


__all__ = ["Bbo", "RawTick", "Trade", "VenueTickDecoder", "tick_decoder"]
