//! L2 order book in fixed point, with the venues' checksums.
//!
//! Prices and sizes are `i64` mantissas at the instrument's scale (its "precision": digits after
//! the point), so a level update is integer work: no parsing of floats, no per-level allocation.
//! Each side is one sorted `Vec` whose *last* element is the best level: venues update near the
//! top of the book, so inserts and removals there move few bytes.
//!
//! Checksums follow each venue's documented rule:
//! - OKX (<https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>):
//!   CRC32 of the top 25 levels interleaved `bid:size:ask:size:…`, as a signed 32-bit integer.
//! - Kraken WS v2 (<https://docs.kraken.com/api/docs/guides/spot-ws-book-v2>): CRC32 of the top 10
//!   asks (ascending) then top 10 bids (descending), each price and quantity written with the
//!   instrument's precision, the point and leading zeros removed; unsigned.
//! - Bitfinex (<https://docs.bitfinex.com/docs/ws-websocket-checksum>): CRC32 of the top 25 levels
//!   interleaved `bid price:amount:ask price:-amount`, numbers as JavaScript prints them; signed.

use thiserror::Error;

use crate::fixed::{Fixed, FixedError};

/// Why a level could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    /// A price or size that is not a decimal, or does not fit the instrument's precision exactly.
    #[error("{what}: {source}")]
    Number {
        /// "price" or "size".
        what: &'static str,
        /// The fixed-point error.
        #[source]
        source: FixedError,
    },
    /// A negative size.
    #[error("negative size {0}")]
    NegativeSize(String),
}

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy orders, best = highest price.
    Bid,
    /// Sell orders, best = lowest price.
    Ask,
}

/// One price level, as mantissas at the book's scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Price mantissa (`price = mantissa * 10^-price_scale`).
    pub price: i64,
    /// Size mantissa (`size = mantissa * 10^-size_scale`), always > 0 in a book.
    pub size: i64,
}

/// One side: levels sorted so that the best is last.
#[derive(Debug, Clone, Default)]
struct Ladder {
    /// Ascending by `key`; `key` is the price for bids and the negated price for asks, so the best
    /// level (highest bid, lowest ask) is always the last element.
    levels: Vec<(i64, i64)>,
}

impl Ladder {
    #[inline]
    fn set(&mut self, key: i64, size: i64) {
        // Most updates touch the top: probe the best level before a binary search.
        match self.levels.last_mut() {
            Some(last) if last.0 == key => {
                if size == 0 {
                    self.levels.pop();
                } else {
                    last.1 = size;
                }
                return;
            }
            _ => {}
        }
        match self.levels.binary_search_by(|l| l.0.cmp(&key)) {
            Ok(i) => {
                if size == 0 {
                    self.levels.remove(i);
                } else {
                    self.levels[i].1 = size;
                }
            }
            Err(i) => {
                if size != 0 {
                    self.levels.insert(i, (key, size));
                }
            }
        }
    }

    fn trim(&mut self, depth: usize) {
        if self.levels.len() > depth {
            let excess = self.levels.len() - depth;
            self.levels.drain(..excess);
        }
    }
}

/// An L2 book for one instrument.
#[derive(Debug, Clone)]
pub struct Book {
    price_scale: u8,
    size_scale: u8,
    max_depth: Option<usize>,
    bids: Ladder,
    asks: Ladder,
}

impl Book {
    /// An empty book whose prices carry `price_scale` and sizes `size_scale` fractional digits.
    /// `max_depth` keeps only that many levels per side (venues that stream a depth-limited book,
    /// such as Kraken, expect the client to drop levels that fall out of range).
    pub fn new(price_scale: u8, size_scale: u8, max_depth: Option<usize>) -> Self {
        Self {
            price_scale,
            size_scale,
            max_depth,
            bids: Ladder::default(),
            asks: Ladder::default(),
        }
    }

    /// Digits after the point in prices.
    pub fn price_scale(&self) -> u8 {
        self.price_scale
    }

    /// Digits after the point in sizes.
    pub fn size_scale(&self) -> u8 {
        self.size_scale
    }

    /// The depth limit, if any.
    pub fn max_depth(&self) -> Option<usize> {
        self.max_depth
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.bids.levels.clear();
        self.asks.levels.clear();
    }

    /// Parses a price and size (decimal strings as venues send them) to this book's mantissas,
    /// exactly: more digits than the instrument's precision is an error, never a rounding.
    ///
    /// # Errors
    /// [`BookError::Number`] for a bad or over-precise number, [`BookError::NegativeSize`].
    pub fn parse_level(&self, price: &[u8], size: &[u8]) -> Result<(i64, i64), BookError> {
        let p = to_scale(price, self.price_scale).map_err(|source| BookError::Number {
            what: "price",
            source,
        })?;
        let s = to_scale(size, self.size_scale).map_err(|source| BookError::Number {
            what: "size",
            source,
        })?;
        if s < 0 {
            return Err(BookError::NegativeSize(
                String::from_utf8_lossy(size).chars().take(32).collect(),
            ));
        }
        Ok((p, s))
    }

