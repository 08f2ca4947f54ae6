//! `TickDecoder`: trade and best bid/offer messages → compact tuples of integer mantissas (no
//! per-level Python objects). Malformed input raises `venuegate.errors.ProtocolError`.

use std::str::FromStr;

use engine::book::Side;
use engine::feeds::ticks::{self, Bbo, Tick, TickError, Trade};
use engine::feeds::Venue;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple, PyType};

use crate::bytes::as_bytes;

static PROTOCOL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Maps a tick error to `venuegate.errors.ProtocolError` (imported on this cold path).
#[cold]
fn tick_err(py: Python<'_>, err: &TickError) -> PyErr {
    let msg = match err {
        TickError::Json { .. }
        | TickError::Number { .. }
        | TickError::NegativeSize(_)
        | TickError::Field { .. } => err.to_string(),
    };
    match PROTOCOL_ERROR.import(py, "venuegate.errors", "ProtocolError") {
        Ok(cls) => PyErr::from_type(cls.clone(), msg),
        // Only reachable if the package is broken; still an exception, never a panic.
        Err(e) => PyRuntimeError::new_err(format!("{msg} (and venuegate.errors failed: {e})")),
    }
}

/// The aggressor side as an int: 1 buy, -1 sell, 0 unknown.
fn side_code(side: Option<Side>) -> i8 {
    match side {
        Some(Side::Bid) => 1,
        Some(Side::Ask) => -1,
        None => 0,
    }
}

type BboTuple = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn bbo_tuple(b: &Bbo) -> BboTuple {
    (
        b.bid.map(|l| l.0),
        b.bid.map(|l| l.1),
        b.ask.map(|l| l.0),
        b.ask.map(|l| l.1),
        b.ts_ms,
    )
}

/// A venue's trade / BBO decoder at fixed price and size precision.
#[pyclass(name = "TickDecoder", module = "venuegate._native")]
pub struct PyTickDecoder {
    venue: Venue,
    venue_name: String,
    price_precision: u8,
    size_precision: u8,
    scratch: Vec<Trade>,
}

#[pymethods]
impl PyTickDecoder {
    #[new]
    fn py_new(venue: &str, price_precision: u8, size_precision: u8) -> PyResult<Self> {
        let parsed = Venue::from_str(venue)
            .map_err(|_| PyValueError::new_err(format!("no tick decoder for venue {venue:?}")))?;
        if price_precision > engine::fixed::MAX_SCALE || size_precision > engine::fixed::MAX_SCALE {
            return Err(PyValueError::new_err(format!(
                "precision must be 0..={}",
                engine::fixed::MAX_SCALE
            )));
        }
        Ok(Self {
            venue: parsed,
            venue_name: venue.to_owned(),
            price_precision,
            size_precision,
            scratch: Vec::with_capacity(16),
        })
    }

    /// Decodes one message: `("trades", [(price, size, side, ts_ms, trade_id), ...])`,
    /// `("bbo", (bid_px, bid_sz, ask_px, ask_sz, ts_ms))` or `("ignored", None)`.
    #[pyo3(name = "decode")]
    fn py_decode<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let data = as_bytes(data)?;
        self.scratch.clear();
        let tick = ticks::decode(
            self.venue,
            &data,
            self.price_precision,
            self.size_precision,
            &mut self.scratch,
        )
        .map_err(|e| tick_err(py, &e))?;
        match tick {
            Tick::Trades(_) => {
                let list = PyList::empty(py);
                for t in &self.scratch {
                    list.append((
                        t.price,
                        t.size,
                        side_code(t.side),
                        t.ts_ms,
                        t.trade_id.as_str(),
                    ))?;
                }
                ("trades", list).into_pyobject(py)
            }
            Tick::Bbo(b) => ("bbo", bbo_tuple(&b)).into_pyobject(py),
            Tick::Ignored => ("ignored", py.None()).into_pyobject(py),
        }
    }

    /// The venue name given.
    #[getter]
    fn venue(&self) -> &str {
        &self.venue_name
    }

    /// Digits after the point in prices.
    #[getter]
    fn price_precision(&self) -> u8 {
        self.price_precision
    }

    /// Digits after the point in sizes.
    #[getter]
    fn size_precision(&self) -> u8 {
        self.size_precision
    }

    fn __repr__(&self) -> String {
        format!(
            "TickDecoder({:?}, {}, {})",
            self.venue_name, self.price_precision, self.size_precision
        )
    }
}

/// Adds `TickDecoder` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTickDecoder>()
}
