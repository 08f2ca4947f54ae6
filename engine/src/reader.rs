//! The market-data reader thread: one WebSocket connection read by a dedicated OS thread with
//! blocking I/O, so that no event loop sits in the per-message path.
//!
//! [`Reader::start`] spawns the thread, which connects (TCP with `TCP_NODELAY`; TLS for `wss://`
//! through rustls on ring, verifying against Mozilla's roots from `webpki-roots` plus any roots
//! the caller adds), performs the opening handshake ([`crate::ws::client_request`],
//! [`crate::ws::parse_response`]: `Sec-WebSocket-Accept` verified), then loops: blocking read →
//! [`FrameDecoder`] → for every data message either the venue feed's apply (the same
//! [`BookFeed::apply`] the fused path uses, under the mutexes shared with the book views) or an
//! [`Event::Message`] for the owner. Pings are answered by the thread; text queued by the owner
//! ([`Reader::send_text`]) is written from the caller's thread under a writer lock.
//!
//! The owner is told about events only (open, a message it must handle, a feed that needs a
//! resync or became synced, close, error) through a queue and one byte on a socket pair
//! ([`Reader::notify_stream`]) that an event loop can watch. Receive → applied latency is
//! recorded per message in a lock-free log-linear histogram ([`Latency`]).
//!
//! A connection with a feed can start *unfused* ([`ReaderConfig::fused`] false): its data
//! messages are then queued as [`Event::Message`] like a connection without a feed, until the
//! owner calls [`Reader::enable_fused`], which applies, in order, every message still queued and
//! hands the rest of the stream to the thread, atomically with respect to it (both decide under
//! the feed's mutex). [`Reader::disable_fused`] goes back (the messages are queued again). A
//! session rotating connections uses this: the new connection's messages go to the owner until
//! it has bridged, then the thread applies them.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom as _, SystemRandom};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use thiserror::Error;

use crate::book::Book;
use crate::feeds::{BookFeed, FeedStatus, SyncState};
use crate::ws::{
    client_key, client_request, encode_close, encode_frame, parse_response, DecoderConfig,
    FrameDecoder, Message, Opcode, Role, WsError, MAX_HANDSHAKE,
};

#[cfg(test)]
mod tests;

/// Why the reader could not connect or send.
#[derive(Debug, Error)]
pub enum ReaderError {
    /// Not a `ws://` or `wss://` URL with a host.
    #[error("not a ws:// or wss:// URL: {0}")]
    Url(String),
    /// A socket error.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// TLS setup or handshake failed (certificate verification included).
    #[error("tls: {0}")]
    Tls(String),
    /// The WebSocket handshake or a frame was refused.
    #[error("websocket: {0}")]
    Ws(#[from] WsError),
    /// The connection is not open (not yet, or no more).
    #[error("connection not open")]
    NotOpen,
}

impl From<rustls::Error> for ReaderError {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e.to_string())
    }
}

/// What to connect to and how.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// `ws://host[:port]/path?query` or `wss://...`.
    pub url: String,
    /// Extra handshake headers.
    pub headers: Vec<(String, String)>,
    /// PEM certificates trusted in addition to Mozilla's roots (a private CA, a test's own).
    pub extra_roots_pem: Option<Vec<u8>>,
    /// The largest message accepted (bigger closes with 1009).
    pub max_message: usize,
    /// Offer permessage-deflate.
    pub permessage_deflate: bool,
    /// TCP + TLS + handshake deadline.
    pub open_timeout: Duration,
    /// The owner's monotonic clock (ns) now: stamps are `clock_base_ns` + time since `start`.
    pub clock_base_ns: u64,
    /// Read at most once per this interval (zero: read as soon as data arrives). Messages
    /// that arrive meanwhile are taken by one read: fewer wake-ups per message, at the cost of
    /// up to this much added latency. Off by default.
    pub coalesce: Duration,
    /// With a feed: apply data messages on the thread from the start (the default). False
    /// queues them as [`Event::Message`] until [`Reader::enable_fused`] (the per-message hook
    /// is not called for them: the owner handles them).
    pub fused: bool,
}

