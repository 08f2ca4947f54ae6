"""Signer behaviour beyond the signature bytes: placement of params, determinism, nonces."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import make_credentials
from venuegate.auth import VENUES, BinanceSigner, SignedRequest, signer
from venuegate.errors import SigningError


def _make(venue: str, **kw: object):  # type: ignore[no-untyped-def]
    c = make_credentials(venue)
    return signer(
        venue, api_key=c.api_key, secret=c.secret, passphrase=c.passphrase, host=c.host, **kw
    )


@pytest.mark.parametrize("venue", [v for v in VENUES if v != "coinbase"])
def test_given_timestamp_and_nonce_make_output_deterministic(venue: str) -> None:
    s = _make(venue)
    a = s.sign(
        "POST", "/x", params={"a": "1"}, timestamp_ms=1_700_000_000_123, nonce=1_700_000_000_123_000
    )
    b = s.sign(
        "POST", "/x", params={"a": "1"}, timestamp_ms=1_700_000_000_123, nonce=1_700_000_000_123_000
    )
    assert a == b
    assert isinstance(a, SignedRequest)


def test_coinbase_jwt_claims_are_deterministic() -> None:
    s = _make("coinbase")
    r = s.sign(
        "POST",
        "/api/v3/brokerage/orders",
        params={"a": "1"},
        timestamp_ms=1_700_000_000_999,
        nonce=7,
    )
    token = r.headers["Authorization"].removeprefix("Bearer ")
    import base64

    head, claims, _ = token.split(".")
    h = json.loads(base64.urlsafe_b64decode(head + "=="))
    c = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert h == {"alg": "ES256", "kid": s.api_key, "nonce": "7", "typ": "JWT"}
    assert c == {
        "sub": s.api_key,
        "iss": "cdp",
        "nbf": 1_700_000_000,
        "exp": 1_700_000_120,
        "uri": "POST api.coinbase.com/api/v3/brokerage/orders",
    }
    assert r.body == b'{"a":"1"}'
    ws = s.jwt(None, timestamp_ms=1_700_000_000_999)  # type: ignore[attr-defined]
    assert "uri" not in json.loads(base64.urlsafe_b64decode(ws.split(".")[1] + "=="))


@pytest.mark.parametrize("venue", ["kraken", "bitfinex"])
def test_default_nonces_strictly_increase_across_threads(venue: str) -> None:
    s = _make(venue)
    header = "bfx-nonce" if venue == "bitfinex" else None
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        local = []
        for _ in range(300):
            r = s.sign("POST", "/0/private/Balance" if venue == "kraken" else "/v2/auth/r/wallets")
            if header:
                local.append(int(r.headers[header]))
            else:
                assert r.body is not None
                local.append(int(dict(parse_qsl(r.body.decode()))["nonce"]))
        assert local == sorted(local)
        assert len(set(local)) == len(local)
        with lock:
            seen.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == len(seen) == 1200


def test_params_keep_caller_order_and_placement() -> None:
    b = _make("binance")
    r = b.sign("GET", "/api/v3/openOrders", params=[("z", "1"), ("a", "2")], timestamp_ms=5)
    assert urlsplit(r.path).query.startswith("z=1&a=2&timestamp=5&signature=")
    r = b.sign("GET", "/api/v3/openOrders", params={"timestamp": 9, "a": 1})
    assert urlsplit(r.path).query.startswith("timestamp=9&a=1&signature=")

    k = _make("kraken")
    r = k.sign(
        "POST", "/0/private/AddOrder", params={"pair": "XBTUSD", "price": Decimal("1E+2")}, nonce=42
    )
    assert r.body == b"nonce=42&pair=XBTUSD&price=100"
    with pytest.raises(SigningError, match="nonce="):
        k.sign("POST", "/0/private/AddOrder", params={"nonce": 1})
    with pytest.raises(SigningError, match="needs the nonce"):
        k.sign("POST", "/0/private/AddOrder", body='{"nonce":"1"}')

    o = _make("okx", demo=True)
    r = o.sign(
        "get",
        "/api/v5/trade/orders-pending",
        params={"instType": "SPOT", "instId": "BTC-USDT"},
        timestamp_ms=1_607_418_537_715,
    )
    assert r.method == "GET"
    assert r.path == "/api/v5/trade/orders-pending?instType=SPOT&instId=BTC-USDT"
    assert r.headers["OK-ACCESS-TIMESTAMP"] == "2020-12-08T09:08:57.715Z"
    assert r.headers["x-simulated-trading"] == "1"
    r = o.sign(
        "POST",
        "/api/v5/trade/order",
        params={"instId": "BTC-USDT", "px": Decimal("0.00000100"), "sz": "1"},
    )
    assert r.body == b'{"instId":"BTC-USDT","px":"0.00000100","sz":"1"}'

    bf = _make("bitfinex")
    r = bf.sign("POST", "/v2/auth/r/wallets", timestamp_ms=1_700_000_000_000)
    assert r.body == b"{}"
    assert r.headers["bfx-nonce"] == "1700000000000000"
    with pytest.raises(SigningError, match="nonces must be in"):
        bf.sign("POST", "/v2/auth/r/wallets", nonce=2**60)

    h = _make("htx")
    r = h.sign(
        "POST",
        "/v1/order/orders/place",
        params={"symbol": "btcusdt", "amount": "1"},
        timestamp_ms=0,
    )
    assert r.body == b'{"symbol":"btcusdt","amount":"1"}'
    q = dict(parse_qsl(urlsplit(r.path).query))
    assert set(q) == {
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Signature",
    }
    assert q["Timestamp"] == "1970-01-01T00:00:00"


def test_binance_ws_and_key_types() -> None:
    b = _make("binance")
    assert isinstance(b, BinanceSigner)
    assert b.key_type == "hmac"
    p = b.ws_params({"symbol": "BTCUSDT", "price": Decimal("1.5")}, timestamp_ms=1)
    assert list(p) == ["apiKey", "price", "symbol", "timestamp", "signature"]
    assert p["timestamp"] == "1"
    with pytest.raises(SigningError, match="Ed25519 keys only"):
        b.fix_logon_raw_data(
            sender_comp_id="A", target_comp_id="SPOT", msg_seq_num=1, sending_time="x"
        )
    e = make_credentials("binance", ed25519_key=True)
    be = signer("binance", api_key=e.api_key, secret=e.secret)
    assert isinstance(be, BinanceSigner)
    assert be.key_type == "ed25519"


def test_floats_are_refused_everywhere() -> None:
    for venue in VENUES:
        s = _make(venue)
        with pytest.raises(TypeError, match="float"):
            s.sign("POST", "/v2/auth/w/order/submit", params={"price": 0.1})
