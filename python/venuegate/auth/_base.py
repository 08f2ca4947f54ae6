"""What every venue signer shares: the signed request, secret hygiene, clocks and nonces.

`SignedRequest` is native (built on the hot signing path; its `repr` redacts credential headers)
and re-exported here.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import ClassVar, NoReturn

from venuegate._native import Fixed, SignedRequest
from venuegate.errors import ConfigError, SigningError

type ParamValue = str | int | bool | Decimal | Fixed
"""A request parameter value. Decimals are written in plain notation; floats are refused."""
type Params = Mapping[str, ParamValue] | Iterable[tuple[str, ParamValue]]
"""Request parameters in the caller's order: a mapping or (name, value) pairs."""
type Body = str | bytes

__all__ = [
    "Body",
    "ParamValue",
    "Params",
    "Secret",
    "SignedRequest",
    "Signer",
    "as_body",
    "has_param",
    "iso_ms",
    "iso_seconds",
    "json_body",
    "mask",
    "query_path",
    "require",
    "wall_clock_ms",
]


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch from the system clock."""
    return time.time_ns() // 1_000_000


def mask(value: str) -> str:
    """A recognisable but unusable form of an API key: first and last four characters."""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 16 else "…"


def _check_header_value(name: str, value: str) -> str:
    # Credentials travel in HTTP headers: printable ASCII only. Never echo the value.
    if not value or not value.isascii() or not value.isprintable():
        raise SigningError(f"{name} must be non-empty printable ASCII ({len(value)} characters)")
    return value


def json_body(params: Params | None) -> bytes:
    """Compact JSON of `params` in order; Decimal and Fixed as plain-notation strings."""
    items = dict(params.items() if isinstance(params, Mapping) else params or ())

    def plain(obj: object) -> str:
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise SigningError("request parameters must be finite decimals")
            return format(obj, "f")
        if isinstance(obj, Fixed):
            return str(obj)
        raise TypeError(f"cannot encode {type(obj).__name__} in a request body")

    for value in items.values():
        if isinstance(value, float):
            raise TypeError(
                "request parameter values must not be floats: pass Decimal or str "
                "(floats cannot carry prices and sizes exactly)"
            )
    return json.dumps(items, separators=(",", ":"), default=plain).encode()


def as_body(body: Body | None) -> bytes | None:
    """The body as bytes, unchanged."""
    if body is None or isinstance(body, bytes):
        return body
    return body.encode()


def has_param(params: Params | None, name: str) -> bool:
    """True when `params` names `name`."""
    if params is None:
        return False
    if isinstance(params, Mapping):
        return name in params
    return any(k == name for k, _ in params)


class Signer(ABC):
    """Signs requests for one venue with one set of credentials.

    Secrets are loaded into native key objects at construction and never kept as Python strings;
    `repr`, `str` and pickling never reveal them (pickling is refused outright).
    """

    venue: ClassVar[str]
    __slots__ = ("_api_key", "_clock_ms", "_host", "_last_nonce", "_nonce_lock")

    def __init__(
        self,
        *,
        api_key: str,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._api_key = _check_header_value("api_key", api_key)
        self._host = host
        self._clock_ms = clock_ms
        self._nonce_lock = threading.Lock()
        self._last_nonce = 0

    @property
    def api_key(self) -> str:
        """The API key (an identifier sent in clear; not the secret)."""
        return self._api_key

    @property
    def host(self) -> str | None:
        """The host this signer signs for, where the venue signs one."""
        return self._host

    @abstractmethod
    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs one request.

        Args:
            method: HTTP method (any case).
            path: URL path as sent (no query string: `params` make it).
            params: parameters in the caller's order; placed in the query or body as the venue
                expects.
            body: a body sent and signed verbatim where the venue signs one.
            timestamp_ms: the request time; defaults to the signer's clock. Given, the output is
                deterministic.
            nonce: the nonce where the venue uses one; defaults to a strictly increasing value.

        Returns:
            The request to send.
        """

    def next_nonce(self, floor: int) -> int:
        """A nonce above every nonce this signer issued, and at least `floor` (thread-safe)."""
        with self._nonce_lock:
            n = max(floor, self._last_nonce + 1)
            self._last_nonce = n
            return n

    def _now_ms(self, timestamp_ms: int | None) -> int:
        return self._clock_ms() if timestamp_ms is None else timestamp_ms

    def __repr__(self) -> str:
        host = f", host={self._host!r}" if self._host else ""
        return f"{type(self).__name__}(api_key={mask(self._api_key)!r}{host})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be pickled")

    def __copy__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be copied")


class Secret:
    """A secret string that does not print: `repr`/`str` say `<redacted>`; `reveal()` gives it.

    Used for values that must travel in clear in a header (OKX and Coinbase passphrases), so they
    cannot be kept native like keys.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place it is sent."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets cannot be pickled")


def require(value: str | None, name: str, venue: str) -> Secret:
    """`value` as a `Secret`, or a `ConfigError` saying the venue needs it."""
    if value is None:
        raise ConfigError(f"{venue} signing needs a {name}", venue=venue)
    return Secret(_check_header_value(name, value))


def query_path(path: str, query: str) -> str:
    """`path?query`, or `path` alone for an empty query."""
    return f"{path}?{query}" if query else path


def iso_ms(timestamp_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and `Z` (OKX): `2020-12-08T09:08:57.715Z`."""
    seconds, millis = divmod(timestamp_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def iso_seconds(timestamp_ms: int) -> str:
    """ISO-8601 UTC to the second, no zone suffix (HTX): `2017-05-11T15:19:30`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp_ms // 1000))
