//! Splitting a TCP byte stream into FIX messages across partial reads.
//!
//! A message is delimited by its own header: `8=FIX...<SOH>9=<BodyLength><SOH>`, then BodyLength
//! bytes, then `10=xxx<SOH>`. The framer decides only on complete bytes, so the items it yields
//! do not depend on how the stream was split into reads (the `fix_parse` fuzz target checks
//! this). After a garbled message it resumes at the next `8=FIX`; bytes skipped between
//! messages are reported once per run as one [`FixErrorKind::Garbage`] error.

use std::ops::Range;

use super::parse::{parse, parse_u64, scan_seq_num, MessageIndex};
use super::{FixError, FixErrorKind as K, SOH};

/// Default limit on one message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 20;

/// Longest BeginString field accepted (`8=FIXT.1.1<SOH>` is 11 bytes).
const MAX_BEGIN_FIELD: usize = 32;
/// Longest BodyLength field accepted.
const MAX_LEN_FIELD: usize = 16;
const START: &[u8] = b"8=FIX";

/// One item the framer yields: a message (its span in [`Framer::buffer`] and its index, with
/// spans relative to the message's own first byte) or the error of a garbled one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramerItem {
    /// A complete, verified message: `buffer()[range]`.
    Message(Range<usize>, MessageIndex),
    /// A garbled message or skipped garbage.
    Error(FixError),
}

/// The streaming framer. [`Framer::feed`] appends a read; [`Framer::next_item`] yields items
/// until it needs more bytes; [`Framer::compact`] drops consumed bytes.
#[derive(Debug, Clone)]
pub struct Framer {
    buf: Vec<u8>,
    pos: usize,
    max: usize,
    /// Garbage bytes skipped since the last message or error, not yet reported.
    garbage: usize,
    /// True right after a framing error: the skip to the next `8=FIX` is part of that error.
    resyncing: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE)
    }
}

enum Step {
    Need,
    Item(FramerItem),
}

impl Framer {
    /// A framer refusing messages larger than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            max: max_message_size.max(32),
            garbage: 0,
            resyncing: false,
        }
    }

    /// Appends bytes read from the stream (dropping the consumed ones first).
    pub fn feed(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Drops the bytes already consumed.
    pub fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// The framer's buffer; message ranges index into it until the next `feed` or `compact`.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes held for the next read.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next item, or `None` when more bytes are needed.
    pub fn next_item(&mut self) -> Option<FramerItem> {
        // Find the start of a message.
        let rest = &self.buf[self.pos..];
        let found = if rest.starts_with(START) {
            Some(0)
        } else {
            memchr::memmem::find(rest, START)
        };
        if let Some(k) = found {
            self.pos += k;
            let skipped = self.garbage + k;
            self.garbage = 0;
            // After a framing error the skip is part of the error already reported.
            if !std::mem::take(&mut self.resyncing) && skipped > 0 {
                return Some(FramerItem::Error(FixError::new(K::Garbage)));
            }
        } else {
            // Keep a tail that may be the beginning of `8=FIX`.
            let keep = (1..START.len())
                .rev()
                .find(|&n| rest.len() >= n && START.starts_with(&rest[rest.len() - n..]))
                .unwrap_or(0);
            let skip = rest.len() - keep;
            self.pos += skip;
            if !self.resyncing {
                self.garbage += skip;
            }
            return None;
        }
        match self.frame() {
            Step::Need => None,
            Step::Item(item) => Some(item),
        }
    }

    /// Frames the message starting at `pos` (which starts with `8=FIX`).
    fn frame(&mut self) -> Step {
        let start = self.pos;
        let rest = &self.buf[start..];
        // BeginString field.
        let Some(soh1) = memchr::memchr(SOH, &rest[..rest.len().min(MAX_BEGIN_FIELD)]) else {
            if rest.len() >= MAX_BEGIN_FIELD {
                return self.fail(FixError::at(K::BadBeginString, 8));
            }
            return Step::Need;
        };
        let after = &rest[soh1 + 1..];
        // BodyLength field.
        if after.len() < 2 {
            if !b"9=".starts_with(after) {
                return self.fail(FixError::new(K::MissingBodyLength));
            }
            return Step::Need;
        }
        if !after.starts_with(b"9=") {
            return self.fail(FixError::new(K::MissingBodyLength));
        }
        let Some(soh2) = memchr::memchr(SOH, &after[..after.len().min(MAX_LEN_FIELD)]) else {
            if after.len() >= MAX_LEN_FIELD {
                return self.fail(FixError::at(K::BadBodyLength, 9));
            }
            return Step::Need;
        };
        let Some(body_len) = parse_u64(&after[2..soh2]).and_then(|n| usize::try_from(n).ok())
        else {
            return self.fail(FixError::at(K::BadBodyLength, 9));
        };
        let header_len = soh1 + 1 + soh2 + 1;
        let total = header_len.saturating_add(body_len).saturating_add(7);
        if total > self.max {
            return self.fail(FixError::at(K::TooLarge, 9));
        }
        if rest.len() < total {
            return Step::Need;
        }
        let msg = &rest[..total];
        let trailer = &msg[total - 7..];
        if !trailer.starts_with(b"10=") || trailer[6] != SOH {
            let mut e = FixError::at(K::BodyLengthMismatch, 9);
            e.seq_num = scan_seq_num(msg);
            return self.fail(e);
        }
        self.pos = start + total;
        Step::Item(match parse(msg, true) {
            Ok(index) => FramerItem::Message(start..start + total, index),
            Err(e) => FramerItem::Error(e),
        })
    }

    /// Reports `err` and resumes at the next `8=FIX` after the current start.
    fn fail(&mut self, err: FixError) -> Step {
        self.pos += 1;
        self.resyncing = true;
        self.garbage = 0;
        Step::Item(FramerItem::Error(err))
    }
}