    /// Sets a level (mantissas at the book's scales); size 0 deletes it.
    #[inline]
    pub fn set(&mut self, side: Side, price: i64, qty: i64) {
        match side {
            Side::Bid => self.bids.set(price, qty),
            Side::Ask => self.asks.set(price.wrapping_neg(), qty),
        }
    }

    /// Applies the depth limit, if any (call once per message, after its levels).
    pub fn trim(&mut self) {
        if let Some(d) = self.max_depth {
            self.bids.trim(d);
            self.asks.trim(d);
        }
    }

    /// The best bid, if any.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids
            .levels
            .last()
            .map(|&(k, s)| Level { price: k, size: s })
    }

    /// The best ask, if any.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.levels.last().map(|&(k, s)| Level {
            price: k.wrapping_neg(),
            size: s,
        })
    }

    /// Levels on one side, best first.
    pub fn levels(&self, side: Side) -> impl ExactSizeIterator<Item = Level> + '_ {
        let (ladder, neg) = match side {
            Side::Bid => (&self.bids, false),
            Side::Ask => (&self.asks, true),
        };
        ladder.levels.iter().rev().map(move |&(k, s)| Level {
            price: if neg { k.wrapping_neg() } else { k },
            size: s,
        })
    }

    /// Number of levels on one side.
    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.levels.len(),
            Side::Ask => self.asks.levels.len(),
        }
    }

    /// True when both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.levels.is_empty() && self.asks.levels.is_empty()
    }

    /// True when the best bid is at or above the best ask: a book that cannot be right.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    fn fixed_price(&self, m: i64) -> Fixed {
        // Scales come from a valid constructor; `new` only fails above MAX_SCALE.
        Fixed::new(m, self.price_scale).unwrap_or(Fixed::ZERO)
    }

    fn fixed_size(&self, m: i64) -> Fixed {
        Fixed::new(m, self.size_scale).unwrap_or(Fixed::ZERO)
    }

    /// OKX checksum: CRC32 over the top 25 levels, interleaved, as a signed 32-bit integer.
    /// Numbers are written as OKX sends them, which for its documented example is the canonical
    /// form (no trailing zeros).
    pub fn checksum_okx(&self) -> i32 {
        let mut text = Vec::with_capacity(1024);
        self.interleave(25, &mut text, |book, out, level, _side| {
            book.fixed_price(level.price).normalized().write_to(out);
            out.push(b':');
            book.fixed_size(level.size).normalized().write_to(out);
        });
        crc_signed(&text)
    }

    /// Bitfinex checksum: CRC32 over the top 25 levels, interleaved, ask amounts negative,
    /// numbers as JavaScript's `Number.prototype.toString` prints them; signed.
    pub fn checksum_bitfinex(&self) -> i32 {
        let mut text = Vec::with_capacity(1024);
        self.interleave(25, &mut text, |book, out, level, side| {
            write_js_number(out, book.fixed_price(level.price));
            out.push(b':');
            let size = book.fixed_size(level.size);
            let size = if side == Side::Ask {
                Fixed::new(-size.mantissa(), size.scale()).unwrap_or(size)
            } else {
                size
            };
            write_js_number(out, size);
        });
        crc_signed(&text)
    }

    /// Kraken WS v2 checksum: CRC32 of the top 10 asks then the top 10 bids, each price and
    /// quantity at the instrument's precision with the point and leading zeros removed.
    pub fn checksum_kraken(&self) -> u32 {
        let mut text = Vec::with_capacity(512);
        for level in self
            .levels(Side::Ask)
            .take(10)
            .chain(self.levels(Side::Bid).take(10))
        {
            // At a fixed precision, "remove the point and leading zeros" is the mantissa.
            Fixed::new(level.price, 0)
                .unwrap_or(Fixed::ZERO)
                .write_to(&mut text);
            Fixed::new(level.size, 0)
                .unwrap_or(Fixed::ZERO)
                .write_to(&mut text);
        }
        crc32fast::hash(&text)
    }

    fn interleave(
        &self,
        depth: usize,
        out: &mut Vec<u8>,
        mut write: impl FnMut(&Self, &mut Vec<u8>, Level, Side),
    ) {
        let mut bids = self.levels(Side::Bid).take(depth);
        let mut asks = self.levels(Side::Ask).take(depth);
        loop {
            let b = bids.next();
            let a = asks.next();
            if b.is_none() && a.is_none() {
                break;
            }
            for (level, side) in [(b, Side::Bid), (a, Side::Ask)] {
                if let Some(level) = level {
                    if !out.is_empty() {
                        out.push(b':');
                    }
                    write(self, out, level, side);
                }
            }
        }
    }
}

