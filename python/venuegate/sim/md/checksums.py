"""Venue book checksums, written from each venue's documentation with `zlib.crc32`.

Independent of the engine's checksums on purpose: nothing here imports `venuegate.book`,
`venuegate.feeds` or the native module, so an engine bug cannot hide behind the same bug here.
Every function takes the level text exactly as the venue sends it (or, for Kraken, the decimal
values and the instrument's precisions), best level first.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal

from venuegate.sim.md.numbers import fixed

__all__ = ["bitfinex_checksum", "kraken_checksum", "okx_checksum", "signed32"]

type TextLevel = tuple[str, str]


def signed32(value: int) -> int:
    """Reinterpret an unsigned 32-bit integer as signed (two's complement).

    Args:
        value: 0 <= value < 2**32.

    Returns:
        The signed value.
    """
    return value - (1 << 32) if value >= 1 << 31 else value


def _interleave(bids: Sequence[TextLevel], asks: Sequence[TextLevel], depth: int) -> str:
    parts: list[str] = []
    for i in range(depth):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    return ":".join(parts)


def okx_checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> int:
    """OKX v5 order-book checksum: signed CRC32 over the top 25 levels.

    `bid[price:size]:ask[price:size]:...` alternating, missing levels skipped, price and size
    strings exactly as sent (OKX v5 docs, "Checksum").

    Args:
        bids: `(price, size)` text, best (highest) first.
        asks: `(price, size)` text, best (lowest) first.

    Returns:
        The signed 32-bit checksum.
    """
    return signed32(zlib.crc32(_interleave(bids, asks, 25).encode()))


def bitfinex_checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> int:
    """Bitfinex v2 P-precision book checksum: signed CRC32 over the top 25 levels.

    `bidPrice:bidAmount:askPrice:askAmount:...` with ask amounts negative as received and each
    number as its text on the wire (docs.bitfinex.com "WS Checksum").

    Args:
        bids: `(price, amount)` tokens, best (highest) first.
        asks: `(price, amount)` tokens (amount negative), best (lowest) first.

    Returns:
        The signed 32-bit checksum.
    """
    return signed32(zlib.crc32(_interleave(bids, asks, 25).encode()))


def _kraken_token(value: Decimal | str, places: int | None) -> str:
    text = fixed(Decimal(value), places) if places is not None else str(value)
    return text.replace(".", "").lstrip("0")


def kraken_checksum(
    bids: Sequence[tuple[Decimal | str, Decimal | str]],
    asks: Sequence[tuple[Decimal | str, Decimal | str]],
    price_precision: int | None,
    qty_precision: int | None,
) -> int:
    """Kraken WS v2 book checksum: unsigned CRC32 of the top 10 asks then top 10 bids.

    Each level is price then qty rendered at the instrument's precision, `.` removed and leading
    zeros stripped (Kraken "Book checksum (v2)" guide). Pass `None` precisions to use string
    levels as given (the guide's "json string decoder" example).

    Args:
        bids: `(price, qty)`, best (highest) first.
        asks: `(price, qty)`, best (lowest) first.
        price_precision: Decimals of the instrument's prices, or None.
        qty_precision: Decimals of the instrument's quantities, or None.

    Returns:
        The unsigned 32-bit checksum.
    """
    text = "".join(
        _kraken_token(p, price_precision) + _kraken_token(q, qty_precision)
        for p, q in [*asks[:10], *bids[:10]]
    )
    return zlib.crc32(text.encode())
