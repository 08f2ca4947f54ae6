"""Signing a Binance order, params → signed request, three ways in one run:

- venuegate: `signer("binance", ...).sign(...)` (native encode + HMAC, native SignedRequest);
- stdlib: `urllib.parse.urlencode` + `hmac.new(...).hexdigest()`, the way Binance's own Python
  connector and most hand-written clients build it;
- ccxt: `binance.sign()` for the same endpoint and params (what ccxt users run per order).

All three produce the same thing: the query with timestamp and signature, and the API-key header.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from venuegate.auth import signer
from venuegate.fixed import Fixed

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.00100000",
    "price": "67123.45",
    "newClientOrderId": "vg-1700000000-000001",
    "recvWindow": 5000,
}


@pytest.mark.benchmark(group="binance-order-sign")
def test_venuegate(benchmark: Any) -> None:
    s = signer("binance", api_key=API_KEY, secret=SECRET)
    req = benchmark(s.sign, "POST", "/api/v3/order", ORDER)
    assert "&signature=" in req.path


@pytest.mark.benchmark(group="binance-order-sign")
def test_stdlib(benchmark: Any) -> None:
    secret = SECRET.encode()

    def sign() -> tuple[str, str, dict[str, str], None]:
        query = urlencode({**ORDER, "timestamp": time.time_ns() // 1_000_000})
        signature = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
        return (
            "POST",
            f"/api/v3/order?{query}&signature={signature}",
            {"X-MBX-APIKEY": API_KEY},
            None,
        )

    req = benchmark(sign)
    assert "&signature=" in req[1]


@pytest.mark.benchmark(group="binance-order-sign")
def test_ccxt(benchmark: Any) -> None:
    import ccxt  # the baseline stack: a dev dependency, always installed by `make install`

    exchange = ccxt.binance({"apiKey": API_KEY, "secret": SECRET})
    # ccxt.sign mutates nothing in params for this endpoint, but copy to match a real call.
    req = benchmark(lambda: exchange.sign("order", ["private"], "POST", dict(ORDER)))
    assert "signature=" in req["body"]


PRICES = ["67123.45000000", "0.00012300", "-5.1", "1e-8"] * 5


@pytest.mark.benchmark(group="price-parse-20")
def test_fixed_parse(benchmark: Any) -> None:
    out = benchmark(lambda: [Fixed(p) for p in PRICES])
    assert out[1] == Fixed("0.000123")


@pytest.mark.benchmark(group="price-parse-20")
def test_decimal_parse(benchmark: Any) -> None:
    out = benchmark(lambda: [Decimal(p) for p in PRICES])
    assert out[1] == Decimal("0.000123")
