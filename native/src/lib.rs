//! `venuegate._native`: `PyO3` bindings of the engine crate. Argument conversion and error mapping
//! only; the logic lives in `engine` (see `engine/src/lib.rs`).

// Python slots such as `__repr__` take `&self` even where the answer is constant.
#![allow(clippy::unused_self)]

mod book;
mod bytes;
mod errors;
mod fix;
mod fixed;
mod journal;
mod reader;
mod request;
mod sign;
mod ticks;
mod ws;

use pyo3::prelude::*;

/// The native module. Users import the public `venuegate` modules, which re-export from here.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    fixed::register(m)?;
    book::register(m)?;
    sign::register(m)?;
    request::register(m)?;
    ws::register(m)?;
    ticks::register(m)?;
    journal::register(m)?;
    fix::register(m)?;
    reader::register(m)?;
    Ok(())
}
