//! `Fixed`: the engine's exact decimal, with exact conversion to and from `decimal.Decimal`.

use engine::{Fixed, Rounding};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::bytes::{as_bytes, decimal_type, type_name};
use crate::errors::fixed_err;

/// Python wrapper of [`engine::Fixed`]; equality, ordering and hashing are by value.
#[pyclass(name = "Fixed", module = "venuegate._native", frozen, eq, ord, hash)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyFixed(pub Fixed);

fn parse_rounding(mode: &str) -> PyResult<Rounding> {
    mode.parse().map_err(|()| {
        PyValueError::new_err(format!(
            "unknown rounding {mode:?}: use down, up, floor, ceiling, half_even or half_up"
        ))
    })
}

#[pymethods]
impl PyFixed {
    /// Parses a decimal string or bytes, or converts a `Decimal` or `int` exactly.
    #[new]
    fn py_new(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(f) = value.cast::<PyFixed>() {
            return Ok(*f.get());
        }
        if value.is_instance(decimal_type(py)?)? {
            return Self::py_from_decimal(py, value);
        }
        if value.is_instance_of::<pyo3::types::PyInt>()
            && !value.is_instance_of::<pyo3::types::PyBool>()
        {
            let mantissa: i64 = value
                .extract()
                .map_err(|_| fixed_err(py, &engine::FixedError::Overflow))?;
            return Fixed::new(mantissa, 0)
                .map(Self)
                .map_err(|e| fixed_err(py, &e));
        }
        if value.is_instance_of::<PyString>() || value.is_instance_of::<pyo3::types::PyBytes>() {
            let b = as_bytes(value)?;
            return Fixed::parse(&b).map(Self).map_err(|e| fixed_err(py, &e));
        }
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "Fixed() takes str, bytes, int or Decimal, got {}",
            type_name(value)
        )))
    }

    /// Builds `mantissa * 10**-scale`.
    #[staticmethod]
    #[pyo3(name = "from_parts")]
    fn py_from_parts(py: Python<'_>, mantissa: i64, scale: u8) -> PyResult<Self> {
        Fixed::new(mantissa, scale)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    /// Converts a `Decimal` exactly (NaN and infinities are refused).
    #[staticmethod]
    #[pyo3(name = "from_decimal")]
    fn py_from_decimal(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !value.is_instance(decimal_type(py)?)? {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "expected Decimal, got {}",
                type_name(value)
            )));
        }
        if !value.call_method0("is_finite")?.is_truthy()? {
            return Err(fixed_err(py, &engine::FixedError::NotFinite));
        }
        let text = value.str()?;
        Fixed::parse(text.to_str()?.as_bytes())
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    /// The exactly equal `Decimal`, with the same scale (`Fixed("1.50")` → `Decimal("1.50")`).
    #[pyo3(name = "to_decimal")]
    fn py_to_decimal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal_type(py)?.call1((self.0.to_string(),))
    }

    /// The integer mantissa.
    #[getter]
    fn mantissa(&self) -> i64 {
        self.0.mantissa()
    }

    /// The number of fractional digits.
    #[getter]
    fn scale(&self) -> u8 {
        self.0.scale()
    }

    /// The canonical string: no exponent, no trailing fractional zeros.
    #[pyo3(name = "canonical")]
    fn py_canonical(&self) -> String {
        self.0.canonical()
    }

    /// The value with exactly `scale` fractional digits; raises rather than round.
    #[pyo3(name = "format")]
    fn py_format(&self, py: Python<'_>, scale: u8) -> PyResult<String> {
        self.0.format_scaled(scale).map_err(|e| fixed_err(py, &e))
    }

    /// The same value at another scale; raises `DecimalError` rather than drop digits.
    #[pyo3(name = "rescale")]
    fn py_rescale(&self, py: Python<'_>, scale: u8) -> PyResult<Self> {
        self.0
            .rescale(scale)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    /// Rounds to `scale` digits with an explicit mode.
    #[pyo3(name = "round", signature = (scale, mode = "half_even"))]
    fn py_round(&self, py: Python<'_>, scale: u8, mode: &str) -> PyResult<Self> {
        self.0
            .round_to(scale, parse_rounding(mode)?)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Fixed('{}')", self.0)
    }

    fn __bool__(&self) -> bool {
        !self.0.is_zero()
    }

    fn __add__(&self, py: Python<'_>, other: &Self) -> PyResult<Self> {
        self.0
            .checked_add(other.0)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    fn __sub__(&self, py: Python<'_>, other: &Self) -> PyResult<Self> {
        self.0
            .checked_sub(other.0)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    fn __mul__(&self, py: Python<'_>, other: &Self) -> PyResult<Self> {
        self.0
            .checked_mul(other.0)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<Self> {
        Fixed::ZERO
            .checked_sub(self.0)
            .map(Self)
            .map_err(|e| fixed_err(py, &e))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFixed>()?;
    m.add("MAX_SCALE", engine::fixed::MAX_SCALE)?;
    Ok(())
}
