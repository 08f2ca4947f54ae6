//! Venue book feeds: raw message bytes → book operations, with one integrity pipeline for every
//! venue: sequence check → levels applied → checksum check → crossed-book guard. Any failure marks
//! the feed stale (the book is kept but flagged) until a fresh snapshot resyncs it; venues whose
//! snapshot comes out of band (Binance REST, HTX `req`) have their deltas buffered meanwhile and
//! replayed after the snapshot.
//!
//! The venue modules only parse; the rules of each venue are in [`BookFeed::continuity`]. Sources
//! are cited in each module and in `tests/fixtures/feeds/SOURCES.md`.

mod binance;
mod bitfinex;
mod coinbase;
mod htx;
pub(crate) mod json;
mod kraken;
mod okx;
mod scan;
pub mod ticks;

use std::collections::VecDeque;
use std::str::FromStr;

use crate::book::{Book, BookError, Side};

/// A venue's book feed flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    /// Binance spot diff depth (`U`/`u`) with a REST snapshot.
    BinanceSpot,
    /// Binance USD-M futures diff depth (`pu` chain) with a REST snapshot.
    BinanceUsdm,
    /// OKX v5 `books` / `books-l2-tbt` (`prevSeqId`/`seqId`, checksum when non-zero).
    Okx,
    /// Kraken WS v2 `book` (checksum on every message, no sequence).
    Kraken,
    /// Coinbase Advanced Trade `level2` (connection-wide `sequence_num`).
    Coinbase,
    /// Bitfinex v2 `book` (optional sequence numbers, `cs` checksum messages).
    Bitfinex,
    /// HTX `mbp` incremental (`prevSeqNum`/`seqNum`) with a `req` snapshot.
    Htx,
}

impl FromStr for Venue {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "binance" | "binance-spot" => Self::BinanceSpot,
            "binance-usdm" | "binance-futures" => Self::BinanceUsdm,
            "okx" => Self::Okx,
            "kraken" => Self::Kraken,
            "coinbase" => Self::Coinbase,
            "bitfinex" => Self::Bitfinex,
            "htx" => Self::Htx,
            _ => return Err(format!("no book feed for venue {s:?}")),
        })
    }
}

impl Venue {
    /// True when the snapshot comes from a separate request, so deltas must be buffered.
    pub fn snapshot_out_of_band(self) -> bool {
        matches!(self, Self::BinanceSpot | Self::BinanceUsdm | Self::Htx)
    }
}

/// What one message did. The integer values are stable (Python's `FeedStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FeedStatus {
    /// Levels applied (or a checksum / no-change message confirmed the book).
    Applied = 0,
    /// Not a book change for this feed (heartbeat, ack, stale or duplicate update).
    Skipped = 1,
    /// Held until the snapshot arrives (out-of-band snapshot venues).
    Buffered = 2,
    /// A sequence gap: the feed is stale until resynced.
    Gap = 3,
    /// The venue's checksum disagrees with the book: stale until resynced.
    ChecksumMismatch = 4,
    /// Best bid at or above best ask: stale until resynced.
    Crossed = 5,
    /// Unparseable or invalid message: stale until resynced.
    Malformed = 6,
}

/// Where the feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No snapshot yet.
    AwaitingSnapshot,
    /// Book in sync.
    Synced,
    /// Integrity lost; waiting for a resync (snapshot).
    Stale,
}

/// Counters a feed keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Messages passed to `apply`.
    pub messages: u64,
    /// Messages that changed or confirmed the book.
    pub applied: u64,
    /// Snapshots applied.
    pub snapshots: u64,
    /// Sequence gaps.
    pub gaps: u64,
    /// Checksum mismatches.
    pub checksum_mismatches: u64,
    /// Crossed books.
    pub crossed: u64,
    /// Malformed messages.
    pub malformed: u64,
    /// Buffered messages dropped because the buffer was full.
    pub buffer_overflows: u64,
}

