//! Exact fixed-point decimals: an `i64` mantissa and a decimal scale.
//!
//! Venues send prices and sizes as decimal strings ("0.00012300", "-5.1", Bitfinex and a few REST
//! endpoints send exponents such as "1e-8"). `Fixed` holds them exactly: `value = mantissa *
//! 10^-scale` with `0 <= scale <= MAX_SCALE`. Nothing here rounds silently: a string with more
//! significant digits than an `i64` holds is [`FixedError::Overflow`], a value that needs more than
//! [`MAX_SCALE`] fractional digits is [`FixedError::TooManyDigits`], and changing the scale is exact
//! ([`Fixed::rescale`]) unless the caller names a rounding mode ([`Fixed::round_to`]).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use thiserror::Error;

/// The largest scale (fractional digits) a [`Fixed`] carries: 18, so that one unit of the largest
/// scale still fits an `i64` mantissa with room for a whole part.
pub const MAX_SCALE: u8 = 18;

/// Powers of ten that fit an `i64`: `POW10[n] == 10^n` for `n <= 18`.
const POW10: [i64; 19] = {
    let mut table = [1_i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Why a decimal could not be parsed, built or converted exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FixedError {
    /// The input was empty or had no digits.
    #[error("empty decimal")]
    Empty,
    /// A byte that is not part of a decimal number.
    #[error("invalid character {byte:#04x} at offset {offset} in decimal")]
    InvalidChar {
        /// Offset of the byte in the input.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// More significant digits than an `i64` mantissa holds.
    #[error("decimal overflows a 64-bit mantissa")]
    Overflow,
    /// The value needs more fractional digits than [`MAX_SCALE`].
    #[error("decimal needs {scale} fractional digits; at most {max} are supported", max = MAX_SCALE)]
    TooManyDigits {
        /// The scale the value would need.
        scale: u32,
    },
    /// A requested scale is above [`MAX_SCALE`].
    #[error("scale {scale} is above the maximum of {max}", max = MAX_SCALE)]
    ScaleTooLarge {
        /// The requested scale.
        scale: u32,
    },
    /// Changing the scale would drop non-zero digits.
    #[error("{value} cannot be written with {scale} fractional digits without rounding")]
    Inexact {
        /// The value, formatted.
        value: String,
        /// The requested scale.
        scale: u8,
    },
    /// NaN or infinity: venues never send these for prices or sizes.
    #[error("not a finite decimal")]
    NotFinite,
}

/// How [`Fixed::round_to`] rounds when digits must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero (truncate): the safe choice for a size that must not exceed a balance.
    Down,
    /// Away from zero.
    Up,
    /// Toward negative infinity: a buy price on a tick grid.
    Floor,
    /// Toward positive infinity: a sell price on a tick grid.
    Ceiling,
    /// To nearest, ties to even (banker's rounding, Python's default).
    HalfEven,
    /// To nearest, ties away from zero.
    HalfUp,
}

impl FromStr for Rounding {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "down" => Self::Down,
            "up" => Self::Up,
            "floor" => Self::Floor,
            "ceiling" => Self::Ceiling,
            "half_even" => Self::HalfEven,
            "half_up" => Self::HalfUp,
            _ => return Err(()),
        })
    }
}

/// Parses the exponent digits of a decimal (after `e`/`E`), clamped to ±1 000 000: any larger
/// exponent is out of range anyway and reported by the caller.
fn parse_exponent(input: &[u8], mut i: usize) -> Result<i64, FixedError> {
    let negative = match input.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut exponent: i64 = 0;
    while i < input.len() {
        let b = input[i];
        if !b.is_ascii_digit() {
            return Err(FixedError::InvalidChar { offset: i, byte: b });
        }
        exponent = (exponent * 10 + i64::from(b - b'0')).min(1_000_000);
        i += 1;
    }
    if i == start {
        return Err(FixedError::Empty);
    }
    Ok(if negative { -exponent } else { exponent })
}

