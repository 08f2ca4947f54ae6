//! The FIX codec (engine/src/fix): `FixMessage` (the message bytes plus an index of value spans,
//! zero-copy), `parse`, `FixFramer`, `FixEncoder`, `encode_message`, the timestamp helpers and
//! `FixDictionary`. Errors are `venuegate.fix.codec.FixError` / `FixValidationError` instances.

use engine::fix::dict::Dictionary;
use engine::fix::{
    self, Body, Encoder, FixError, FixErrorKind, Framer, FramerItem, MessageIndex, TimePrecision,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple};

use crate::bytes::{decimal_type, type_name};
use crate::errors::{dict_err, fix_err, fix_err_value, fix_validation_err};

/// A parsed FIX message: its bytes and the `(tag, value span)` index.
#[pyclass(name = "FixMessage", module = "venuegate._native", frozen)]
pub struct PyFixMessage {
    raw: Py<PyBytes>,
    index: MessageIndex,
}

impl PyFixMessage {
    pub fn raw_bytes<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        self.raw.as_bytes(py)
    }

    pub fn index(&self) -> &MessageIndex {
        &self.index
    }

    fn value<'a>(&'a self, py: Python<'a>, tag: u32) -> Option<&'a [u8]> {
        let raw = self.raw_bytes(py);
        self.index.find(tag).map(|f| f.value(raw))
    }
}

/// UTF-8, or latin-1 when the bytes are not UTF-8 (every byte maps to one character).
pub fn decode<'py>(py: Python<'py>, v: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(v) {
        Ok(s) => PyString::new(py, s),
        Err(_) => PyString::new(py, &v.iter().map(|&b| char::from(b)).collect::<String>()),
    }
}

fn parse_i64(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0_i64, |n, &b| n * 10 + i64::from(b - b'0'));
    Some(if neg { -n } else { n })
}

fn field_tuple<'py>(py: Python<'py>, tag: u32, v: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            tag.into_pyobject(py)?.into_any(),
            PyBytes::new(py, v).into_any(),
        ],
    )
}

fn entries_to_py<'py>(
    py: Python<'py>,
    raw: &[u8],
    entries: &[Vec<fix::Field>],
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for entry in entries {
        let e = PyList::empty(py);
        for f in entry {
            e.append(field_tuple(py, f.tag, f.value(raw))?)?;
        }
        out.append(e)?;
    }
    Ok(out)
}

#[pymethods]
impl PyFixMessage {
    #[getter]
    fn raw(&self, py: Python<'_>) -> Py<PyBytes> {
        self.raw.clone_ref(py)
    }

    #[getter]
    fn begin_string<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        decode(py, self.value(py, 8).unwrap_or_default())
    }

    #[getter]
    fn msg_type<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        let raw = self.raw_bytes(py);
        decode(
            py,
            self.index.fields.get(2).map_or(&[][..], |f| f.value(raw)),
        )
    }

    #[getter]
    fn seq_num(&self) -> u64 {
        self.index.seq_num
    }

    /// The first value of `tag`, as text.
    fn get<'py>(&self, py: Python<'py>, tag: u32) -> Option<Bound<'py, PyString>> {
        self.value(py, tag).map(|v| decode(py, v))
    }

    /// The first value of `tag`, as bytes.
    fn get_bytes<'py>(&self, py: Python<'py>, tag: u32) -> Option<Bound<'py, PyBytes>> {
        self.value(py, tag).map(|v| PyBytes::new(py, v))
    }

    /// The first value of `tag`, as an integer.
    fn get_int(&self, py: Python<'_>, tag: u32) -> PyResult<Option<i64>> {
        match self.value(py, tag) {
            None => Ok(None),
            Some(v) => {
                if let Some(n) = parse_i64(v) {
                    return Ok(Some(n));
                }
                let mut e = FixError::at(FixErrorKind::IncorrectDataFormat, tag);
                e.seq_num = Some(self.index.seq_num);
                Err(fix_err(py, &e))
            }
        }
    }

    /// Every value of `tag`, as text.
    fn get_all<'py>(&self, py: Python<'py>, tag: u32) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        PyList::new(
            py,
            self.index
                .fields
                .iter()
                .filter(|f| f.tag == tag)
                .map(|f| decode(py, f.value(raw)))
                .collect::<Vec<_>>(),
        )
    }

    fn has(&self, tag: u32) -> bool {
        self.index.fields.iter().any(|f| f.tag == tag)
    }

    /// Every field in wire order.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let out = PyList::empty(py);
        for f in &self.index.fields {
            out.append(field_tuple(py, f.tag, f.value(raw))?)?;
        }
        Ok(out)
    }

    /// The entries of a repeating group, found without a dictionary.
    fn group<'py>(
        &self,
        py: Python<'py>,
        count_tag: u32,
        first_tag: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let entries = fix::group_heuristic(&self.index.fields, raw, count_tag, first_tag);
        entries_to_py(py, raw, &entries)
    }

    fn __len__(&self) -> usize {
        self.index.fields.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let raw = self.raw_bytes(py);
        let get = |tag| {
            self.index
                .find(tag)
                .map(|f| String::from_utf8_lossy(f.value(raw)).into_owned())
                .unwrap_or_default()
        };
        format!(
            "FixMessage(msg_type={:?}, seq_num={}, {} fields, {} bytes, {}->{})",
            get(35),
            self.index.seq_num,
            self.index.fields.len(),
            raw.len(),
            get(49),
            get(56)
        )
    }
}

