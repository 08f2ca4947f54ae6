"""The Bitfinex adapter without I/O: request building, parsing of the docs' sample messages,
error classification and client order ids.

Samples are copied from the Bitfinex docs pages named at each one (the example responses shown
there), with only their numbers kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    ConfigError,
    DuplicateOrderError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.oms.types import ReportKind
from venuegate.venues.base import Amend, HttpResponse, Op
from venuegate.venues.bitfinex import ENDPOINTS, ERRORS, Adapter, cid_date

SECRET = "s3cr3t" * 8
NOW = int(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp() * 1000)


def adapter(now: int = NOW) -> Adapter:
    s = signer("bitfinex", api_key="k" * 43, secret=SECRET)
    return Adapter(endpoints=ENDPOINTS["production"], signer=s, clock_ms=lambda: now)


def resp(body: object, status: int = 200, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers, raw)


def order(ad: Adapter, **kw: object) -> Order:
    base: dict[str, object] = {
        "venue": "bitfinex",
        "symbol": "tBTCUSD",
        "client_order_id": ad.new_client_order_id("sess", 1),
        "side": Side.SELL,
        "type": OrderType.LIMIT,
        "quantity": Decimal("0.5"),
        "price": Decimal("43000"),
    }
    base.update(kw)
    return Order.model_validate(base)


def test_endpoints_are_the_documented_hosts() -> None:
    prod = ENDPOINTS["production"]
    assert prod.rest_url == "https://api.bitfinex.com"
    assert prod.private_ws_url == "wss://api.bitfinex.com/ws/2"


def test_client_order_ids_are_int45_unique_sortable_and_carry_the_date() -> None:
    ad = adapter()
    ids = [ad.new_client_order_id("sess", n) for n in range(1000)]
    assert len(set(ids)) == 1000
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert all(i.isdigit() and int(i) < 2**45 for i in ids)
    assert len(ids[-1]) <= Adapter.client_id_max_len
    assert {cid_date(i) for i in ids} == {"2026-03-01"}
    other = adapter().new_client_order_id("another-session", 1)
    assert other != ids[0]
    with pytest.raises(ConfigError):
        cid_date("not-a-cid")
    assert not Adapter.duplicate_client_ids_rejected  # "unique in the day (not enforced)"


def test_place_bodies_per_order_type() -> None:
    ad = adapter()
    o = order(ad)
    call = ad.place(o)
    assert (call.op, call.method, call.path) == (Op.PLACE, "POST", "/v2/auth/w/order/submit")
    assert call.body is not None
    body = json.loads(call.body)
    assert body == {
        "type": "EXCHANGE LIMIT",
        "symbol": "tBTCUSD",
        "amount": "-0.5",
        "cid": int(o.client_order_id),
        "price": "43000",
    }
    assert call.cost.costs == {"SUBMIT": 1}
    assert all(k in {w.name for w in Adapter.rate_model.windows} for k in call.cost.costs)

    def body_of(**kw: object) -> dict[str, object]:
        b = ad.place(order(ad, **kw)).body
        assert b is not None
        return dict(json.loads(b))

    assert body_of(time_in_force=TimeInForce.POST_ONLY)["flags"] == 4096
    assert body_of(time_in_force=TimeInForce.IOC)["type"] == "EXCHANGE IOC"
    assert body_of(time_in_force=TimeInForce.FOK)["type"] == "EXCHANGE FOK"
    gtd = body_of(time_in_force=TimeInForce.GTD, expire_at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    assert gtd["tif"] == "2026-03-02 08:30:00"
    mkt = body_of(type=OrderType.MARKET, price=None, side=Side.BUY)
    assert mkt["type"] == "EXCHANGE MARKET"
    assert mkt["amount"] == "0.5"
    assert "price" not in mkt
    with pytest.raises(ConfigError):
        ad.place(order(ad, type=OrderType.STOP_LIMIT))
    with pytest.raises(ConfigError):
        ad.place(order(ad, reduce_only=True))
    with pytest.raises(ConfigError):
        ad.place(order(ad, type=OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK))
    with pytest.raises(ConfigError):
        ad.place(order(ad, client_order_id="abc"))


def test_cancel_amend_query_fills_calls() -> None:
    ad = adapter()
    o = order(ad, venue_order_id="95412102131", quantity=Decimal("0.5"))
    c = ad.cancel(o)
    assert c.path == "/v2/auth/w/order/cancel"
    assert c.body is not None
    assert json.loads(c.body) == {"cid": int(o.client_order_id), "cid_date": "2026-03-01"}
    a = ad.amend(o, Amend(quantity=Decimal("0.7"), price=Decimal("43100")))
    assert a.path == "/v2/auth/w/order/update"
    assert a.body is not None
    # a sell grows by 0.2: delta is signed like the order
    assert json.loads(a.body) == {"id": 95412102131, "price": "43100", "delta": "-0.2"}
    with pytest.raises(ConfigError):
        ad.amend(o, Amend())
    ca = ad.cancel_all(None)
    assert ca.body is not None
    assert json.loads(ca.body) == {"all": 1}
    q = ad.query(o)
    assert q.path == "/v2/auth/r/orders/tBTCUSD"
    assert q.body is not None
    assert json.loads(q.body) == {"cid": int(o.client_order_id), "cid_date": "2026-03-01"}
    f = ad.fills("tBTCUSD", 1_700_000_000_000)
    assert f.path == "/v2/auth/r/trades/tBTCUSD/hist"
    assert f.body is not None
    assert json.loads(f.body) == {"start": 1_700_000_000_000, "limit": 2500, "sort": 1}
    assert ad.dead_man(60, ["tBTCUSD"]) is None
    t = ad.server_time()
    assert t is not None
    assert not t.signed
    when = resp([1], date="Sun, 01 Mar 2026 12:00:07 GMT")
    assert ad.parse_server_time(when) == NOW + 7500
    st = ad.status()
    assert st is not None
    assert not st.signed
    assert st.path == "/v2/platform/status"


# https://docs.bitfinex.com/reference/rest-auth-submit-order (example response)
SUBMIT = (
    b'[1653325121,"on-req",null,null,[[95412102131,null,1653325121798,"tDOGE:UST",'
    b'1653325121798,1653325121798,-10,-10,"EXCHANGE LIMIT",null,null,null,4096,"ACTIVE",null,'
    b'null,0.071,0,0,0,null,null,null,0,0,null,null,null,"API>BFX",null,null,{"$F7":1}]],'
    b'null,"SUCCESS","Submitting 1 orders."]'
)


def test_parse_submit_sample() -> None:
    ad = adapter()
    o = order(ad, symbol="tDOGE:UST", client_order_id="1653325121798", quantity=Decimal(10),
              price=Decimal("0.071"))  # fmt: skip
    (ack,) = ad.parse_place(o, resp(SUBMIT))
    assert ack.kind is ReportKind.ACK
    assert ack.venue_order_id == "95412102131"
    assert ack.client_order_id == "1653325121798"
    assert (ack.side, ack.quantity, ack.price, ack.filled_qty) == (
        Side.SELL, Decimal(10), Decimal("0.071"), Decimal(0),
    )  # fmt: skip
    assert ack.state is OrderState.NEW
    assert isinstance(ack.price, Decimal)
    # the creation day is remembered for cid_date
    assert ad.cid_date("1653325121798") == "2022-05-23"


# https://docs.bitfinex.com/reference/ws-auth-orders (os example)
OS = (
    b'[0,"os",[[34930659963,null,1574955083558,"tETHUSD",1574955083558,1574955083573,0.201104,'
    b'0.201104,"EXCHANGE LIMIT",null,null,null,0,"ACTIVE",null,null,120,0,0,0,null,null,null,'
    b'0,0,null,null,null,"BFX",null,null,{}]]]'
)
# https://docs.bitfinex.com/reference/ws-auth-trades (te / tu examples, as ccxt quotes them)
TE = (
    b'[0,"te",[1133411090,"tLTCUST",1655110144598,97084883506,0.1,42.821,"EXCHANGE MARKET",'
    b"42.799,-1,null,null,1655110144596]]"
)
TU = (
    b'[0,"tu",[1133411090,"tLTCUST",1655110144598,97084883506,0.1,42.821,"EXCHANGE MARKET",'
    b'42.799,-1,-0.0002,"LTC",1655110144596]]'
)
OC = (
    b'[0,"oc",[97084883506,null,1655110144596,"tLTCUST",1655110144596,1655110144598,0,0.1,'
    b'"EXCHANGE MARKET",null,null,null,0,"EXECUTED @ 42.821(0.1)",null,null,42.799,42.821,0,0,'
    b'null,null,null,0,0,null,null,null,"BFX",null,null,{}]]'
)


def test_private_stream_auth_and_samples() -> None:
    ad = adapter()
    stream = ad.private_stream([])
    assert "dms" not in json.loads(stream.open_messages()[0])  # off unless armed
    assert ad.dead_man(30, ["tBTCUSD"]) is None  # no REST timer: arms the WebSocket's dms
    (auth_text,) = stream.open_messages()
    auth = json.loads(auth_text)
    assert auth["event"] == "auth"
    assert auth["dms"] == 4
    assert auth["filter"] == ["trading"]
    assert auth["authPayload"] == "AUTH" + auth["authNonce"]
    expected = hmac.new(SECRET.encode(), auth["authPayload"].encode(), hashlib.sha384)
    assert auth["authSig"] == expected.hexdigest()
    assert SECRET not in auth_text

    assert not stream.on_message('{"event":"info","version":2,"platform":{"status":1}}').ready
    assert stream.on_message('{"event":"auth","status":"OK","chanId":0,"userId":1}').ready
    assert stream.on_message('[0,"hb"]').reports == []

    (snap,) = stream.on_message(OS).reports
    assert snap.kind is ReportKind.STATUS
    assert snap.quantity == Decimal("0.201104")
    assert snap.price == Decimal(120)
    assert snap.side is Side.BUY

    (te,) = stream.on_message(TE).reports
    (tu,) = stream.on_message(TU).reports
    assert te.kind is tu.kind is ReportKind.FILL
    assert te.trade_id == tu.trade_id == "1133411090"
    assert (tu.last_qty, tu.last_price) == (Decimal("0.1"), Decimal("42.821"))
    assert tu.fee == Decimal("0.0002")
    assert tu.fee_asset == "LTC"
    assert tu.liquidity == "taker"
    assert te.fee is None
    assert te.client_order_id == "1655110144596"
    (closed,) = stream.on_message(OC).reports
    assert closed.state is OrderState.FILLED
    assert closed.filled_qty == Decimal("0.1")

    failed = stream.on_message(
        '{"event":"auth","status":"FAILED","chanId":0,"msg":"nonce: small","code":10114}'
    )
    assert isinstance(failed.error, ClockSkewError)
    bad = ad.private_stream([]).on_message(
        '{"event":"auth","status":"FAILED","chanId":0,"msg":"apikey: invalid","code":10100}'
    )
    assert isinstance(bad.error, AuthError)
    assert not isinstance(bad.error, ClockSkewError)
    assert json.loads(stream.keepalive())["event"] == "ping"
    assert ad.dead_man(0, []) is None
    assert "dms" not in json.loads(ad.private_stream([]).open_messages()[0])


def test_stream_order_lifecycle_kinds() -> None:
    ad = adapter()
    stream = ad.private_stream(["tBTCUSD"])

    def arr(
        status: str, amount: str, orig: str, price: str, tif: int | None = None
    ) -> list[object]:
        head: list[object] = [7, None, 55, "tBTCUSD", 1000, 2000, Decimal(amount), Decimal(orig)]
        return [*head, "EXCHANGE LIMIT", None, tif, None, 0, status, None, None, Decimal(price)]

    def kinds(kind: str, a: list[object]) -> list[ReportKind]:
        text = json.dumps([0, kind, [str(x) if isinstance(x, Decimal) else x for x in a]])
        return [r.kind for r in stream.on_message(text).reports]

    assert kinds("on", arr("ACTIVE", "1", "1", "100")) == [ReportKind.ACK]
    assert kinds("ou", arr("ACTIVE", "2", "2", "100")) == [ReportKind.AMENDED]
    assert kinds("ou", arr("PARTIALLY FILLED @ 100(0.5)", "1.5", "2", "100")) == [ReportKind.STATUS]
    assert kinds("oc", arr("CANCELED was: PARTIALLY FILLED @ 100(0.5)", "1.5", "2", "100")) == [
        ReportKind.CANCELED
    ]
    assert kinds("oc", arr("POSTONLY CANCELED", "1", "1", "100")) == [ReportKind.EXPIRED]
    assert kinds("oc", arr("CANCELED", "1", "1", "100", tif=1500)) == [ReportKind.EXPIRED]
    other = [
        8,
        None,
        56,
        "tETHUSD",
        1,
        2,
        "1",
        "1",
        "EXCHANGE LIMIT",
        None,
        None,
        None,
        0,
        "ACTIVE",
    ]
    assert stream.on_message(json.dumps([0, "on", other])).reports == []
    rej = stream.on_message(json.dumps(
        [0, "n", [1, "on-req", None, None, [None, None, 99, "tBTCUSD"], None, "ERROR",
                  "Invalid order: not enough exchange balance"]]
    ))  # fmt: skip
    assert [(r.kind, r.client_order_id) for r in rej.reports] == [(ReportKind.REJECTED, "99")]


@pytest.mark.parametrize(
    ("op", "status", "body", "cls", "code"),
    [
        (Op.PLACE, 500, ["error", 10020, "amount: invalid"], FatalError, "10020"),
        (Op.PLACE, 500, ["error", 10001, "Invalid order: not enough exchange balance for -0.1"],
         FatalError, "10001"),
        (Op.CANCEL, 500, ["error", 10001, "Order not found."], OrderNotFoundError, "10001"),
        (Op.PLACE, 500, ["error", 10001, "Invalid order: duplicate cid"], DuplicateOrderError,
         "10001"),
        (Op.PLACE, 500, ["error", 10100, "apikey: digest invalid"], AuthError, "10100"),
        (Op.PLACE, 500, ["error", 10114, "nonce: small"], ClockSkewError, "10114"),
        (Op.PLACE, 429, ["error", 11010, "ratelimit: error"], RateLimitedError, "11010"),
        (Op.PLACE, 500, ["error", 20060, "maintenance"], VenueUnavailableError, "20060"),
        (Op.PLACE, 500, ["error", 10000, "ERR_UNK"], UnknownOutcomeError, "10000"),
        (Op.QUERY, 500, ["error", 10000, "ERR_UNK"], RetryableError, "10000"),
        (Op.PLACE, 503, {"code": 503, "error": "temporarily_unavailable",
                         "error_description": "Sorry, the service is temporarily unavailable."},
         VenueUnavailableError, "temporarily_unavailable"),
        (Op.PLACE, 500, b"Internal Server Error", UnknownOutcomeError, None),
        (Op.CANCEL, 502, b"<html>bad gateway</html>", UnknownOutcomeError, None),
        (Op.OPEN_ORDERS, 502, b"", RetryableError, None),
        (Op.PLACE, 200, [1, "on-req", None, None, [], None, "ERROR", "Invalid order: minimum "
                         "size for BTC/USD is 0.0001"], FatalError, None),
    ],
)  # fmt: skip
def test_error_classification(
    op: Op, status: int, body: object, cls: type[Exception], code: str | None
) -> None:
    ad = adapter()
    with pytest.raises(cls) as err:
        ad.check(op, resp(body, status, **{"retry-after": "60"}))
    assert type(err.value) is cls
    assert getattr(err.value, "code", None) == code
    assert SECRET not in str(err.value)
    if isinstance(err.value, RateLimitedError):
        assert err.value.retry_after == 60.0


def test_error_table_covers_every_class() -> None:
    kinds = {k for k, _ in ERRORS.values()}
    assert {"retry", "unavailable", "unknown", "rate", "auth", "clock", "fatal"} <= kinds
    assert ERRORS["10114"][0] == "clock"


def test_success_answers_pass_and_status() -> None:
    ad = adapter()
    ad.check(Op.PLACE, resp(json.loads(SUBMIT)))
    assert ad.parse_status(resp([1])).trading
    assert not ad.parse_status(resp([0])).trading


def test_rest_nonces_rise_even_at_a_fixed_time() -> None:
    ad = adapter()
    assert ad.signer is not None
    assert ad.bfx_signer is not None

    def nonce(ts: int) -> int:
        assert ad.signer is not None
        return int(ad.signer.sign("POST", "/v2/auth/r/orders", body=b"{}", timestamp_ms=ts)
                   .headers["bfx-nonce"])  # fmt: skip

    a = nonce(NOW)
    b = nonce(NOW)  # same millisecond
    ws = int(ad.bfx_signer.ws_auth()["authNonce"])  # type: ignore[call-overload]
    c = nonce(NOW - 5_000)  # the synced clock moved back
    assert a == NOW * 1000
    assert a < b < c
    assert ws < c
    signed = ad.signer.sign("POST", "/v2/auth/r/orders", body=b"{}", timestamp_ms=NOW + 1)
    mac = hmac.new(SECRET.encode(), b"/api/v2/auth/r/orders" + signed.headers["bfx-nonce"].encode()
                   + b"{}", hashlib.sha384)  # fmt: skip
    assert signed.headers["bfx-signature"] == mac.hexdigest()


def test_repr_hides_secret() -> None:
    ad = adapter()
    assert SECRET not in repr(ad.signer)
    assert SECRET not in repr(ad)
