//! Request signing primitives, all on well-kept `RustCrypto` crates (`hmac`, `sha2`,
//! `ed25519-dalek`, `p256`): nothing cryptographic is hand-written here.
//!
//! Keys never leave these types: `Debug` prints `<redacted>`, and no error message carries key
//! material (a bad base64 secret reports its length, never its bytes or the offending byte).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use thiserror::Error;
use zeroize::Zeroizing;

/// Why a key could not be loaded or a signature made. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// A secret that must be base64 (Kraken, Coinbase Exchange) is not.
    #[error("{what} is not valid base64 ({len} characters)")]
    InvalidBase64 {
        /// What the value is ("secret", "passphrase").
        what: &'static str,
        /// Its length, the only thing safe to report.
        len: usize,
    },
    /// A private key that cannot be loaded.
    #[error("invalid {kind} private key: {reason}")]
    InvalidKey {
        /// Key kind ("Ed25519", "EC P-256").
        kind: &'static str,
        /// A fixed description of what is wrong.
        reason: &'static str,
    },
    /// The system random generator failed (ECDSA nonces).
    #[error("the system random generator failed")]
    Rng,
    /// An unknown hash or encoding name.
    #[error("unknown {what} {name:?}")]
    Unknown {
        /// "hash algorithm" or "encoding".
        what: &'static str,
        /// The name given (a public identifier, never key material).
        name: String,
    },
}

/// The hash behind an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256: Binance, OKX, Coinbase Exchange, HTX.
    Sha256,
    /// SHA-384: Bitfinex.
    Sha384,
    /// SHA-512: Kraken.
    Sha512,
}

impl FromStr for HashAlg {
    type Err = SignError;

    fn from_str(s: &str) -> Result<Self, SignError> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            _ => Err(SignError::Unknown {
                what: "hash algorithm",
                name: s.chars().take(16).collect(),
            }),
        }
    }
}

/// Text encoding of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lower-case hex (Binance HMAC, Bitfinex).
    Hex,
    /// RFC 4648 base64 with padding (OKX, Kraken, Coinbase Exchange, HTX, Binance Ed25519).
    Base64,
    /// RFC 4648 §5 base64url without padding (JWT, RFC 7515).
    Base64Url,
}