/// Sequence numbers a message carries (their meaning depends on the venue).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seq {
    /// Binance `U`; unused elsewhere.
    pub first: i64,
    /// Binance `u`, OKX `seqId`, HTX `seqNum`, Coinbase `sequence_num`, Bitfinex seq.
    pub last: i64,
    /// Binance futures `pu`, OKX `prevSeqId`, HTX `prevSeqNum`.
    pub prev: i64,
    /// Whether the message carries sequence numbers at all.
    pub present: bool,
}

/// Levels of one message, as raw number text.
pub(crate) type Levels<'a> = Vec<(&'a [u8], &'a [u8])>;

/// A parsed venue message.
pub(crate) enum Msg<'a> {
    /// Nothing for the book (heartbeats, acks, other channels); may carry a connection sequence.
    Ignore(Seq),
    /// A full book.
    Snapshot {
        seq: Seq,
        bids: Levels<'a>,
        asks: Levels<'a>,
        checksum: Option<i64>,
    },
    /// Changes to apply (absolute sizes; size 0 deletes).
    Delta {
        seq: Seq,
        bids: Levels<'a>,
        asks: Levels<'a>,
        checksum: Option<i64>,
    },
    /// A checksum of the current book (Bitfinex `cs`).
    Checksum { seq: Seq, value: i64 },
}

enum Continuity {
    Apply,
    Old,
    Gap,
}

/// Buffered deltas kept while awaiting a snapshot, at most.
const MAX_BUFFERED: usize = 20_000;

/// One instrument's feed: the sync state machine around a [`Book`] it is handed on each call.
#[derive(Debug, Clone)]
pub struct BookFeed {
    venue: Venue,
    state: SyncState,
    /// The last applied sequence value (venue meaning), if any.
    last_seq: Option<i64>,
    /// True until the first delta after a snapshot has been applied.
    fresh: bool,
    buffer: VecDeque<Vec<u8>>,
    stats: FeedStats,
    reason: Option<String>,
    /// Levels parsed by the Binance fast path, reused across messages.
    scratch: Vec<(Side, i64, i64)>,
}

impl BookFeed {
    /// A feed awaiting its first snapshot.
    pub fn new(venue: Venue) -> Self {
        Self {
            venue,
            state: SyncState::AwaitingSnapshot,
            last_seq: None,
            fresh: false,
            buffer: VecDeque::new(),
            stats: FeedStats::default(),
            reason: None,
            scratch: Vec::with_capacity(64),
        }
    }

    /// The venue flavour.
    pub fn venue(&self) -> Venue {
        self.venue
    }