fn to_pybytes<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    let py = obj.py();
    py.get_type::<PyBytes>()
        .call1((obj,))
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "expected bytes or a buffer, got {}",
                type_name(obj)
            ))
        })?
        .cast_into::<PyBytes>()
        .map_err(Into::into)
}

/// Parses exactly one message.
#[pyfunction]
#[pyo3(name = "fix_parse", signature = (data, *, verify = true))]
fn py_parse(py: Python<'_>, data: &Bound<'_, PyAny>, verify: bool) -> PyResult<PyFixMessage> {
    let b = to_pybytes(data)?;
    let index = fix::parse(b.as_bytes(), verify).map_err(|e| fix_err(py, &e))?;
    Ok(PyFixMessage {
        raw: b.unbind(),
        index,
    })
}

/// The streaming framer.
#[pyclass(name = "FixFramer", module = "venuegate._native")]
pub struct PyFixFramer {
    inner: Framer,
}

#[pymethods]
impl PyFixFramer {
    #[new]
    #[pyo3(signature = (max_message_size = fix::DEFAULT_MAX_MESSAGE))]
    fn py_new(max_message_size: usize) -> Self {
        Self {
            inner: Framer::new(max_message_size),
        }
    }

    /// Every complete message (or error) in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        self.inner.feed(data);
        let out = PyList::empty(py);
        while let Some(item) = self.inner.next_item() {
            match item {
                FramerItem::Message(range, index) => {
                    let raw = PyBytes::new(py, self.inner.buffer().get(range).unwrap_or_default());
                    out.append(Py::new(
                        py,
                        PyFixMessage {
                            raw: raw.unbind(),
                            index,
                        },
                    )?)?;
                }
                FramerItem::Error(e) => out.append(fix_err_value(py, &e)?)?,
            }
        }
        self.inner.compact();
        Ok(out)
    }

    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    fn __repr__(&self) -> String {
        format!("FixFramer(buffered={})", self.inner.buffered())
    }
}

/// Writes the wire text of `value` to `tmp` (cleared first): `str` as UTF-8, `bytes` as is,
/// `bool` as `Y`/`N`, `int` in decimal, `Decimal` and `Fixed` in plain notation (never an
/// exponent). Floats, NaN and infinities are refused.
fn render(tmp: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    tmp.clear();
    if let Ok(s) = value.cast::<PyString>() {
        tmp.extend_from_slice(s.to_str()?.as_bytes());
        return Ok(());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        tmp.extend_from_slice(b.as_bytes());
        return Ok(());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        tmp.push(if b.is_true() { b'Y' } else { b'N' });
        return Ok(());
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            tmp.extend_from_slice(i.to_string().as_bytes());
        } else {
            tmp.extend_from_slice(value.str()?.to_str()?.as_bytes());
        }
        return Ok(());
    }
    if let Ok(f) = value.cast::<crate::fixed::PyFixed>() {
        f.get().0.write_to(tmp);
        return Ok(());
    }
    let py = value.py();
    if value.is_instance(decimal_type(py)?)? {
        let text = value.str()?;
        let text = text.to_str()?;
        if text.contains(['N', 'n', 'I', 'i']) {
            return Err(PyValueError::new_err(
                "a FIX value cannot be a NaN or infinite Decimal",
            ));
        }
        if text.contains(['E', 'e']) {
            let plain = py
                .get_type::<PyString>()
                .call_method1("format", ("{:f}", value))?;
            tmp.extend_from_slice(plain.cast::<PyString>()?.to_str()?.as_bytes());
        } else {
            tmp.extend_from_slice(text.as_bytes());
        }
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "FIX values must be str, bytes, int, bool, Decimal or Fixed, got {}{}",
        type_name(value),
        if value.is_instance_of::<pyo3::types::PyFloat>() {
            " (floats cannot carry prices and sizes exactly: pass Decimal or str)"
        } else {
            ""
        }
    )))
}

