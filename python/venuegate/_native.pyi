"""Typed stub of `venuegate._native`, the PyO3 binding of the Rust engine.

Import the public modules (`venuegate.fixed`, `venuegate.auth`), not this one. Errors raised
here are `venuegate.errors` classes: `DecimalError` and `SigningError` (both `ValueError`s),
`TypeError` for wrong argument types.
"""

from collections.abc import Buffer, Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal, final

__all__ = [
    "MAX_SCALE",
    "Ed25519Key",
    "Es256Key",
    "Fixed",
    "Hmac",
    "QuerySigner",
    "SignedRequest",
    "__version__",
    "sha256",
    "sha512",
    "urlencode",
]

__version__: Final[str]
MAX_SCALE: Final[int]
"""The largest number of fractional digits a `Fixed` carries (18)."""

type _Bytes = bytes | str | Buffer
type _ParamValue = str | int | bool | Decimal | Fixed
type _Params = Mapping[str, _ParamValue] | Iterable[tuple[str, _ParamValue]]
type _Rounding = Literal["down", "up", "floor", "ceiling", "half_even", "half_up"]

@final
class Fixed:
    """An exact decimal: an i64 mantissa and 0..=18 fractional digits.

    Equality, ordering and hashing are by value (`Fixed("1.50") == Fixed("1.5")`); `str` keeps
    the scale. Nothing rounds silently: too many digits, overflow and inexact rescaling raise
    `DecimalError`.
    """

    def __new__(cls, value: str | bytes | int | Decimal | Fixed) -> Fixed:
        """Parses a decimal string ("0.00012300", "-5.1", "1e-8") or converts exactly."""

    @staticmethod
    def from_parts(mantissa: int, scale: int) -> Fixed:
        """Builds `mantissa * 10**-scale`."""

    @staticmethod
    def from_decimal(value: Decimal) -> Fixed:
        """Converts a finite `Decimal` exactly."""

    def to_decimal(self) -> Decimal:
        """The exactly equal `Decimal`, same scale."""

    @property
    def mantissa(self) -> int:
        """The integer mantissa."""

    @property
    def scale(self) -> int:
        """The number of fractional digits."""

    def canonical(self) -> str:
        """No exponent, no trailing fractional zeros, "0" for zero."""

    def format(self, scale: int) -> str:
        """Exactly `scale` fractional digits; raises `DecimalError` rather than round."""

    def rescale(self, scale: int) -> Fixed:
        """The same value at another scale; raises `DecimalError` rather than drop digits."""

    def round(self, scale: int, mode: _Rounding = "half_even") -> Fixed:
        """Rounds to `scale` fractional digits with an explicit mode."""

    def __add__(self, other: Fixed, /) -> Fixed: ...
    def __sub__(self, other: Fixed, /) -> Fixed: ...
    def __mul__(self, other: Fixed, /) -> Fixed: ...
    def __radd__(self, other: Fixed, /) -> Fixed: ...
    def __rsub__(self, other: Fixed, /) -> Fixed: ...
    def __rmul__(self, other: Fixed, /) -> Fixed: ...
    def __neg__(self) -> Fixed: ...
    def __bool__(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __lt__(self, other: Fixed, /) -> bool: ...
    def __le__(self, other: Fixed, /) -> bool: ...
    def __gt__(self, other: Fixed, /) -> bool: ...
    def __ge__(self, other: Fixed, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Hmac:
    """A keyed HMAC whose key stays native; `repr` shows only the algorithm.

    The keyed state is computed once, so each MAC costs only the message's hashing.
    """

    def __new__(cls, alg: Literal["sha256", "sha384", "sha512"], key: _Bytes) -> Hmac:
        """Keys an HMAC with raw key bytes (a str key means its UTF-8 bytes)."""

    @staticmethod
    def from_base64_key(alg: Literal["sha256", "sha384", "sha512"], key: _Bytes) -> Hmac:
        """Keys an HMAC with a base64 secret; raises `SigningError` (naming only its length)."""

    @property
    def alg(self) -> str:
        """The hash name: sha256, sha384 or sha512."""

    def digest(self, *parts: _Bytes) -> bytes:
        """MAC of the concatenated parts."""

    def hexdigest(self, *parts: _Bytes) -> str:
        """MAC of the concatenated parts, lower-case hex."""

    def b64digest(self, *parts: _Bytes) -> str:
        """MAC of the concatenated parts, base64."""

@final
class Ed25519Key:
    """An Ed25519 private key (RFC 8032); deterministic signatures."""

    @staticmethod
    def from_pem(pem: str) -> Ed25519Key:
        """Loads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)."""

    @staticmethod
    def from_raw(raw: _Bytes) -> Ed25519Key:
        """Loads a 32-byte seed or a 64-byte seed + public key pair."""

    def sign(self, *parts: _Bytes) -> bytes:
        """64-byte signature of the concatenated parts."""

    def sign_b64(self, *parts: _Bytes) -> str:
        """Base64 signature of the concatenated parts."""

    def public_key(self) -> bytes:
        """The raw 32-byte public key."""

@final
class Es256Key:
    """An ECDSA P-256 private key for ES256 JWTs (RFC 7518 §3.4); randomised nonces (ring)."""

    @staticmethod
    def from_pem(pem: str) -> Es256Key:
        """Loads a SEC1 (`BEGIN EC PRIVATE KEY`) or PKCS#8 PEM."""

    @staticmethod
    def from_raw(raw: _Bytes) -> Es256Key:
        """Loads a raw 32-byte scalar."""

    def sign(self, data: _Bytes) -> bytes:
        """`r || s` (64 bytes) over SHA-256 of `data`."""

    def jwt(self, header_json: _Bytes, claims_json: _Bytes) -> str:
        """A compact JWS: b64url(header).b64url(claims).b64url(signature)."""

    def public_key(self) -> bytes:
        """The uncompressed SEC1 public key (65 bytes)."""

def urlencode(
    params: _Params, mode: Literal["plus", "percent"] = "plus", sort: bool = False
) -> str:
    """Percent-encodes parameters in order (or sorted by name).

    `plus` is `urllib.parse.urlencode` (space as `+`); `percent` is RFC 3986 (space as `%20`).
    Values: str, int, bool (true/false), Decimal and Fixed in plain notation; floats raise
    `TypeError`.
    """

def sha256(*parts: _Bytes) -> bytes:
    """SHA-256 of the concatenated parts."""

def sha512(*parts: _Bytes) -> bytes:
    """SHA-512 of the concatenated parts."""

@final
class SignedRequest:
    """A request ready to send; what the venue verifies.

    `repr` redacts credential headers (`Authorization`, passphrases). Equality compares all
    four fields.
    """

    def __new__(
        cls, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> SignedRequest: ...
    @property
    def method(self) -> str:
        """Upper-case HTTP method."""

    @property
    def path(self) -> str:
        """URL path as sent, with the query string where the venue signs one."""

    @property
    def headers(self) -> dict[str, str]:
        """Headers to add: API key, signature, timestamp, content type."""

    @property
    def body(self) -> bytes | None:
        """The exact body to send, or None."""

    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class QuerySigner:
    """Signs form-encoded requests whose signature is one more parameter.

    The signature covers query + body (Binance: HMAC-SHA256 hex or Ed25519 base64); one native
    call goes from params to the request.
    """

    def __new__(cls, key: Hmac | Ed25519Key, api_key_header: str, api_key: str) -> QuerySigner: ...
    def sign(
        self,
        method: str,
        path: str,
        params: _Params,
        timestamp_ms: int | None = None,
        body: _Bytes | None = None,
    ) -> SignedRequest:
        """Signs one request.

        Params in order, `timestamp` (given, else the system clock) unless present, then
        `signature` on the query, or on the body when one is sent.
        """
