"""Kraken spot REST and FIX logon signatures.

`API-Sign` = base64(HMAC-SHA512(base64-decoded secret, URI path + SHA256(nonce + POST data))),
`API-Key`; the nonce is the first form field and strictly increasing.

Source: https://docs.kraken.com/api/docs/guides/spot-rest-auth (the AddOrder example reproduces in
tests/unit/test_auth_vectors.py). FIX logon: https://docs.kraken.com/api/docs/fix-api/logon-fix —
Password (554) = base64(HMAC-SHA512(secret, SHA256(message input + nonce))), the message input
being `35=A|34=seq|49=sender|56=target|553=key|` with SOH after each field.
"""

from __future__ import annotations

from collections.abc import Callable

from venuegate._native import Hmac, sha256, urlencode
from venuegate.auth._base import (
    Body,
    Params,
    SignedRequest,
    Signer,
    as_body,
    has_param,
    query_path,
    wall_clock_ms,
)
from venuegate.errors import SigningError

_SOH = "\x01"


class KrakenSigner(Signer):
    """Kraken spot REST and FIX logon signatures (`secret` is the base64 private key)."""

    venue = "kraken"
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
        self._mac = Hmac.from_base64_key("sha512", secret)

    def _nonce(self, timestamp_ms: int | None, nonce: int | None) -> int:
        if nonce is not None:
            return nonce
        if timestamp_ms is not None:
            # Strictly increasing even when two requests share a millisecond.
            return self.next_nonce(timestamp_ms)
        return self.next_nonce(self._clock_ms())

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs a private endpoint call (`path` from `/0/private/...`).

        Form-encoded: `nonce` first, then `params` in order; a GET sends the same string as its
        query. A given `body` (JSON, carrying its own nonce) is signed verbatim and needs `nonce`
        (or `timestamp_ms`) equal to the nonce it contains.
        """
        m = method.upper()
        if has_param(params, "nonce"):
            raise SigningError("pass the Kraken nonce as nonce=, not as a parameter")
        raw = as_body(body)
        if raw is not None:
            if nonce is None and timestamp_ms is None:
                raise SigningError("a verbatim Kraken body needs the nonce it contains (nonce=)")
            n = str(self._nonce(timestamp_ms, nonce))
            sent_path, payload, content_type = path, raw, "application/json"
        else:
            n = str(self._nonce(timestamp_ms, nonce))
            rest = urlencode(params) if params is not None else ""
            payload = f"nonce={n}&{rest}".encode() if rest else f"nonce={n}".encode()
            content_type = "application/x-www-form-urlencoded; charset=utf-8"
            sent_path = path
            if m == "GET":
                sent_path, raw = query_path(path, payload.decode()), None
            else:
                raw = payload
        signature = self._mac.b64digest(path, sha256(n, payload))
        headers = {"API-Key": self._api_key, "API-Sign": signature}
        if raw is not None:
            headers["Content-Type"] = content_type
        return SignedRequest(m, sent_path, headers, raw)

    def fix_logon_password(
        self, *, msg_seq_num: int, sender_comp_id: str, target_comp_id: str, nonce: int
    ) -> str:
        """Password (554) of a FIX Logon; `nonce` (5025) is epoch milliseconds."""
        message_input = "".join(
            f"{tag}={value}{_SOH}"
            for tag, value in (
                ("35", "A"),
                ("34", msg_seq_num),
                ("49", sender_comp_id),
                ("56", target_comp_id),
                ("553", self._api_key),
            )
        )
        return self._mac.b64digest(sha256(message_input, str(nonce)))
