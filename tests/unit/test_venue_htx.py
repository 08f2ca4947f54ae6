"""The HTX adapter without I/O: request building, parsing of sample answers, error classes,
client order ids, and the private-stream protocol.

Sample answers are the response examples of the HTX spot API documentation
(https://huobiapi.github.io/docs/spot/v1/en/ — "Place a New Order", "Get the Order Detail of an
Order based on client order ID", "Search Match Results", "Get Current Timestamp", "Get Market
Status", "Subscribe Order Updates", "Subscribe Trade Details & Order Cancellation
post Clearing"), trimmed to the fields read.
"""

from __future__ import annotations

import json
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
from venuegate.venues.base import Amend, AmendMode, HttpResponse, Op
from venuegate.venues.htx import ENDPOINTS, ERRORS, Adapter

SECRET = "b0xxxxxx-c6xxxxxx-94xxxxxx-dxxxx"


def adapter() -> Adapter:
    s = signer("htx", api_key="e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx", secret=SECRET)
    return Adapter(endpoints=ENDPOINTS["production"], signer=s, account_id=100009)


def resp(body: object, status: int = 200, **headers: str) -> HttpResponse:
    return HttpResponse(status, headers, json.dumps(body).encode())


def order(cid: str = "a0001", tif: TimeInForce = TimeInForce.GTC, **kw: object) -> Order:
    fields: dict[str, object] = {
        "venue": "htx",
        "symbol": "ethusdt",
        "client_order_id": cid,
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": Decimal("10.1"),
        "price": Decimal("100.1"),
        "time_in_force": tif,
    } | kw
    return Order.model_validate(fields)


def test_endpoints_and_contract() -> None:
    assert ENDPOINTS["production"].rest_url == "https://api.huobi.pro"
    assert ENDPOINTS["production"].private_ws_url == "wss://api.huobi.pro/ws/v2"
    assert Adapter.amend_mode is AmendMode.CANCEL_NEW
    assert Adapter.client_id_max_len == 64
    names = {w.name for w in Adapter.rate_model.windows}
    for call in (adapter().place(order()), adapter().cancel(order()), adapter().query(order())):
        assert set(call.cost.costs) <= names


@pytest.mark.parametrize(
    ("tif", "kind"),
    [
        (TimeInForce.GTC, "buy-limit"),
        (TimeInForce.IOC, "buy-ioc"),
        (TimeInForce.FOK, "buy-limit-fok"),
        (TimeInForce.POST_ONLY, "buy-limit-maker"),
    ],
)
def test_place_body(tif: TimeInForce, kind: str) -> None:
    call = adapter().place(order(tif=tif))
    assert (call.method, call.path, call.op) == ("POST", "/v1/order/orders/place", Op.PLACE)
    assert call.body is not None
    assert json.loads(call.body) == {
        "account-id": "100009",
        "symbol": "ethusdt",
        "type": kind,
        "amount": "10.1",
        "price": "100.1",
        "source": "spot-api",
        "client-order-id": "a0001",
    }


def test_place_refusals() -> None:
    ad = adapter()
    with pytest.raises(ConfigError):
        ad.place(order(tif=TimeInForce.GTD, expire_at="2030-01-01T00:00:00Z"))
    with pytest.raises(ConfigError):
        ad.place(order(type=OrderType.MARKET, price=None))  # market buy: quote-sized at HTX
    with pytest.raises(ConfigError):
        ad.amend(order(), Amend(price=Decimal(1)))
    with pytest.raises(ConfigError):
        Adapter(endpoints=ENDPOINTS["production"]).place(order())  # no account id
    sell = ad.place(order(type=OrderType.MARKET, price=None, side=Side.SELL))
    assert sell.body is not None
    assert json.loads(sell.body)["type"] == "sell-market"


def test_parse_place_query_and_not_found() -> None:
    ad = adapter()
    o = order()
    (ack,) = ad.parse_place(o, resp({"status": "ok", "data": "356501383558845"}))
    assert (ack.kind, ack.venue_order_id) == (ReportKind.ACK, "356501383558845")
    detail = {
        "status": "ok",
        "data": {
            "id": 59378,
            "symbol": "ethusdt",
            "account-id": 100009,
            "client-order-id": "a0001",
            "amount": "10.1000000000",
            "price": "100.1000000000",
            "created-at": 1494901162595,
            "type": "buy-limit",
            "field-amount": "10.1000000000",
            "field-cash-amount": "1011.0100000000",
            "field-fees": "0.0202000000",
            "finished-at": 1494901400468,
            "source": "api",
            "state": "filled",
            "canceled-at": 0,
        },
    }
    (st,) = ad.parse_query(o, resp(detail))
    assert st.kind is ReportKind.STATUS
    assert st.state is OrderState.FILLED
    assert (st.quantity, st.price, st.filled_qty) == (
        Decimal("10.1"),
        Decimal("100.1"),
        Decimal("10.1"),
    )
    q = ad.query(o)
    assert (q.path, q.params) == ("/v1/order/orders/getClientOrder", (("clientOrderId", "a0001"),))
    missing = {"status": "error", "err-code": "base-record-invalid", "err-msg": "record invalid"}
    (nf,) = ad.parse_query(o, resp(missing))
    assert nf.kind is ReportKind.NOT_FOUND


