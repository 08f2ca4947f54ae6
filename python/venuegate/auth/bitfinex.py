"""Bitfinex v2: `bfx-signature` = hex(HMAC-SHA384(secret, "/api/" + path + nonce + body)).

Source: https://docs.bitfinex.com/docs/rest-auth — headers `bfx-nonce`, `bfx-apikey`,
`bfx-signature`; the nonce strictly increases per key and must not exceed 9007199254740991
(https://docs.bitfinex.com/docs/requirements-and-limitations); like the official SDK we use
microseconds. WebSocket auth (https://docs.bitfinex.com/docs/ws-auth) signs `AUTH<nonce>`.
"""

from __future__ import annotations

from collections.abc import Callable

from venuegate._native import Hmac
from venuegate.auth._base import (
    Body,
    Params,
    SignedRequest,
    Signer,
    as_body,
    json_body,
    wall_clock_ms,
)
from venuegate.errors import SigningError

MAX_NONCE = 9_007_199_254_740_991


class BitfinexSigner(Signer):
    """Bitfinex v2 REST and WebSocket auth signatures."""

    venue = "bitfinex"
    __slots__ = ("_mac",)

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=host, clock_ms=clock_ms)
        self._mac = Hmac("sha384", secret)

    def _nonce(self, timestamp_ms: int | None, nonce: int | None) -> int:
        if nonce is not None:
            n = nonce
        elif timestamp_ms is not None:
            n = self.next_nonce(timestamp_ms * 1000)
        else:
            n = self.next_nonce(self._clock_ms() * 1000)
        if not 0 < n <= MAX_NONCE:
            raise SigningError(f"Bitfinex nonces must be in 1..{MAX_NONCE}, got {n}")
        return n

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs an authenticated call (`path` like `/v2/auth/w/order/submit`).

        The body is `body` verbatim, else the JSON of `params`, else `{}`.
        """
        raw = as_body(body)
        if raw is None:
            raw = json_body(params) if params is not None else b"{}"
        n = str(self._nonce(timestamp_ms, nonce))
        headers = {
            "bfx-nonce": n,
            "bfx-apikey": self._api_key,
            "bfx-signature": self._mac.hexdigest("/api", path, n, raw),
            "Content-Type": "application/json",
        }
        return SignedRequest(method.upper(), path, headers, raw)

    def ws_auth(
        self, nonce: int | None = None, *, dead_man_switch: bool = True
    ) -> dict[str, object]:
        """The WebSocket `auth` event; `dms: 4` cancels all orders when the socket drops."""
        n = str(self._nonce(None, nonce))
        payload = f"AUTH{n}"
        event: dict[str, object] = {
            "event": "auth",
            "apiKey": self._api_key,
            "authSig": self._mac.hexdigest(payload),
            "authPayload": payload,
            "authNonce": n,
        }
        if dead_man_switch:
            event["dms"] = 4
        return event
