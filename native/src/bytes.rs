//! Borrowing byte views of Python arguments, and the text form of request parameter values.

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyInt, PyString, PyType};

use crate::errors::fixed_err;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `decimal.Decimal`, imported once.
pub fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

/// Borrows `bytes` and `str` (UTF-8) without copying; copies `bytearray` and buffer objects
/// such as `memoryview`.
pub fn as_bytes<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cow::Borrowed(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    // Any other buffer (memoryview, array, numpy): `bytes(obj)` copies it once.
    let py = obj.py();
    let copied = py.get_type::<PyBytes>().call1((obj,)).map_err(|_| {
        PyTypeError::new_err(format!(
            "expected bytes, str or a buffer, got {}",
            type_name(obj)
        ))
    })?;
    Ok(Cow::Owned(
        copied.cast_into::<PyBytes>()?.as_bytes().to_vec(),
    ))
}

/// The type name of `obj`, for error messages (never its value: values may be secrets).
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "<unknown>".to_owned(), |n| n.to_string())
}

/// Appends the wire text of a request parameter value: `str` as is, `bool` as `true`/`false`,
/// `int` in decimal, `Decimal` and `Fixed` in plain notation (never an exponent). Floats are
/// refused: a binary float cannot carry a price exactly.
pub fn push_param_value(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(s) = value.cast::<PyString>() {
        out.extend_from_slice(s.to_str()?.as_bytes());
        return Ok(());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return Ok(());
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            out.extend_from_slice(i.to_string().as_bytes());
        } else {
            out.extend_from_slice(value.str()?.to_str()?.as_bytes());
        }
        return Ok(());
    }
    if let Ok(f) = value.cast::<crate::fixed::PyFixed>() {
        f.get().0.write_to(out);
        return Ok(());
    }
    let py = value.py();
    if value.is_instance(decimal_type(py)?)? {
        let text = value.str()?;
        let text = text.to_str()?;
        if text.bytes().any(|b| b.is_ascii_digit()) && !text.contains(['E', 'e']) {
            out.extend_from_slice(text.as_bytes());
        } else {
            engine::Fixed::parse(text.as_bytes())
                .map_err(|e| fixed_err(py, &e))?
                .write_to(out);
        }
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "request parameter values must be str, int, bool, Decimal or Fixed, got {}{}",
        type_name(value),
        if value.is_instance_of::<pyo3::types::PyFloat>() {
            " (floats cannot carry prices and sizes exactly: pass Decimal or str)"
        } else {
            ""
        }
    )))
}
