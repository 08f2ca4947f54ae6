//! `Book` and `BookFeed`: the engine's order book and venue feed state machine. Levels cross the
//! boundary as text (str/bytes/Decimal/Fixed) in and integer mantissas out; no per-level Python
//! objects on the feed path (`BookFeed.apply` takes the message bytes and returns a status int).

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use engine::book::{Book, Side};
use engine::feeds::{BookFeed, FeedStatus, SyncState, Venue};
use engine::reader::{lock, FeedSink};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::bytes::{as_bytes, push_param_value};
use crate::errors::book_err;
use crate::ws::{message_tuple, ws_err_with, PyWsDecoder};
use engine::ws::Message;

/// An L2 book at fixed price and size precision. The book sits behind a mutex shared with a
/// reader thread's feed (`Reader(feed=...)`), which applies messages without the GIL.
#[pyclass(name = "Book", module = "venuegate._native")]
pub struct PyBook {
    pub inner: Arc<Mutex<Book>>,
}

fn parse_levels(
    py: Python<'_>,
    book: &Book,
    side: Side,
    levels: &Bound<'_, PyAny>,
    out: &mut Vec<(Side, i64, i64)>,
) -> PyResult<()> {
    let mut price_text = Vec::with_capacity(24);
    let mut qty_text = Vec::with_capacity(24);
    for item in levels.try_iter()? {
        let item = item?;
        let (p, s): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        price_text.clear();
        qty_text.clear();
        push_number_text(&mut price_text, &p)?;
        push_number_text(&mut qty_text, &s)?;
        let (p, s) = book
            .parse_level(&price_text, &qty_text)
            .map_err(|e| book_err(py, &e))?;
        out.push((side, p, s));
    }
    Ok(())
}

/// The text of a level number: bytes as they came off the wire, else as a request value.
fn push_number_text(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(b) = value.cast::<PyBytes>() {
        out.extend_from_slice(b.as_bytes());
        Ok(())
    } else {
        push_param_value(out, value)
    }
}

/// Levels as `(price, size)` mantissas, best first.
type Levels = Vec<(i64, i64)>;

fn level_tuple(l: Option<engine::book::Level>) -> Option<(i64, i64)> {
    l.map(|l| (l.price, l.size))
}

impl PyBook {
    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.inner)
    }

    /// Parses both sides first (a bad level changes nothing), then replaces or updates.
    fn apply(
        &mut self,
        py: Python<'_>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        replace: bool,
    ) -> PyResult<()> {
        let mut ops = Vec::new();
        // Parsed against a copy of the scales: no lock is held while Python code runs.
        let (price_scale, size_scale) = {
            let book = self.book();
            (book.price_scale(), book.size_scale())
        };
        let scales = Book::new(price_scale, size_scale, None);
        parse_levels(py, &scales, Side::Bid, bids, &mut ops)?;
        parse_levels(py, &scales, Side::Ask, asks, &mut ops)?;
        let mut book = self.book();
        if replace {
            book.clear();
        }
        for (side, p, s) in ops {
            book.set(side, p, s);
        }
        book.trim();
        Ok(())
    }
}