/// Pushes every `(tag, value)` of `fields` on `body`.
fn push_fields(
    py: Python<'_>,
    body: &mut Body,
    tmp: &mut Vec<u8>,
    fields: &Bound<'_, PyAny>,
) -> PyResult<()> {
    for item in fields.try_iter()? {
        let item = item?;
        let (tag, value) = if let Ok(t) = item.cast::<PyTuple>() {
            if t.len() != 2 {
                return Err(PyTypeError::new_err("fields must be (tag, value) pairs"));
            }
            (t.get_item(0)?.extract::<u32>()?, t.get_item(1)?)
        } else {
            let (tag, value): (u32, Bound<'_, PyAny>) = item.extract()?;
            (tag, value)
        };
        render(tmp, &value)?;
        body.field(tag, tmp).map_err(|e| fix_err(py, &e))?;
    }
    Ok(())
}

/// A session's encoder.
#[pyclass(name = "FixEncoder", module = "venuegate._native")]
pub struct PyFixEncoder {
    inner: Encoder,
    tmp: Vec<u8>,
}

#[pymethods]
impl PyFixEncoder {
    #[new]
    #[pyo3(signature = (begin_string, sender_comp_id, target_comp_id, header = None))]
    fn py_new(
        py: Python<'_>,
        begin_string: &str,
        sender_comp_id: &str,
        target_comp_id: &str,
        header: Option<Vec<(u32, String)>>,
    ) -> PyResult<Self> {
        let header = header.unwrap_or_default();
        let refs: Vec<(u32, &[u8])> = header.iter().map(|(t, v)| (*t, v.as_bytes())).collect();
        let inner = Encoder::new(begin_string, sender_comp_id, target_comp_id, &refs)
            .map_err(|e| fix_err(py, &e))?;
        Ok(Self {
            inner,
            tmp: Vec::with_capacity(64),
        })
    }

    /// Encodes one message.
    // The Python signature (keyword-only options) sets the argument count.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (msg_type, seq_num, fields, *, sending_time = None, poss_dup = false,
                        orig_sending_time = None))]
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        msg_type: &str,
        seq_num: u64,
        fields: &Bound<'py, PyAny>,
        sending_time: Option<&str>,
        poss_dup: bool,
        orig_sending_time: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let body = self
            .inner
            .start(
                msg_type.as_bytes(),
                seq_num,
                sending_time.map(str::as_bytes),
                poss_dup,
                orig_sending_time.map(str::as_bytes),
            )
            .map_err(|e| fix_err(py, &e))?;
        push_fields(py, body, &mut self.tmp, fields)?;
        let out = self.inner.finish().map_err(|e| fix_err(py, &e))?;
        Ok(PyBytes::new(py, &out))
    }

    #[getter]
    fn begin_string<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        decode(py, self.inner.begin_string())
    }

    #[getter]
    fn sender_comp_id(&self) -> &str {
        self.inner.sender_comp_id()
    }

    #[getter]
    fn target_comp_id(&self) -> &str {
        self.inner.target_comp_id()
    }

    fn __repr__(&self) -> String {
        format!(
            "FixEncoder({:?}, {:?} -> {:?})",
            String::from_utf8_lossy(self.inner.begin_string()),
            self.inner.sender_comp_id(),
            self.inner.target_comp_id()
        )
    }
}

