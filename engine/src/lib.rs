//! venuegate's pure-Rust core. No Python here: the `native` crate binds it.
//!
//! - [`fixed`]: exact fixed-point decimals for prices and sizes.
//! - [`sign`]: HMAC, digests, Ed25519 and ES256 signing on well-kept `RustCrypto` crates.
//! - [`encode`]: the percent-encodings venues sign.

pub mod encode;
pub mod fixed;
pub mod sign;

pub use fixed::{Fixed, FixedError, Rounding};
pub use sign::{Digest, Ed25519Key, Encoding, Es256Key, HashAlg, HmacKey, SignError};
