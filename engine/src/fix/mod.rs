//! The FIX codec: a streaming framer, a validating zero-copy parser, an encoder and the QuickFIX
//! XML data dictionaries.
//!
//! - [`parse`] checks one message: 8, 9 and 35 first (in that order), BodyLength, CheckSum (10
//!   last, three digits), `tag=value<SOH>` syntax and the raw-data length pairs (95/96 and the
//!   others of [`data_tag_for_length`]), whose value may contain SOH. The result is an index of
//!   `(tag, value span)` pairs into the message bytes: one `Vec`, no allocation per field.
//! - [`Framer`] splits a TCP byte stream into messages across partial reads and resynchronises at
//!   the next `8=FIX` after a garbled message or garbage.
//! - [`Encoder`] and [`encode_message`] write messages, computing BodyLength (9) and CheckSum (10).
//! - [`utc_timestamp`] and [`parse_utc_timestamp`]: `YYYYMMDD-HH:MM:SS.sss` without a calendar crate.
//! - [`dict`]: the QuickFIX XML data dictionaries and the session-level validation.
//!
//! Garbled input is an [`FixError`] value; nothing here panics on any input (see [`fuzz`], whose
//! targets the cargo-fuzz crate in `engine/fuzz/` and the unit tests both run).
//!
//! Message layout and checksum rules: FIX Session Protocol ("FIX Transport", FIXT 1.1) and the
//! FIX 4.4 specification, Volume 2, "Message Format" and Appendix B "CheckSum calculation".

// FIX field and message names (BodyLength, CheckSum, QuickFIX) are prose here, not code.
#![allow(clippy::doc_markdown)]

pub mod dict;
mod encode;
mod framer;
pub mod fuzz;
mod parse;
mod time;

#[cfg(test)]
mod tests;

use thiserror::Error;

pub use encode::{encode_message, now_ns, push_checksum, Body, Encoder, Value};
pub use framer::{Framer, FramerItem, DEFAULT_MAX_MESSAGE};
pub use parse::{data_tag_for_length, group_heuristic, parse, Field, Message, MessageIndex};
pub use time::{parse_utc_timestamp, utc_timestamp, TimePrecision};

/// The FIX field delimiter, SOH.
pub const SOH: u8 = 0x01;

/// What is wrong with a FIX message. The `Display` text is the stable `reason` string Python
/// sees (`FixError.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FixErrorKind {
    /// The message does not start with `8=`.
    #[error("missing 8")]
    MissingBeginString,
    /// BeginString does not start with `FIX`.
    #[error("bad begin string")]
    BadBeginString,
    /// The second field is not 9.
    #[error("missing 9")]
    MissingBodyLength,
    /// BodyLength is not a number.
    #[error("bad body length")]
    BadBodyLength,
    /// The third field is not 35.
    #[error("missing 35")]
    MissingMsgType,
    /// BodyLength does not match the bytes between it and the CheckSum.
    #[error("body length mismatch")]
    BodyLengthMismatch,
    /// The message does not end with a CheckSum field.
    #[error("missing 10")]
    MissingChecksum,
    /// CheckSum is not exactly three digits.
    #[error("bad checksum format")]
    BadChecksumFormat,
    /// CheckSum does not match the bytes.
    #[error("bad checksum")]
    BadChecksum,
    /// A field follows the CheckSum.
    #[error("10 not last")]
    ChecksumNotLast,
    /// A tag that is not a positive decimal number (or a field without `=`).
    #[error("invalid tag")]
    InvalidTag,
    /// `tag=` with nothing before the SOH.
    #[error("empty value")]
    EmptyValue,
    /// A value that is not of its type (a non-numeric length, sequence number or integer).
    #[error("incorrect data format")]
    IncorrectDataFormat,
    /// A raw-data length that runs past the message, or data not followed by SOH.
    #[error("data length mismatch")]
    DataLengthMismatch,
    /// A data field without its length field just before it (encoder).
    #[error("data field without length")]
    DataWithoutLength,
    /// A value holding SOH outside a raw-data field (encoder).
    #[error("value contains SOH")]
    ValueContainsSoh,
    /// A message larger than the framer's limit.
    #[error("message too large")]
    TooLarge,
    /// Bytes between messages that do not start a message (skipped by the framer).
    #[error("garbage before 8=FIX")]
    Garbage,
    /// A timestamp that is not `YYYYMMDD-HH:MM:SS[.s{3,6,9}]` or out of range.
    #[error("bad timestamp")]
    BadTimestamp,
}

impl FixErrorKind {
    /// The SessionRejectReason (373) a session answers this error with, or `None` for a garbled
    /// message, which the FIX session protocol says to ignore (no Reject, no sequence increment).
    pub fn reject_reason(self) -> Option<u32> {
        match self {
            Self::InvalidTag => Some(0),
            Self::EmptyValue => Some(4),
            Self::IncorrectDataFormat | Self::BadTimestamp => Some(6),
            Self::MissingBeginString
            | Self::BadBeginString
            | Self::MissingBodyLength
            | Self::BadBodyLength
            | Self::MissingMsgType
            | Self::BodyLengthMismatch
            | Self::MissingChecksum
            | Self::BadChecksumFormat
            | Self::BadChecksum
            | Self::ChecksumNotLast
            | Self::DataLengthMismatch
            | Self::DataWithoutLength
            | Self::ValueContainsSoh
            | Self::TooLarge
            | Self::Garbage => None,
        }
    }
}

/// A garbled message, or a value the encoder refuses: what, which tag, and the message's
/// MsgSeqNum (34) when it could be read, so a session can decide between Reject and ignore.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}{}{}", fmt_tag(*.tag), fmt_seq(*.seq_num))]
pub struct FixError {
    /// What is wrong.
    pub kind: FixErrorKind,
    /// The offending tag, when there is one.
    pub tag: Option<u32>,
    /// MsgSeqNum (34) of the message, when it could be read.
    pub seq_num: Option<u64>,
}

fn fmt_tag(tag: Option<u32>) -> String {
    tag.map_or_else(String::new, |t| format!(" (tag {t})"))
}

fn fmt_seq(seq: Option<u64>) -> String {
    seq.map_or_else(String::new, |s| format!(" (MsgSeqNum {s})"))
}

impl FixError {
    /// An error of `kind` without a tag.
    pub fn new(kind: FixErrorKind) -> Self {
        Self {
            kind,
            tag: None,
            seq_num: None,
        }
    }

    /// An error of `kind` about `tag`.
    pub fn at(kind: FixErrorKind, tag: u32) -> Self {
        Self {
            kind,
            tag: Some(tag),
            seq_num: None,
        }
    }

    /// The stable reason string (`"bad checksum"`, `"missing 35"`...).
    pub fn reason(&self) -> String {
        self.kind.to_string()
    }
}
