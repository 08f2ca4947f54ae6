r"""HTX (Huobi) signature v2: base64(HMAC-SHA256(secret, "METHOD\\nhost\\npath\\nsorted query"))).

Source: https://huobiapi.github.io/docs/spot/v1/en/#signing-api-requests — the query holds
`AccessKeyId`, `SignatureMethod=HmacSHA256`, `SignatureVersion=2`, `Timestamp` (UTC
`YYYY-MM-DDThh:mm:ss`) and, for GET, the request's own parameters, sorted by name in ASCII order
and URI-encoded with upper-case escapes; `Signature` is appended URL-encoded. POST bodies (JSON)
are not signed. Hosts: `api.huobi.pro` (default) or `api-aws.huobi.pro`; the host line must be the
host called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

from venuegate._native import Hmac, urlencode
from venuegate.auth._base import (
    Body,
    Params,
    ParamValue,
    SignedRequest,
    Signer,
    as_body,
    iso_seconds,
    json_body,
    wall_clock_ms,
)

DEFAULT_HOST = "api.huobi.pro"


class HtxSigner(Signer):
    """HTX spot REST signature v2."""

    venue = "htx"
    __slots__ = ("_mac",)

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=(host or DEFAULT_HOST).lower(), clock_ms=clock_ms)
        self._mac = Hmac("sha256", secret)

    def ws_signature(self, host: str, path: str, canonical_query: str) -> str:
        r"""The base64 HMAC-SHA256 of the WebSocket v2 auth text (signature version 2.1).

        The text is "GET\n<host>\n<path>\n<sorted, URI-encoded params>".
        """
        return self._mac.b64digest(f"GET\n{host.lower()}\n{path}\n{canonical_query}")

    def presign_text(self, method: str, path: str, query: str) -> str:
        """The exact text HTX signs (exposed for diagnostics: compare with the venue's)."""
        return f"{method.upper()}\n{self._host}\n{path}\n{query}"

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs a REST call.

        GET params are signed in the query; other methods send `params` as an unsigned JSON body
        (or `body` verbatim). `nonce` is unused.
        """
        m = method.upper()
        auth: list[tuple[str, ParamValue]] = [
            ("AccessKeyId", self._api_key),
            ("SignatureMethod", "HmacSHA256"),
            ("SignatureVersion", "2"),
            ("Timestamp", iso_seconds(self._now_ms(timestamp_ms))),
        ]
        raw = as_body(body)
        signed = list(auth)
        if params is not None:
            if m == "GET":
                signed.extend(params.items() if isinstance(params, Mapping) else params)
            elif raw is None:
                raw = json_body(params)
        query = urlencode(signed, mode="percent", sort=True)
        signature = self._mac.b64digest(self.presign_text(m, path, query))
        headers: dict[str, str] = {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        full = f"{path}?{query}&Signature={quote(signature, safe='')}"
        return SignedRequest(m, full, headers, raw)
