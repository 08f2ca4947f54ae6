//! Signing objects: keys are loaded once into native objects and never come back to Python.

use engine::encode::{push_pair, Escape};
use engine::sign::{self, Ed25519Key, Encoding, Es256Key, HashAlg, HmacKey};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::bytes::{as_bytes, push_param_value, type_name};
use crate::errors::sign_err;
use crate::request::PySignedRequest;

/// Collects `*parts` as borrowed byte slices (bytes and str borrow; other buffers copy).
fn with_parts<R>(parts: &Bound<'_, PyTuple>, f: impl FnOnce(&[&[u8]]) -> R) -> PyResult<R> {
    let mut owned = Vec::with_capacity(parts.len());
    for p in parts.iter() {
        owned.push(p);
    }
    let mut views = Vec::with_capacity(owned.len());
    for p in &owned {
        views.push(as_bytes(p)?);
    }
    let slices: Vec<&[u8]> = views.iter().map(AsRef::as_ref).collect();
    Ok(f(&slices))
}

fn parse_escape(mode: &str) -> PyResult<Escape> {
    match mode {
        "plus" => Ok(Escape::FormPlus),
        "percent" => Ok(Escape::Percent),
        _ => Err(PyValueError::new_err(format!(
            "unknown escape mode {mode:?}: use 'plus' or 'percent'"
        ))),
    }
}

/// Appends `params` (a dict, or a sequence of key/value pairs) to a query string in order.
/// Returns whether a key equal to `watch` was seen.
fn push_params(
    out: &mut Vec<u8>,
    params: &Bound<'_, PyAny>,
    mode: Escape,
    watch: Option<&str>,
) -> PyResult<bool> {
    let mut seen = false;
    let mut value_buf = Vec::with_capacity(32);
    let mut push = |key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>| -> PyResult<()> {
        let key = key.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "request parameter names must be str, got {}",
                type_name(key)
            ))
        })?;
        let key = key.to_str()?;
        if watch == Some(key) {
            seen = true;
        }
        value_buf.clear();
        push_param_value(&mut value_buf, value)?;
        push_pair(out, key.as_bytes(), &value_buf, mode);
        Ok(())
    };
    if let Ok(dict) = params.cast::<PyDict>() {
        for (k, v) in dict.iter() {
            push(&k, &v)?;
        }
    } else if params.hasattr("items")? {
        for item in params.call_method0("items")?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            push(&k, &v)?;
        }
    } else {
        for item in params.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract().map_err(|_| {
                PyTypeError::new_err("request parameters must be a mapping or (name, value) pairs")
            })?;
            push(&k, &v)?;
        }
    }
    Ok(seen)
}

fn ascii_string(buf: Vec<u8>) -> PyResult<String> {
    // Percent-encoded output is ASCII by construction.
    String::from_utf8(buf).map_err(|_| PyValueError::new_err("query is not ASCII"))
}

/// Percent-encodes request parameters in the caller's order (`sort=True`: by name).
#[pyfunction]
#[pyo3(signature = (params, mode = "plus", sort = false))]
fn urlencode(params: &Bound<'_, PyAny>, mode: &str, sort: bool) -> PyResult<String> {
    let mode = parse_escape(mode)?;
    let mut out = Vec::with_capacity(256);
    if sort {
        // HTX signs parameters sorted by name (ASCII order); collect, sort, then encode.
        let mut pairs: Vec<(String, Bound<'_, PyAny>)> = Vec::new();
        let items = if let Ok(d) = params.cast::<PyDict>() {
            d.items().into_any()
        } else if params.hasattr("items")? {
            params.call_method0("items")?
        } else {
            params.clone()
        };
        for item in items.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract().map_err(|_| {
                PyTypeError::new_err("request parameters must be a mapping or (name, value) pairs")
            })?;
            let k = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "request parameter names must be str, got {}",
                    type_name(&k)
                ))
            })?;
            pairs.push((k.to_str()?.to_owned(), v));
        }
        pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut value_buf = Vec::with_capacity(32);
        for (k, v) in &pairs {
            value_buf.clear();
            push_param_value(&mut value_buf, v)?;
            push_pair(&mut out, k.as_bytes(), &value_buf, mode);
        }
    } else {
        push_params(&mut out, params, mode, None)?;
    }
    ascii_string(out)
}