def test_parse_cancel_status_codes() -> None:
    ad = adapter()
    o = order()
    assert ad.parse_cancel(o, resp({"status": "ok", "data": 10})) == []
    (c,) = ad.parse_cancel(o, resp({"status": "ok", "data": 7}))
    assert c.kind is ReportKind.CANCELED
    (f,) = ad.parse_cancel(o, resp({"status": "ok", "data": 6}))
    assert f.state is OrderState.FILLED


def test_parse_fills_uses_trade_ids_and_remembered_client_ids() -> None:
    ad = adapter()
    ad.parse_place(order(), resp({"status": "ok", "data": "345487249132375"}))
    body = {
        "status": "ok",
        "data": [
            {
                "symbol": "ethusdt",
                "fee-currency": "eth",
                "source": "spot-web",
                "price": "0.338",
                "created-at": 1629443051839,
                "role": "taker",
                "order-id": 345487249132375,
                "match-id": 5014,
                "trade-id": 1085,
                "filled-amount": "147.928994082840236",
                "filled-fees": "0",
                "filled-points": "0.1",
                "fee-deduct-currency": "hbpoint",
                "fee-deduct-state": "done",
                "id": 313288753120940,
                "type": "buy-market",
            }
        ],
    }
    (f,) = ad.parse_fills(resp(body))
    assert (f.kind, f.client_order_id, f.trade_id) == (ReportKind.FILL, "a0001", "1085")
    assert (f.last_qty, f.last_price, f.fee, f.fee_asset, f.liquidity) == (
        Decimal("147.928994082840236"),
        Decimal("0.338"),
        Decimal(0),
        "eth",
        "taker",
    )
    call = ad.fills("ethusdt", 1629443000000)
    assert dict(call.params)["start-time"] == "1629443000000"


def test_time_status_dead_man() -> None:
    ad = adapter()
    assert ad.parse_server_time(resp({"status": "ok", "data": 1629715504949})) == 1629715504949
    assert ad.parse_status(resp({"code": 200, "message": "success", "data": {"marketStatus": 1}}))
    halted = ad.parse_status(
        resp({"code": 200, "data": {"marketStatus": 2, "haltEndTime": 1700000000000}})
    )
    assert (halted.trading, halted.until_ms) == (False, 1700000000000)
    call = ad.dead_man(10, ["ethusdt"])
    assert call.path == "/v2/algo-orders/cancel-all-after"
    assert call.body is not None
    assert json.loads(call.body) == {"timeout": 10}
    assert (
        ad.parse_dead_man(resp({"code": 200, "data": {"currentTime": 1, "triggerTime": 10001}}))
        == 10001
    )


@pytest.mark.parametrize(
    ("code", "msg", "status", "op", "cls"),
    [
        ("gateway-internal-error", "Failed to load data. Try again later.", 503, Op.PLACE,
         VenueUnavailableError),
        ("system-maintenance", "System is in maintenance!", 200, Op.PLACE, VenueUnavailableError),
        ("timeout", "Request Timeout", 504, Op.PLACE, UnknownOutcomeError),
        ("timeout", "Request Timeout", 504, Op.QUERY, RetryableError),
        ("base-request-exceed-frequency-limit", "Frequency", 429, Op.PLACE, RateLimitedError),
        ("api-signature-not-valid", "Signature not valid: Incorrect Access key", 200, Op.QUERY,
         AuthError),
        ("api-signature-not-valid", "Signature not valid: Timestamp expired", 200, Op.QUERY,
         ClockSkewError),
        ("order-duplicate-client-order-id", "dup", 200, Op.PLACE, DuplicateOrderError),
        ("base-record-invalid", "record invalid", 200, Op.CANCEL, OrderNotFoundError),
        ("order-orderstate-error", "Incorrect order state", 200, Op.CANCEL, OrderNotFoundError),
        ("order-value-min-error", "Order total cannot be lower than: 1 USDT", 200, Op.PLACE,
         FatalError),
        ("", "", 500, Op.CANCEL, UnknownOutcomeError),
    ],
)  # fmt: skip
def test_error_classes(code: str, msg: str, status: int, op: Op, cls: type[Exception]) -> None:
    body = {"status": "error", "err-code": code, "err-msg": msg, "data": None}
    with pytest.raises(cls) as err:
        adapter().check(op, resp(body, status, **{"retry-after": "2"}))
    assert type(err.value) is cls
    if code:
        assert err.value.code == code  # type: ignore[attr-defined]


def test_error_table_kinds_are_known() -> None:
    kinds = {"retry", "unavailable", "unknown", "rate", "auth", "clock", "duplicate", "not_found",
             "fatal"}  # fmt: skip
    assert {k for k, _ in ERRORS.values()} <= kinds
    with pytest.raises(FatalError):
        adapter().check(Op.OTHER, resp({"code": 2002, "message": "invalid timeout"}))


