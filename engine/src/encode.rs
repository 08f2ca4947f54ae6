//! Percent-encoding for query strings and form bodies, in the two dialects venues sign.
//!
//! Signatures are computed over the exact bytes sent, so the encoder is part of the signing
//! contract: it must match what the venue decodes and re-encodes on its side.

/// Which percent-encoding a venue expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `application/x-www-form-urlencoded` as Python's `urllib.parse.urlencode` writes it
    /// (`quote_plus`): RFC 3986 unreserved bytes kept, space as `+`, the rest `%XX` upper-case.
    /// Binance, Kraken.
    FormPlus,
    /// RFC 3986 §2.1: unreserved bytes kept, everything else (space too) `%XX` upper-case.
    /// HTX signature v2 ("the URL encoding should be upper case").
    Percent,
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// True for RFC 3986 §2.3 unreserved bytes: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
#[inline]
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `input` percent-encoded to `out`.
pub fn push_escaped(out: &mut Vec<u8>, input: &[u8], mode: Escape) {
    // Fast path: most keys and values (symbols, numbers, enums) need no escaping at all.
    if input.iter().all(|&b| is_unreserved(b)) {
        out.extend_from_slice(input);
        return;
    }
    for &b in input {
        if is_unreserved(b) {
            out.push(b);
        } else if b == b' ' && mode == Escape::FormPlus {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0x0f)],
            ]);
        }
    }
}

/// Appends `key=value` (both escaped) to a query string, with a `&` first unless `out` is empty.
pub fn push_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8], mode: Escape) {
    if !out.is_empty() {
        out.push(b'&');
    }
    push_escaped(out, key, mode);
    out.push(b'=');
    push_escaped(out, value, mode);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("BTCUSDT", Escape::FormPlus, "BTCUSDT")]
    #[case("a b", Escape::FormPlus, "a+b")]
    #[case("a b", Escape::Percent, "a%20b")]
    #[case("2017-05-11T15:19:30", Escape::Percent, "2017-05-11T15%3A19%3A30")]
    #[case("x/y+z=~", Escape::FormPlus, "x%2Fy%2Bz%3D~")]
    #[case("币安", Escape::FormPlus, "%E5%B8%81%E5%AE%89")]
    fn escapes_like_urllib(#[case] input: &str, #[case] mode: Escape, #[case] out: &str) {
        let mut buf = Vec::new();
        push_escaped(&mut buf, input.as_bytes(), mode);
        assert_eq!(String::from_utf8(buf).expect("ascii"), out);
    }

    #[test]
    fn pairs_are_joined_with_ampersands() {
        let mut buf = Vec::new();
        push_pair(&mut buf, b"symbol", b"LTCBTC", Escape::FormPlus);
        push_pair(&mut buf, b"price", b"0.1", Escape::FormPlus);
        assert_eq!(buf, b"symbol=LTCBTC&price=0.1");
    }
}
