//! venuegate's pure-Rust core. No Python here: the `native` crate binds it.
//!
//! - [`fixed`]: exact fixed-point decimals for prices and sizes.
//! - [`sign`]: HMAC, digests, Ed25519 and ES256 signing on well-kept `RustCrypto` crates.
//! - [`encode`]: the percent-encodings venues sign.
//! - [`book`]: the L2 order book in fixed point, with venue checksums.
//! - [`feeds`]: venue book feeds: decode, sequence, checksum, resync.
//! - [`journal`]: the order journal, an append-only write-ahead log with torn-tail recovery.
//! - [`fix`]: the FIX codec (framer, parser, encoder) and `QuickFIX` XML data dictionaries.
//! - [`ws`]: the WebSocket codec (RFC 6455, permessage-deflate) and opening handshake.
//! - [`reader`]: a WebSocket connection read by its own thread (TCP/TLS, codec, feed apply).

pub mod book;
pub mod encode;
pub mod feeds;
pub mod fix;
pub mod fixed;
pub mod journal;
pub mod reader;
pub mod sign;
pub mod ws;

pub use fixed::{Fixed, FixedError, Rounding};
pub use sign::{Digest, Ed25519Key, Encoding, Es256Key, HashAlg, HmacKey, SignError};