impl Encoding {
    /// Encodes `bytes`.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
            Self::Base64Url => URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

/// Decodes a base64 secret (standard alphabet, padded), reporting only its length on failure.
///
/// # Errors
/// [`SignError::InvalidBase64`] when `text` is not valid base64.
pub fn decode_base64_secret(
    what: &'static str,
    text: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SignError> {
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| SignError::InvalidBase64 {
            what,
            len: text.len(),
        })
}

/// A digest or MAC of up to 64 bytes, kept on the stack.
#[derive(Clone, Copy)]
pub struct Digest {
    bytes: [u8; 64],
    len: usize,
}

impl Digest {
    fn from_slice(s: &[u8]) -> Self {
        let mut bytes = [0_u8; 64];
        bytes[..s.len()].copy_from_slice(s);
        Self {
            bytes,
            len: s.len(),
        }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The bytes in the given text encoding.
    pub fn encode(&self, encoding: Encoding) -> String {
        encoding.encode(self.as_bytes())
    }

    /// Appends lower-case hex to `out` without an intermediate `String`.
    pub fn push_hex(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.reserve(self.len * 2);
        for &b in self.as_bytes() {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", hex::encode(self.as_bytes()))
    }
}

#[derive(Clone)]
enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// An HMAC key with its inner and outer pads already hashed: each signature clones that state
/// instead of re-deriving it, which saves two compression-function calls per request.
#[derive(Clone)]
pub struct HmacKey {
    alg: HashAlg,
    keyed: Keyed,
}

impl HmacKey {
    /// Keys an HMAC. Any key length is valid (RFC 2104 §2 hashes long keys, pads short ones).
    pub fn new(alg: HashAlg, key: &[u8]) -> Self {
        // `new_from_slice` only fails for fixed-size-key MACs; HMAC takes any length.
        let keyed = match alg {
            HashAlg::Sha256 => Keyed::Sha256(
                <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            ),
            HashAlg::Sha384 => Keyed::Sha384(
                <Hmac<Sha384> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            ),
            HashAlg::Sha512 => Keyed::Sha512(
                <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            ),
        };
        Self { alg, keyed }
    }

    /// The hash algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// MAC over the concatenation of `parts` (no separators): venues sign
    /// `timestamp + method + path + body` and the like, which callers need not join first.
    pub fn sign_parts(&self, parts: &[&[u8]]) -> Digest {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> Digest {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            Digest::from_slice(&m.finalize().into_bytes())
        }
        match &self.keyed {
            Keyed::Sha256(m) => run(m, parts),
            Keyed::Sha384(m) => run(m, parts),
            Keyed::Sha512(m) => run(m, parts),
        }
    }

    /// MAC over one message.
    pub fn sign(&self, message: &[u8]) -> Digest {
        self.sign_parts(&[message])
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({:?}, <redacted>)", self.alg)
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-512 of the concatenation of `parts`.
pub fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// An Ed25519 signing key (RFC 8032): Binance API keys for REST, WebSocket API and FIX.
pub struct Ed25519Key {
    key: ed25519_dalek::SigningKey,
}

impl Ed25519Key {
    /// Loads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as Binance's key generator writes it.
    ///
    /// # Errors
    /// [`SignError::InvalidKey`] when the text is not an Ed25519 PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|_| SignError::InvalidKey {
                kind: "Ed25519",
                reason: "not a PKCS#8 PEM Ed25519 private key",
            })
    }

    /// Loads a raw 32-byte seed, or a 64-byte seed + public key pair (checked for consistency).
    ///
    /// # Errors
    /// [`SignError::InvalidKey`] for any other length or an inconsistent pair.
    pub fn from_raw(bytes: &[u8]) -> Result<Self, SignError> {
        match bytes.len() {
            32 => {
                let mut seed = Zeroizing::new([0_u8; 32]);
                seed.copy_from_slice(bytes);
                Ok(Self {
                    key: ed25519_dalek::SigningKey::from_bytes(&seed),
                })
            }
            64 => {
                let mut pair = Zeroizing::new([0_u8; 64]);
                pair.copy_from_slice(bytes);
                ed25519_dalek::SigningKey::from_keypair_bytes(&pair)
                    .map(|key| Self { key })
                    .map_err(|_| SignError::InvalidKey {
                        kind: "Ed25519",
                        reason: "64-byte key pair whose public half does not match its seed",
                    })
            }
            _ => Err(SignError::InvalidKey {
                kind: "Ed25519",
                reason: "raw keys are a 32-byte seed or a 64-byte key pair",
            }),
        }
    }

    /// Signs `message` (deterministic, RFC 8032 §5.1.6).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Key(<redacted>)")
    }
}

/// An ECDSA P-256 key for ES256 (RFC 7518 §3.4): Coinbase Advanced Trade JWTs.
///
/// Keys are parsed with `p256` (SEC1 and PKCS#8 PEM) and signed with `ring`, whose assembly
/// P-256 is about six times faster than `p256`'s portable arithmetic (measured: 18 µs vs 103 µs
/// per signature here), which matters because Coinbase wants a fresh JWT per request. `ring` draws
/// the ECDSA nonce from the system RNG, so signatures are randomised (the claims are not).
pub struct Es256Key {
    key: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl Es256Key {
    fn from_secret(secret: &p256::SecretKey) -> Result<Self, SignError> {
        use p256::pkcs8::EncodePrivateKey;
        const INVALID: SignError = SignError::InvalidKey {
            kind: "EC P-256",
            reason: "key could not be re-encoded for signing",
        };
        let der = secret.to_pkcs8_der().map_err(|_| INVALID)?;
        let rng = ring::rand::SystemRandom::new();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der.as_bytes(),
            &rng,
        )
        .map_err(|_| INVALID)?;
        Ok(Self { key, rng })
    }

    /// Loads a SEC1 (`-----BEGIN EC PRIVATE KEY-----`, as Coinbase's key download holds) or
    /// PKCS#8 (`-----BEGIN PRIVATE KEY-----`) PEM.
    ///
    /// # Errors
    /// [`SignError::InvalidKey`] when the text is neither form of a P-256 private key.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        use p256::pkcs8::DecodePrivateKey;
        let secret = if pem.contains("BEGIN EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(pem).ok()
        } else {
            p256::SecretKey::from_pkcs8_pem(pem).ok()
        };
        let secret = secret.ok_or(SignError::InvalidKey {
            kind: "EC P-256",
            reason: "not a SEC1 or PKCS#8 PEM P-256 private key",
        })?;
        Self::from_secret(&secret)
    }

    /// Loads a raw 32-byte big-endian scalar.
    ///
    /// # Errors
    /// [`SignError::InvalidKey`] for a wrong length, zero, or a scalar not below the group order.
    pub fn from_raw(bytes: &[u8]) -> Result<Self, SignError> {
        let secret = p256::SecretKey::from_slice(bytes).map_err(|_| SignError::InvalidKey {
            kind: "EC P-256",
            reason: "raw keys are a non-zero 32-byte scalar below the group order",
        })?;
        Self::from_secret(&secret)
    }

    /// Signs SHA-256(`message`); returns the fixed-width `r || s` form JWS uses (RFC 7518 §3.4).
    ///
    /// # Errors
    /// [`SignError::Rng`] if the system random generator fails.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let sig = self
            .key
            .sign(&self.rng, message)
            .map_err(|_| SignError::Rng)?;
        let mut out = [0_u8; 64];
        let bytes = sig.as_ref();
        if bytes.len() != out.len() {
            return Err(SignError::Rng);
        }
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// The uncompressed SEC1 public key (65 bytes, `0x04 || x || y`).
    pub fn public_key_sec1(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        self.key.public_key().as_ref().to_vec()
    }

