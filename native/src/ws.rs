//! The WebSocket codec: a decoder fed once per socket read, frame encoding, the opening
//! handshake and the inflate helpers. Protocol errors become `venuegate.errors.ProtocolError`
//! with the close code to send in `close_code`.

use engine::ws::{
    self, DecoderConfig, DeflateParams, FrameDecoder, InflateConfig, Message, Opcode, Role,
    WsError, DEFAULT_MAX_MESSAGE,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple, PyType};

use crate::bytes::{as_bytes, type_name};

static PROTOCOL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Maps a codec error to `venuegate.errors.ProtocolError`, with `close_code` (the RFC 6455
/// status to close with) and `messages` (what the same read decoded before the error).
#[cold]
pub fn ws_err(py: Python<'_>, err: &WsError) -> PyErr {
    ws_err_with(py, err, PyList::empty(py))
}

#[cold]
pub(crate) fn ws_err_with(py: Python<'_>, err: &WsError, messages: Bound<'_, PyList>) -> PyErr {
    let msg = err.to_string();
    let cls = match PROTOCOL_ERROR.import(py, "venuegate.errors", "ProtocolError") {
        Ok(cls) => cls,
        // Only reachable if the package is broken; still an exception, never a panic.
        Err(e) => {
            return PyRuntimeError::new_err(format!("{msg} (and venuegate.errors failed: {e})"))
        }
    };
    let build = || -> PyResult<PyErr> {
        let exc = cls.call1((msg.as_str(),))?;
        exc.setattr("close_code", err.close_code())?;
        exc.setattr("messages", messages)?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

fn parse_role(role: &str) -> PyResult<Role> {
    role.parse().map_err(|()| {
        PyValueError::new_err(format!("unknown role {role:?}: use 'client' or 'server'"))
    })
}

fn parse_mask(mask: Option<&Bound<'_, PyAny>>) -> PyResult<Option<[u8; 4]>> {
    let Some(mask) = mask else {
        return Ok(None);
    };
    let bytes = as_bytes(mask)?;
    <[u8; 4]>::try_from(bytes.as_ref())
        .map(Some)
        .map_err(|_| PyValueError::new_err(format!("mask must be 4 bytes, got {}", bytes.len())))
}

/// A streaming WebSocket frame decoder: one `feed` per socket read returns every message the
/// read completed.
#[pyclass(name = "WsDecoder", module = "venuegate._native")]
pub struct PyWsDecoder {
    pub(crate) inner: FrameDecoder,
}

pub(crate) fn message_tuple<'py>(
    py: Python<'py>,
    m: &Message<'_>,
) -> PyResult<Bound<'py, PyTuple>> {
    let payload = match *m {
        Message::Text(s) => PyBytes::new(py, s.as_bytes()),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => PyBytes::new(py, b),
        // The raw close payload: the code (big-endian) then the reason, or nothing.
        Message::Close { code, reason } => match code {
            None => PyBytes::new(py, b""),
            Some(code) => PyBytes::new(py, &[&code.to_be_bytes()[..], reason.as_bytes()].concat()),
        },
    };
    (m.opcode() as u8, payload).into_pyobject(py)
}

#[pymethods]
impl PyWsDecoder {
    /// `role` is "client" (frames from a server: unmasked) or "server"; `deflate` turns on
    /// permessage-deflate as negotiated, `no_context_takeover` being the peer's setting.
    #[new]
    #[pyo3(signature = (
        role = "client",
        max_message = DEFAULT_MAX_MESSAGE,
        max_frame = None,
        deflate = false,
        no_context_takeover = false,
    ))]
    fn py_new(
        role: &str,
        max_message: usize,
        max_frame: Option<usize>,
        deflate: bool,
        no_context_takeover: bool,
    ) -> PyResult<Self> {
        let config = DecoderConfig {
            role: parse_role(role)?,
            max_frame: max_frame.unwrap_or(max_message),
            max_message,
            inflate: deflate.then_some(InflateConfig {
                no_context_takeover,
            }),
        };
        Ok(Self {
            inner: FrameDecoder::with_config(config),
        })
    }

    /// Appends one read and returns `(opcode, payload)` for every message it completed.
    #[pyo3(name = "feed")]
    fn py_feed<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.inner.feed(&as_bytes(data)?);
        let out = PyList::empty(py);
        loop {
            match self.inner.next_message() {
                Ok(Some(m)) => out.append(message_tuple(py, &m)?)?,
                Ok(None) => return Ok(out),
                Err(e) => return Err(ws_err_with(py, &e, out)),
            }
        }
    }

    /// Appends one read and calls `on_message(payload, opcode, recv_ns)` for every text or
    /// binary message it completed, from native code (no per-message list or tuple); returns the
    /// control frames (ping, pong, close) as `(opcode, payload)` for the transport to answer.
    /// An exception from `on_message` propagates at once (later messages stay buffered).
    #[pyo3(name = "feed_call")]
    fn py_feed_call<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        on_message: &Bound<'py, PyAny>,
        recv_ns: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        // `recv_ns` is passed through as the caller's int object: no new int per message.
        self.inner.feed(&as_bytes(data)?);
        let controls = PyList::empty(py);
        loop {
            match self.inner.next_message() {
                Ok(Some(Message::Text(t))) => {
                    on_message.call1((PyBytes::new(py, t.as_bytes()), 1_u8, recv_ns))?;
                }
                Ok(Some(Message::Binary(b))) => {
                    on_message.call1((PyBytes::new(py, b), 2_u8, recv_ns))?;
                }
                Ok(Some(m)) => controls.append(message_tuple(py, &m)?)?,
                Ok(None) => return Ok(controls),
                Err(e) => return Err(ws_err_with(py, &e, controls)),
            }
        }
    }

    /// True once a close frame was decoded.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Bytes held for a frame not yet complete.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "WsDecoder(role={:?}, max_message={}, deflate={})",
            match c.role {
                Role::Client => "client",
                Role::Server => "server",
            },
            c.max_message,
            c.inflate.is_some()
        )
    }
}

