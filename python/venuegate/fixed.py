"""Exact fixed-point decimals, native: the representation prices and sizes have inside venuegate.

`Fixed` converts to and from `decimal.Decimal` exactly; users see `Decimal`, the hot path sees
integers. Nothing here rounds unless asked to (`Fixed.round`).

Example:
    >>> from decimal import Decimal
    >>> Fixed("0.00012300").canonical()
    '0.000123'
    >>> Fixed(Decimal("1.5")).format(8)
    '1.50000000'
"""

from __future__ import annotations

from decimal import Decimal

from venuegate._native import MAX_SCALE, Fixed


def to_fixed(value: Decimal | str | int | Fixed) -> Fixed:
    """Converts a user-facing number to `Fixed` exactly (raises `DecimalError` otherwise)."""
    return value if isinstance(value, Fixed) else Fixed(value)


def to_decimal(value: Fixed | Decimal | str | int) -> Decimal:
    """Converts to `Decimal` exactly (validating strings through `Fixed`)."""
    if isinstance(value, Decimal):
        return value
    return to_fixed(value).to_decimal()


__all__ = ["MAX_SCALE", "Fixed", "to_decimal", "to_fixed"]