/// SHA-256 of the concatenated parts.
#[pyfunction]
#[pyo3(signature = (*parts))]
fn sha256<'py>(py: Python<'py>, parts: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyBytes>> {
    let digest = with_parts(parts, sign::sha256)?;
    Ok(PyBytes::new(py, &digest))
}

/// SHA-512 of the concatenated parts.
#[pyfunction]
#[pyo3(signature = (*parts))]
fn sha512<'py>(py: Python<'py>, parts: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyBytes>> {
    let digest = with_parts(parts, sign::sha512)?;
    Ok(PyBytes::new(py, &digest))
}

/// A keyed HMAC. The key stays native; `repr` never shows it.
#[pyclass(name = "Hmac", module = "venuegate._native", frozen)]
pub struct PyHmac {
    key: HmacKey,
}

fn parse_alg(py: Python<'_>, alg: &str) -> PyResult<HashAlg> {
    alg.parse().map_err(|e| sign_err(py, &e))
}

#[pymethods]
impl PyHmac {
    /// Keys an HMAC with raw key bytes (a `str` key is its UTF-8 bytes).
    #[new]
    fn py_new(py: Python<'_>, alg: &str, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let alg = parse_alg(py, alg)?;
        let key = as_bytes(key)?;
        Ok(Self {
            key: HmacKey::new(alg, &key),
        })
    }

    /// Keys an HMAC with a base64-encoded secret (Kraken, Coinbase Exchange); the decoded key
    /// never exists as a Python object.
    #[staticmethod]
    #[pyo3(name = "from_base64_key")]
    fn py_from_base64_key(py: Python<'_>, alg: &str, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let alg = parse_alg(py, alg)?;
        let text = as_bytes(key)?;
        let raw = sign::decode_base64_secret("secret", text.trim_ascii())
            .map_err(|e| sign_err(py, &e))?;
        Ok(Self {
            key: HmacKey::new(alg, &raw),
        })
    }

    /// MAC of the concatenated parts, raw bytes.
    #[pyo3(name = "digest", signature = (*parts))]
    fn py_digest<'py>(
        &self,
        py: Python<'py>,
        parts: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let d = with_parts(parts, |p| self.key.sign_parts(p))?;
        Ok(PyBytes::new(py, d.as_bytes()))
    }

    /// MAC of the concatenated parts, lower-case hex.
    #[pyo3(name = "hexdigest", signature = (*parts))]
    fn py_hexdigest(&self, parts: &Bound<'_, PyTuple>) -> PyResult<String> {
        with_parts(parts, |p| self.key.sign_parts(p).encode(Encoding::Hex))
    }

    /// MAC of the concatenated parts, base64.
    #[pyo3(name = "b64digest", signature = (*parts))]
    fn py_b64digest(&self, parts: &Bound<'_, PyTuple>) -> PyResult<String> {
        with_parts(parts, |p| self.key.sign_parts(p).encode(Encoding::Base64))
    }

    /// The hash algorithm name.
    #[getter]
    fn alg(&self) -> &'static str {
        match self.key.alg() {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    fn __repr__(&self) -> String {
        format!("Hmac({}, key=<redacted>)", self.alg())
    }
}

/// An Ed25519 private key (Binance REST, WebSocket API and FIX logon).
#[pyclass(name = "Ed25519Key", module = "venuegate._native", frozen)]
pub struct PyEd25519Key {
    key: Ed25519Key,
}