/// One frame: masked with `mask` (4 bytes) for a client, unmasked for a server.
#[pyfunction]
#[pyo3(name = "ws_encode_frame", signature = (opcode, payload, fin = true, mask = None))]
fn py_encode_frame<'py>(
    py: Python<'py>,
    opcode: u8,
    payload: &Bound<'py, PyAny>,
    fin: bool,
    mask: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let opcode = Opcode::try_from(opcode).map_err(|e| ws_err(py, &e))?;
    let payload = as_bytes(payload)?;
    let mut out = Vec::with_capacity(payload.len() + 14);
    ws::encode_frame(&mut out, opcode, &payload, fin, parse_mask(mask)?)
        .map_err(|e| ws_err(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

/// A close frame with `code` and `reason` (at most 123 UTF-8 bytes).
#[pyfunction]
#[pyo3(name = "ws_encode_close", signature = (code = 1000, reason = "", mask = None))]
fn py_encode_close<'py>(
    py: Python<'py>,
    code: u16,
    reason: &str,
    mask: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(reason.len() + 8);
    ws::encode_close(&mut out, code, reason, parse_mask(mask)?).map_err(|e| ws_err(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
#[pyfunction]
#[pyo3(name = "ws_accept_key")]
fn py_accept_key(key: &str) -> String {
    ws::accept_key(key)
}

/// Collects extra headers from a mapping or an iterable of `(name, value)` pairs.
fn header_pairs(headers: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(headers) = headers else {
        return Ok(Vec::new());
    };
    let items = if let Ok(d) = headers.cast::<PyDict>() {
        d.items().into_any()
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let pair: (String, String) = item?.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "headers must be a mapping or (name, value) str pairs, got {}",
                type_name(headers)
            ))
        })?;
        out.push(pair);
    }
    Ok(out)
}

