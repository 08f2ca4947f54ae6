//! A strict single-pass scanner for flat venue objects whose values are strings, integers and
//! arrays of `[string, string]` pairs (Binance depth updates). It reads only what it understands
//! and returns `None` for anything else, so the caller falls back to the full JSON parser: the
//! fast path can never accept a message the slow path would reject.

/// A value the scanner understood.
pub(crate) enum Value<'a> {
    Str(&'a [u8]),
    Int(i64),
    Pairs(Vec<(&'a [u8], &'a [u8])>),
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// After a member or element: `Some(true)` on `,` (more follow), `Some(false)` on `close`.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            b if b == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    /// A string without escapes or control characters; its bytes without quotes.
    #[inline]
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.s[start..];
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        // Non-ASCII must still be valid UTF-8 for the message to be JSON.
        let out = &rest[..len];
        if !out.is_ascii() && std::str::from_utf8(out).is_err() {
            return None;
        }
        Some(out)
    }

    #[inline]
    fn int(&mut self) -> Option<i64> {
        self.ws();
        let neg = self.s.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(&b) = self.s.get(self.i) {
            if !b.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
            self.i += 1;
        }
        let digits = self.i - start;
        // JSON: no empty numbers, no leading zeros, and no fraction/exponent for these fields.
        if digits == 0 || (digits > 1 && self.s[start] == b'0') {
            return None;
        }
        if matches!(self.s.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if neg { -v } else { v })
    }

    /// A JSON string holding a plain decimal (`"[-]digits[.digits]"`), parsed straight to a
    /// mantissa at `scale` (the fast path of `book::to_scale`); `None` for anything else.
    #[inline]
    fn scaled(&mut self, scale: u8) -> Option<i64> {
        self.eat(b'"')?;
        let s = self.s;
        let mut i = self.i;
        let negative = s.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let start = i;
        let mut dot: Option<usize> = None;
        let mut mantissa: i64 = 0;
        // One pass to the closing quote; the arithmetic wraps and is only trusted for at most 18
        // digits (checked below), so nothing can overflow-panic.
        loop {
            let b = *s.get(i)?;
            if b.is_ascii_digit() {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
            } else if b == b'.' && dot.is_none() {
                dot = Some(i);
            } else if b == b'"' {
                break;
            } else {
                return None;
            }
            i += 1;
        }
        self.i = i + 1;
        let digits = i - start - usize::from(dot.is_some());
        if digits == 0 || digits > 18 {
            return None;
        }
        let mut frac = dot.map_or(0, |d| i - d - 1);
        let scale = usize::from(scale);
        while frac > scale && mantissa % 10 == 0 {
            mantissa /= 10;
            frac -= 1;
        }
        if frac > scale {
            return None;
        }
        mantissa = mantissa.checked_mul(crate::book::POW10[scale - frac])?;
        Some(if negative { -mantissa } else { mantissa })
    }

    /// `[[price, size], ...]` parsed to mantissas into `out` with `side`.
    fn scaled_pairs(
        &mut self,
        side: crate::book::Side,
        scales: (u8, u8),
        out: &mut Vec<(crate::book::Side, i64, i64)>,
    ) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.eat(b'[')?;
            let p = self.scaled(scales.0)?;
            self.eat(b',')?;
            let q = self.scaled(scales.1)?;
            self.eat(b']')?;
            if q < 0 {
                return None;
            }
            out.push((side, p, q));
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    fn pairs(&mut self) -> Option<Vec<(&'a [u8], &'a [u8])>> {
        self.eat(b'[')?;
        let mut out = Vec::with_capacity(16);
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            self.eat(b'[')?;
            let p = self.string()?;
            self.eat(b',')?;
            let q = self.string()?;
            self.eat(b']')?;
            out.push((p, q));
            if !self.more(b']')? {
                return Some(out);
            }
        }
    }
}