def test_client_order_ids() -> None:
    ad = adapter()
    a, b = ad.new_client_order_id("s1", 0), ad.new_client_order_id("s1", 1)
    assert a != b
    long = ad.new_client_order_id("x" * 200 + "!", 2**64)
    for cid in (a, b, long):
        assert len(cid) <= 64
        assert set(cid) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    with pytest.raises(ConfigError):
        ad.new_client_order_id("s", -1)


def test_stream_protocol_and_decoding() -> None:
    ad = adapter()
    stream = ad.private_stream(["btcusdt"])
    (auth,) = stream.open_messages()
    msg = json.loads(auth)
    assert (msg["action"], msg["ch"]) == ("req", "auth")
    p = msg["params"]
    assert (p["authType"], p["signatureMethod"], p["signatureVersion"]) == (
        "api",
        "HmacSHA256",
        "2.1",
    )
    assert SECRET not in auth
    ev = stream.on_message('{"action":"req","code":200,"ch":"auth","data":{}}')
    subs = [json.loads(r)["ch"] for r in ev.replies]
    assert subs == ["orders#btcusdt", "trade.clearing#btcusdt#0"]
    assert not ev.ready
    stream.on_message('{"action":"sub","code":200,"ch":"orders#btcusdt","data":{}}')
    ev = stream.on_message('{"action":"sub","code":200,"ch":"trade.clearing#btcusdt#0","data":{}}')
    assert ev.ready
    pong = stream.on_message('{"action":"ping","data":{"ts":1583491673714}}')
    assert json.loads(pong.replies[0]) == {"action": "pong", "data": {"ts": 1583491673714}}
    creation = {
        "action": "push",
        "ch": "orders#btcusdt",
        "data": {
            "orderSize": "2.000000000000000000",
            "orderCreateTime": 1583853365586,
            "accountId": 992701,
            "orderPrice": "77.000000000000000000",
            "type": "sell-limit",
            "orderId": 27163533,
            "clientOrderId": "abc123",
            "orderSource": "spot-api",
            "orderStatus": "submitted",
            "symbol": "btcusdt",
            "eventType": "creation",
        },
    }
    (ack,) = stream.on_message(json.dumps(creation)).reports
    assert (ack.kind, ack.client_order_id, ack.side, ack.price) == (
        ReportKind.ACK,
        "abc123",
        Side.SELL,
        Decimal(77),
    )
    trade = {
        "action": "push",
        "ch": "orders#btcusdt",
        "data": {
            "tradePrice": "76.000000000000000000",
            "tradeVolume": "1.013157894736842100",
            "tradeId": 301,
            "tradeTime": 1583854188883,
            "aggressor": True,
            "remainAmt": "0.000000000000000400000000000000000000",
            "execAmt": "2",
            "orderId": 27163536,
            "type": "sell-limit",
            "clientOrderId": "abc123",
            "orderSource": "spot-api",
            "orderPrice": "15000",
            "orderSize": "0.01",
            "orderStatus": "filled",
            "symbol": "btcusdt",
            "eventType": "trade",
        },
    }
    assert stream.on_message(json.dumps(trade)).reports == []  # fills come from clearing
    clearing = {
        "action": "push",
        "ch": "trade.clearing#btcusdt#0",
        "data": {
            "eventType": "trade",
            "symbol": "btcusdt",
            "orderId": 99998888,
            "tradePrice": "9999.99",
            "tradeVolume": "0.96",
            "orderSide": "buy",
            "aggressor": True,
            "tradeId": 919219323232,
            "tradeTime": 998787897878,
            "transactFee": "19.88",
            "feeDeduct ": "0",
            "feeDeductType": "",
            "feeCurrency": "btc",
            "accountId": 9912791,
            "source": "spot-api",
            "orderPrice": "10000",
            "orderSize": "1",
            "clientOrderId": "a001",
            "orderCreateTime": 998787897878,
            "orderStatus": "partial-filled",
        },
    }
    (fill,) = stream.on_message(json.dumps(clearing)).reports
    assert (fill.kind, fill.trade_id, fill.last_qty, fill.last_price, fill.fee) == (
        ReportKind.FILL,
        "919219323232",
        Decimal("0.96"),
        Decimal("9999.99"),
        Decimal("19.88"),
    )
    assert (fill.fee_asset, fill.liquidity, fill.side) == ("btc", "taker", Side.BUY)
    cancel = {
        "action": "push",
        "ch": "orders#btcusdt",
        "data": {
            "lastActTime": 1583853475406,
            "remainAmt": "2.000000000000000000",
            "execAmt": "0",
            "orderId": 27163533,
            "type": "sell-limit",
            "clientOrderId": "abc123",
            "orderSource": "spot-api",
            "orderPrice": "15000",
            "orderSize": "2",
            "orderStatus": "canceled",
            "symbol": "btcusdt",
            "eventType": "cancellation",
        },
    }
    (c,) = stream.on_message(json.dumps(cancel)).reports
    assert (c.kind, c.state) == (ReportKind.CANCELED, OrderState.CANCELED)
    bad = stream.on_message('{"action":"req","code":2003,"ch":"auth","message":"auth.fail"}')
    assert isinstance(bad.error, AuthError)
