"""Venue-side signature verification, written from the venues' documentation.

This is what a venue does on receipt, and what the embedded simulator uses to accept or refuse
requests. It deliberately shares no code with the signers (`venuegate.auth`) nor the native core:
only the standard library (`hmac`, `hashlib`, `base64`, `urllib.parse`) and pyca/cryptography
for Ed25519 and ECDSA. A signer bug therefore cannot hide behind the same bug here.

`verify_request` raises `VerificationError` with the reason a venue would give, or returns None.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from venuegate.errors import AuthError


class VerificationError(AuthError):
    """The venue would refuse this request's authentication."""


class _Request(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the venue knows about a key.

    Attributes:
        api_key: the key id (Coinbase: the CDP key name).
        secret: the shared secret, or the private key PEM / base64 the public key comes from.
        passphrase: OKX and Coinbase Exchange.
        host: the host the request was sent to (HTX and Coinbase sign it).
    """

    api_key: str
    secret: str
    passphrase: str | None = None
    host: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key!r}, secret=<redacted>)"


class StaleTimestampError(VerificationError):
    """The request's timestamp (or nonce) is outside the venue's window.

    The venue answers with its timestamp code (Binance -1021, OKX 50102), not its bad-signature
    code.
    """


def _fail(venue: str, reason: str) -> VerificationError:
    return VerificationError(f"{venue}: {reason}", venue=venue)


def _header(req: _Request, name: str, venue: str) -> str:
    lowered = {k.lower(): v for k, v in req.headers.items()}
    value = lowered.get(name.lower())
    if value is None:
        raise _fail(venue, f"missing header {name}")
    return value


def _same(a: str | bytes, b: str | bytes) -> bool:
    return hmac.compare_digest(
        a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b
    )


def _within(now_ms: int | None, ts_ms: int, window_ms: int, venue: str) -> None:
    if now_ms is not None and abs(now_ms - ts_ms) > window_ms:
        raise StaleTimestampError(
            f"{venue}: timestamp {ts_ms} outside {window_ms} ms of server time {now_ms}",
            venue=venue,
        )


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- Binance ---------------------------------------------------------------------------------
# https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
def _binance(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "binance"
    if _header(req, "X-MBX-APIKEY", v) != cred.api_key:
        raise _fail(v, "API-key format invalid")
    split = urlsplit(req.path)
    query, body = split.query, (req.body or b"").decode()
    signature = None
    # The signature parameter may sit in the query or the body; it is not part of the payload.
    for where in ("query", "body"):
        text = query if where == "query" else body
        pairs = text.split("&") if text else []
        kept = [p for p in pairs if not p.startswith("signature=")]
        found = [p[len("signature=") :] for p in pairs if p.startswith("signature=")]
        if found:
            signature = unquote(found[-1])
            if where == "query":
                query = "&".join(kept)
            else:
                body = "&".join(kept)
    if signature is None:
        raise _fail(v, "Mandatory parameter 'signature' was not sent")
    payload = (query + body).encode()
    params = dict(parse_qsl(query)) | dict(parse_qsl(body))
    if "timestamp" not in params:
        raise _fail(v, "Mandatory parameter 'timestamp' was not sent")
    recv_window = int(params.get("recvWindow", "5000"))
    # "timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow" (request-security)
    ts = int(params["timestamp"])
    if now_ms is not None and not (ts < now_ms + 1000 and now_ms - ts <= recv_window):
        raise StaleTimestampError(
            f"{v}: Timestamp for this request is outside of the recvWindow", venue=v
        )
    _binance_signature(cred, signature, payload)


def _binance_signature(cred: Credentials, signature: str, payload: bytes) -> None:
    v = "binance"
    if cred.secret.lstrip().startswith("-----BEGIN"):
        key = load_pem_private_key(cred.secret.encode(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise _fail(v, "only Ed25519 private keys are modelled")
        try:
            key.public_key().verify(base64.b64decode(signature), payload)
        except (InvalidSignature, ValueError):
            raise _fail(v, "Signature for this request is not valid.") from None
    else:
        expected = hmac.new(cred.secret.encode(), payload, hashlib.sha256).hexdigest()
        if not _same(expected, signature.lower()):
            raise _fail(v, "Signature for this request is not valid.")


# --- Coinbase Advanced Trade (JWT) -----------------------------------------------------------
# https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication
def _coinbase(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "coinbase"
    auth = _header(req, "Authorization", v)
    if not auth.startswith("Bearer "):
        raise _fail(v, "Authorization is not a Bearer token")
    token = auth[len("Bearer ") :]
    try:
        header_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        sig = _b64url_decode(sig_b64)
    except ValueError:
        raise _fail(v, "malformed JWT") from None
    if header.get("kid") != cred.api_key or claims.get("sub") != cred.api_key:
        raise _fail(v, "JWT kid/sub is not the key name")
    if claims.get("iss") != "cdp" or not header.get("nonce"):
        raise _fail(v, "JWT iss must be cdp and the header must carry a nonce")
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if not isinstance(nbf, int) or not isinstance(exp, int) or not 0 < exp - nbf <= 120:
        raise _fail(v, "JWT must expire within 120 s of nbf")
    if now_ms is not None and not nbf - 5 <= now_ms // 1000 <= exp:
        raise StaleTimestampError(f"{v}: JWT expired or not yet valid", venue=v)
    host = cred.host or "api.coinbase.com"
    expected_uri = f"{req.method} {host}{urlsplit(req.path).path}"
    if claims.get("uri") != expected_uri:
        raise _fail(v, f"JWT uri {claims.get('uri')!r} is not {expected_uri!r}")
    signing_input = f"{header_b64}.{claims_b64}".encode()
    text = cred.secret.replace("\\n", "\n").strip()
    try:
        if header.get("alg") == "ES256":
            key = load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or len(sig) != 64:
                raise _fail(v, "ES256 needs a P-256 key and a 64-byte signature")
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            key.public_key().verify(der, signing_input, ec.ECDSA(SHA256()))
        elif header.get("alg") == "EdDSA":
            seed = base64.b64decode(text)[:32]
            ed = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
            ed.public_key().verify(sig, signing_input)
        else:
            raise _fail(v, f"unsupported JWT alg {header.get('alg')!r}")
    except InvalidSignature:
        raise _fail(v, "JWT signature invalid") from None


# --- Coinbase Exchange -----------------------------------------------------------------------
# https://docs.cdp.coinbase.com/exchange/rest-api/authentication
def _coinbase_exchange(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "coinbase-exchange"
    if _header(req, "CB-ACCESS-KEY", v) != cred.api_key:
        raise _fail(v, "invalid API key")
    if _header(req, "CB-ACCESS-PASSPHRASE", v) != cred.passphrase:
        raise _fail(v, "invalid passphrase")
    ts = _header(req, "CB-ACCESS-TIMESTAMP", v)
    _within(now_ms, int(float(ts) * 1000), 30_000, v)
    prehash = ts.encode() + req.method.encode() + req.path.encode() + (req.body or b"")
    expected = base64.b64encode(
        hmac.new(base64.b64decode(cred.secret), prehash, hashlib.sha256).digest()
    )
    if not _same(expected, _header(req, "CB-ACCESS-SIGN", v)):
        raise _fail(v, "invalid signature")


# --- Kraken ----------------------------------------------------------------------------------
# https://docs.kraken.com/api/docs/guides/spot-rest-auth
def _kraken(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "kraken"
    if _header(req, "API-Key", v) != cred.api_key:
        raise _fail(v, "EAPI:Invalid key")
    split = urlsplit(req.path)
    if req.body is not None and req.body.lstrip().startswith(b"{"):
        data = req.body
        nonce = str(json.loads(req.body).get("nonce", ""))
    else:
        data = req.body if req.body is not None else split.query.encode()
        nonce = dict(parse_qsl(data.decode())).get("nonce", "")
    if not nonce.isdigit():
        raise _fail(v, "EAPI:Invalid nonce")
    inner = hashlib.sha256(nonce.encode() + data).digest()
    expected = base64.b64encode(
        hmac.new(
            base64.b64decode(cred.secret), split.path.encode() + inner, hashlib.sha512
        ).digest()
    )
    if not _same(expected, _header(req, "API-Sign", v)):
        raise _fail(v, "EAPI:Invalid signature")


# --- OKX -------------------------------------------------------------------------------------
# https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature
def _okx(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "okx"
    if _header(req, "OK-ACCESS-KEY", v) != cred.api_key:
        raise _fail(v, "50111 Invalid OK-ACCESS-KEY")
    if _header(req, "OK-ACCESS-PASSPHRASE", v) != cred.passphrase:
        raise _fail(v, "50105 Invalid OK-ACCESS-PASSPHRASE")
    ts = _header(req, "OK-ACCESS-TIMESTAMP", v)
    try:
        parsed = time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
        if not (len(ts) == 24 and ts[19] == "." and ts[20:23].isdigit() and ts[23] == "Z"):
            raise ValueError(ts)
    except ValueError:
        raise _fail(v, "50112 Invalid OK-ACCESS-TIMESTAMP") from None
    ts_ms = calendar.timegm(parsed) * 1000 + int(ts[20:23])
    _within(now_ms, ts_ms, 30_000, v)
    prehash = ts.encode() + req.method.encode() + req.path.encode() + (req.body or b"")
    expected = base64.b64encode(hmac.new(cred.secret.encode(), prehash, hashlib.sha256).digest())
    if not _same(expected, _header(req, "OK-ACCESS-SIGN", v)):
        raise _fail(v, "50113 Invalid Sign")


# --- Bitfinex --------------------------------------------------------------------------------
# https://docs.bitfinex.com/docs/rest-auth
def _bitfinex(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "bitfinex"
    if _header(req, "bfx-apikey", v) != cred.api_key:
        raise _fail(v, "10100 apikey: invalid")
    nonce = _header(req, "bfx-nonce", v)
    if not nonce.isdigit() or int(nonce) > 9_007_199_254_740_991:
        raise _fail(v, "10114 nonce: invalid")
    payload = b"/api" + urlsplit(req.path).path.encode() + nonce.encode() + (req.body or b"")
    expected = hmac.new(cred.secret.encode(), payload, hashlib.sha384).hexdigest()
    if not _same(expected, _header(req, "bfx-signature", v)):
        raise _fail(v, "10100 apikey: digest invalid")


# --- HTX -------------------------------------------------------------------------------------
# https://huobiapi.github.io/docs/spot/v1/en/#signing-api-requests
def _htx(req: _Request, cred: Credentials, now_ms: int | None) -> None:
    v = "htx"
    split = urlsplit(req.path)
    pairs = parse_qsl(split.query, keep_blank_values=True)
    params = dict(pairs)
    signature = params.pop("Signature", None)
    if signature is None:
        raise _fail(v, "api-signature-not-valid: missing Signature")
    if params.get("AccessKeyId") != cred.api_key:
        raise _fail(v, "api-signature-not-valid: invalid AccessKeyId")
    if params.get("SignatureMethod") != "HmacSHA256" or params.get("SignatureVersion") != "2":
        raise _fail(v, "api-signature-not-valid: signature method or version")
    try:
        stamp = time.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise _fail(v, "api-signature-not-valid: invalid Timestamp") from None
    _within(now_ms, calendar.timegm(stamp) * 1000, 300_000, v)
    canonical = "&".join(
        f"{quote(k, safe='')}={quote(val, safe='')}" for k, val in sorted(params.items())
    )
    host = (cred.host or "api.huobi.pro").lower()
    presign = f"{req.method}\n{host}\n{split.path}\n{canonical}".encode()
    expected = base64.b64encode(hmac.new(cred.secret.encode(), presign, hashlib.sha256).digest())
    if not _same(expected, signature):
        raise _fail(v, "api-signature-not-valid: Signature does not match")


_VERIFIERS = {
    "binance": _binance,
    "coinbase": _coinbase,
    "coinbase-exchange": _coinbase_exchange,
    "kraken": _kraken,
    "okx": _okx,
    "bitfinex": _bitfinex,
    "htx": _htx,
}


def verify_request(
    venue: str, request: _Request, credentials: Credentials, *, now_ms: int | None = None
) -> None:
    """Checks `request` as `venue` would.

    Args:
        venue: a venue name as in `venuegate.auth.VENUES`.
        request: anything with `method`, `path`, `headers` and `body` (a `SignedRequest`, or a
            request the simulator received).
        credentials: the key as the venue stores it.
        now_ms: the venue's clock; when given, timestamps outside the venue's window fail.

    Raises:
        VerificationError: the venue would refuse the request, with its reason.
    """
    try:
        check = _VERIFIERS[venue]
    except KeyError:
        raise VerificationError(f"no verifier for venue {venue!r}") from None
    check(request, credentials, now_ms)


__all__ = ["Credentials", "StaleTimestampError", "VerificationError", "verify_request"]
