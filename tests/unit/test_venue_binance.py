"""The Binance spot adapter without I/O: request building, parsing of the docs' sample answers,
the error table, client ids and the user-data-stream decoder.

Sample bodies are copied from the Binance spot API docs
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints: "New
order" FULL response, "Cancel an Existing Order and Send a New Order" responses, "Order Amend
Keep Priority" response; .../user-data-stream "Order Update" executionReport), trimmed of fields
the adapter does not read.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    BannedError,
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
from venuegate.model import Order, OrderType, Side, TimeInForce
from venuegate.oms.types import ReportKind
from venuegate.venues.base import Amend, HttpResponse, Op
from venuegate.venues.binance import ENDPOINTS, Adapter

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def _ad() -> Adapter:
    return Adapter(endpoints=ENDPOINTS["testnet"], signer=signer("binance", api_key=KEY,
                                                                 secret=SECRET))  # fmt: skip


def _resp(body: object, status: int = 200, **headers: str) -> HttpResponse:
    return HttpResponse(status, headers, json.dumps(body).encode())


def _order(**kw: object) -> Order:
    base: dict[str, object] = dict(venue="binance", symbol="BTCUSDT",
                                   client_order_id="6gCrw2kRUAF9CvJDGP16IP",
                                   side=Side.SELL, type=OrderType.LIMIT, quantity=Decimal("10"),
                                   price=Decimal("0.1"))  # fmt: skip
    base.update(kw)
    return Order.model_validate(base)


def test_endpoints_are_the_documented_urls() -> None:
    assert ENDPOINTS["production"].rest_url == "https://api.binance.com"
    assert ENDPOINTS["production"].ws_api_url == "wss://ws-api.binance.com:443/ws-api/v3"
    assert ENDPOINTS["testnet"].rest_url == "https://testnet.binance.vision"


def test_place_maps_types_and_time_in_force() -> None:
    ad = _ad()
    call = ad.place(_order())
    p = dict(call.params)
    assert (call.method, call.path) == ("POST", "/api/v3/order")
    assert p["type"] == "LIMIT"
    assert p["timeInForce"] == "GTC"
    assert p["price"] == "0.1"
    assert p["newClientOrderId"] == "6gCrw2kRUAF9CvJDGP16IP"
    assert p["newOrderRespType"] == "FULL"
    assert call.cost.costs["ORDERS_10S"] == 1
    assert call.cost.costs["REQUEST_WEIGHT"] == 1
    assert dict(ad.place(_order(time_in_force=TimeInForce.POST_ONLY)).params)["type"] == (
        "LIMIT_MAKER"
    )
    assert dict(ad.place(_order(time_in_force=TimeInForce.FOK)).params)["timeInForce"] == "FOK"
    mkt = dict(ad.place(_order(type=OrderType.MARKET, price=None)).params)
    assert mkt["type"] == "MARKET"
    assert "price" not in mkt
    assert "timeInForce" not in mkt
    from datetime import UTC, datetime

    with pytest.raises(ConfigError):
        ad.place(_order(time_in_force=TimeInForce.GTD, expire_at=datetime.now(UTC)))
    with pytest.raises(ConfigError):
        ad.place(_order(reduce_only=True))
    with pytest.raises(ConfigError):
        ad.place(_order(client_order_id="has space"))


def test_parse_place_full_response_from_the_docs() -> None:
    body = {
        "symbol": "BTCUSDT", "orderId": 28, "orderListId": -1,
        "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP", "transactTime": 1507725176595,
        "price": "0.00000000", "origQty": "10.00000000", "executedQty": "10.00000000",
        "cummulativeQuoteQty": "10.00000000", "status": "FILLED", "timeInForce": "GTC",
        "type": "MARKET", "side": "SELL", "workingTime": 1507725176595,
        "selfTradePreventionMode": "NONE",
        "fills": [
            {"price": "4000.00000000", "qty": "1.00000000", "commission": "4.00000000",
             "commissionAsset": "USDT", "tradeId": 56},
            {"price": "3999.00000000", "qty": "5.00000000", "commission": "19.99500000",
             "commissionAsset": "USDT", "tradeId": 57},
            {"price": "3998.00000000", "qty": "2.00000000", "commission": "7.99600000",
             "commissionAsset": "USDT", "tradeId": 58},
            {"price": "3997.00000000", "qty": "1.00000000", "commission": "3.99700000",
             "commissionAsset": "USDT", "tradeId": 59},
            {"price": "3995.00000000", "qty": "1.00000000", "commission": "3.99500000",
             "commissionAsset": "USDT", "tradeId": 60},
        ],
    }  # fmt: skip
    reps = _ad().parse_place(_order(type=OrderType.MARKET, price=None), _resp(body))
    assert [r.kind for r in reps] == [ReportKind.ACK] + [ReportKind.FILL] * 5
    assert reps[0].venue_order_id == "28"
    assert reps[0].price is None
    assert [r.trade_id for r in reps[1:]] == ["56", "57", "58", "59", "60"]
    assert reps[2].last_price == Decimal("3999.00000000")
    assert reps[2].fee == Decimal("19.995")
    assert reps[-1].filled_qty == Decimal("10")
    assert reps[-1].state is not None


def test_cancel_replace_and_keep_priority_from_the_docs() -> None:
    ad = _ad()
    o = _order(client_order_id="86M8erehfExV8z2RC8Zo8k")
    call = ad.amend(o, Amend(price=Decimal("0.2"), new_client_order_id="wOceeeOzNORyLiQfw7jd8S"))
    p = dict(call.params)
    assert call.path == "/api/v3/order/cancelReplace"
    assert p["cancelReplaceMode"] == "STOP_ON_FAILURE"
    assert p["cancelOrigClientOrderId"] == "86M8erehfExV8z2RC8Zo8k"
    assert p["price"] == "0.2"
    keep = ad.amend(o, Amend(quantity=Decimal("5")))
    assert (keep.method, keep.path) == ("PUT", "/api/v3/order/amend/keepPriority")
    assert dict(keep.params)["newQty"] == "5"
    with pytest.raises(ConfigError):
        ad.amend(o, Amend(price=Decimal("0.2")))
    ok = {"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
          "cancelResponse": {"symbol": "BTCUSDT", "origClientOrderId": "86M8erehfExV8z2RC8Zo8k",
                             "orderId": 9, "clientOrderId": "x", "price": "0.01000000",
                             "origQty": "0.000100", "executedQty": "0.00000000",
                             "status": "CANCELED", "side": "SELL"},
          "newOrderResponse": {"symbol": "BTCUSDT", "orderId": 10, "clientOrderId":
                               "wOceeeOzNORyLiQfw7jd8S", "transactTime": 1652928801803,
                               "price": "0.02000000", "origQty": "0.040000",
                               "executedQty": "0.00000000", "status": "NEW", "side": "BUY",
                               "fills": []}}  # fmt: skip
    a = Amend(price=Decimal("0.2"), new_client_order_id="wOceeeOzNORyLiQfw7jd8S")
    reps = ad.parse_amend(o, a, _resp(ok))
    assert [(r.kind, r.client_order_id) for r in reps] == [
        (ReportKind.CANCELED, "86M8erehfExV8z2RC8Zo8k"),
        (ReportKind.ACK, "wOceeeOzNORyLiQfw7jd8S")]  # fmt: skip
    partial = {"code": -2021, "msg": "Order cancel-replace partially failed.",
               "data": {"cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
                        "cancelResponse": ok["cancelResponse"],
                        "newOrderResponse": {"code": -2010, "msg": "Order would immediately match and take."}}}  # fmt: skip  # noqa: E501
    reps = ad.parse_amend(o, a, _resp(partial, 409))
    assert [r.kind for r in reps] == [ReportKind.CANCELED, ReportKind.REJECTED]
    failed = {"code": -2022, "msg": "Order cancel-replace failed.",
              "data": {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                       "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                       "newOrderResponse": None}}  # fmt: skip
    with pytest.raises(OrderNotFoundError):
        ad.parse_amend(o, a, _resp(failed, 400))
    amended = {"transactTime": 1741926410255, "executionId": 75, "amendedOrder": {
        "symbol": "BTCUSDT", "orderId": 33, "orderListId": -1,
        "origClientOrderId": "5xrgbMyg6z36NzBn2pbT8H", "clientOrderId": "PFaq6hIHxqFENGfdtn4J6Q",
        "price": "6.00000000", "qty": "5.00000000", "executedQty": "0.00000000",
        "status": "NEW", "timeInForce": "GTC", "type": "LIMIT", "side": "SELL"}}  # fmt: skip
    (rep,) = ad.parse_amend(o, Amend(quantity=Decimal("5")), _resp(amended))
    assert rep.kind is ReportKind.AMENDED
    assert rep.quantity == Decimal("5")


def test_query_not_found_is_a_report() -> None:
    ad = _ad()
    (rep,) = ad.parse_query(_order(), _resp({"code": -2013, "msg": "Order does not exist."}, 400))
    assert rep.kind is ReportKind.NOT_FOUND
    assert ad.parse_cancel_all(_resp({"code": -2011, "msg": "Unknown order sent."}, 400)) == []
    with pytest.raises(ConfigError):
        ad.cancel_all(None)
    assert ad.dead_man(60, ["BTCUSDT"]) is None


@pytest.mark.parametrize(
    ("op", "status", "body", "cls"),
    [
        (Op.PLACE, 400, {"code": -2010, "msg": "Duplicate order sent."}, DuplicateOrderError),
        (Op.PLACE, 400, {"code": -2010, "msg": "Account has insufficient balance."}, FatalError),
        (Op.PLACE, 400, {"code": -2010, "msg": "Market is closed."}, VenueUnavailableError),
        (Op.CANCEL, 400, {"code": -2011, "msg": "Unknown order sent."}, OrderNotFoundError),
        (Op.PLACE, 400, {"code": -1021, "msg": "Timestamp..."}, ClockSkewError),
        (Op.PLACE, 400, {"code": -1022, "msg": "Signature..."}, AuthError),
        (Op.PLACE, 401, {"code": -2015, "msg": "Invalid API-key"}, AuthError),
        (Op.PLACE, 400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, FatalError),
        (Op.PLACE, 503, {"code": -1007, "msg": "Timeout..."}, UnknownOutcomeError),
        (Op.QUERY, 503, {"code": -1007, "msg": "Timeout..."}, RetryableError),
        (Op.PLACE, 503, {"code": -1008, "msg": "Server is busy"}, VenueUnavailableError),
        (Op.PLACE, 500, {}, UnknownOutcomeError),
        (Op.PLACE, 503, {"msg": "Service Unavailable."}, VenueUnavailableError),
        (Op.PLACE, 429, {"code": -1015, "msg": "Too many new orders"}, RateLimitedError),
        (Op.PLACE, 418, {"code": -1003, "msg": "IP banned"}, BannedError),
    ],
)
def test_error_table(op: Op, status: int, body: dict[str, object], cls: type) -> None:
    with pytest.raises(cls) as info:
        _ad().check(op, _resp(body, status, **{"retry-after": "7"}))
    assert type(info.value) is cls
    assert SECRET not in str(info.value)


def test_client_ids_follow_the_venue_rules() -> None:
    ad = _ad()
    import re

    pat = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
    ids = {ad.new_client_order_id("sess", n) for n in range(1000)}
    assert len(ids) == 1000
    assert all(pat.match(i) for i in ids)
    long = ad.new_client_order_id("x" * 80 + " weird!", 10**12)
    assert pat.match(long)
    assert len(long) <= 36


def test_stream_subscribes_with_a_signature_and_decodes_execution_reports() -> None:
    ad = _ad()
    s = ad.private_stream(["BTCUSDT"])
    (sub,) = s.open_messages()
    msg = json.loads(sub)
    assert msg["method"] == "userDataStream.subscribe.signature"
    assert msg["params"]["apiKey"] == KEY
    assert "signature" in msg["params"]
    assert s.on_message(json.dumps({"id": msg["id"], "status": 200,
                                    "result": {"subscriptionId": 0}})).ready  # fmt: skip
    ev = {"e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW",
          "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410",
          "C": "", "x": "TRADE", "X": "PARTIALLY_FILLED", "r": "NONE", "i": 4293153,
          "l": "0.40000000", "z": "0.40000000", "L": "0.10264410", "n": "0.00004", "N": "BNB",
          "T": 1499405658657, "t": 717, "m": True}  # fmt: skip
    (rep,) = s.on_message(json.dumps({"subscriptionId": 0, "event": ev})).reports
    assert rep.kind is ReportKind.FILL
    assert rep.trade_id == "717"
    assert rep.liquidity == "maker"
    assert rep.last_qty == Decimal("0.4")
    assert rep.last_price == Decimal("0.10264410")
    cancel = ev | {"x": "CANCELED", "X": "CANCELED", "c": "cxl-1", "C": "mUvoqJxFIILMdfAW5iGSOW"}
    (rep,) = s.on_message(json.dumps({"subscriptionId": 0, "event": cancel})).reports
    assert rep.kind is ReportKind.CANCELED
    assert rep.client_order_id == "mUvoqJxFIILMdfAW5iGSOW"
    bad = s.on_message(json.dumps({"id": msg["id"], "status": 400,
                                   "error": {"code": -1021, "msg": "Timestamp"}}))  # fmt: skip
    assert isinstance(bad.error, ClockSkewError)
    assert SECRET not in repr(s)
    assert SECRET not in repr(ad)