/// An exact decimal: `mantissa * 10^-scale`.
///
/// Equality, ordering and hashing are by value, so `1.50 == 1.5`; [`fmt::Display`] keeps the scale
/// (`"1.50"`), [`Fixed::canonical`] drops trailing zeros (`"1.5"`).
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    mantissa: i64,
    scale: u8,
}

impl Fixed {
    /// Zero with scale 0.
    pub const ZERO: Self = Self {
        mantissa: 0,
        scale: 0,
    };

    /// Builds `mantissa * 10^-scale`.
    ///
    /// # Errors
    /// [`FixedError::ScaleTooLarge`] when `scale > MAX_SCALE`.
    pub const fn new(mantissa: i64, scale: u8) -> Result<Self, FixedError> {
        if scale > MAX_SCALE {
            return Err(FixedError::ScaleTooLarge {
                scale: scale as u32,
            });
        }
        Ok(Self { mantissa, scale })
    }

    /// The integer mantissa.
    pub const fn mantissa(self) -> i64 {
        self.mantissa
    }

    /// The number of fractional digits.
    pub const fn scale(self) -> u8 {
        self.scale
    }

    /// True when the value is zero (at any scale).
    pub const fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// True when the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// Parses a decimal string exactly: optional sign, digits with an optional point, optional
    /// exponent (`e`/`E`). Leading zeros and trailing zeros beyond the last significant digit are
    /// free; significant digits are not: see the module docs.
    ///
    /// # Errors
    /// [`FixedError`] naming the first problem: empty input, a bad byte (with its offset), more
    /// digits than an `i64` holds, or a scale above [`MAX_SCALE`].
    pub fn parse(input: &[u8]) -> Result<Self, FixedError> {
        let mut i = 0;
        let negative = match input.first() {
            None => return Err(FixedError::Empty),
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            Some(_) => false,
        };
        // Accumulate as a non-negative u64; `digits_seen` guards "", "-", ".", "e5".
        let mut mag: u64 = 0;
        let mut frac_digits: i64 = 0;
        let mut digits_seen = false;
        let mut in_fraction = false;
        // Digits that did not fit the mantissa but were zeros: they only move the scale.
        let mut dropped_zeros: i64 = 0;
        let mut overflowed = false;
        while i < input.len() {
            let b = input[i];
            match b {
                b'0'..=b'9' => {
                    digits_seen = true;
                    let d = u64::from(b - b'0');
                    if overflowed {
                        if d != 0 {
                            return Err(FixedError::Overflow);
                        }
                        dropped_zeros += 1;
                    } else if let Some(next) = mag.checked_mul(10).and_then(|m| m.checked_add(d)) {
                        mag = next;
                    } else {
                        if d != 0 {
                            return Err(FixedError::Overflow);
                        }
                        overflowed = true;
                        dropped_zeros += 1;
                    }
                    if in_fraction {
                        frac_digits += 1;
                    }
                }
                b'.' if !in_fraction => in_fraction = true,
                b'e' | b'E' if digits_seen => break,
                _ => return Err(FixedError::InvalidChar { offset: i, byte: b }),
            }
            i += 1;
        }
        if !digits_seen {
            return Err(FixedError::Empty);
        }
        // input[i], if any, is 'e' or 'E'.
        let exponent = if i < input.len() {
            parse_exponent(input, i + 1)?
        } else {
            0
        };
        // value = mag * 10^(dropped_zeros - frac_digits + exponent)
        Self::from_magnitude(negative, mag, frac_digits - dropped_zeros - exponent)
    }

