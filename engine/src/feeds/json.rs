//! Borrowed JSON helpers shared by the venue decoders: levels are read as raw number or string
//! text straight out of the message (no float, no per-level allocation), then parsed exactly.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The text of a JSON number or string, without quotes (venues send prices both ways).
///
/// # Errors
/// A string with escapes, which no venue uses for numbers.
pub fn num_text(raw: &RawValue) -> Result<&[u8], String> {
    let s = raw.get().as_bytes();
    match s {
        [b'"', inner @ .., b'"'] => {
            if inner.contains(&b'\\') {
                Err("escaped characters in a number".to_owned())
            } else {
                Ok(inner)
            }
        }
        _ => Ok(s),
    }
}

/// The first two elements of a JSON array (`[price, size, ...]`), ignoring any more
/// (OKX levels carry four: price, size, a deprecated 0 and an order count).
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a>(pub &'a RawValue, pub &'a RawValue);

impl<'de: 'a, 'a> Deserialize<'de> for Pair<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pair<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [price, size, ...] array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pair<'a>, A::Error> {
                let p: &'a RawValue = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let s: &'a RawValue = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Pair(p, s))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// True when `msg` is syntactically valid JSON (used to tell "not for us" from "garbled").
pub fn is_json(msg: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(msg).is_ok()
}