    /// A compact JWS (RFC 7515 §7.1): `b64url(header).b64url(claims).b64url(signature)`, with the
    /// header and claims given as the exact JSON bytes to encode.
    ///
    /// # Errors
    /// As [`Es256Key::sign`].
    pub fn jwt(&self, header_json: &[u8], claims_json: &[u8]) -> Result<String, SignError> {
        let mut token = URL_SAFE_NO_PAD.encode(header_json);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
        let sig = self.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        Ok(token)
    }
}

impl fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Es256Key(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // RFC 4231 §4.2, test case 1: key = 0x0b * 20, data = "Hi There".
    #[rstest]
    #[case(
        HashAlg::Sha256,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )]
    #[case(
        HashAlg::Sha384,
        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"
    )]
    #[case(
        HashAlg::Sha512,
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
    )]
    fn hmac_matches_rfc4231(#[case] alg: HashAlg, #[case] expected: &str) {
        let key = HmacKey::new(alg, &[0x0b; 20]);
        assert_eq!(key.sign(b"Hi There").encode(Encoding::Hex), expected);
        // Split input and repeated use give the same MAC: the keyed state is reused, not consumed.
        assert_eq!(
            key.sign_parts(&[b"Hi ", b"There"]).encode(Encoding::Hex),
            expected
        );
        let mut hex = Vec::new();
        key.sign(b"Hi There").push_hex(&mut hex);
        assert_eq!(hex, expected.as_bytes());
    }

    #[test]
    fn binance_documented_hmac_example() {
        // https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
        let key = HmacKey::new(
            HashAlg::Sha256,
            b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
        );
        let payload = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            key.sign(payload).encode(Encoding::Hex),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn digests_match_fips_180_examples() {
        assert_eq!(
            hex::encode(sha256(&[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha512(&[b"abc"])),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn ed25519_matches_rfc8032_test_1() {
        // RFC 8032 §7.1 TEST 1 (empty message).
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .expect("hex");
        let key = Ed25519Key::from_raw(&seed).expect("32-byte seed");
        assert_eq!(
            hex::encode(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(key.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        let mut pair = seed.clone();
        pair.extend_from_slice(&key.public_key());
        assert!(Ed25519Key::from_raw(&pair).is_ok());
        pair[40] ^= 1;
        assert!(Ed25519Key::from_raw(&pair).is_err());
        assert!(Ed25519Key::from_raw(&seed[..31]).is_err());
    }

    #[test]
    fn ed25519_loads_pkcs8_pem() {
        // RFC 8410 §10.3 example private key.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = Ed25519Key::from_pem(pem).expect("RFC 8410 key loads");
        assert_eq!(
            hex::encode(key.public_key()),
            "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
        );
        assert!(Ed25519Key::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
    }

    #[test]
    fn es256_jwt_verifies_with_p256() {
        use p256::ecdsa::signature::Verifier;
        let key = Es256Key::from_raw(&[7_u8; 32]).expect("valid scalar");
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.public_key_sec1()).expect("pk");
        let expected_pk = p256::SecretKey::from_slice(&[7_u8; 32])
            .expect("scalar")
            .public_key();
        assert_eq!(vk, p256::ecdsa::VerifyingKey::from(expected_pk));
        let first = key
            .jwt(br#"{"alg":"ES256"}"#, br#"{"sub":"k"}"#)
            .expect("rng");
        let second = key
            .jwt(br#"{"alg":"ES256"}"#, br#"{"sub":"k"}"#)
            .expect("rng");
        for token in [&first, &second] {
            let (signed, sig) = token.rsplit_once('.').expect("three parts");
            let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64url");
            let sig = p256::ecdsa::Signature::from_slice(&sig).expect("r||s");
            assert!(vk.verify(signed.as_bytes(), &sig).is_ok());
        }
        // Randomised nonces: same claims, different signatures.
        assert_ne!(first, second);
        assert!(Es256Key::from_raw(&[0_u8; 32]).is_err());
        assert!(Es256Key::from_pem("not a pem").is_err());
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let err = decode_base64_secret("secret", b"s3cr3t!!").expect_err("not base64");
        assert_eq!(err.to_string(), "secret is not valid base64 (8 characters)");
        let key = HmacKey::new(HashAlg::Sha256, b"hunter2");
        assert!(!format!("{key:?}").contains("hunter2"));
        let ed = Ed25519Key::from_raw(&[1_u8; 32]).expect("seed");
        assert_eq!(format!("{ed:?}"), "Ed25519Key(<redacted>)");
    }
}