/// Scans a Binance depth update (`e`, `E`, `T`, `s`, `U`, `u`, `pu`, `b`, `a`), parsing the levels
/// straight to mantissas at `scales` into `out` (bids then asks, in message order). Returns
/// `(U, u, pu)`; `None` for anything else (the full parser then decides).
pub(crate) fn binance_depth(
    s: &[u8],
    scales: (u8, u8),
    out: &mut Vec<(crate::book::Side, i64, i64)>,
) -> Option<(i64, i64, Option<i64>)> {
    use crate::book::Side;
    let mut c = Cursor { s, i: 0 };
    let (mut first, mut last, mut prev) = (None, None, None);
    let (mut bids, mut asks, mut is_depth) = (false, false, false);
    c.eat(b'{')?;
    loop {
        let key = c.string()?;
        c.eat(b':')?;
        match key {
            b"e" => is_depth = c.string()? == b"depthUpdate",
            b"s" => {
                c.string()?;
            }
            b"E" | b"T" => {
                c.int()?;
            }
            b"U" => first = Some(c.int()?),
            b"u" => last = Some(c.int()?),
            b"pu" => prev = Some(c.int()?),
            // Bids then asks keep the message order only if bids come first, as Binance sends.
            b"b" if !asks => {
                c.scaled_pairs(Side::Bid, scales, out)?;
                bids = true;
            }
            b"a" => {
                c.scaled_pairs(Side::Ask, scales, out)?;
                asks = true;
            }
            _ => return None,
        }
        if !c.more(b'}')? {
            break;
        }
    }
    c.ws();
    (c.i == s.len() && is_depth && bids && asks).then_some(())?;
    Some((first?, last?, prev))
}

/// Scans `{"key": value, ...}`, calling `field(key, value)` for each member; `field` returns
/// `None` to reject. Returns `None` unless the whole input is one such object.
pub(crate) fn object<'a>(
    s: &'a [u8],
    mut field: impl FnMut(&'a [u8], Value<'a>) -> Option<()>,
) -> Option<()> {
    let mut c = Cursor { s, i: 0 };
    c.eat(b'{')?;
    if c.peek()? == b'}' {
        c.i += 1;
    } else {
        loop {
            let key = c.string()?;
            c.eat(b':')?;
            let value = match c.peek()? {
                b'"' => Value::Str(c.string()?),
                b'[' => Value::Pairs(c.pairs()?),
                b'-' | b'0'..=b'9' => Value::Int(c.int()?),
                _ => return None,
            };
            field(key, value)?;
            if !c.more(b'}')? {
                break;
            }
        }
    }
    c.ws();
    (c.i == s.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scaled_strings_agree_with_the_general_parser(
            mantissa in any::<i64>(), scale in 0_u8..=18, target in 0_u8..=18, pad in 0_usize..3,
            junk in proptest::option::of(any::<u8>()),
        ) {
            let mut text = crate::fixed::Fixed::new(mantissa, scale).expect("scale").to_string();
            if scale > 0 { text.push_str(&"0".repeat(pad)); }
            let mut bytes = text.into_bytes();
            // A quote would end the JSON string early: that is a different (shorter) string.
            if let Some(j) = junk.filter(|&j| j != b'"') { bytes.push(j); }
            let quoted = [b"\"".as_slice(), &bytes, b"\""].concat();
            let mut c = Cursor { s: &quoted, i: 0 };
            let fast = c.scaled(target);
            let general = crate::book::to_scale(&bytes, target).ok();
            // The fast path may decline (None) but never disagrees with the general parser.
            if let Some(v) = fast {
                prop_assert_eq!(Some(v), general);
            }
            let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
            if junk.is_none() && general.is_some() && digits <= 18 {
                // Up to 18 digits the fast path always answers.
                prop_assert_eq!(fast, general);
            }
        }
    }

    fn keys(s: &[u8]) -> Option<Vec<String>> {
        let mut out = Vec::new();
        object(s, |k, _| {
            out.push(String::from_utf8_lossy(k).into_owned());
            Some(())
        })?;
        Some(out)
    }

    #[test]
    fn accepts_flat_objects_and_rejects_the_rest() {
        assert_eq!(
            keys(br#"{"e":"x","U":1,"b":[["1","2"]],"a":[]}"#),
            Some(vec!["e".into(), "U".into(), "b".into(), "a".into()])
        );
        assert_eq!(keys(b" { } "), Some(vec![]));
        for bad in [
            &br#"{"e":"x",}"#[..],
            br#"{"e":"x"} x"#,
            br#"{"U":01}"#,
            br#"{"U":1.5}"#,
            br#"{"U":-}"#,
            br#"{"e":"a\"b"}"#,
            br#"{"b":[["1"]]}"#,
            br#"{"b":[["1","2",]]}"#,
            br#"{"x":true}"#,
            br#"{"x":{"y":1}}"#,
            br#"{"U":99999999999999999999}"#,
            b"{\"e\":\"\xff\"}",
            br#"{"e":"x""#,
        ] {
            assert_eq!(keys(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