    /// Sync state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    /// The last applied sequence value (Binance `u`, OKX `seqId`, ...).
    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq
    }

    /// Why the feed last went stale, if it did.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Deltas waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Marks the feed stale (a resync is wanted) with a reason, e.g. after a disconnect.
    pub fn invalidate(&mut self, reason: &str) {
        self.go_stale(reason.to_owned());
    }

    fn go_stale(&mut self, reason: String) {
        self.state = SyncState::Stale;
        self.reason = Some(reason);
        self.fresh = false;
    }

    fn parse(venue: Venue, msg: &[u8]) -> Result<Msg<'_>, String> {
        match venue {
            Venue::BinanceSpot | Venue::BinanceUsdm => binance::parse(msg),
            Venue::Okx => okx::parse(msg),
            Venue::Kraken => kraken::parse(msg),
            Venue::Coinbase => coinbase::parse(msg),
            Venue::Bitfinex => bitfinex::parse(msg),
            Venue::Htx => htx::parse(msg),
        }
    }

    /// Applies an out-of-band snapshot (Binance REST depth, HTX `req` reply; in-band snapshot
    /// messages are accepted too), then replays buffered deltas.
    ///
    /// Returns `Applied`, or `Gap` when the buffered deltas cannot be bridged to this snapshot
    /// (it is too old or too new: fetch another), or `Malformed`.
    pub fn apply_snapshot(&mut self, book: &mut Book, msg: &[u8]) -> FeedStatus {
        let parsed = match self.venue {
            Venue::BinanceSpot | Venue::BinanceUsdm => binance::parse_snapshot(msg),
            Venue::Htx => htx::parse_snapshot(msg),
            _ => Self::parse(self.venue, msg),
        };
        match parsed {
            Ok(Msg::Snapshot {
                seq,
                bids,
                asks,
                checksum,
            }) => {
                let status = self.load_snapshot(book, seq, &bids, &asks, checksum);
                if status != FeedStatus::Applied {
                    return status;
                }
                self.replay(book)
            }
            Ok(_) => {
                self.stats.malformed += 1;
                self.go_stale("snapshot expected".to_owned());
                FeedStatus::Malformed
            }
            Err(e) => {
                self.stats.malformed += 1;
                self.go_stale(format!("malformed snapshot: {e}"));
                FeedStatus::Malformed
            }
        }
    }

    fn replay(&mut self, book: &mut Book) -> FeedStatus {
        let buffered: Vec<Vec<u8>> = self.buffer.drain(..).collect();
        for (i, raw) in buffered.iter().enumerate() {
            let status = self.apply_inner(book, raw, false);
            if matches!(
                status,
                FeedStatus::Gap
                    | FeedStatus::Malformed
                    | FeedStatus::ChecksumMismatch
                    | FeedStatus::Crossed
            ) {
                // Keep the failed delta and what follows it for the next snapshot.
                self.buffer.extend(buffered[i..].iter().cloned());
                return status;
            }
        }
        FeedStatus::Applied
    }

    /// Applies one message; never panics and never raises: bad input is `Malformed` and the feed
    /// goes stale.
    pub fn apply(&mut self, book: &mut Book, msg: &[u8]) -> FeedStatus {
        self.stats.messages += 1;
        self.apply_inner(book, msg, true)
    }

    fn apply_inner(&mut self, book: &mut Book, msg: &[u8], live: bool) -> FeedStatus {
        if matches!(self.venue, Venue::BinanceSpot | Venue::BinanceUsdm) {
            if let Some(status) = self.apply_binance_fast(book, msg, live) {
                return status;
            }
        }
        let parsed = match Self::parse(self.venue, msg) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                self.go_stale(format!("malformed message: {e}"));
                return FeedStatus::Malformed;
            }
        };
        match parsed {
            Msg::Ignore(seq) => {
                // Connection-sequenced venues (Coinbase, Bitfinex) number heartbeats too.
                if seq.present && self.state == SyncState::Synced {
                    match self.continuity(seq) {
                        Continuity::Apply => self.last_seq = Some(seq.last),
                        Continuity::Old => {}
                        Continuity::Gap => return self.gap(seq),
                    }
                }
                FeedStatus::Skipped
            }
            Msg::Snapshot {
                seq,
                bids,
                asks,
                checksum,
            } => {
                let status = self.load_snapshot(book, seq, &bids, &asks, checksum);
                if status == FeedStatus::Applied && self.venue.snapshot_out_of_band() {
                    return self.replay(book);
                }
                status
            }
            Msg::Delta {
                seq,
                bids,
                asks,
                checksum,
            } => {
                if let Some(status) = self.admit(seq, msg, live) {
                    return status;
                }
                if let Err(e) = apply_levels(book, &bids, &asks) {
                    self.stats.malformed += 1;
                    self.go_stale(format!("bad level: {e}"));
                    return FeedStatus::Malformed;
                }
                book.trim();
                if seq.present {
                    self.last_seq = Some(seq.last);
                }
                self.fresh = false;
                self.verify(book, checksum)
            }
            Msg::Checksum { seq, value } => {
                if self.state != SyncState::Synced {
                    return FeedStatus::Skipped;
                }
                if seq.present {
                    match self.continuity(seq) {
                        Continuity::Apply => self.last_seq = Some(seq.last),
                        Continuity::Old => return FeedStatus::Skipped,
                        Continuity::Gap => return self.gap(seq),
                    }
                }
                self.verify(book, Some(value))
            }
        }
    }

    /// Binance depth updates in one pass: scanned and parsed straight to mantissas (no text
    /// levels, no allocation). `None` when the message is anything else, or has anything the
    /// strict scanner does not take: the general path then handles (and reports) it.
    fn apply_binance_fast(
        &mut self,
        book: &mut Book,
        msg: &[u8],
        live: bool,
    ) -> Option<FeedStatus> {
        let body = binance::unwrap_combined(msg);
        let mut levels = std::mem::take(&mut self.scratch);
        levels.clear();
        let scales = (book.price_scale(), book.size_scale());
        let scanned = scan::binance_depth(body, scales, &mut levels);
        let status = scanned.map(|(first, last, prev)| {
            let seq = Seq {
                first,
                last,
                prev: prev.unwrap_or(first - 1),
                present: true,
            };
            self.apply_delta(book, seq, &levels, msg, live)
        });
        self.scratch = levels;
        status
    }

    /// Whether a delta may be applied now: `None` if so; otherwise what happened to it (buffered
    /// while awaiting a snapshot, skipped as old, or a gap that makes the feed stale).
    fn admit(&mut self, seq: Seq, msg: &[u8], live: bool) -> Option<FeedStatus> {
        if self.state != SyncState::Synced {
            if self.venue.snapshot_out_of_band() && live {
                if self.buffer.len() >= MAX_BUFFERED {
                    self.buffer.pop_front();
                    self.stats.buffer_overflows += 1;
                }
                self.buffer.push_back(msg.to_vec());
                return Some(FeedStatus::Buffered);
            }
            return Some(FeedStatus::Skipped);
        }
        match self.continuity(seq) {
            Continuity::Old => Some(FeedStatus::Skipped),
            Continuity::Gap => {
                let status = self.gap(seq);
                if self.venue.snapshot_out_of_band() && live {
                    self.buffer.push_back(msg.to_vec());
                }
                Some(status)
            }
            Continuity::Apply => None,
        }
    }

    /// The delta path on already parsed levels: admission, levels, verification.
    fn apply_delta(
        &mut self,
        book: &mut Book,
        seq: Seq,
        levels: &[(Side, i64, i64)],
        msg: &[u8],
        live: bool,
    ) -> FeedStatus {
        if let Some(status) = self.admit(seq, msg, live) {
            return status;
        }
        for &(side, p, s) in levels {
            book.set(side, p, s);
        }
        book.trim();
        self.last_seq = Some(seq.last);
        self.fresh = false;
        self.verify(book, None)
    }

    fn gap(&mut self, seq: Seq) -> FeedStatus {
        self.stats.gaps += 1;
        let last = self
            .last_seq
            .map_or_else(|| "none".to_owned(), |v| v.to_string());
        self.go_stale(format!(
            "sequence gap: last applied {last}, got first={} prev={} last={}",
            seq.first, seq.prev, seq.last
        ));
        FeedStatus::Gap
    }

    fn load_snapshot(
        &mut self,
        book: &mut Book,
        seq: Seq,
        bids: &Levels<'_>,
        asks: &Levels<'_>,
        checksum: Option<i64>,
    ) -> FeedStatus {
        book.clear();
        if let Err(e) = apply_levels(book, bids, asks) {
            book.clear();
            self.stats.malformed += 1;
            self.go_stale(format!("bad snapshot level: {e}"));
            return FeedStatus::Malformed;
        }
        book.trim();
        self.stats.snapshots += 1;
        self.state = SyncState::Synced;
        self.reason = None;
        self.fresh = true;
        self.last_seq = seq.present.then_some(seq.last);
        // Binance: drop buffered deltas the snapshot already covers is done by `continuity`.
        self.verify(book, checksum)
    }

    fn verify(&mut self, book: &Book, checksum: Option<i64>) -> FeedStatus {
        if let Some(expected) = checksum {
            let (ok, got) = match self.venue {
                Venue::Kraken => {
                    let got = book.checksum_kraken();
                    (i64::from(got) == expected, i64::from(got))
                }
                Venue::Bitfinex => {
                    let got = book.checksum_bitfinex();
                    (i64::from(got) == expected, i64::from(got))
                }
                // OKX documents its checksum as deprecated and fixed to 0: 0 means absent.
                Venue::Okx if expected != 0 => {
                    let got = book.checksum_okx();
                    (i64::from(got) == expected, i64::from(got))
                }
                _ => (true, expected),
            };
            if !ok {
                self.stats.checksum_mismatches += 1;
                self.go_stale(format!("checksum mismatch: venue {expected}, book {got}"));
                return FeedStatus::ChecksumMismatch;
            }
        }
        if book.is_crossed() {
            self.stats.crossed += 1;
            self.go_stale("crossed book".to_owned());
            return FeedStatus::Crossed;
        }
        self.stats.applied += 1;
        FeedStatus::Applied
    }

    /// The venue's continuity rule for the next message.
    fn continuity(&self, seq: Seq) -> Continuity {
        let Some(last) = self.last_seq else {
            return Continuity::Apply;
        };
        if !seq.present {
            return Continuity::Apply;
        }
        match self.venue {
            // https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
            // "How to manage a local order book correctly": drop u <= lastUpdateId; the first
            // event has U <= lastUpdateId+1 <= u; then U == previous u + 1.
            Venue::BinanceSpot => {
                if seq.last <= last {
                    Continuity::Old
                } else if self.fresh {
                    if seq.first <= last + 1 {
                        Continuity::Apply
                    } else {
                        Continuity::Gap
                    }
                } else if seq.first == last + 1 {
                    Continuity::Apply
                } else {
                    Continuity::Gap
                }
            }
            // .../usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly:
            // drop u < lastUpdateId; first: U <= lastUpdateId <= u; then pu == previous u.
            Venue::BinanceUsdm => {
                if seq.last < last || (!self.fresh && seq.last <= last) {
                    Continuity::Old
                } else if self.fresh {
                    if seq.first <= last {
                        Continuity::Apply
                    } else {
                        Continuity::Gap
                    }
                } else if seq.prev == last {
                    Continuity::Apply
                } else {
                    Continuity::Gap
                }
            }
            // OKX: prevSeqId must equal the last seqId (a reset has seqId < prevSeqId but still
            // chains; a no-change update has seqId == prevSeqId == last).
            Venue::Okx => {
                if seq.prev == last {
                    Continuity::Apply
                } else if seq.last <= last {
                    Continuity::Old
                } else {
                    Continuity::Gap
                }
            }
            // HTX: drop seqNum <= snapshot seqNum; then prevSeqNum == previous seqNum (the first
            // one after the `req` image: prevSeqNum == its seqNum).
            Venue::Htx => {
                if seq.last <= last {
                    Continuity::Old
                } else if seq.prev == last {
                    Continuity::Apply
                } else {
                    Continuity::Gap
                }
            }
            // Connection-wide counters (Coinbase `sequence_num`, Bitfinex `SEQ_ALL`) number every
            // message of the connection, other products' included, so gaps are the session's to
            // detect (it sees them all); a feed only drops what it has already seen.
            Venue::Coinbase | Venue::Bitfinex => {
                if seq.last <= last {
                    Continuity::Old
                } else {
                    Continuity::Apply
                }
            }
            Venue::Kraken => Continuity::Apply,
        }
    }
}

fn apply_levels(book: &mut Book, bids: &Levels<'_>, asks: &Levels<'_>) -> Result<(), BookError> {
    // Parse every level before changing the book: a bad level must not leave it half-updated.
    // Most messages are small: parse into a stack buffer, spilling to the heap only when needed.
    const STACK: usize = 64;
    let total = bids.len() + asks.len();
    let mut stack = [(Side::Bid, 0_i64, 0_i64); STACK];
    let mut heap = Vec::new();
    let parsed: &mut [(Side, i64, i64)] = if total <= STACK {
        &mut stack[..total]
    } else {
        heap.resize(total, (Side::Bid, 0, 0));
        &mut heap
    };
    let mut i = 0;
    for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
        for (p, s) in levels {
            let (p, s) = book.parse_level(p, s)?;
            parsed[i] = (side, p, s);
            i += 1;
        }
    }
    for &(side, p, s) in &*parsed {
        book.set(side, p, s);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