fn crc_signed(text: &[u8]) -> i32 {
    i32::from_ne_bytes(crc32fast::hash(text).to_ne_bytes())
}

/// `POW10[n] == 10^n` for `n <= 18`.
pub(crate) const POW10: [i64; 19] = {
    let mut t = [1_i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Parses a decimal to a mantissa at `scale`, exactly.
///
/// # Errors
/// Any [`FixedError`] from parsing or an inexact rescale.
pub fn to_scale(text: &[u8], scale: u8) -> Result<i64, FixedError> {
    // Fast path for the common `[-]digits[.digits]` of up to 18 digits: one pass, no exponent,
    // no intermediate `Fixed`. Anything else takes the general parser, which also reports errors.
    if let Some(v) = to_scale_fast(text, scale) {
        return Ok(v);
    }
    Ok(Fixed::parse(text)?.rescale(scale)?.mantissa())
}

#[inline]
fn to_scale_fast(text: &[u8], scale: u8) -> Option<i64> {
    let (neg, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let mut mantissa: i64 = 0;
    let mut count = 0_u32;
    let mut frac: Option<u8> = None;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                if count == 18 {
                    return None;
                }
                mantissa = mantissa * 10 + i64::from(b - b'0');
                count += 1;
                if let Some(f) = frac.as_mut() {
                    *f += 1;
                }
            }
            b'.' if frac.is_none() => frac = Some(0),
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    let mut f = frac.unwrap_or(0);
    while f > scale && mantissa % 10 == 0 {
        mantissa /= 10;
        f -= 1;
    }
    if f > scale {
        return None;
    }
    mantissa = mantissa.checked_mul(POW10[usize::from(scale - f)])?;
    Some(if neg { -mantissa } else { mantissa })
}

/// Writes a decimal as JavaScript's `Number.prototype.toString` would print the same double
/// (ECMA-262 §6.1.6.1.20): plain notation for 1e-7 < |x| < 1e21, else `de±n` exponent form.
fn write_js_number(out: &mut Vec<u8>, v: Fixed) {
    let n = v.normalized();
    if n.is_zero() {
        out.push(b'0');
        return;
    }
    let magnitude = n.mantissa().unsigned_abs();
    // value = 0.d1d2...dk * 10^e10  with k = the number of digits
    let k = i64::from(magnitude.checked_ilog10().unwrap_or(0)) + 1;
    let e10 = k - i64::from(n.scale());
    if n.is_negative() {
        out.push(b'-');
    }
    if e10 > -6 {
        // Plain notation (|x| >= 1e-6): within our range (< 1e19) that is every such value.
        Fixed::new(n.mantissa().checked_abs().unwrap_or(i64::MAX), n.scale())
            .unwrap_or(Fixed::ZERO)
            .write_to(out);
    } else {
        // Exponent form: d[.ddd]e-n (only for tiny values, so the string is rare).
        let digits = magnitude.to_string();
        out.extend_from_slice(&digits.as_bytes()[..1]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        out.extend_from_slice(format!("e{}", e10 - 1).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn book_from(bids: &[(&str, &str)], asks: &[(&str, &str)], ps: u8, ss: u8) -> Book {
        let mut b = Book::new(ps, ss, None);
        for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
            for (p, s) in levels {
                let (p, s) = b
                    .parse_level(p.as_bytes(), s.as_bytes())
                    .expect("valid level");
                b.set(side, p, s);
            }
        }
        b
    }

    #[test]
    fn best_levels_ordering_and_deletes() {
        let mut b = book_from(
            &[("100.5", "1"), ("101.0", "2"), ("99", "3")],
            &[("102", "1"), ("101.5", "4"), ("103", "5")],
            1,
            0,
        );
        assert_eq!(
            b.best_bid(),
            Some(Level {
                price: 1010,
                size: 2
            })
        );
        assert_eq!(
            b.best_ask(),
            Some(Level {
                price: 1015,
                size: 4
            })
        );
        let bids: Vec<i64> = b.levels(Side::Bid).map(|l| l.price).collect();
        assert_eq!(bids, [1010, 1005, 990]);
        let asks: Vec<i64> = b.levels(Side::Ask).map(|l| l.price).collect();
        assert_eq!(asks, [1015, 1020, 1030]);
        b.set(Side::Bid, 1010, 0);
        assert_eq!(b.best_bid().map(|l| l.price), Some(1005));
        b.set(Side::Bid, 1234, 0); // deleting an absent level is a no-op
        assert_eq!(b.len(Side::Bid), 2);
        assert!(!b.is_crossed());
        b.set(Side::Bid, 1020, 1);
        assert!(b.is_crossed());
    }

    #[test]
    fn exact_precision_is_enforced() {
        let b = Book::new(2, 8, None);
        assert_eq!(
            b.parse_level(b"45283.5", b"0.1"),
            Ok((4_528_350, 10_000_000))
        );
        assert!(matches!(
            b.parse_level(b"45283.555", b"1"),
            Err(BookError::Number { what: "price", .. })
        ));
        assert!(matches!(
            b.parse_level(b"1", b"-1"),
            Err(BookError::NegativeSize(_))
        ));
        assert!(matches!(
            b.parse_level(b"x", b"1"),
            Err(BookError::Number { what: "price", .. })
        ));
    }

    proptest! {
        #[test]
        fn fast_scale_parse_agrees_with_the_general_parser(
            mantissa in any::<i64>(), scale in 0_u8..=18, target in 0_u8..=18, pad in 0_usize..3,
        ) {
            let mut text = Fixed::new(mantissa, scale).expect("scale").to_string();
            if scale > 0 { text.push_str(&"0".repeat(pad)); }
            let general = Fixed::parse(text.as_bytes()).and_then(|v| v.rescale(target)).map(Fixed::mantissa);
            prop_assert_eq!(to_scale(text.as_bytes(), target), general);
        }
    }

    #[test]
    fn depth_limit_keeps_the_best_levels() {
        let mut b = Book::new(0, 0, Some(2));
        for p in 1..=5 {
            b.set(Side::Bid, p, 1);
            b.set(Side::Ask, 10 + p, 1);
        }
        b.trim();
        let bids: Vec<i64> = b.levels(Side::Bid).map(|l| l.price).collect();
        let asks: Vec<i64> = b.levels(Side::Ask).map(|l| l.price).collect();
        assert_eq!(bids, [5, 4]);
        assert_eq!(asks, [11, 12]);
    }

    #[test]
    fn js_number_formatting() {
        let cases = [
            ("0.00001", "0.00001"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("0.00000015", "1.5e-7"),
            ("-0.00000002", "-2e-8"),
            ("123.4500", "123.45"),
            ("-5", "-5"),
            ("0", "0"),
        ];
        for (input, js) in cases {
            let mut out = Vec::new();
            write_js_number(&mut out, input.parse().expect("decimal"));
            assert_eq!(String::from_utf8(out).expect("ascii"), js, "{input}");
        }
    }

    #[test]
    fn checksum_text_layout() {
        // Two bids, one ask: interleaving stops taking from a side when it runs out.
        let b = book_from(&[("3366.1", "7"), ("3366", "6")], &[("3366.8", "9")], 1, 0);
        let mut text = Vec::new();
        b.interleave(25, &mut text, |book, out, level, _| {
            book.fixed_price(level.price).normalized().write_to(out);
            out.push(b':');
            book.fixed_size(level.size).normalized().write_to(out);
        });
        assert_eq!(text, b"3366.1:7:3366.8:9:3366:6");
        assert_eq!(b.checksum_okx(), crc_signed(b"3366.1:7:3366.8:9:3366:6"));
    }

    proptest! {
        #[test]
        fn matches_a_reference_model(
            ops in proptest::collection::vec((any::<bool>(), 1_i64..60, 0_i64..4), 0..300),
        ) {
            let mut book = Book::new(0, 0, None);
            let mut bids = BTreeMap::new();
            let mut asks = BTreeMap::new();
            for (is_bid, price, size) in ops {
                let (side, model) = if is_bid { (Side::Bid, &mut bids) } else { (Side::Ask, &mut asks) };
                book.set(side, price, size);
                if size == 0 { model.remove(&price); } else { model.insert(price, size); }
            }
            let got_bids: Vec<(i64, i64)> = book.levels(Side::Bid).map(|l| (l.price, l.size)).collect();
            let want_bids: Vec<(i64, i64)> = bids.iter().rev().map(|(&p, &s)| (p, s)).collect();
            prop_assert_eq!(got_bids, want_bids);
            let got_asks: Vec<(i64, i64)> = book.levels(Side::Ask).map(|l| (l.price, l.size)).collect();
            let want_asks: Vec<(i64, i64)> = asks.iter().map(|(&p, &s)| (p, s)).collect();
            prop_assert_eq!(got_asks, want_asks);
        }
    }
}