#[pymethods]
impl PyBook {
    #[new]
    #[pyo3(signature = (price_precision, size_precision, max_depth = None))]
    fn py_new(price_precision: u8, size_precision: u8, max_depth: Option<usize>) -> PyResult<Self> {
        if price_precision > engine::fixed::MAX_SCALE || size_precision > engine::fixed::MAX_SCALE {
            return Err(PyValueError::new_err(format!(
                "precision must be 0..={}",
                engine::fixed::MAX_SCALE
            )));
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Book::new(
                price_precision,
                size_precision,
                max_depth,
            ))),
        })
    }

    /// Replaces the book with these levels (parsed first: a bad level leaves the book unchanged).
    #[pyo3(name = "apply_snapshot")]
    fn py_apply_snapshot(
        &mut self,
        py: Python<'_>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.apply(py, bids, asks, true)
    }

    /// Applies changes (absolute sizes; 0 deletes), all or nothing.
    #[pyo3(name = "apply_deltas")]
    fn py_apply_deltas(
        &mut self,
        py: Python<'_>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.apply(py, bids, asks, false)
    }

    /// `(bid_price, bid_size, ask_price, ask_size)` mantissas in one flat tuple; None for the
    /// fields of an empty side.
    #[pyo3(name = "top_of_book")]
    fn py_top_of_book(&self) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
        let book = self.book();
        let b = book.best_bid();
        let a = book.best_ask();
        (
            b.map(|l| l.price),
            b.map(|l| l.size),
            a.map(|l| l.price),
            a.map(|l| l.size),
        )
    }

    /// Best bid `(price, size)` mantissas, or None.
    #[pyo3(name = "best_bid")]
    fn py_best_bid(&self) -> Option<(i64, i64)> {
        level_tuple(self.book().best_bid())
    }

    /// Best ask `(price, size)` mantissas, or None.
    #[pyo3(name = "best_ask")]
    fn py_best_ask(&self) -> Option<(i64, i64)> {
        level_tuple(self.book().best_ask())
    }

    /// Top `n` levels per side as `(bids, asks)` lists of `(price, size)` mantissas, best first.
    #[pyo3(name = "top")]
    fn py_top<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
        // Copied out first: no Python allocation (or GC) while the reader thread may wait.
        let (bids, asks): (Levels, Levels) = {
            let book = self.book();
            let side = |s: Side| book.levels(s).take(n).map(|l| (l.price, l.size)).collect();
            (side(Side::Bid), side(Side::Ask))
        };
        PyTuple::new(py, [PyList::new(py, bids)?, PyList::new(py, asks)?])
    }

    /// Top `n` levels packed as little-endian i64: `n` rows of `[bid_px, bid_sz, ask_px, ask_sz]`
    /// (zeros past a side's end), for `numpy.frombuffer(b, "<i8").reshape(-1, 4)`.
    #[pyo3(name = "depth_packed")]
    fn py_depth_packed<'py>(&self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let mut out = vec![0_u8; n * 32];
        let book = self.book();
        for (i, l) in book.levels(Side::Bid).take(n).enumerate() {
            out[i * 32..i * 32 + 8].copy_from_slice(&l.price.to_le_bytes());
            out[i * 32 + 8..i * 32 + 16].copy_from_slice(&l.size.to_le_bytes());
        }
        for (i, l) in book.levels(Side::Ask).take(n).enumerate() {
            out[i * 32 + 16..i * 32 + 24].copy_from_slice(&l.price.to_le_bytes());
            out[i * 32 + 24..i * 32 + 32].copy_from_slice(&l.size.to_le_bytes());
        }
        PyBytes::new(py, &out)
    }

    /// The venue checksum of the current book (`okx`, `kraken`, `bitfinex`).
    #[pyo3(name = "checksum")]
    fn py_checksum(&self, venue: &str) -> PyResult<i64> {
        match venue {
            "okx" => Ok(i64::from(self.book().checksum_okx())),
            "kraken" => Ok(i64::from(self.book().checksum_kraken())),
            "bitfinex" => Ok(i64::from(self.book().checksum_bitfinex())),
            _ => Err(PyValueError::new_err(format!(
                "no book checksum for venue {venue:?}: okx, kraken or bitfinex"
            ))),
        }
    }

    /// Levels on each side: `(bids, asks)`.
    #[pyo3(name = "depth")]
    fn py_depth(&self) -> (usize, usize) {
        let book = self.book();
        (book.len(Side::Bid), book.len(Side::Ask))
    }

    /// True when best bid >= best ask.
    #[pyo3(name = "is_crossed")]
    fn py_is_crossed(&self) -> bool {
        self.book().is_crossed()
    }

    /// Removes every level.
    #[pyo3(name = "clear")]
    fn py_clear(&mut self) {
        self.book().clear();
    }

    /// Digits after the point in prices.
    #[getter]
    fn price_precision(&self) -> u8 {
        self.book().price_scale()
    }

    /// Digits after the point in sizes.
    #[getter]
    fn size_precision(&self) -> u8 {
        self.book().size_scale()
    }

    /// The depth limit, if any.
    #[getter]
    fn max_depth(&self) -> Option<usize> {
        self.book().max_depth()
    }
}

/// A venue book feed bound to a `Book`: `apply(message_bytes) -> status`.
#[pyclass(name = "BookFeed", module = "venuegate._native")]
pub struct PyBookFeed {
    feed: Arc<Mutex<BookFeed>>,
    book: Py<PyBook>,
    shared_book: Arc<Mutex<Book>>,
}

impl PyBookFeed {
    /// The feed and its book, as a reader thread shares them (lock order: feed, then book).
    pub fn sink(&self) -> FeedSink {
        FeedSink {
            feed: Arc::clone(&self.feed),
            book: Arc::clone(&self.shared_book),
        }
    }

    fn feed(&self) -> MutexGuard<'_, BookFeed> {
        lock(&self.feed)
    }
}

fn status_code(s: FeedStatus) -> u8 {
    s as u8
}