    /// `±mag * 10^-scale`, normalised into range: trailing zeros dropped where the scale or the
    /// mantissa would not fit, whole-number exponents multiplied out.
    fn from_magnitude(negative: bool, mut mag: u64, mut scale: i64) -> Result<Self, FixedError> {
        if mag == 0 {
            // Zero: any exponent is exact; keep the scale the input showed where representable.
            return Ok(Self {
                mantissa: 0,
                scale: u8::try_from(scale.clamp(0, i64::from(MAX_SCALE))).unwrap_or(0),
            });
        }
        while scale > i64::from(MAX_SCALE) && mag % 10 == 0 {
            mag /= 10;
            scale -= 1;
        }
        if scale > i64::from(MAX_SCALE) {
            return Err(FixedError::TooManyDigits {
                scale: u32::try_from(scale).unwrap_or(u32::MAX),
            });
        }
        // A long fraction such as "1234567890.1234567890" may exceed the mantissa only through
        // trailing zeros: dropping them is exact.
        let limit: u64 = if negative {
            1 << 63
        } else {
            i64::MAX.unsigned_abs()
        };
        while mag > limit && scale > 0 && mag % 10 == 0 {
            mag /= 10;
            scale -= 1;
        }
        while scale < 0 {
            mag = mag.checked_mul(10).ok_or(FixedError::Overflow)?;
            scale += 1;
        }
        let mantissa = if negative {
            // -(2^63) is representable; its magnitude is one more than i64::MAX.
            if mag == 1 << 63 {
                i64::MIN
            } else {
                -i64::try_from(mag).map_err(|_| FixedError::Overflow)?
            }
        } else {
            i64::try_from(mag).map_err(|_| FixedError::Overflow)?
        };
        Ok(Self {
            mantissa,
            // `scale` is within 0..=MAX_SCALE here.
            scale: u8::try_from(scale).unwrap_or(MAX_SCALE),
        })
    }

    /// The same value with trailing fractional zeros removed (`1.500` → `1.5`, `2.00` → `2`).
    #[must_use]
    pub const fn normalized(self) -> Self {
        let mut m = self.mantissa;
        let mut s = self.scale;
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        if m == 0 {
            s = 0;
        }
        Self {
            mantissa: m,
            scale: s,
        }
    }

    /// The same value written with exactly `scale` fractional digits.
    ///
    /// # Errors
    /// [`FixedError::Inexact`] when non-zero digits would be dropped, [`FixedError::Overflow`] when
    /// the mantissa would not fit, [`FixedError::ScaleTooLarge`] above [`MAX_SCALE`].
    pub fn rescale(self, scale: u8) -> Result<Self, FixedError> {
        if scale > MAX_SCALE {
            return Err(FixedError::ScaleTooLarge {
                scale: u32::from(scale),
            });
        }
        match scale.cmp(&self.scale) {
            Ordering::Equal => Ok(self),
            Ordering::Greater => {
                let factor = POW10[usize::from(scale - self.scale)];
                let mantissa = self
                    .mantissa
                    .checked_mul(factor)
                    .ok_or(FixedError::Overflow)?;
                Ok(Self { mantissa, scale })
            }
            Ordering::Less => {
                let factor = POW10[usize::from(self.scale - scale)];
                if self.mantissa % factor != 0 {
                    return Err(FixedError::Inexact {
                        value: self.to_string(),
                        scale,
                    });
                }
                Ok(Self {
                    mantissa: self.mantissa / factor,
                    scale,
                })
            }
        }
    }

    /// The value rounded to `scale` fractional digits with an explicit rounding mode; a larger
    /// scale pads with zeros.
    ///
    /// # Errors
    /// [`FixedError::Overflow`] or [`FixedError::ScaleTooLarge`], as for [`Fixed::rescale`].
    pub fn round_to(self, scale: u8, mode: Rounding) -> Result<Self, FixedError> {
        if scale >= self.scale {
            return self.rescale(scale);
        }
        let factor = POW10[usize::from(self.scale - scale)];
        let q = self.mantissa / factor;
        let r = self.mantissa % factor;
        if r == 0 {
            return Ok(Self { mantissa: q, scale });
        }
        let away = if self.mantissa < 0 { -1 } else { 1 };
        // |r| * 2 compared with factor decides the half cases; i128 avoids overflow.
        let twice = i128::from(r.unsigned_abs()) * 2;
        let half = twice.cmp(&i128::from(factor));
        let bump = match mode {
            Rounding::Down => false,
            Rounding::Up => true,
            Rounding::Floor => self.mantissa < 0,
            Rounding::Ceiling => self.mantissa > 0,
            Rounding::HalfUp => half != Ordering::Less,
            Rounding::HalfEven => match half {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => q % 2 != 0,
            },
        };
        let mantissa = if bump {
            q.checked_add(away).ok_or(FixedError::Overflow)?
        } else {
            q
        };
        Ok(Self { mantissa, scale })
    }