impl ReaderConfig {
    /// A configuration with the codec's default limits and a 10 s open timeout.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            headers: Vec::new(),
            extra_roots_pem: None,
            max_message: crate::ws::DEFAULT_MAX_MESSAGE,
            permessage_deflate: false,
            open_timeout: Duration::from_secs(10),
            clock_base_ns: 0,
            coalesce: Duration::ZERO,
            fused: true,
        }
    }
}

/// What the owner is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed.
    Open,
    /// A data message not applied here (no feed, a feed not fused yet, or no hook took it).
    Message {
        /// 1 text, 2 binary.
        opcode: u8,
        /// The payload.
        payload: Vec<u8>,
        /// When its read arrived (owner's clock, ns).
        recv_ns: u64,
    },
    /// The feed needs a resync (the status that said so) or became synced (`Applied`).
    Status {
        /// The feed's status.
        status: FeedStatus,
        /// When the read that caused it arrived.
        recv_ns: u64,
    },
    /// Something failed (connect, TLS, handshake, protocol violation); `Closed` follows.
    Error(String),
    /// The connection ended: the close code (1006 without a close frame) and reason. Last event.
    Closed {
        /// The peer's close code, ours on a violation, 1006 when the socket just ended.
        code: u16,
        /// The reason.
        reason: String,
    },
}

/// One data message as the per-message hook sees it.
#[derive(Debug)]
pub struct Delivered<'a> {
    /// The payload.
    pub payload: &'a [u8],
    /// 1 text, 2 binary.
    pub opcode: u8,
    /// When its read arrived.
    pub recv_ns: u64,
    /// When the feed finished applying it (`recv_ns` without a feed).
    pub applied_ns: u64,
    /// What the feed made of it (None without a feed).
    pub status: Option<FeedStatus>,
}

/// A per-message hook, called on the reader thread (off by default: the owner's own code runs
/// per message then).
pub type Hook = Box<dyn FnMut(&Delivered<'_>) + Send>;

/// The feed the thread applies data messages to, shared with the owner's views (lock order:
/// feed, then book).
#[derive(Clone)]
pub struct FeedSink {
    /// The venue feed state machine.
    pub feed: Arc<Mutex<BookFeed>>,
    /// Its book.
    pub book: Arc<Mutex<Book>>,
}

/// Locks a mutex, recovering the data if a thread panicked while holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sub-buckets per power of two: values are kept within 1/32 (about 3 %).
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Values below this have a bucket each.
const LINEAR: usize = 2 * SUB;
const BUCKETS: usize = LINEAR + (64 - SUB_BITS as usize - 1) * SUB;

/// A lock-free log-linear latency histogram (ns): exact below 64 ns, within 1/32 above.
#[derive(Debug)]
pub struct Latency {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    max: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Latency {
    fn index(v: u64) -> usize {
        let small = usize::try_from(v).unwrap_or(usize::MAX);
        if small < LINEAR {
            return small;
        }
        let e = v.ilog2(); // >= SUB_BITS + 1
        let sub = usize::try_from(v >> (e - SUB_BITS)).unwrap_or(0) & (SUB - 1);
        LINEAR + (e - SUB_BITS - 1) as usize * SUB + sub
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        let linear = LINEAR as u64;
        if i < linear {
            return i;
        }
        let k = i - linear;
        let width_bits = k / SUB as u64; // e - SUB_BITS - 1
        let sub = k % SUB as u64 + SUB as u64;
        let lo = sub << (width_bits + 1);
        lo + (1 << width_bits)
    }

    /// Records one value.
    pub fn record(&self, ns: u64) {
        if let Some(b) = self.buckets.get(Self::index(ns)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(ns, Ordering::Relaxed);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The largest value recorded.
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// The value at quantile `q` (0..=1), None when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::value(i).min(self.max()));
            }
        }
        Some(self.max())
    }

    /// Forgets everything recorded.
    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }
}

/// Counters the owner can read at any time.
#[derive(Debug, Default)]
pub struct Counters {
    /// Data messages received.
    pub messages: AtomicU64,
    /// Data messages applied to the feed (by the thread, or by [`Reader::enable_fused`]).
    pub applied: AtomicU64,
    /// Bytes read from the socket (after TLS).
    pub bytes: AtomicU64,
    /// Socket reads that returned data.
    pub reads: AtomicU64,
    /// When the last read arrived (owner's clock, ns; 0 before any).
    pub last_rx_ns: AtomicU64,
}

