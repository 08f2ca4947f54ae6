"""The native signing primitives the venue signers are built on.

For users with needs of their own (a venue's WebSocket login, a FIX dialect): keys stay native
and never print.

- `Hmac`: HMAC-SHA256/384/512 with the key schedule done once; hex, base64 or raw output.
- `Ed25519Key`: RFC 8032 signatures from a PKCS#8 PEM or a raw seed.
- `Es256Key`: ECDSA P-256 (RFC 6979 nonces) and compact ES256 JWTs.
- `sha256`, `sha512`: digests of concatenated parts.
- `urlencode`: the query/form encodings venues sign (`plus` as urllib, `percent` as RFC 3986).
"""

from venuegate._native import Ed25519Key, Es256Key, Hmac, sha256, sha512, urlencode

__all__ = ["Ed25519Key", "Es256Key", "Hmac", "sha256", "sha512", "urlencode"]