    /// Exact sum.
    ///
    /// # Errors
    /// [`FixedError::Overflow`] when the result does not fit.
    pub fn checked_add(self, other: Self) -> Result<Self, FixedError> {
        let scale = self.scale.max(other.scale);
        let a = self.rescale(scale)?;
        let b = other.rescale(scale)?;
        let mantissa = a
            .mantissa
            .checked_add(b.mantissa)
            .ok_or(FixedError::Overflow)?;
        Ok(Self { mantissa, scale })
    }

    /// Exact difference.
    ///
    /// # Errors
    /// [`FixedError::Overflow`] when the result does not fit.
    pub fn checked_sub(self, other: Self) -> Result<Self, FixedError> {
        let negated = other.mantissa.checked_neg().ok_or(FixedError::Overflow)?;
        self.checked_add(Self {
            mantissa: negated,
            scale: other.scale,
        })
    }

    /// Exact product (scales add; trailing zeros are dropped to fit [`MAX_SCALE`] when possible).
    ///
    /// # Errors
    /// [`FixedError::Overflow`] or [`FixedError::TooManyDigits`] when the exact result does not fit.
    pub fn checked_mul(self, other: Self) -> Result<Self, FixedError> {
        let mut m = i128::from(self.mantissa) * i128::from(other.mantissa);
        let mut scale = u32::from(self.scale) + u32::from(other.scale);
        while scale > u32::from(MAX_SCALE) && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        if scale > u32::from(MAX_SCALE) {
            return Err(FixedError::TooManyDigits { scale });
        }
        let mantissa = i64::try_from(m).map_err(|_| FixedError::Overflow)?;
        Ok(Self {
            mantissa,
            scale: u8::try_from(scale).unwrap_or(MAX_SCALE),
        })
    }

    /// Appends the value with its own scale to `out` (no allocation beyond `out`'s growth).
    pub fn write_to(self, out: &mut Vec<u8>) {
        let mut digits = [0_u8; 20];
        let mut n = self.mantissa.unsigned_abs();
        let mut len = 0;
        loop {
            // n % 10 < 10, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation)]
            let d = (n % 10) as u8;
            digits[len] = b'0' + d;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if self.mantissa < 0 {
            out.push(b'-');
        }
        let scale = usize::from(self.scale);
        if len <= scale {
            out.push(b'0');
            out.push(b'.');
            out.extend(std::iter::repeat_n(b'0', scale - len));
            out.extend(digits[..len].iter().rev());
        } else {
            out.extend(digits[scale..len].iter().rev());
            if scale > 0 {
                out.push(b'.');
                out.extend(digits[..scale].iter().rev());
            }
        }
    }

    /// The canonical string: no exponent, no trailing fractional zeros, `"0"` for zero.
    pub fn canonical(self) -> String {
        self.normalized().to_string()
    }

    /// The value written with exactly `scale` fractional digits, as a venue with a fixed precision
    /// expects (`Fixed("1.5").format_scaled(8) == "1.50000000"`).
    ///
    /// # Errors
    /// As [`Fixed::rescale`]: digits are never dropped silently.
    pub fn format_scaled(self, scale: u8) -> Result<String, FixedError> {
        Ok(self.rescale(scale)?.to_string())
    }

    fn cmp_value(self, other: Self) -> Ordering {
        if self.scale == other.scale {
            return self.mantissa.cmp(&other.mantissa);
        }
        let (a, b) = (i128::from(self.mantissa), i128::from(other.mantissa));
        if self.scale < other.scale {
            let f = i128::from(POW10[usize::from(other.scale - self.scale)]);
            (a * f).cmp(&b)
        } else {
            let f = i128::from(POW10[usize::from(self.scale - other.scale)]);
            a.cmp(&(b * f))
        }
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(24);
        self.write_to(&mut buf);
        // write_to emits ASCII only.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Fixed {
    type Err = FixedError;

    fn from_str(s: &str) -> Result<Self, FixedError> {
        Self::parse(s.as_bytes())
    }
}

impl PartialEq for Fixed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_value(*other) == Ordering::Equal
    }
}

