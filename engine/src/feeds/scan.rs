//! A strict single-pass scanner for Binance depth updates: a flat object of strings, integers
//! and `[price, size]` string pairs, the pairs parsed straight to mantissas. It reads only what
//! it understands and returns `None` for anything else, so the caller falls back to the full JSON
//! parser: the fast path can never accept a message the slow path would reject.

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

    fn depth(s: &[u8]) -> Option<(i64, i64, Option<i64>)> {
        binance_depth(s, (1, 0), &mut Vec::new())
    }

    #[test]
    fn accepts_depth_updates_and_rejects_the_rest() {
        assert_eq!(
            depth(br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2"]],"a":[]}"#),
            Some((1, 2, None))
        );
        assert_eq!(
            depth(br#" { "e" : "depthUpdate" , "U":3,"u":4,"pu":2,"b":[],"a":[] } "#),
            Some((3, 4, Some(2)))
        );
        for bad in [
            &br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[],}"#[..],
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[]} x"#,
            br#"{"e":"depthUpdate","U":01,"u":2,"b":[],"a":[]}"#,
            br#"{"e":"depthUpdate","U":1.5,"u":2,"b":[],"a":[]}"#,
            br#"{"e":"depthUpdate","U":-,"u":2,"b":[],"a":[]}"#,
            br#"{"e":"a\"b","U":1,"u":2,"b":[],"a":[]}"#,
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[["1"]],"a":[]}"#,
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[["1","2",]],"a":[]}"#,
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[],"x":true}"#,
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[],"x":{"y":1}}"#,
            br#"{"e":"depthUpdate","U":99999999999999999999,"u":2,"b":[],"a":[]}"#,
            b"{\"e\":\"\xff\",\"U\":1,\"u\":2,\"b\":[],\"a\":[]}",
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[]"#,
            br#"{"e":"other","U":1,"u":2,"b":[],"a":[]}"#,
            br#"{"e":"depthUpdate","U":1,"u":2,"b":[]}"#,
        ] {
            assert_eq!(depth(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
