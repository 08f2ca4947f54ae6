//! Fuzz target bodies, shared by the cargo-fuzz crate (`engine/fuzz/`) and the unit tests that run
//! them over a seed corpus and deterministic mutations. Each panics only when an invariant of the
//! codec is broken (which is what a fuzzer reports); no input may make the codec itself panic.

use super::dict::Dictionary;
use super::encode::Body;
use super::framer::{Framer, FramerItem};
use super::parse::parse;

/// Everything a framer yields for `chunks` fed one after the other: messages as their bytes,
/// errors as their reason.
pub fn frame_all<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Result<Vec<u8>, String>> {
    let mut framer = Framer::new(1 << 16);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.feed(chunk);
        while let Some(item) = framer.next_item() {
            out.push(match item {
                FramerItem::Message(range, _) => {
                    Ok(framer.buffer().get(range).unwrap_or_default().to_vec())
                }
                FramerItem::Error(e) => Err(e.to_string()),
            });
        }
    }
    out
}

/// The `fix_parse` target: parses `data` both ways (verified and structural), checks every span
/// lies inside the message and in order, then frames `data` whole and in the splits the first
/// bytes choose, which must give the same items, each message of which parses.
///
/// # Panics
/// When an invariant is broken.
pub fn fix_parse(data: &[u8]) {
    for verify in [true, false] {
        if let Ok(index) = parse(data, verify) {
            let mut last_end = 0_u32;
            for f in &index.fields {
                assert!(f.start <= f.end && f.end as usize <= data.len());
                assert!(f.start >= last_end);
                last_end = f.end;
            }
            assert!(index.fields.len() >= 4);
        }
    }
    let whole = frame_all([data]);
    // Split points from the data itself: deterministic for a given input.
    let seed = data.iter().fold(0x9e37_79b9_u32, |h, &b| {
        h.rotate_left(5) ^ u32::from(b).wrapping_mul(0x0100_0193)
    });
    let mut chunks = Vec::new();
    let mut rest = data;
    let mut s = seed;
    while !rest.is_empty() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let n = (s as usize % 7 + 1).min(rest.len());
        chunks.push(&rest[..n]);
        rest = &rest[n..];
    }
    let split = frame_all(chunks.iter().copied());
    assert_eq!(whole, split, "framer results depend on the read boundaries");
    let bytewise = frame_all(data.chunks(1));
    assert_eq!(
        whole, bytewise,
        "framer results depend on the read boundaries"
    );
    for msg in whole.iter().flatten() {
        assert!(parse(msg, true).is_ok());
    }
}

/// The `fix_dictionary` target: validates whatever parses (structurally) against `dict` and
/// asks for every group of it; neither may panic, and every group entry must lie in the message.
///
/// # Panics
/// When an invariant is broken.
pub fn fix_dictionary(dict: &Dictionary, data: &[u8]) {
    let Ok(index) = parse(data, false) else {
        return;
    };
    let verdict = dict.validate(data, &index);
    if let Err(v) = &verdict {
        assert!(
            matches!(v.reason, 0..=6 | 11 | 13..=16),
            "unexpected code {}",
            v.reason
        );
    }
    for f in &index.fields {
        for entry in dict.groups(data, &index, f.tag) {
            assert!(!entry.is_empty());
            for g in entry {
                assert!(g.end as usize <= data.len());
            }
        }
    }
}

/// A small deterministic generator (64-bit LCG, Knuth's MMIX constants) for the mutation tests.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next_u64()).unwrap_or(0) % n
        }
    }
}

/// Valid messages the mutation tests and the fuzz corpus start from.
pub fn seed_corpus() -> Vec<Vec<u8>> {
    let soh = |s: &str| s.replace('|', "\x01").into_bytes();
    let mut out = vec![
        soh("8=FIX.4.2|9=45|35=0|34=3|49=TW|52=20000426-12:05:06|56=ISLD|10=218|"),
        soh(
            "8=FIX.4.2|9=178|35=8|49=PHLX|56=PERS|52=20071123-05:30:00.000|\
             11=ATOMNOCCC9990900|20=3|150=E|39=E|55=MSFT|167=CS|54=1|38=15|40=2|44=15|\
             58=PHLX EQUITY TESTING|59=0|47=C|32=0|31=0|151=15|14=0|6=0|10=128|",
        ),
    ];
    let mut body = Body::default();
    let nos: &[(u32, &[u8])] = &[
        (35, b"D"),
        (49, b"CLIENT"),
        (56, b"VENUE"),
        (34, b"12"),
        (52, b"20240102-03:04:05.678"),
        (95, b"4"),
        (96, b"a\x01b="),
        (11, b"ord-1"),
        (453, b"2"),
        (448, b"A"),
        (447, b"D"),
        (452, b"1"),
        (448, b"B"),
        (447, b"D"),
        (452, b"3"),
        (55, b"BTC-USD"),
        (54, b"1"),
        (60, b"20240102-03:04:05.678"),
        (38, b"0.5"),
        (40, b"2"),
        (44, b"42000.10"),
        (59, b"1"),
    ];
    for &(tag, v) in nos {
        if body.field(tag, v).is_err() {
            return out;
        }
    }
    let mut msg = Vec::new();
    if body.finish_into(b"FIX.4.4", &mut msg).is_ok() {
        out.push([&msg[..], &out[0][..]].concat());
        out.push(msg);
    }
    out
}

/// One random mutation of `seed`: byte flips, SOH or `8=FIX` insertions, deletions,
/// duplications, truncation, digit changes, splices of the message with itself.
pub fn mutate(rng: &mut Lcg, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    let ops = 1 + rng.below(3);
    for _ in 0..ops {
        let len = d.len();
        let at = rng.below(len + 1);
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                // A random byte value; the shift keeps it below 256.
                d[i] = u8::try_from(rng.next_u64() & 0xff).unwrap_or(0);
            }
            1 => d.insert(at, 0x01),
            2 => d
                .splice(at..at, b"8=FIX.4.4\x019=".iter().copied())
                .for_each(drop),
            3 if len > 0 => {
                let n = 1 + rng.below(8);
                d.drain(at.min(len - 1)..(at + n).min(len));
            }
            4 => {
                let end = (at + 1 + rng.below(16)).min(len);
                let chunk = d[at.min(end)..end].to_vec();
                d.splice(at..at, chunk).for_each(drop);
            }
            5 => d.truncate(at),
            6 => {
                if let Some(i) = d.iter().skip(at).position(u8::is_ascii_digit) {
                    let v = u8::try_from(rng.below(10)).unwrap_or(0);
                    d[at + i] = b'0' + v;
                }
            }
            7 => {
                let other = seed[rng.below(seed.len() + 1).min(seed.len())..].to_vec();
                d.splice(at..at, other).for_each(drop);
            }
            _ => d.splice(at..at, b"=".iter().copied()).for_each(drop),
        }
    }
    d
}
