//! `Reader`: a WebSocket connection read by its own native thread (`engine::reader`). The GIL is
//! not taken per message: the thread applies data messages to a `BookFeed` (shared through its
//! mutexes) or queues them, and Python drains events when `fileno()` turns readable. An optional
//! per-message callback takes the GIL on the reader thread. A connection opened with a feed and
//! `fused=False` queues its messages for Python until `enable_fused()` hands the feed to the
//! thread (connection rotation).

use std::time::Duration;

use engine::reader::{Delivered, Event, Hook, Reader, ReaderConfig, ReaderError};
use pyo3::exceptions::{PyConnectionError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::book::PyBookFeed;
use crate::bytes::as_bytes;
use crate::ws::ws_err;

/// Maps a reader error: bad arguments are `ValueError`, a closed connection `ConnectionError`,
/// socket and TLS failures `OSError`, codec errors `ProtocolError`.
#[cold]
fn reader_err(py: Python<'_>, err: &ReaderError) -> PyErr {
    match err {
        ReaderError::Url(_) => PyValueError::new_err(err.to_string()),
        ReaderError::NotOpen => PyConnectionError::new_err(err.to_string()),
        ReaderError::Io(_) | ReaderError::Tls(_) => PyOSError::new_err(err.to_string()),
        ReaderError::Ws(e) => ws_err(py, e),
    }
}

fn event_tuple(py: Python<'_>, e: Event) -> PyResult<Bound<'_, PyTuple>> {
    match e {
        Event::Open => PyTuple::new(py, ["open"]),
        Event::Message {
            opcode,
            payload,
            recv_ns,
        } => ("message", opcode, PyBytes::new(py, &payload), recv_ns).into_pyobject(py),
        Event::Status { status, recv_ns } => ("status", status as u8, recv_ns).into_pyobject(py),
        Event::Error(text) => ("error", text).into_pyobject(py),
        Event::Closed { code, reason } => ("closed", code, reason).into_pyobject(py),
    }
}

/// A WebSocket client connection read by a native thread.
#[pyclass(name = "Reader", module = "venuegate._native", frozen)]
pub struct PyReader {
    inner: Reader,
}

#[pymethods]
impl PyReader {
    /// Starts the thread, which connects (`ws://` or verified `wss://`) and reads.
    #[new]
    #[pyo3(signature = (
        url, *, feed = None, on_message = None, headers = Vec::new(), ca_pem = None,
        max_message = engine::ws::DEFAULT_MAX_MESSAGE, permessage_deflate = false,
        open_timeout = 10.0, clock_ns = 0, coalesce = 0.0, fused = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        url: &str,
        feed: Option<&Bound<'_, PyBookFeed>>,
        on_message: Option<Py<PyAny>>,
        headers: Vec<(String, String)>,
        ca_pem: Option<&Bound<'_, PyAny>>,
        max_message: usize,
        permessage_deflate: bool,
        open_timeout: f64,
        clock_ns: u64,
        coalesce: f64,
        fused: bool,
    ) -> PyResult<Self> {
        if !(coalesce.is_finite() && (0.0..=1.0).contains(&coalesce)) {
            return Err(PyValueError::new_err("coalesce must be 0..=1 seconds"));
        }
        if !(open_timeout.is_finite() && open_timeout > 0.0) {
            return Err(PyValueError::new_err(
                "open_timeout must be a positive number",
            ));
        }
        let mut config = ReaderConfig::new(url);
        config.headers = headers;
        config.extra_roots_pem = ca_pem
            .map(as_bytes)
            .transpose()?
            .map(std::borrow::Cow::into_owned);
        config.max_message = max_message;
        config.permessage_deflate = permessage_deflate;
        config.open_timeout = Duration::from_secs_f64(open_timeout);
        config.clock_base_ns = clock_ns;
        config.coalesce = Duration::from_secs_f64(coalesce);
        config.fused = fused;
        let sink = feed.map(|f| f.borrow().sink());
        let hook: Option<Hook> = on_message.map(|cb| -> Hook {
            Box::new(move |d: &Delivered<'_>| {
                Python::attach(|py| {
                    let args = (
                        PyBytes::new(py, d.payload),
                        d.opcode,
                        d.recv_ns,
                        d.status.map(|s| s as u8),
                    );
                    if let Err(e) = cb.call1(py, args) {
                        e.write_unraisable(py, None);
                    }
                });
            })
        });
        let inner = Reader::start(config, sink, hook).map_err(|e| reader_err(py, &e))?;
        Ok(Self { inner })
    }

    /// The file descriptor that turns readable when events are queued (for `loop.add_reader`).
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd as _;
        self.inner.notify_stream().as_raw_fd()
    }

    /// Takes the queued events: `("open",)`, `("message", opcode, payload, recv_ns)`,
    /// `("status", feed_status, recv_ns)`, `("error", text)`, `("closed", code, reason)`.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for e in self.inner.drain() {
            list.append(event_tuple(py, e)?)?;
        }
        Ok(list)
    }

    /// Sends a text message (str or bytes), from the calling thread.
    fn send_text(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = as_bytes(data)?.into_owned();
        py.detach(|| self.inner.send_text(&data))
            .map_err(|e| reader_err(py, &e))
    }

    /// Sends a ping (the pong is consumed by the thread).
    #[pyo3(signature = (payload = b"".as_slice()))]
    fn ping(&self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        let payload = payload.to_vec();
        py.detach(|| self.inner.send_ping(&payload))
            .map_err(|e| reader_err(py, &e))
    }

    /// Starts the close handshake; the thread ends when the peer answers (or on `abort`).
    #[pyo3(signature = (code = 1000, reason = ""))]
    fn close(&self, py: Python<'_>, code: u16, reason: &str) -> PyResult<()> {
        let reason = reason.to_owned();
        py.detach(|| self.inner.close(code, &reason))
            .map_err(|e| reader_err(py, &e))
    }

    /// Hands the feed to the thread: applies, in order, the data messages still queued (not yet
    /// taken by `events()`), queueing the statuses they produce, and lets the thread apply every
    /// later one. Atomic with respect to the thread. Returns the messages applied here (0
    /// without a feed, or when already fused). Call it only once every message taken by
    /// `events()` has been handled.
    fn enable_fused(&self, py: Python<'_>) -> usize {
        py.detach(|| self.inner.enable_fused())
    }

    /// Takes the feed back: later data messages are queued as `("message", ...)` events again.
    /// Returns whether the thread was applying them.
    fn disable_fused(&self, py: Python<'_>) -> bool {
        py.detach(|| self.inner.disable_fused())
    }

    /// True while the thread applies data messages to the feed.
    #[getter]
    fn fused(&self) -> bool {
        self.inner.is_fused()
    }

    /// Drops the connection at once.
    fn abort(&self) {
        self.inner.abort();
    }

    /// Waits for the thread to end (without holding the GIL).
    fn join(&self, py: Python<'_>) {
        py.detach(|| self.inner.join());
    }

    /// True between the handshake and the start of a close.
    #[getter]
    fn is_open(&self) -> bool {
        self.inner.is_open()
    }

    /// True once the thread has ended.
    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Data messages received.
    #[getter]
    fn messages(&self) -> u64 {
        self.inner
            .counters()
            .messages
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Data messages applied to the feed (by the thread, or by `enable_fused`).
    #[getter]
    fn applied(&self) -> u64 {
        self.inner
            .counters()
            .applied
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes received (after TLS).
    #[getter]
    fn bytes_received(&self) -> u64 {
        self.inner
            .counters()
            .bytes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Socket reads that returned data.
    #[getter]
    fn reads(&self) -> u64 {
        self.inner
            .counters()
            .reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// When the last read arrived (the `clock_ns` clock; 0 before any).
    #[getter]
    fn last_rx_ns(&self) -> u64 {
        self.inner
            .counters()
            .last_rx_ns
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Receive → applied latency of feed messages: `(count, max_ns, [ns at each quantile])`.
    fn latency(&self, quantiles: Vec<f64>) -> (u64, u64, Vec<Option<u64>>) {
        let h = self.inner.latency();
        (
            h.count(),
            h.max(),
            quantiles.into_iter().map(|q| h.quantile(q)).collect(),
        )
    }

    /// Forgets the latency recorded so far.
    fn reset_latency(&self) {
        self.inner.latency().reset();
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReader>()
}
