"""Binance spot: HMAC-SHA256 (hex) or Ed25519 (base64) over the exact query + body sent.

Source: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
("the signature payload is the query string concatenated without separator to the HTTP body";
non-ASCII is percent-encoded before signing; the key goes in `X-MBX-APIKEY`), and for the FIX
logon https://developers.binance.com/docs/binance-spot-api-docs/fix-api ("How to sign Logon
request": Ed25519 over MsgType, SenderCompID, TargetCompID, MsgSeqNum, SendingTime joined by SOH).
"""

from __future__ import annotations

from collections.abc import Callable

from venuegate._native import Ed25519Key, Hmac, QuerySigner, urlencode
from venuegate.auth._base import (
    Body,
    Params,
    SignedRequest,
    Signer,
    wall_clock_ms,
)
from venuegate.errors import SigningError

_EMPTY: tuple[tuple[str, str], ...] = ()
_SOH = "\x01"


class BinanceSigner(Signer):
    """Binance spot REST, WebSocket API and FIX logon signatures.

    `secret` is the HMAC secret key, or a PKCS#8 PEM Ed25519 private key (Binance's recommended
    key type, required for FIX). RSA keys are not supported.
    """

    venue = "binance"
    __slots__ = ("_ed25519", "_mac", "_native")

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=host, clock_ms=clock_ms)
        self._mac: Hmac | None = None
        self._ed25519: Ed25519Key | None = None
        if secret.lstrip().startswith("-----BEGIN"):
            if "RSA" in secret.split("\n", 1)[0]:
                raise SigningError("Binance RSA keys are not supported: use Ed25519 or HMAC")
            self._ed25519 = Ed25519Key.from_pem(secret)
        else:
            self._mac = Hmac("sha256", secret)
        key: Hmac | Ed25519Key = self._mac if self._mac is not None else self._ed25519_key()
        self._native = QuerySigner(key, "X-MBX-APIKEY", self._api_key)

    def _ed25519_key(self) -> Ed25519Key:
        if self._ed25519 is None:
            raise SigningError("no signing key loaded")
        return self._ed25519

    @property
    def key_type(self) -> str:
        """`hmac` or `ed25519`."""
        return "hmac" if self._mac is not None else "ed25519"

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs a SIGNED (TRADE / USER_DATA) endpoint call.

        `params` go in the query string in order, then `timestamp` unless given, then `signature`.
        A `body` (form-encoded) is signed after the query with no separator, as Binance does, and
        the signature is appended to it. `nonce` is unused (Binance has none).
        """
        if timestamp_ms is None and self._clock_ms is not wall_clock_ms:
            timestamp_ms = self._clock_ms()
        # The default clock is read natively (same wall clock, no Python call).
        return self._native.sign(method, path, params or _EMPTY, timestamp_ms, body)

    def ws_params(
        self, params: Params | None = None, timestamp_ms: int | None = None
    ) -> dict[str, str]:
        """Signed `params` for a WebSocket API request (`order.place`, `session.logon`, ...).

        Source: https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/request-security
        — `apiKey` and `timestamp` are added, all parameters sorted by name form the payload, and
        `signature` is hex (HMAC) or base64 (Ed25519).
        """
        items = dict(params.items() if isinstance(params, dict) else params or ())
        items.setdefault("apiKey", self._api_key)
        items.setdefault("timestamp", self._now_ms(timestamp_ms))
        payload = urlencode(items, sort=True)
        if self._mac is not None:
            signature = self._mac.hexdigest(payload)
        else:
            assert self._ed25519 is not None  # noqa: S101
            signature = self._ed25519.sign_b64(payload)
        out = {k: v if isinstance(v, str) else str(v) for k, v in sorted(items.items())}
        out["signature"] = signature
        return out

    def fix_logon_raw_data(
        self,
        *,
        sender_comp_id: str,
        target_comp_id: str,
        msg_seq_num: int,
        sending_time: str,
        msg_type: str = "A",
    ) -> str:
        """RawData (96) of a FIX Logon: base64 Ed25519 over the five header fields joined by SOH."""
        if self._ed25519 is None:
            raise SigningError("the Binance FIX API takes Ed25519 keys only")
        payload = _SOH.join(
            (msg_type, sender_comp_id, target_comp_id, str(msg_seq_num), sending_time)
        )
        return self._ed25519.sign_b64(payload)