/// The write half: the socket (a clone) and, for TLS, the session shared with the read half.
struct WriteSide {
    sock: TcpStream,
    tls: Option<Arc<Mutex<ClientConnection>>>,
}

impl WriteSide {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match &self.tls {
            None => self.sock.write_all(data),
            Some(tls) => {
                let mut conn = lock(tls);
                conn.writer().write_all(data)?;
                while conn.wants_write() {
                    conn.write_tls(&mut self.sock)?;
                }
                Ok(())
            }
        }
    }
}

/// The read half: raw reads without any lock held; TLS records are decrypted under the session
/// lock afterwards.
struct ReadSide {
    sock: TcpStream,
    tls: Option<Arc<Mutex<ClientConnection>>>,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

impl ReadSide {
    /// One blocking read; the plaintext lands in `self.plain`. Ok(false) at end of stream.
    fn read(&mut self) -> Result<bool, ReaderError> {
        self.plain.clear();
        let n = loop {
            match self.sock.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Ok(false);
        }
        let Some(tls) = &self.tls else {
            self.plain.extend_from_slice(&self.raw[..n]);
            return Ok(true);
        };
        let mut conn = lock(tls);
        let mut rest = &self.raw[..n];
        let mut open = true;
        while !rest.is_empty() {
            conn.read_tls(&mut rest)?;
            conn.process_new_packets()?;
            let mut chunk = [0_u8; 16 * 1024];
            loop {
                match conn.reader().read(&mut chunk) {
                    Ok(0) => {
                        open = false; // close_notify
                        break;
                    }
                    Ok(k) => self.plain.extend_from_slice(&chunk[..k]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        while conn.wants_write() {
            conn.write_tls(&mut self.sock)?;
        }
        Ok(open || !self.plain.is_empty())
    }
}

struct Shared {
    events: Mutex<VecDeque<Event>>,
    notify: UnixStream,
    writer: Mutex<Option<WriteSide>>,
    /// A handle to shut the socket down from any thread (abort).
    shutdown: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
    close_sent: AtomicBool,
    open: AtomicBool,
    finished: AtomicBool,
    /// With a feed: the thread applies data messages (else it queues them). Read and written
    /// only under the feed's mutex, so the thread's "apply or queue" and the owner's switch
    /// are serialized.
    fused: AtomicBool,
    counters: Counters,
    latency: Latency,
    rng: SystemRandom,
    base: Instant,
    base_ns: u64,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.base_ns
            .saturating_add(u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn push(&self, event: Event) {
        lock(&self.events).push_back(event);
    }

    /// One byte tells the owner to drain the queue; a full pipe already says so.
    fn notify(&self) {
        let _ = (&self.notify).write(&[1]);
    }

    fn mask(&self) -> [u8; 4] {
        let mut m = [0_u8; 4];
        // SystemRandom failing means the OS has no randomness: any mask is still valid framing.
        let _ = self.rng.fill(&mut m);
        m
    }

    fn send_frame(&self, opcode: Opcode, payload: &[u8]) -> Result<(), ReaderError> {
        let mut frame = Vec::with_capacity(payload.len() + 14);
        encode_frame(&mut frame, opcode, payload, true, Some(self.mask()))?;
        self.write(&frame)
    }

    fn send_close(&self, code: u16, reason: &str) -> Result<(), ReaderError> {
        if self.close_sent.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut frame = Vec::with_capacity(32);
        let mut cut = reason.len().min(120);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        encode_close(&mut frame, code, &reason[..cut], Some(self.mask()))?;
        self.write(&frame)
    }

    fn write(&self, frame: &[u8]) -> Result<(), ReaderError> {
        let mut w = lock(&self.writer);
        let w = w.as_mut().ok_or(ReaderError::NotOpen)?;
        w.write_all(frame)?;
        Ok(())
    }

    fn shutdown(&self) {
        if let Some(s) = lock(&self.shutdown).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Applies one data message to the locked feed and book: counts it and, when asked, records
    /// its receive → applied latency.
    /// Returns the status, when it was applied, and the event to report (a status that needs a
    /// resync, or the feed becoming synced), if any.
    fn apply(
        &self,
        feed: &mut BookFeed,
        book: &mut Book,
        payload: &[u8],
        recv_ns: u64,
        record_latency: bool,
    ) -> (FeedStatus, u64, Option<Event>) {
        let was_synced = feed.state() == SyncState::Synced;
        let status = feed.apply(book, payload);
        let applied_ns = self.now_ns();
        self.counters.applied.fetch_add(1, Ordering::Relaxed);
        if record_latency {
            self.latency.record(applied_ns.saturating_sub(recv_ns));
        }
        let report = if status as u8 >= FeedStatus::Gap as u8 {
            true
        } else {
            status == FeedStatus::Applied && !was_synced && feed.state() == SyncState::Synced
        };
        let event = report.then_some(Event::Status { status, recv_ns });
        (status, applied_ns, event)
    }
}

/// A connection read by its own thread (see module docs). Dropping it aborts the connection.
pub struct Reader {
    shared: Arc<Shared>,
    sink: Option<FeedSink>,
    notify_rx: UnixStream,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Reader {
    /// Starts the thread; it connects and then reads until the connection ends.
    ///
    /// # Errors
    /// [`ReaderError::Url`] for a bad URL, [`ReaderError::Io`] when the notification pair or
    /// the thread cannot be made. Connection failures arrive as events.
    pub fn start(
        config: ReaderConfig,
        sink: Option<FeedSink>,
        hook: Option<Hook>,
    ) -> Result<Self, ReaderError> {
        let target = Target::parse(&config.url)?;
        let (notify_rx, notify_tx) = UnixStream::pair()?;
        notify_rx.set_nonblocking(true)?;
        notify_tx.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            events: Mutex::new(VecDeque::new()),
            notify: notify_tx,
            writer: Mutex::new(None),
            shutdown: Mutex::new(None),
            stop: AtomicBool::new(false),
            close_sent: AtomicBool::new(false),
            open: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            fused: AtomicBool::new(config.fused && sink.is_some()),
            counters: Counters::default(),
            latency: Latency::default(),
            rng: SystemRandom::new(),
            base: Instant::now(),
            base_ns: config.clock_base_ns,
        });
        let inner = Arc::clone(&shared);
        let owner_sink = sink.clone();
        let thread = std::thread::Builder::new()
            .name("venuegate-reader".to_owned())
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    run(&inner, &config, &target, sink.as_ref(), hook);
                }));
                if outcome.is_err() {
                    inner.push(Event::Error("reader thread panicked".to_owned()));
                    inner.push(Event::Closed {
                        code: 1011,
                        reason: "internal error".to_owned(),
                    });
                }
                inner.open.store(false, Ordering::SeqCst);
                inner.finished.store(true, Ordering::SeqCst);
                inner.shutdown();
                inner.notify();
            })?;
        Ok(Self {
            shared,
            sink: owner_sink,
            notify_rx,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The socket whose readability means "events are queued" (watch its fd).
    pub fn notify_stream(&self) -> &UnixStream {
        &self.notify_rx
    }

    /// Takes every queued event (and the notification bytes).
    pub fn drain(&self) -> Vec<Event> {
        let mut sink = [0_u8; 256];
        while matches!((&self.notify_rx).read(&mut sink), Ok(n) if n > 0) {}
        lock(&self.shared.events).drain(..).collect()
    }

    /// Hands the feed to the thread: applies, in order, every [`Event::Message`] still queued
    /// (not yet drained by the owner) to the feed, queueing the status events those applies
    /// produce where the messages were, then lets the thread apply every later message itself.
    /// Atomic with respect to the thread: both decide under the feed's mutex (lock order feed,
    /// book, events, as the thread's). Returns the messages applied here; 0 without a feed or
    /// when already fused.
    ///
    /// The owner must have handled every message it drained before calling this (the feed sees
    /// the stream in order only then). The per-message hook is not called for the messages
    /// applied here (they are the owner's).
    pub fn enable_fused(&self) -> usize {
        let Some(sink) = &self.sink else {
            return 0;
        };
        let shared = &*self.shared;
        let mut feed = lock(&sink.feed);
        let mut book = lock(&sink.book);
        if shared.fused.load(Ordering::SeqCst) {
            return 0;
        }
        let mut events = lock(&shared.events);
        let queued = std::mem::take(&mut *events);
        let mut applied = 0;
        for event in queued {
            match event {
                Event::Message {
                    payload, recv_ns, ..
                } => {
                    applied += 1;
                    // Not recorded: these waited for the bridge, not for the thread.
                    let (_, _, report) =
                        shared.apply(&mut feed, &mut book, &payload, recv_ns, false);
                    events.extend(report);
                }
                other => events.push_back(other),
            }
        }
        shared.fused.store(true, Ordering::SeqCst);
        let pending = !events.is_empty();
        drop(events);
        drop(book);
        drop(feed);
        if pending {
            shared.notify();
        }
        applied
    }

    /// Takes the feed back from the thread: later data messages are queued as
    /// [`Event::Message`] again (a connection being retired stops touching the feed). Returns
    /// whether it was fused.
    pub fn disable_fused(&self) -> bool {
        let Some(sink) = &self.sink else {
            return false;
        };
        let _feed = lock(&sink.feed);
        self.shared.fused.swap(false, Ordering::SeqCst)
    }

    /// True while the thread applies data messages to the feed.
    pub fn is_fused(&self) -> bool {
        self.shared.fused.load(Ordering::SeqCst)
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// [`ReaderError::NotOpen`] before the handshake or after close; socket errors.
    pub fn send_text(&self, text: &[u8]) -> Result<(), ReaderError> {
        if self.shared.close_sent.load(Ordering::SeqCst) {
            return Err(ReaderError::NotOpen);
        }
        self.shared.send_frame(Opcode::Text, text)
    }

    /// Sends a ping.
    ///
    /// # Errors
    /// As [`Reader::send_text`]; a payload over 125 bytes is refused.
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), ReaderError> {
        self.shared.send_frame(Opcode::Ping, payload)
    }

    /// Starts the close handshake (the thread finishes it when the peer answers).
    ///
    /// # Errors
    /// As [`Reader::send_text`]; an invalid code is refused.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), ReaderError> {
        self.shared.send_close(code, reason)
    }

    /// Drops the connection at once (the thread then ends with `Closed` 1006).
    pub fn abort(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.shutdown();
    }

    /// Waits for the thread to end (after a close or an abort).
    pub fn join(&self) {
        let thread = lock(&self.thread).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// True between the handshake and the end of the connection.
    pub fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::SeqCst) && !self.shared.close_sent.load(Ordering::SeqCst)
    }

    /// True once the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::SeqCst)
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Receive → applied latency of the messages applied here.
    pub fn latency(&self) -> &Latency {
        &self.shared.latency
    }

    /// The owner's clock now, as the thread stamps it.
    pub fn now_ns(&self) -> u64 {
        self.shared.now_ns()
    }
}

impl Drop for Reader {
    /// Aborts without joining: the thread ends on its own (it owns what it uses). Joining here
    /// could deadlock a caller that holds a lock the thread is waiting for.
    fn drop(&mut self) {
        self.abort();
    }
}

/// A parsed `ws://` / `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    secure: bool,
    host: String,
    port: u16,
    /// The Host header: `host` or `host:port` as written.
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, ReaderError> {
        let bad = || ReaderError::Url(url.to_owned());
        let (secure, rest) = if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(bad)?;
            let port = v6[close + 1..].strip_prefix(':');
            (&v6[..close], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if secure => 443,
            None => 80,
        };
        let path = if tail.starts_with('?') {
            format!("/{tail}")
        } else if tail.is_empty() {
            "/".to_owned()
        } else {
            tail.to_owned()
        };
        Ok(Self {
            secure,
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }
}

fn tls_config(extra_pem: Option<&[u8]>) -> Result<ClientConfig, ReaderError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ReaderError::Tls(format!("bad PEM: {e}")))?;
            roots.add(cert)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn tcp_connect(target: &Target, timeout: Duration) -> Result<TcpStream, ReaderError> {
    let mut last = None;
    for addr in (target.host.as_str(), target.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| ReaderError::Url(target.host.clone()), ReaderError::Io))
}

/// Connects and handshakes; returns the read half and a decoder holding any bytes that
/// followed the handshake response.
fn open(
    shared: &Shared,
    config: &ReaderConfig,
    target: &Target,
) -> Result<(ReadSide, FrameDecoder), ReaderError> {
    let sock = tcp_connect(target, config.open_timeout)?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(config.open_timeout))?;
    sock.set_write_timeout(Some(config.open_timeout))?;
    *lock(&shared.shutdown) = Some(sock.try_clone()?);
    if shared.stop.load(Ordering::SeqCst) {
        return Err(ReaderError::NotOpen);
    }
    let tls = if target.secure {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|e| ReaderError::Tls(format!("server name {:?}: {e}", target.host)))?;
        let cfg = tls_config(config.extra_roots_pem.as_deref())?;
        let mut conn = ClientConnection::new(Arc::new(cfg), name)?;
        let mut s = &sock;
        while conn.is_handshaking() {
            conn.complete_io(&mut s)
                .map_err(|e| ReaderError::Tls(format!("handshake: {e}")))?;
        }
        Some(Arc::new(Mutex::new(conn)))
    } else {
        None
    };
    let mut writer = WriteSide {
        sock: sock.try_clone()?,
        tls: tls.clone(),
    };
    let mut reader = ReadSide {
        sock,
        tls,
        raw: vec![0; 256 * 1024],
        plain: Vec::with_capacity(256 * 1024),
    };
    let mut nonce = [0_u8; 16];
    shared
        .rng
        .fill(&mut nonce)
        .map_err(|_| ReaderError::Tls("no randomness for the handshake key".to_owned()))?;
    let key = client_key(nonce);
    let headers: Vec<(&str, &str)> = config
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = client_request(
        &target.authority,
        &target.path,
        &key,
        &headers,
        config.permessage_deflate,
    )?;
    writer.write_all(&request)?;
    let mut head = Vec::new();
    let response = loop {
        if !reader.read()? {
            return Err(ReaderError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        head.extend_from_slice(&reader.plain);
        if let Some(r) = parse_response(&head, &key, config.permessage_deflate)? {
            break r;
        }
        if head.len() > MAX_HANDSHAKE {
            return Err(WsError::HandshakeTooLarge {
                limit: MAX_HANDSHAKE,
            }
            .into());
        }
    };
    let mut decoder_config = DecoderConfig::new(Role::Client);
    decoder_config.max_message = config.max_message;
    decoder_config.max_frame = config.max_message;
    decoder_config.inflate = response.deflate.map(|d| d.inflate_config(Role::Client));
    let mut decoder = FrameDecoder::with_config(decoder_config);
    decoder.feed(&head[response.consumed..]);
    reader.sock.set_read_timeout(None)?;
    *lock(&shared.writer) = Some(writer);
    Ok((reader, decoder))
}

fn run(
    shared: &Shared,
    config: &ReaderConfig,
    target: &Target,
    sink: Option<&FeedSink>,
    mut hook: Option<Hook>,
) {
    let (mut reader, mut decoder) = match open(shared, config, target) {
        Ok(x) => x,
        Err(e) => {
            shared.push(Event::Error(format!("connect {}: {e}", config.url)));
            shared.push(Event::Closed {
                code: 1006,
                reason: e.to_string(),
            });
            return;
        }
    };
    shared.open.store(true, Ordering::SeqCst);
    shared.push(Event::Open);
    shared.notify();
    let mut loop_state = Loop {
        shared,
        hook: hook.as_mut(),
        notify: false,
    };
    // The first batch may have arrived with the handshake response.
    let mut recv_ns = shared.now_ns();
    let mut end = loop_state.frames(&mut decoder, sink, recv_ns);
    while end.is_none() {
        match reader.read() {
            Ok(true) => {
                let read_at = Instant::now();
                recv_ns = shared.now_ns();
                let c = &shared.counters;
                c.reads.fetch_add(1, Ordering::Relaxed);
                c.bytes
                    .fetch_add(reader.plain.len() as u64, Ordering::Relaxed);
                c.last_rx_ns.store(recv_ns, Ordering::Relaxed);
                decoder.feed(&reader.plain);
                end = loop_state.frames(&mut decoder, sink, recv_ns);
                if end.is_none() && !config.coalesce.is_zero() {
                    if let Some(rest) = config.coalesce.checked_sub(read_at.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
            }
            Ok(false) => {
                end = Some((1006, "connection ended without a close frame".to_owned()));
            }
            Err(e) => {
                if !shared.stop.load(Ordering::SeqCst) {
                    shared.push(Event::Error(e.to_string()));
                }
                end = Some((1006, e.to_string()));
            }
        }
    }
    let (code, reason) = end.unwrap_or((1006, String::new()));
    shared.open.store(false, Ordering::SeqCst);
    shared.push(Event::Closed { code, reason });
    shared.notify();
}

struct Loop<'a> {
    shared: &'a Shared,
    hook: Option<&'a mut Hook>,
    notify: bool,
}

impl Loop<'_> {
    /// Queues a data message for the owner (not applied here); the owner is told once per read.
    fn queue(&mut self, payload: &[u8], opcode: u8, recv_ns: u64) {
        self.shared.push(Event::Message {
            opcode,
            payload: payload.to_vec(),
            recv_ns,
        });
        self.notify = true;
    }

    /// Handles every complete message of the decoder; Some((code, reason)) when the connection
    /// is over.
    fn frames(
        &mut self,
        decoder: &mut FrameDecoder,
        sink: Option<&FeedSink>,
        recv_ns: u64,
    ) -> Option<(u16, String)> {
        let shared = self.shared;
        // The feed is locked once per read, not per message.
        let mut locked: Option<(MutexGuard<'_, BookFeed>, MutexGuard<'_, Book>)> = None;
        let mut end = None;
        loop {
            match decoder.next_message() {
                Ok(None) => break,
                Ok(Some(m)) => match m {
                    Message::Text(t) => {
                        self.data(sink, &mut locked, t.as_bytes(), 1, recv_ns);
                    }
                    Message::Binary(b) => self.data(sink, &mut locked, b, 2, recv_ns),
                    Message::Ping(p) => {
                        let _ = shared.send_frame(Opcode::Pong, p);
                    }
                    Message::Pong(_) => {}
                    Message::Close { code, reason } => {
                        // Echo the code (1000 when none was given), then drop TCP.
                        let echo = code.unwrap_or(1000);
                        let _ = shared.send_close(echo, "");
                        end = Some((code.unwrap_or(1005), reason.to_owned()));
                        break;
                    }
                },
                Err(e) => {
                    let code = e.close_code();
                    let _ = shared.send_close(code, &e.to_string());
                    shared.push(Event::Error(format!("websocket protocol violation: {e}")));
                    end = Some((code, e.to_string()));
                    break;
                }
            }
        }
        drop(locked);
        if self.notify {
            self.notify = false;
            shared.notify();
        }
        if end.is_some() {
            shared.shutdown();
        }
        end
    }

    fn data<'s>(
        &mut self,
        sink: Option<&'s FeedSink>,
        locked: &mut Option<(MutexGuard<'s, BookFeed>, MutexGuard<'s, Book>)>,
        payload: &[u8],
        opcode: u8,
        recv_ns: u64,
    ) {
        let shared = self.shared;
        shared.counters.messages.fetch_add(1, Ordering::Relaxed);
        let Some(sink) = sink else {
            if let Some(hook) = self.hook.as_mut() {
                hook(&Delivered {
                    payload,
                    opcode,
                    recv_ns,
                    applied_ns: recv_ns,
                    status: None,
                });
            } else {
                self.queue(payload, opcode, recv_ns);
            }
            return;
        };
        let (feed, book) = locked.get_or_insert_with(|| (lock(&sink.feed), lock(&sink.book)));
        // Decided under the feed's mutex: `Reader::enable_fused` flips it under the same lock.
        if !shared.fused.load(Ordering::SeqCst) {
            self.queue(payload, opcode, recv_ns);
            return;
        }
        let (status, applied_ns, report) = shared.apply(feed, book, payload, recv_ns, true);
        if let Some(event) = report {
            shared.push(event);
            self.notify = true;
        }
        if let Some(hook) = self.hook.as_mut() {
            // The hook may read the book: release the locks around it.
            *locked = None;
            hook(&Delivered {
                payload,
                opcode,
                recv_ns,
                applied_ns,
                status: Some(status),
            });
        }
    }
}
