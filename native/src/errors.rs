//! The one place engine errors become Python exceptions. The exception classes themselves live
//! in `venuegate.errors` (Python), so the hierarchy, its retry classes and the builtin mix-ins
//! (`ValueError`) are declared once; this module imports them on the (cold) error path.

use engine::book::BookError;
use engine::journal::JournalError;
use engine::{FixedError, SignError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static DECIMAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SIGNING_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BOOK_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static JOURNAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn raise(py: Python<'_>, cell: &'static PyOnceLock<Py<PyType>>, name: &str, msg: String) -> PyErr {
    match cell.import(py, "venuegate.errors", name) {
        Ok(cls) => PyErr::from_type(cls.clone(), msg),
        // Only reachable if the package is broken; still an exception, never a panic.
        Err(e) => PyRuntimeError::new_err(format!("{msg} (and venuegate.errors failed: {e})")),
    }
}

/// Maps a fixed-point error to `venuegate.errors.DecimalError` (a `ValueError`).
#[cold]
pub fn fixed_err(py: Python<'_>, err: &FixedError) -> PyErr {
    let msg = match err {
        FixedError::Empty
        | FixedError::InvalidChar { .. }
        | FixedError::Overflow
        | FixedError::TooManyDigits { .. }
        | FixedError::ScaleTooLarge { .. }
        | FixedError::Inexact { .. }
        | FixedError::NotFinite => err.to_string(),
    };
    raise(py, &DECIMAL_ERROR, "DecimalError", msg)
}

/// Maps a signing error to `venuegate.errors.SigningError` (a `ValueError`). Engine messages
/// carry no key material, so they pass through unchanged.
#[cold]
pub fn sign_err(py: Python<'_>, err: &SignError) -> PyErr {
    let msg = match err {
        SignError::InvalidBase64 { .. }
        | SignError::InvalidKey { .. }
        | SignError::Unknown { .. }
        | SignError::Rng => err.to_string(),
    };
    raise(py, &SIGNING_ERROR, "SigningError", msg)
}

/// Maps a book error to `venuegate.errors.BookError` (a `ValueError`).
#[cold]
pub fn book_err(py: Python<'_>, err: &BookError) -> PyErr {
    let msg = match err {
        BookError::Number { .. } | BookError::NegativeSize(_) => err.to_string(),
    };
    raise(py, &BOOK_ERROR, "BookError", msg)
}

/// Maps a journal error to `venuegate.errors.JournalError`. Journal messages name the file, the
/// offset and the OS error; records are never quoted, so no payload reaches an exception.
#[cold]
pub fn journal_err(py: Python<'_>, err: &JournalError) -> PyErr {
    let msg = match err {
        JournalError::Io { .. }
        | JournalError::Foreign { .. }
        | JournalError::Version { .. }
        | JournalError::Corrupt { .. }
        | JournalError::TooLarge { .. }
        | JournalError::BadOffset { .. }
        | JournalError::Closed { .. }
        | JournalError::GroupSync { .. } => err.to_string(),
    };
    raise(py, &JOURNAL_ERROR, "JournalError", msg)
}
