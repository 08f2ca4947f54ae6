"""OKX v5: `OK-ACCESS-SIGN` = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)).

Source: https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature — the timestamp is
ISO-8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`), the request path of a GET includes its
query string, the body is the JSON sent; headers `OK-ACCESS-KEY`, `OK-ACCESS-SIGN`,
`OK-ACCESS-TIMESTAMP`, `OK-ACCESS-PASSPHRASE`. Demo trading adds `x-simulated-trading: 1`
(#overview-demo-trading-services). WebSocket login signs `timestamp + "GET/users/self/verify"`
with the timestamp in seconds (#overview-websocket-login).
"""

from __future__ import annotations

from collections.abc import Callable

from venuegate._native import Hmac, urlencode
from venuegate.auth._base import (
    Body,
    Params,
    SignedRequest,
    Signer,
    as_body,
    iso_ms,
    json_body,
    query_path,
    require,
    wall_clock_ms,
)

_QUERY_METHODS = frozenset({"GET", "DELETE"})


class OkxSigner(Signer):
    """OKX v5 REST and WebSocket login signatures."""

    venue = "okx"
    __slots__ = ("_demo", "_mac", "_passphrase")

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        passphrase: str | None,
        host: str | None = None,
        demo: bool = False,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=host, clock_ms=clock_ms)
        self._passphrase = require(passphrase, "passphrase", self.venue)
        self._mac = Hmac("sha256", secret)
        self._demo = demo

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs a REST call: GET params in the query, others as a JSON body. `nonce` is unused."""
        m = method.upper()
        raw = as_body(body)
        sent_path = path
        if params is not None and m in _QUERY_METHODS:
            sent_path = query_path(path, urlencode(params))
        elif params is not None and raw is None:
            raw = json_body(params)
        ts = iso_ms(self._now_ms(timestamp_ms))
        headers = {
            "OK-ACCESS-KEY": self._api_key,
            "OK-ACCESS-SIGN": self._mac.b64digest(ts, m, sent_path, raw or b""),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": self._passphrase.reveal(),
        }
        if raw is not None:
            headers["Content-Type"] = "application/json"
        if self._demo:
            headers["x-simulated-trading"] = "1"
        return SignedRequest(m, sent_path, headers, raw)

    def ws_login_args(self, timestamp_ms: int | None = None) -> dict[str, str]:
        """The `args[0]` of a WebSocket `login` operation."""
        ts = str(self._now_ms(timestamp_ms) // 1000)
        return {
            "apiKey": self._api_key,
            "passphrase": self._passphrase.reveal(),
            "timestamp": ts,
            "sign": self._mac.b64digest(ts, "GET", "/users/self/verify"),
        }