#[pymethods]
impl PyEd25519Key {
    /// Loads a PKCS#8 PEM private key.
    #[staticmethod]
    #[pyo3(name = "from_pem")]
    fn py_from_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        Ed25519Key::from_pem(pem)
            .map(|key| Self { key })
            .map_err(|e| sign_err(py, &e))
    }

    /// Loads a raw 32-byte seed or 64-byte key pair.
    #[staticmethod]
    #[pyo3(name = "from_raw")]
    fn py_from_raw(py: Python<'_>, raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ed25519Key::from_raw(&as_bytes(raw)?)
            .map(|key| Self { key })
            .map_err(|e| sign_err(py, &e))
    }

    /// Signature of the concatenated parts, raw 64 bytes.
    #[pyo3(name = "sign", signature = (*parts))]
    fn py_sign<'py>(
        &self,
        py: Python<'py>,
        parts: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let sig = with_parts(parts, |p| self.key.sign(&p.concat()))?;
        Ok(PyBytes::new(py, &sig))
    }

    /// Signature of the concatenated parts, base64.
    #[pyo3(name = "sign_b64", signature = (*parts))]
    fn py_sign_b64(&self, parts: &Bound<'_, PyTuple>) -> PyResult<String> {
        with_parts(parts, |p| {
            Encoding::Base64.encode(&self.key.sign(&p.concat()))
        })
    }

    /// The raw 32-byte public key.
    #[pyo3(name = "public_key")]
    fn py_public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_key())
    }

    fn __repr__(&self) -> &'static str {
        "Ed25519Key(<redacted>)"
    }
}

/// An ECDSA P-256 private key for ES256 JWTs (Coinbase Advanced Trade).
#[pyclass(name = "Es256Key", module = "venuegate._native", frozen)]
pub struct PyEs256Key {
    key: Es256Key,
}

#[pymethods]
impl PyEs256Key {
    /// Loads a SEC1 or PKCS#8 PEM private key.
    #[staticmethod]
    #[pyo3(name = "from_pem")]
    fn py_from_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        Es256Key::from_pem(pem)
            .map(|key| Self { key })
            .map_err(|e| sign_err(py, &e))
    }

    /// Loads a raw 32-byte scalar.
    #[staticmethod]
    #[pyo3(name = "from_raw")]
    fn py_from_raw(py: Python<'_>, raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        Es256Key::from_raw(&as_bytes(raw)?)
            .map(|key| Self { key })
            .map_err(|e| sign_err(py, &e))
    }

    /// `r || s` signature (64 bytes) of SHA-256 over `data`.
    #[pyo3(name = "sign")]
    fn py_sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let sig = self
            .key
            .sign(&as_bytes(data)?)
            .map_err(|e| sign_err(py, &e))?;
        Ok(PyBytes::new(py, &sig))
    }

    /// A compact ES256 JWS over the given header and claims JSON bytes.
    #[pyo3(name = "jwt")]
    fn py_jwt(
        &self,
        py: Python<'_>,
        header_json: &Bound<'_, PyAny>,
        claims_json: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        self.key
            .jwt(&as_bytes(header_json)?, &as_bytes(claims_json)?)
            .map_err(|e| sign_err(py, &e))
    }

    /// The uncompressed SEC1 public key (65 bytes).
    #[pyo3(name = "public_key")]
    fn py_public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_key_sec1())
    }

    fn __repr__(&self) -> &'static str {
        "Es256Key(<redacted>)"
    }
}

enum QueryKey {
    Hmac(Box<HmacKey>),
    Ed25519(Py<PyEd25519Key>),
}

/// Signs form-encoded requests whose signature is one more query parameter, computed over the
/// query string followed by the body with no separator: Binance spot and futures (HMAC-SHA256 hex
/// or Ed25519 base64). One native call from params to `SignedRequest`.
#[pyclass(name = "QuerySigner", module = "venuegate._native", frozen)]
pub struct PyQuerySigner {
    key: QueryKey,
    api_key_header: Py<PyString>,
    api_key: Py<PyString>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[pymethods]
impl PyQuerySigner {
    /// `key` is an `Hmac` (hex signatures) or an `Ed25519Key` (base64, percent-encoded).
    #[new]
    fn py_new(
        key: &Bound<'_, PyAny>,
        api_key_header: Bound<'_, PyString>,
        api_key: Bound<'_, PyString>,
    ) -> PyResult<Self> {
        let key = if let Ok(h) = key.cast::<PyHmac>() {
            QueryKey::Hmac(Box::new(h.get().key.clone()))
        } else if let Ok(e) = key.cast::<PyEd25519Key>() {
            QueryKey::Ed25519(e.clone().unbind())
        } else {
            return Err(PyTypeError::new_err(format!(
                "QuerySigner takes an Hmac or Ed25519Key, got {}",
                type_name(key)
            )));
        };
        Ok(Self {
            key,
            api_key_header: api_key_header.unbind(),
            api_key: api_key.unbind(),
        })
    }

