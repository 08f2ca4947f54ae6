"""Request signing for every venue, over the native HMAC / Ed25519 / ES256 core.

    from venuegate.auth import signer, SignedRequest
    s = signer("binance", api_key="...", secret="...")
    r: SignedRequest = s.sign("POST", "/api/v3/order", params={...}, timestamp_ms=1499827319559)
    r.method, r.path, r.headers, r.body

Venues: `binance`, `coinbase` (Advanced Trade, JWT), `coinbase-exchange` (HMAC; REST and FIX
logon), `kraken`, `okx`, `bitfinex`, `htx`. FTX ceased operating in November 2022 and has no API:
asking for it is a `ConfigError` that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from venuegate.auth._base import Params, ParamValue, SignedRequest, Signer, wall_clock_ms
from venuegate.auth.binance import BinanceSigner
from venuegate.auth.bitfinex import BitfinexSigner
from venuegate.auth.coinbase import CoinbaseExchangeSigner, CoinbaseSigner
from venuegate.auth.htx import HtxSigner
from venuegate.auth.kraken import KrakenSigner
from venuegate.auth.okx import OkxSigner
from venuegate.errors import ConfigError

SIGNERS: dict[str, type[Signer]] = {
    cls.venue: cls
    for cls in (
        BinanceSigner,
        CoinbaseSigner,
        CoinbaseExchangeSigner,
        KrakenSigner,
        OkxSigner,
        BitfinexSigner,
        HtxSigner,
    )
}
"""Venue name → signer class."""

VENUES: tuple[str, ...] = tuple(SIGNERS)
_NEEDS_PASSPHRASE = frozenset({"okx", "coinbase-exchange"})
_DEFUNCT = {"ftx": "FTX ceased operating in November 2022 (Chapter 11); it has no API to sign for"}


def signer(
    venue: str,
    *,
    api_key: str,
    secret: str,
    passphrase: str | None = None,
    host: str | None = None,
    clock_ms: Callable[[], int] = wall_clock_ms,
    **options: Any,
) -> Signer:
    """Builds the signer for `venue`.

    Args:
        venue: one of `VENUES`.
        api_key: the API key (or, for `coinbase`, the CDP key name).
        secret: the secret or private key, in the venue's own format.
        passphrase: OKX and Coinbase Exchange keys have one; others must not pass it.
        host: the host signed for, where the venue signs one (HTX, Coinbase); defaults to the
            venue's production host.
        clock_ms: the clock for default timestamps and nonces (a server-synced clock in
            production).
        **options: venue options (`demo=True` for OKX demo trading).

    Raises:
        ConfigError: unknown venue, or a passphrase missing or not expected.
        SigningError: a secret or key that cannot be loaded (the message never holds it).
    """
    key = venue.lower()
    if key in _DEFUNCT:
        raise ConfigError(_DEFUNCT[key], venue=key)
    cls = SIGNERS.get(key)
    if cls is None:
        raise ConfigError(f"unknown venue {venue!r}; known: {', '.join(VENUES)}")
    kwargs: dict[str, Any] = {
        "api_key": api_key,
        "secret": secret,
        "host": host,
        "clock_ms": clock_ms,
    }
    if key in _NEEDS_PASSPHRASE:
        kwargs["passphrase"] = passphrase
    elif passphrase is not None:
        raise ConfigError(f"{key} keys have no passphrase", venue=key)
    return cls(**kwargs, **options)


__all__ = [
    "SIGNERS",
    "VENUES",
    "BinanceSigner",
    "BitfinexSigner",
    "CoinbaseExchangeSigner",
    "CoinbaseSigner",
    "HtxSigner",
    "KrakenSigner",
    "OkxSigner",
    "ParamValue",
    "Params",
    "SignedRequest",
    "Signer",
    "signer",
]