/// Encodes a whole message: `fields` is everything between 9 and 10, 35 first.
#[pyfunction]
#[pyo3(name = "fix_encode_message")]
fn py_encode_message<'py>(
    py: Python<'py>,
    begin_string: &str,
    fields: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut body = Body::default();
    let mut tmp = Vec::with_capacity(64);
    let mut first = true;
    for item in fields.try_iter()? {
        let (tag, value): (u32, Bound<'_, PyAny>) = item?.extract()?;
        if first && tag != 35 {
            return Err(fix_err(py, &FixError::new(FixErrorKind::MissingMsgType)));
        }
        first = false;
        render(&mut tmp, &value)?;
        body.field(tag, &tmp).map_err(|e| fix_err(py, &e))?;
    }
    if first {
        return Err(fix_err(py, &FixError::new(FixErrorKind::MissingMsgType)));
    }
    if begin_string.is_empty() || begin_string.contains('\x01') {
        return Err(fix_err(py, &FixError::at(FixErrorKind::BadBeginString, 8)));
    }
    let mut out = Vec::with_capacity(body.as_bytes().len() + 32);
    body.finish_into(begin_string.as_bytes(), &mut out)
        .map_err(|e| fix_err(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

/// A FIX `UTCTimestamp` for `epoch_ns` (default now).
#[pyfunction]
#[pyo3(name = "fix_utc_timestamp", signature = (epoch_ns = None, precision = "ms"))]
fn py_utc_timestamp(epoch_ns: Option<i128>, precision: &str) -> PyResult<String> {
    let p = match precision {
        "s" => TimePrecision::Seconds,
        "ms" => TimePrecision::Millis,
        "us" => TimePrecision::Micros,
        "ns" => TimePrecision::Nanos,
        other => {
            return Err(PyValueError::new_err(format!(
                "precision must be \"s\", \"ms\", \"us\" or \"ns\", got {other:?}"
            )))
        }
    };
    let mut out = Vec::with_capacity(27);
    fix::utc_timestamp(epoch_ns.unwrap_or_else(fix::now_ns), p, &mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Reads a FIX `UTCTimestamp` as epoch nanoseconds.
#[pyfunction]
#[pyo3(name = "fix_parse_utc_timestamp")]
fn py_parse_utc_timestamp(py: Python<'_>, value: &str) -> PyResult<i128> {
    fix::parse_utc_timestamp(value.as_bytes()).map_err(|e| fix_err(py, &e))
}

/// A `QuickFIX` XML data dictionary.
#[pyclass(name = "FixDictionary", module = "venuegate._native")]
pub struct PyFixDictionary {
    inner: Dictionary,
}

#[pymethods]
impl PyFixDictionary {
    #[staticmethod]
    #[pyo3(signature = (path, app_path = None))]
    fn load(py: Python<'_>, path: &str, app_path: Option<&str>) -> PyResult<Self> {
        // Loading FIX50SP2.xml takes tens of milliseconds: without the GIL.
        let inner = py
            .detach(|| Dictionary::load(path, app_path))
            .map_err(|e| dict_err(py, &e))?;
        Ok(Self { inner })
    }

    /// Adds a venue's custom fields and message fields.
    fn extend(&mut self, py: Python<'_>, path: &str) -> PyResult<()> {
        self.inner.extend(path).map_err(|e| dict_err(py, &e))
    }

    /// Raises `FixValidationError` when `msg` breaks the dictionary.
    fn validate(&self, py: Python<'_>, msg: &PyFixMessage) -> PyResult<()> {
        let raw = msg.raw_bytes(py);
        self.inner.validate(raw, msg.index()).map_err(|v| {
            let seq = msg.index().seq_num;
            fix_validation_err(py, &v, (seq > 0).then_some(seq))
        })
    }

    /// The entries of the first `count_tag` group of `msg`, nested groups included.
    fn groups<'py>(
        &self,
        py: Python<'py>,
        msg: &PyFixMessage,
        count_tag: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let raw = msg.raw_bytes(py);
        let entries = self.inner.groups(raw, msg.index(), count_tag);
        entries_to_py(py, raw, &entries)
    }

    fn is_admin(&self, msg_type: &str) -> bool {
        self.inner.is_admin(msg_type)
    }

    fn field_name(&self, tag: u32) -> Option<String> {
        self.inner.field_name(tag).map(str::to_owned)
    }

    fn message_name(&self, msg_type: &str) -> Option<String> {
        self.inner.message_name(msg_type).map(str::to_owned)
    }

    fn required_fields(&self, msg_type: &str) -> Vec<u32> {
        self.inner.required_fields(msg_type)
    }

    #[getter]
    fn begin_string(&self) -> String {
        self.inner.begin_string().to_owned()
    }

    fn __repr__(&self) -> String {
        format!(
            "FixDictionary({:?}, {} fields, {} messages)",
            self.inner.begin_string(),
            self.inner.field_count(),
            self.inner.message_count()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFixMessage>()?;
    m.add_class::<PyFixFramer>()?;
    m.add_class::<PyFixEncoder>()?;
    m.add_class::<PyFixDictionary>()?;
    m.add_function(wrap_pyfunction!(py_parse, m)?)?;
    m.add_function(wrap_pyfunction!(py_encode_message, m)?)?;
    m.add_function(wrap_pyfunction!(py_utc_timestamp, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_utc_timestamp, m)?)?;
    Ok(())
}