/// The status that matters more: any failure over success, success over skipped.
fn worse(a: FeedStatus, b: FeedStatus) -> FeedStatus {
    let rank = |s: FeedStatus| match s {
        FeedStatus::Skipped => 0,
        FeedStatus::Buffered => 1,
        FeedStatus::Applied => 2,
        other => 3 + status_code(other),
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

#[pymethods]
impl PyBookFeed {
    #[new]
    fn py_new(py: Python<'_>, venue: &str, book: Py<PyBook>) -> PyResult<Self> {
        let venue = Venue::from_str(venue).map_err(PyValueError::new_err)?;
        let shared_book = Arc::clone(&book.borrow(py).inner);
        Ok(Self {
            feed: Arc::new(Mutex::new(BookFeed::new(venue))),
            book,
            shared_book,
        })
    }

    /// Applies one message (bytes as received, JSON); returns a `FeedStatus` value. Never raises
    /// on venue input.
    #[pyo3(name = "apply")]
    fn py_apply(&mut self, data: &Bound<'_, PyAny>) -> PyResult<u8> {
        let data = as_bytes(data)?;
        let mut feed = self.feed();
        let mut book = lock(&self.shared_book);
        Ok(status_code(feed.apply(&mut book, &data)))
    }

    /// Applies a snapshot (REST body, `req` reply or in-band snapshot message) and replays
    /// buffered deltas; returns a `FeedStatus` value.
    #[pyo3(name = "apply_snapshot")]
    fn py_apply_snapshot(&mut self, data: &Bound<'_, PyAny>) -> PyResult<u8> {
        let data = as_bytes(data)?;
        let mut feed = self.feed();
        let mut book = lock(&self.shared_book);
        Ok(status_code(feed.apply_snapshot(&mut book, &data)))
    }

    /// The fused path: one socket read → WebSocket frames → decode → book, in one call.
    ///
    /// Every text/binary message the read completes is applied here; the result is
    /// `(messages, worst_status, others)` where `others` lists the control frames (ping, pong,
    /// close) as `(opcode, payload)` for the transport to answer. A WebSocket violation raises
    /// `ProtocolError` (with `close_code`), after applying what preceded it.
    #[pyo3(name = "apply_ws")]
    fn py_apply_ws<'py>(
        &mut self,
        py: Python<'py>,
        decoder: &Bound<'py, PyWsDecoder>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<(usize, u8, Option<Bound<'py, PyList>>)> {
        let mut decoder = decoder.borrow_mut();
        decoder.inner.feed(&as_bytes(data)?);
        let mut feed = lock(&self.feed);
        let mut book = lock(&self.shared_book);
        // Control frames are rare: the list is only made when one arrives.
        let mut others: Option<Bound<'py, PyList>> = None;
        let (mut count, mut worst) = (0_usize, FeedStatus::Skipped);
        loop {
            match decoder.inner.next_message() {
                Ok(Some(m)) => match m {
                    Message::Text(t) => {
                        count += 1;
                        worst = worse(worst, feed.apply(&mut book, t.as_bytes()));
                    }
                    Message::Binary(b) => {
                        count += 1;
                        worst = worse(worst, feed.apply(&mut book, b));
                    }
                    other => others
                        .get_or_insert_with(|| PyList::empty(py))
                        .append(message_tuple(py, &other)?)?,
                },
                Ok(None) => return Ok((count, status_code(worst), others)),
                Err(e) => {
                    let others = others.unwrap_or_else(|| PyList::empty(py));
                    return Err(ws_err_with(py, &e, others));
                }
            }
        }
    }

    /// Marks the feed stale (e.g. after a disconnect) so the next snapshot resyncs it.
    #[pyo3(name = "invalidate")]
    fn py_invalidate(&mut self, reason: &str) {
        self.feed().invalidate(reason);
    }

    /// The book this feed maintains.
    #[getter]
    fn book(&self, py: Python<'_>) -> Py<PyBook> {
        self.book.clone_ref(py)
    }

    /// `awaiting_snapshot`, `synced` or `stale`.
    #[getter]
    fn state(&self) -> &'static str {
        match self.feed().state() {
            SyncState::AwaitingSnapshot => "awaiting_snapshot",
            SyncState::Synced => "synced",
            SyncState::Stale => "stale",
        }
    }

    /// Why the feed last went stale.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.feed().reason().map(str::to_owned)
    }

    /// The last applied venue sequence value.
    #[getter]
    fn last_seq(&self) -> Option<i64> {
        self.feed().last_seq()
    }

    /// Deltas buffered while awaiting a snapshot.
    #[getter]
    fn buffered(&self) -> usize {
        self.feed().buffered()
    }

    /// True when the snapshot must be fetched separately (Binance REST, HTX `req`).
    #[getter]
    fn snapshot_out_of_band(&self) -> bool {
        self.feed().venue().snapshot_out_of_band()
    }

    /// Counters as a dict.
    #[pyo3(name = "stats")]
    fn py_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.feed().stats();
        let d = PyDict::new(py);
        d.set_item("messages", s.messages)?;
        d.set_item("applied", s.applied)?;
        d.set_item("snapshots", s.snapshots)?;
        d.set_item("gaps", s.gaps)?;
        d.set_item("checksum_mismatches", s.checksum_mismatches)?;
        d.set_item("crossed", s.crossed)?;
        d.set_item("malformed", s.malformed)?;
        d.set_item("buffer_overflows", s.buffer_overflows)?;
        Ok(d)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBook>()?;
    m.add_class::<PyBookFeed>()?;
    Ok(())
}