impl Eq for Fixed {}

impl PartialOrd for Fixed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fixed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_value(*other)
    }
}

impl Hash for Fixed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal values must hash alike: hash the normalized form.
        let n = self.normalized();
        n.mantissa.hash(state);
        n.scale.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn p(s: &str) -> Fixed {
        s.parse().expect("valid decimal")
    }

    #[rstest]
    #[case("0.00012300", 12300, 8, "0.00012300")]
    #[case("-5.1", -51, 1, "-5.1")]
    #[case("1e-8", 1, 8, "0.00000001")]
    #[case("1E-8", 1, 8, "0.00000001")]
    #[case("1.5e3", 1500, 0, "1500")]
    #[case("2.5E+2", 250, 0, "250")]
    #[case("+7", 7, 0, "7")]
    #[case(".5", 5, 1, "0.5")]
    #[case("5.", 5, 0, "5")]
    #[case("0", 0, 0, "0")]
    #[case("-0.000", 0, 3, "0.000")]
    #[case("0e-30", 0, 18, "0.000000000000000000")]
    #[case("9223372036854775807", i64::MAX, 0, "9223372036854775807")]
    #[case("-9223372036854775808", i64::MIN, 0, "-9223372036854775808")]
    #[case("0.000000000000000001", 1, 18, "0.000000000000000001")]
    #[case(
        "1.0000000000000000000000",
        1_000_000_000_000_000_000,
        18,
        "1.000000000000000000"
    )]
    #[case(
        "12345678901234567890e-10",
        1_234_567_890_123_456_789,
        9,
        "1234567890.123456789"
    )]
    fn parses_venue_strings(
        #[case] input: &str,
        #[case] mantissa: i64,
        #[case] scale: u8,
        #[case] display: &str,
    ) {
        let v = p(input);
        assert_eq!(v.mantissa(), mantissa);
        assert_eq!(v.scale(), scale);
        assert_eq!(v.to_string(), display);
    }

    #[rstest]
    #[case("", FixedError::Empty)]
    #[case("-", FixedError::Empty)]
    #[case(".", FixedError::Empty)]
    #[case("1e", FixedError::Empty)]
    #[case("e5", FixedError::InvalidChar { offset: 0, byte: b'e' })]
    #[case("1.2.3", FixedError::InvalidChar { offset: 3, byte: b'.' })]
    #[case(" 1", FixedError::InvalidChar { offset: 0, byte: b' ' })]
    #[case("1,5", FixedError::InvalidChar { offset: 1, byte: b',' })]
    #[case("NaN", FixedError::InvalidChar { offset: 0, byte: b'N' })]
    #[case("9223372036854775808", FixedError::Overflow)]
    #[case("99999999999999999999", FixedError::Overflow)]
    #[case("1e19", FixedError::Overflow)]
    #[case("0.0000000000000000001", FixedError::TooManyDigits { scale: 19 })]
    #[case("1e-19", FixedError::TooManyDigits { scale: 19 })]
    #[case("1e-999999999", FixedError::TooManyDigits { scale: 1_000_000 })]
    fn rejects_bad_or_inexact_input(#[case] input: &str, #[case] err: FixedError) {
        assert_eq!(input.parse::<Fixed>(), Err(err));
    }

    #[test]
    fn canonical_and_fixed_precision_formatting() {
        assert_eq!(p("0.00012300").canonical(), "0.000123");
        assert_eq!(p("100.00").canonical(), "100");
        assert_eq!(p("-0.0").canonical(), "0");
        assert_eq!(p("1.5").format_scaled(8).as_deref(), Ok("1.50000000"));
        assert_eq!(p("-0.5").format_scaled(3).as_deref(), Ok("-0.500"));
        assert!(matches!(
            p("1.25").format_scaled(1),
            Err(FixedError::Inexact { scale: 1, .. })
        ));
    }

    #[rstest]
    #[case("1.25", 1, Rounding::HalfEven, "1.2")]
    #[case("1.35", 1, Rounding::HalfEven, "1.4")]
    #[case("1.25", 1, Rounding::HalfUp, "1.3")]
    #[case("-1.25", 1, Rounding::HalfUp, "-1.3")]
    #[case("1.29", 1, Rounding::Down, "1.2")]
    #[case("-1.29", 1, Rounding::Down, "-1.2")]
    #[case("-1.21", 1, Rounding::Floor, "-1.3")]
    #[case("1.21", 1, Rounding::Ceiling, "1.3")]
    #[case("1.21", 1, Rounding::Up, "1.3")]
    #[case("1.2", 3, Rounding::Down, "1.200")]
    fn rounds_only_when_asked(
        #[case] input: &str,
        #[case] scale: u8,
        #[case] mode: Rounding,
        #[case] out: &str,
    ) {
        assert_eq!(
            p(input).round_to(scale, mode).map(|v| v.to_string()),
            Ok(out.to_owned())
        );
    }

    #[test]
    fn value_semantics() {
        assert_eq!(p("1.50"), p("1.5"));
        assert!(p("0.1") < p("0.11"));
        assert!(p("-1") < p("0.000001"));
        assert_eq!(p("0.1").checked_add(p("0.02")), Ok(p("0.12")));
        assert_eq!(p("0.1").checked_sub(p("0.3")), Ok(p("-0.2")));
        assert_eq!(p("1.5").checked_mul(p("-0.02")), Ok(p("-0.03")));
        assert_eq!(
            p("9223372036854775807").checked_add(p("1")),
            Err(FixedError::Overflow)
        );
        let hash = |v: Fixed| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(p("2.000")), hash(p("2")));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(mantissa in any::<i64>(), scale in 0..=MAX_SCALE) {
            let v = Fixed::new(mantissa, scale).expect("scale in range");
            let back: Fixed = v.to_string().parse().expect("own output parses");
            prop_assert_eq!(back.mantissa(), mantissa);
            prop_assert_eq!(back.scale(), scale);
            let canon: Fixed = v.canonical().parse().expect("canonical parses");
            prop_assert_eq!(canon, v);
        }

        #[test]
        fn exponent_form_round_trip(mantissa in any::<i64>(), scale in 0..=MAX_SCALE) {
            // "<mantissa>e-<scale>" is how some venues write the same number.
            let text = format!("{mantissa}e-{scale}");
            let v: Fixed = text.parse().expect("exponent form parses");
            prop_assert_eq!(v, Fixed::new(mantissa, scale).expect("scale in range"));
        }

        #[test]
        fn ordering_matches_i128_cross_multiplication(
            a in any::<i64>(), sa in 0..=MAX_SCALE, b in any::<i64>(), sb in 0..=MAX_SCALE,
        ) {
            let x = Fixed::new(a, sa).expect("scale");
            let y = Fixed::new(b, sb).expect("scale");
            let lhs = i128::from(a) * 10_i128.pow(u32::from(MAX_SCALE - sa));
            let rhs = i128::from(b) * 10_i128.pow(u32::from(MAX_SCALE - sb));
            prop_assert_eq!(x.cmp(&y), lhs.cmp(&rhs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Fixed::parse(&bytes);
        }
    }
}
