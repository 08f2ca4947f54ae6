//! `Journal` and `read_journal`: the order journal (engine/src/journal.rs). The `none` and
//! `group` appends keep the GIL (one `write`, about a microsecond); every fsync releases it.
//! Errors raise `venuegate.errors.JournalError`.

use std::time::Duration;

use engine::journal::{self, FsyncPolicy, Journal};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::errors::journal_err;

/// An open order journal, appending.
#[pyclass(name = "Journal", module = "venuegate._native")]
pub struct PyJournal {
    inner: Journal,
    fsync: &'static str,
}

fn policy(fsync: &str, group_interval_ms: u64) -> PyResult<(FsyncPolicy, &'static str)> {
    match fsync {
        "none" => Ok((FsyncPolicy::None, "none")),
        "always" => Ok((FsyncPolicy::Always, "always")),
        "group" if group_interval_ms > 0 => Ok((
            FsyncPolicy::Group {
                interval: Duration::from_millis(group_interval_ms),
            },
            "group",
        )),
        "group" => Err(PyValueError::new_err(
            "group_interval_ms must be at least 1",
        )),
        other => Err(PyValueError::new_err(format!(
            "fsync must be \"none\", \"group\" or \"always\", got {other:?}"
        ))),
    }
}

#[pymethods]
impl PyJournal {
    #[new]
    #[pyo3(signature = (path, fsync = "none", group_interval_ms = 5))]
    fn py_new(py: Python<'_>, path: &str, fsync: &str, group_interval_ms: u64) -> PyResult<Self> {
        let (pol, name) = policy(fsync, group_interval_ms)?;
        let inner = py
            .detach(|| Journal::open(path, pol))
            .map_err(|e| journal_err(py, &e))?;
        Ok(Self { inner, fsync: name })
    }

    /// Appends one record with one `write`; returns its sequence number.
    fn append(&mut self, py: Python<'_>, kind: u8, payload: &[u8]) -> PyResult<u64> {
        let res = if matches!(self.inner.policy(), FsyncPolicy::Always) {
            let inner = &mut self.inner;
            py.detach(|| inner.append(kind, payload))
        } else {
            self.inner.append(kind, payload)
        };
        res.map_err(|e| journal_err(py, &e))
    }

    /// Appends `(kind, payload)` records with one `write`; returns the last sequence number.
    fn append_batch(&mut self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<u64> {
        let mut held: Vec<(u8, Bound<'_, PyBytes>)> = Vec::new();
        for item in records.try_iter()? {
            held.push(item?.extract()?);
        }
        let views: Vec<(u8, &[u8])> = held.iter().map(|(k, b)| (*k, b.as_bytes())).collect();
        let res = if matches!(self.inner.policy(), FsyncPolicy::Always) {
            let inner = &mut self.inner;
            py.detach(|| inner.append_batch(views))
        } else {
            self.inner.append_batch(views)
        };
        res.map_err(|e| journal_err(py, &e))
    }

    /// Forces everything appended to disk (fdatasync), without the GIL.
    fn sync(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| inner.sync()).map_err(|e| journal_err(py, &e))
    }

    /// Stops the group-commit thread and syncs what it had not; idempotent.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| inner.close()).map_err(|e| journal_err(py, &e))
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (exc_type, exc, tb))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let _ = (exc_type, exc, tb);
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Journal(path={:?}, fsync={:?}, next_seq={}{})",
            self.inner.path().display().to_string(),
            self.fsync,
            self.inner.next_seq(),
            if self.inner.is_closed() {
                ", closed"
            } else {
                ""
            }
        )
    }

    #[getter]
    fn path(&self) -> String {
        self.inner.path().display().to_string()
    }

    #[getter]
    fn fsync(&self) -> &'static str {
        self.fsync
    }

    #[getter]
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    #[getter]
    fn recovered_torn_bytes(&self) -> u64 {
        self.inner.recovered_torn_bytes()
    }

    #[getter]
    fn end_offset(&self) -> u64 {
        self.inner.end_offset()
    }

    #[getter]
    fn sync_count(&self) -> u64 {
        self.inner.sync_count()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// Reads a journal's records from `offset`: `(records, end_offset, torn_bytes)`.
#[pyfunction]
#[pyo3(name = "read_journal", signature = (path, offset = 0))]
fn py_read_journal<'py>(
    py: Python<'py>,
    path: &str,
    offset: u64,
) -> PyResult<(Bound<'py, PyList>, u64, u64)> {
    let read = py
        .detach(|| journal::read_journal(path, offset))
        .map_err(|e| journal_err(py, &e))?;
    let items = read
        .iter()
        .map(|r| {
            PyTuple::new(
                py,
                [
                    r.seq.into_pyobject(py)?.into_any(),
                    r.kind.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, r.payload).into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((PyList::new(py, items)?, read.end_offset, read.torn_bytes))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyJournal>()?;
    m.add_function(wrap_pyfunction!(py_read_journal, m)?)?;
    m.add("JOURNAL_MAX_PAYLOAD", journal::MAX_PAYLOAD)?;
    Ok(())
}