    /// Signs one request. `params` are encoded in order, then `timestamp` (the given one, else
    /// the system clock) unless `params` or `body` carry one, then `signature`: appended to the
    /// query, or to `body` when a body is sent.
    #[pyo3(name = "sign", signature = (method, path, params, timestamp_ms = None, body = None))]
    fn py_sign(
        &self,
        py: Python<'_>,
        method: Bound<'_, PyString>,
        path: &str,
        params: &Bound<'_, PyAny>,
        timestamp_ms: Option<i64>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySignedRequest> {
        let body = body.map(as_bytes).transpose()?;
        let mut out = Vec::with_capacity(path.len() + 320);
        out.extend_from_slice(path.as_bytes());
        out.push(b'?');
        let query_start = out.len();
        let mut query = Vec::with_capacity(256);
        let has_ts = push_params(&mut query, params, Escape::FormPlus, Some("timestamp"))?;
        let body_has_ts = body
            .as_deref()
            .is_some_and(|b| b.windows(10).any(|w| w == b"timestamp="));
        if !has_ts && !body_has_ts {
            let ts = timestamp_ms.unwrap_or_else(now_ms);
            push_pair(
                &mut query,
                b"timestamp",
                ts.to_string().as_bytes(),
                Escape::FormPlus,
            );
        }
        out.extend_from_slice(&query);
        let mut sig = Vec::with_capacity(140);
        sig.extend_from_slice(b"signature=");
        match &self.key {
            QueryKey::Hmac(k) => {
                let mac = match &body {
                    Some(b) => k.sign_parts(&[&query, b]),
                    None => k.sign(&query),
                };
                mac.push_hex(&mut sig);
            }
            QueryKey::Ed25519(k) => {
                let mut payload = query.clone();
                if let Some(b) = &body {
                    payload.extend_from_slice(b);
                }
                let b64 = Encoding::Base64.encode(&k.get().key.sign(&payload));
                engine::encode::push_escaped(&mut sig, b64.as_bytes(), Escape::FormPlus);
            }
        }
        let headers = PyDict::new(py);
        headers.set_item(self.api_key_header.bind(py), self.api_key.bind(py))?;
        let body_out = match body {
            None => {
                if out.len() > query_start {
                    out.push(b'&');
                }
                out.extend_from_slice(&sig);
                None
            }
            Some(b) => {
                if out.len() == query_start {
                    out.pop(); // no query: drop the '?'
                }
                headers.set_item("Content-Type", "application/x-www-form-urlencoded")?;
                let mut full = b.into_owned();
                if !full.is_empty() {
                    full.push(b'&');
                }
                full.extend_from_slice(&sig);
                Some(PyBytes::new(py, &full))
            }
        };
        let method = if method.to_str()?.bytes().any(|b| b.is_ascii_lowercase()) {
            PyString::new(py, &method.to_str()?.to_ascii_uppercase())
        } else {
            method
        };
        let path = PyString::new(
            py,
            std::str::from_utf8(&out).map_err(|_| PyValueError::new_err("path is not UTF-8"))?,
        );
        Ok(PySignedRequest::new(method, path, headers, body_out))
    }

    fn __repr__(&self) -> &'static str {
        "QuerySigner(<redacted>)"
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHmac>()?;
    m.add_class::<PyQuerySigner>()?;
    m.add_class::<PyEd25519Key>()?;
    m.add_class::<PyEs256Key>()?;
    m.add_function(wrap_pyfunction!(urlencode, m)?)?;
    m.add_function(wrap_pyfunction!(sha256, m)?)?;
    m.add_function(wrap_pyfunction!(sha512, m)?)?;
    Ok(())
}