/// The client's opening handshake request.
#[pyfunction]
#[pyo3(
    name = "ws_client_request",
    signature = (host, path, key, headers = None, permessage_deflate = false)
)]
fn py_client_request<'py>(
    py: Python<'py>,
    host: &str,
    path: &str,
    key: &str,
    headers: Option<&Bound<'py, PyAny>>,
    permessage_deflate: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let pairs = header_pairs(headers)?;
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = ws::client_request(host, path, key, &borrowed, permessage_deflate)
        .map_err(|e| ws_err(py, &e))?;
    Ok(PyBytes::new(py, &req))
}

fn deflate_tuple(
    py: Python<'_>,
    params: Option<DeflateParams>,
) -> PyResult<Option<Bound<'_, PyTuple>>> {
    params
        .map(|p| {
            (
                p.server_no_context_takeover,
                p.client_no_context_takeover,
                p.server_max_window_bits,
                p.client_max_window_bits,
            )
                .into_pyobject(py)
        })
        .transpose()
}

/// Parses the server's handshake response: `None` until the header block is complete, then
/// `(consumed, headers, deflate)`.
#[pyfunction]
#[pyo3(name = "ws_parse_response", signature = (buf, key, deflate_offered = false))]
fn py_parse_response<'py>(
    py: Python<'py>,
    buf: &Bound<'py, PyAny>,
    key: &str,
    deflate_offered: bool,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(r) =
        ws::parse_response(&as_bytes(buf)?, key, deflate_offered).map_err(|e| ws_err(py, &e))?
    else {
        return Ok(None);
    };
    let deflate = deflate_tuple(py, r.deflate)?;
    Ok(Some((r.consumed, r.headers, deflate).into_pyobject(py)?))
}

/// Parses a client's handshake request: `None` until the header block is complete, then
/// `(consumed, path, key, headers, deflate_offered)`.
#[pyfunction]
#[pyo3(name = "ws_parse_request")]
fn py_parse_request<'py>(
    py: Python<'py>,
    buf: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(r) = ws::parse_request(&as_bytes(buf)?).map_err(|e| ws_err(py, &e))? else {
        return Ok(None);
    };
    Ok(Some(
        (r.consumed, r.path, r.key, r.headers, r.deflate_offered).into_pyobject(py)?,
    ))
}

/// The server's 101 response, accepting permessage-deflate when `deflate` is set.
#[pyfunction]
#[pyo3(
    name = "ws_server_response",
    signature = (key, deflate = false, server_no_context_takeover = false, client_no_context_takeover = false)
)]
fn py_server_response<'py>(
    py: Python<'py>,
    key: &str,
    deflate: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
) -> Bound<'py, PyBytes> {
    let params = DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        ..DeflateParams::default()
    };
    PyBytes::new(py, &ws::server_response(key, deflate.then_some(&params)))
}

/// Inflates a gzip member (HTX), refusing output past `limit` bytes.
#[pyfunction]
#[pyo3(name = "inflate_gzip", signature = (data, limit = DEFAULT_MAX_MESSAGE))]
fn py_inflate_gzip<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    limit: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = ws::inflate_gzip(&as_bytes(data)?, limit).map_err(|e| ws_err(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

/// Inflates raw deflate data (OKX), refusing output past `limit` bytes.
#[pyfunction]
#[pyo3(name = "inflate_raw", signature = (data, limit = DEFAULT_MAX_MESSAGE))]
fn py_inflate_raw<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    limit: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = ws::inflate_raw(&as_bytes(data)?, limit).map_err(|e| ws_err(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWsDecoder>()?;
    m.add_function(wrap_pyfunction!(py_encode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(py_encode_close, m)?)?;
    m.add_function(wrap_pyfunction!(py_accept_key, m)?)?;
    m.add_function(wrap_pyfunction!(py_client_request, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_response, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_request, m)?)?;
    m.add_function(wrap_pyfunction!(py_server_response, m)?)?;
    m.add_function(wrap_pyfunction!(py_inflate_gzip, m)?)?;
    m.add_function(wrap_pyfunction!(py_inflate_raw, m)?)?;
    Ok(())
}
