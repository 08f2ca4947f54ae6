"""venuegate.fixed: exact parse/format and exact Decimal round trips (engine/src/fixed.rs)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venuegate.errors import DecimalError, VenuegateError
from venuegate.fixed import MAX_SCALE, Fixed, to_decimal, to_fixed


@pytest.mark.parametrize(
    ("text", "mantissa", "scale", "shown", "canonical"),
    [
        ("0.00012300", 12300, 8, "0.00012300", "0.000123"),
        ("-5.1", -51, 1, "-5.1", "-5.1"),
        ("1e-8", 1, 8, "0.00000001", "0.00000001"),
        ("1.5E3", 1500, 0, "1500", "1500"),
        ("67123.45000000", 6712345000000, 8, "67123.45000000", "67123.45"),
        ("0", 0, 0, "0", "0"),
    ],
)
def test_parses_venue_strings(
    text: str, mantissa: int, scale: int, shown: str, canonical: str
) -> None:
    f = Fixed(text)
    assert (f.mantissa, f.scale) == (mantissa, scale)
    assert str(f) == shown
    assert f.canonical() == canonical
    assert Fixed(text.encode()) == f
    assert repr(f) == f"Fixed('{shown}')"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty decimal"),
        ("1.2.3", "invalid character 0x2e at offset 3"),
        ("abc", "invalid character 0x61 at offset 0"),
        ("9223372036854775808", "overflows a 64-bit mantissa"),
        ("0.0000000000000000001", "needs 19 fractional digits"),
        ("NaN", "invalid character"),
    ],
)
def test_bad_input_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(DecimalError, match=message) as info:
        Fixed(text)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, VenuegateError)


def test_never_rounds_silently() -> None:
    assert Fixed("1.5").format(8) == "1.50000000"
    with pytest.raises(DecimalError, match="without rounding"):
        Fixed("1.25").format(1)
    with pytest.raises(DecimalError, match="without rounding"):
        Fixed("1.25").rescale(1)
    assert str(Fixed("1.25").round(1)) == "1.2"
    assert str(Fixed("1.25").round(1, "half_up")) == "1.3"
    assert str(Fixed("-1.21").round(1, "floor")) == "-1.3"
    with pytest.raises(ValueError, match="unknown rounding"):
        Fixed("1").round(0, "sideways")  # type: ignore[arg-type]
    with pytest.raises(DecimalError, match="above the maximum"):
        Fixed.from_parts(1, MAX_SCALE + 1)


def test_value_semantics_and_arithmetic() -> None:
    assert Fixed("1.50") == Fixed("1.5")
    assert hash(Fixed("1.50")) == hash(Fixed("1.5"))
    assert Fixed("0.1") < Fixed("0.11") <= Fixed("0.110")
    assert Fixed("0.1") + Fixed("0.2") == Fixed("0.3")
    assert Fixed("0.1") - Fixed("0.3") == Fixed("-0.2")
    assert Fixed("1.5") * Fixed("-0.02") == Fixed("-0.03")
    assert -Fixed("2") == Fixed("-2")
    assert not Fixed("0.000")
    with pytest.raises(DecimalError):
        Fixed("9223372036854775807") + Fixed("1")
    assert Fixed(42) == Fixed("42")
    with pytest.raises(DecimalError):
        Fixed(2**70)
    with pytest.raises(TypeError, match="float"):
        Fixed(0.1)  # type: ignore[arg-type]


def test_decimal_conversion_is_exact() -> None:
    assert Fixed(Decimal("0.00012300")).to_decimal().as_tuple() == Decimal("0.00012300").as_tuple()
    assert Fixed(Decimal("1E+3")) == Fixed("1000")
    assert to_decimal("1e-8") == Decimal("0.00000001")
    assert to_fixed(Decimal("-5.1")) == Fixed("-5.1")
    for bad in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(DecimalError, match="finite"):
            Fixed.from_decimal(Decimal(bad))


@given(
    mantissa=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    scale=st.integers(min_value=0, max_value=MAX_SCALE),
)
def test_decimal_round_trip_keeps_value_and_scale(mantissa: int, scale: int) -> None:
    d = Decimal(mantissa).scaleb(-scale)
    f = Fixed(d)
    assert f.to_decimal() == d
    assert f == Fixed.from_parts(mantissa, scale)
    back = Fixed(str(f))
    assert (back.mantissa, back.scale) == (f.mantissa, f.scale)
    assert Fixed(f.canonical()) == f


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_decimal_converts_exactly_or_raises(d: Decimal) -> None:
    # Refused exactly when the value's shortest exact form needs more than 18 fractional digits
    # or a mantissa beyond 64 bits.
    n = d.normalize() if d else Decimal(0)
    exponent = n.as_tuple().exponent
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    mantissa = int(n.scaleb(scale))
    fits = scale <= MAX_SCALE and -(2**63) <= mantissa < 2**63
    try:
        f = Fixed(d)
    except DecimalError:
        assert not fits
    else:
        assert fits
        assert f.to_decimal() == d


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_or_parse(data: bytes) -> None:
    # Any byte string either parses to a value that round-trips, or raises DecimalError with a
    # message: never another exception, never a crash.
    try:
        f = Fixed(data)
    except DecimalError as exc:
        message = str(exc)
    else:
        message = ""
        assert Fixed(str(f)) == f
    assert message or f is not None
