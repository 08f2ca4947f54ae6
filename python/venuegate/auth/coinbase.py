"""Coinbase: Advanced Trade (CDP API key JWT) and Exchange (HMAC, REST and FIX logon).

Advanced Trade — https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication:
`Authorization: Bearer <JWT>`, one JWT per request; header `{alg, kid: key name, nonce, typ}`,
claims `{sub: key name, iss: "cdp", nbf, exp: nbf + 120, uri: "METHOD host/path"}`. Keys are an EC
P-256 PEM (ES256) or, for newer CDP keys, a base64 Ed25519 secret (EdDSA).

Exchange — https://docs.cdp.coinbase.com/exchange/rest-api/authentication: `CB-ACCESS-SIGN` =
base64(HMAC-SHA256(base64-decoded secret, timestamp + METHOD + requestPath + body)), with
`CB-ACCESS-KEY`, `CB-ACCESS-TIMESTAMP` (seconds), `CB-ACCESS-PASSPHRASE`. FIX 5.0 logon
(https://docs.cdp.coinbase.com/exchange/fix-api/order-entry-messages/order-entry-messages5):
RawData (96) = the same HMAC over SendingTime, MsgType, MsgSeqNum, SenderCompID, TargetCompID and
the passphrase joined by SOH.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable

from venuegate._native import Ed25519Key, Es256Key, Hmac, urlencode
from venuegate.auth._base import (
    Body,
    Params,
    SignedRequest,
    Signer,
    as_body,
    json_body,
    query_path,
    require,
    wall_clock_ms,
)
from venuegate.errors import SigningError

ADVANCED_TRADE_HOST = "api.coinbase.com"
EXCHANGE_HOST = "api.exchange.coinbase.com"
JWT_LIFETIME_S = 120
_SOH = "\x01"
_QUERY_METHODS = frozenset({"GET", "DELETE"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _split(
    method: str, path: str, params: Params | None, body: Body | None
) -> tuple[str, bytes | None]:
    """Where params go: the query for GET/DELETE, a JSON body otherwise."""
    raw = as_body(body)
    if params is not None and method in _QUERY_METHODS:
        return query_path(path, urlencode(params)), raw
    if params is not None and raw is None:
        return path, json_body(params)
    return path, raw


class CoinbaseSigner(Signer):
    """Coinbase Advanced Trade: a fresh JWT per request, signed with the CDP API key.

    `api_key` is the key name (`organizations/{org_id}/apiKeys/{key_id}`); `secret` is its EC
    private key PEM, or a base64 Ed25519 key (64 bytes: seed and public key, or a 32-byte seed).
    """

    venue = "coinbase"
    __slots__ = ("_alg", "_ec", "_ed")

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=host or ADVANCED_TRADE_HOST, clock_ms=clock_ms)
        self._ec: Es256Key | None = None
        self._ed: Ed25519Key | None = None
        text = secret.replace("\\n", "\n").strip()
        if text.startswith("-----BEGIN"):
            self._ec = Es256Key.from_pem(text)
            self._alg = "ES256"
        else:
            try:
                raw = base64.b64decode(text, validate=True)
            except ValueError:
                raise SigningError(
                    f"Coinbase secret is neither an EC PEM nor base64 Ed25519 ({len(text)} chars)"
                ) from None
            self._ed = Ed25519Key.from_raw(raw)
            self._alg = "EdDSA"

    def jwt(
        self, uri: str | None, timestamp_ms: int | None = None, nonce: int | None = None
    ) -> str:
        """A JWT for one request (`uri` = "METHOD host/path"), or for WebSocket (`uri=None`)."""
        now = self._now_ms(timestamp_ms) // 1000
        header = {
            "alg": self._alg,
            "kid": self._api_key,
            "nonce": secrets.token_hex(16) if nonce is None else str(nonce),
            "typ": "JWT",
        }
        claims: dict[str, object] = {
            "sub": self._api_key,
            "iss": "cdp",
            "nbf": now,
            "exp": now + JWT_LIFETIME_S,
        }
        if uri is not None:
            claims["uri"] = uri
        header_json = json.dumps(header, separators=(",", ":")).encode()
        claims_json = json.dumps(claims, separators=(",", ":")).encode()
        if self._ec is not None:
            return self._ec.jwt(header_json, claims_json)
        assert self._ed is not None  # noqa: S101 - one of the two keys is always set
        signing_input = f"{_b64url(header_json)}.{_b64url(claims_json)}"
        return f"{signing_input}.{_b64url(self._ed.sign(signing_input))}"

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs an Advanced Trade REST call: params in the query (GET/DELETE) or a JSON body.

        The JWT's `uri` claim is the method, host and path without the query string. `nonce`
        fixes the JWT header nonce (default: 16 random bytes, hex).
        """
        m = method.upper()
        sent_path, raw = _split(m, path, params, body)
        token = self.jwt(f"{m} {self._host}{path}", timestamp_ms, nonce)
        headers = {"Authorization": f"Bearer {token}"}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        return SignedRequest(m, sent_path, headers, raw)


class CoinbaseExchangeSigner(Signer):
    """Coinbase Exchange: HMAC-SHA256 with the base64 secret, for REST and the FIX logon."""

    venue = "coinbase-exchange"
    __slots__ = ("_mac", "_passphrase")

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        passphrase: str | None,
        host: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(api_key=api_key, host=host or EXCHANGE_HOST, clock_ms=clock_ms)
        self._passphrase = require(passphrase, "passphrase", self.venue)
        self._mac = Hmac.from_base64_key("sha256", secret)

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp_ms: int | None = None,
        nonce: int | None = None,
    ) -> SignedRequest:
        """Signs a REST call; `CB-ACCESS-TIMESTAMP` is whole seconds. `nonce` is unused."""
        m = method.upper()
        sent_path, raw = _split(m, path, params, body)
        ts = str(self._now_ms(timestamp_ms) // 1000)
        sig = self._mac.b64digest(ts, m, sent_path, raw or b"")
        headers = {
            "CB-ACCESS-KEY": self._api_key,
            "CB-ACCESS-SIGN": sig,
            "CB-ACCESS-TIMESTAMP": ts,
            "CB-ACCESS-PASSPHRASE": self._passphrase.reveal(),
        }
        if raw is not None:
            headers["Content-Type"] = "application/json"
        return SignedRequest(m, sent_path, headers, raw)

    def fix_logon_raw_data(
        self,
        *,
        sending_time: str,
        msg_seq_num: int,
        target_comp_id: str = "Coinbase",
        sender_comp_id: str | None = None,
        msg_type: str = "A",
    ) -> str:
        """RawData (96) for a FIX 5.0 Logon.

        `sending_time` must carry exactly 3 fractional digits (`20230822-20:43:30.000`);
        SenderCompID defaults to the API key.
        """
        prehash = _SOH.join(
            (
                sending_time,
                msg_type,
                str(msg_seq_num),
                sender_comp_id or self._api_key,
                target_comp_id,
                self._passphrase.reveal(),
            )
        )
        return self._mac.b64digest(prehash)
