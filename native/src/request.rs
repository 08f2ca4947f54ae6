//! `SignedRequest`: the signers' result, built natively so the hot signing path pays for one
//! small object, not a Python dataclass.

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// Header values that are credentials in their own right: `repr` hides them.
const SENSITIVE_HEADERS: [&str; 3] = [
    "authorization",
    "ok-access-passphrase",
    "cb-access-passphrase",
];

/// A request ready to send: method, path (with the query where the venue signs one), headers,
/// and the exact body bytes.
#[pyclass(name = "SignedRequest", module = "venuegate._native", frozen)]
pub struct PySignedRequest {
    /// Upper-case HTTP method.
    #[pyo3(get)]
    method: Py<PyString>,
    /// URL path as sent, with the query string where the venue signs one.
    #[pyo3(get)]
    path: Py<PyString>,
    /// Headers to add: API key, signature, timestamp, content type.
    #[pyo3(get)]
    headers: Py<PyDict>,
    /// The exact body to send, or None.
    #[pyo3(get)]
    body: Option<Py<PyBytes>>,
}

impl PySignedRequest {
    /// Builds one from Rust (the signers' fast path).
    pub fn new(
        method: Bound<'_, PyString>,
        path: Bound<'_, PyString>,
        headers: Bound<'_, PyDict>,
        body: Option<Bound<'_, PyBytes>>,
    ) -> Self {
        Self {
            method: method.unbind(),
            path: path.unbind(),
            headers: headers.unbind(),
            body: body.map(Bound::unbind),
        }
    }
}

#[pymethods]
impl PySignedRequest {
    #[new]
    #[pyo3(signature = (method, path, headers, body = None))]
    fn py_new(
        method: Bound<'_, PyString>,
        path: Bound<'_, PyString>,
        headers: Bound<'_, PyDict>,
        body: Option<Bound<'_, PyBytes>>,
    ) -> Self {
        Self::new(method, path, headers, body)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let shown = PyDict::new(py);
        for (k, v) in self.headers.bind(py).iter() {
            let name: String = k.str()?.to_str()?.to_ascii_lowercase();
            if SENSITIVE_HEADERS.contains(&name.as_str()) {
                shown.set_item(k, "<redacted>")?;
            } else {
                shown.set_item(k, v)?;
            }
        }
        let body = match &self.body {
            Some(b) => b.bind(py).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "SignedRequest(method={}, path={}, headers={}, body={})",
            self.method.bind(py).repr()?,
            self.path.bind(py).repr()?,
            shown.repr()?,
            body
        ))
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<PySignedRequest>() else {
            return Ok(py.NotImplemented());
        };
        let o = other.get();
        let same = PyAnyMethods::eq(self.method.bind(py).as_any(), o.method.bind(py))?
            && PyAnyMethods::eq(self.path.bind(py).as_any(), o.path.bind(py))?
            && PyAnyMethods::eq(self.headers.bind(py).as_any(), o.headers.bind(py))?
            && match (&self.body, &o.body) {
                (None, None) => true,
                (Some(a), Some(b)) => PyAnyMethods::eq(a.bind(py).as_any(), b.bind(py))?,
                _ => false,
            };
        match op {
            CompareOp::Eq => Ok(same.into_pyobject(py)?.to_owned().into_any().unbind()),
            CompareOp::Ne => Ok((!same).into_pyobject(py)?.to_owned().into_any().unbind()),
            _ => Ok(py.NotImplemented()),
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySignedRequest>()
}
