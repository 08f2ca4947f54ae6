"""Small wire helpers the venue adapters share: JSON with exact decimals."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["dec_or_none", "loads_decimal"]


def loads_decimal(raw: bytes | str) -> Any:
    """JSON with every fractional number parsed as `Decimal` (never float)."""
    return json.loads(raw, parse_float=Decimal)


def dec_or_none(value: object) -> Decimal | None:
    """A venue number (string, int or Decimal) as an exact Decimal; None and "" give None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))
