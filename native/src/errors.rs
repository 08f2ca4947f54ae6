//! The one place engine errors become Python exceptions. The exception classes themselves live
//! in `venuegate.errors` (Python), so the hierarchy, its retry classes and the builtin mix-ins
//! (`ValueError`) are declared once; this module imports them on the (cold) error path.

use engine::book::BookError;
use engine::fix::dict::{DictError, Violation};
use engine::fix::{FixError, FixErrorKind};
use engine::journal::JournalError;
use engine::{FixedError, SignError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

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

static FIX_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONFIG_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Maps a data dictionary that cannot be loaded to `venuegate.errors.ConfigError` (a
/// `ValueError`): the message names the file and the problem.
#[cold]
pub fn dict_err(py: Python<'_>, err: &DictError) -> PyErr {
    let msg = match err {
        DictError::Io { .. } | DictError::Invalid { .. } => err.to_string(),
    };
    raise(py, &CONFIG_ERROR, "ConfigError", msg)
}
static FIX_VALIDATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Builds a `venuegate.fix.codec.FixError` instance (a `ProtocolError` and a `ValueError`)
/// carrying `reason`, `tag`, `seq_num` and `reject_reason`. Messages name tags and reasons,
/// never values, so no credential in a Logon reaches an exception.
pub fn fix_err_value<'py>(py: Python<'py>, err: &FixError) -> PyResult<Bound<'py, PyAny>> {
    let msg = match err.kind {
        FixErrorKind::MissingBeginString
        | FixErrorKind::BadBeginString
        | FixErrorKind::MissingBodyLength
        | FixErrorKind::BadBodyLength
        | FixErrorKind::MissingMsgType
        | FixErrorKind::BodyLengthMismatch
        | FixErrorKind::MissingChecksum
        | FixErrorKind::BadChecksumFormat
        | FixErrorKind::BadChecksum
        | FixErrorKind::ChecksumNotLast
        | FixErrorKind::InvalidTag
        | FixErrorKind::EmptyValue
        | FixErrorKind::IncorrectDataFormat
        | FixErrorKind::DataLengthMismatch
        | FixErrorKind::DataWithoutLength
        | FixErrorKind::ValueContainsSoh
        | FixErrorKind::TooLarge
        | FixErrorKind::Garbage
        | FixErrorKind::BadTimestamp => err.to_string(),
    };
    let cls = FIX_ERROR.import(py, "venuegate.fix.codec", "FixError")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("reason", err.reason())?;
    kwargs.set_item("tag", err.tag)?;
    kwargs.set_item("seq_num", err.seq_num)?;
    kwargs.set_item("reject_reason", err.kind.reject_reason())?;
    cls.call((msg,), Some(&kwargs))
}

/// Maps a FIX codec error to a raised `venuegate.fix.codec.FixError`.
#[cold]
pub fn fix_err(py: Python<'_>, err: &FixError) -> PyErr {
    match fix_err_value(py, err) {
        Ok(v) => PyErr::from_value(v),
        Err(e) => PyRuntimeError::new_err(format!("{err} (and venuegate.fix.codec failed: {e})")),
    }
}

/// Maps a dictionary violation to a raised `venuegate.fix.codec.FixValidationError`.
#[cold]
pub fn fix_validation_err(py: Python<'_>, v: &Violation, seq_num: Option<u64>) -> PyErr {
    let build = || -> PyResult<Bound<'_, PyAny>> {
        let cls = FIX_VALIDATION_ERROR.import(py, "venuegate.fix.codec", "FixValidationError")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("reason", v.text.as_str())?;
        kwargs.set_item("tag", v.tag)?;
        kwargs.set_item("seq_num", seq_num)?;
        kwargs.set_item("reject_reason", v.reason)?;
        kwargs.set_item("business", v.business)?;
        cls.call((v.to_string(),), Some(&kwargs))
    };
    match build() {
        Ok(e) => PyErr::from_value(e),
        Err(e) => PyRuntimeError::new_err(format!("{v} (and venuegate.fix.codec failed: {e})")),
    }
}
