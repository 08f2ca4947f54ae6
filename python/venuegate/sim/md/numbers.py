"""Number text as each venue writes it, from exact `Decimal` values.

Venues differ in how a price or size appears on the wire, and checksums are computed over that
text, so the simulator renders numbers itself rather than trusting a JSON library:

* `plain` - shortest positional text, no exponent, no trailing zeros (`"8477"`, `"0.1"`).
  OKX, Coinbase, Kraken v2 and HTX JSON numbers.
* `fixed` - a fixed number of decimals (`"4.00000200"`). Binance spot, Binance futures at the
  instrument's precision, and the Kraken checksum at the instrument's precision.
* `js_number` - JavaScript `Number#toString` (`"7e-7"`, `"0.000001"`, `"6.6e-7"`). Bitfinex
  writes JSON numbers this way and its checksum covers that text.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["fixed", "js_number", "plain"]


def plain(value: Decimal) -> str:
    """Shortest positional text of `value`: no exponent and no trailing zeros.

    Args:
        value: An exact decimal.

    Returns:
        For example `"8477"` for `Decimal("8477.00")` and `"0.0000001"` for `Decimal("1E-7")`.
    """
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def fixed(value: Decimal, places: int) -> str:
    """`value` with exactly `places` decimals, rounding refused.

    Args:
        value: An exact decimal that fits in `places` decimals.
        places: Number of decimals (0 gives an integer text).

    Returns:
        For example `"4.00000200"` for `fixed(Decimal("4.000002"), 8)`.

    Raises:
        ValueError: If `value` has more decimals than `places`.
    """
    quantum = Decimal(1).scaleb(-places)
    quantized = value.quantize(quantum)
    if quantized != value:
        raise ValueError(f"{value} does not fit in {places} decimals")
    return format(quantized, "f")


def js_number(value: Decimal) -> str:
    """Text JavaScript's `Number#toString` gives for `value` (ECMA-262 Number::toString).

    Positional for 1e-6 <= |value| < 1e21, exponential otherwise (`"7e-7"`, `"6.6e-7"`).
    `value` is assumed to be the shortest decimal of its double, which holds for any value with
    at most 15 significant digits.

    Args:
        value: An exact decimal.

    Returns:
        The JavaScript text.
    """
    if value == 0:
        return "0"
    sign, digits_t, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite decimals only
    digits = "".join(map(str, digits_t))
    k = len(digits)
    n = exponent + k  # decimal point position relative to the first digit
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return prefix + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return prefix + "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = ("+" if e > 0 else "-") + str(abs(e))
    if k == 1:
        return prefix + digits + "e" + exp_text
    return prefix + digits[0] + "." + digits[1:] + "e" + exp_text
