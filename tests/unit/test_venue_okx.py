"""OKX adapter: request building, parsing of the docs' sample answers, error classes, client ids.

Sample bodies are the response examples of https://www.okx.com/docs-v5/en/ (place order, get
order details, transaction details, system time, status, cancel-all-after, WebSocket login and
order channel), trimmed of fields the adapter does not read.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

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
from venuegate.net.priority import Priority
from venuegate.oms.types import ReportKind
from venuegate.venues.base import Amend, HttpResponse, Op
from venuegate.venues.okx import ENDPOINTS, ERRORS, Adapter

SECRET = "0123456789abcdef0123456789abcdef"


def adapter() -> Adapter:
    s = signer("okx", api_key="key-1234567890abcdef", secret=SECRET, passphrase="pass-phrase")
    return Adapter(endpoints=ENDPOINTS["production"], signer=s)


def order(tif: TimeInForce = TimeInForce.GTC, **kw: object) -> Order:
    base: dict[str, object] = {
        "venue": "okx",
        "symbol": "BTC-USDT",
        "client_order_id": "vgabc1",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": Decimal("0.0100"),
        "price": Decimal("43000.10"),
        "time_in_force": tif,
    }
    base.update(kw)
    return Order.model_validate(base)


def resp(body: object, status: int = 200, **headers: str) -> HttpResponse:
    return HttpResponse(status, headers, json.dumps(body).encode())


def test_endpoints_are_the_documented_hosts() -> None:
    assert ENDPOINTS["production"].rest_url == "https://www.okx.com"
    assert ENDPOINTS["production"].private_ws_url == "wss://ws.okx.com:8443/ws/v5/private"
    assert ENDPOINTS["demo"].private_ws_url == "wss://wspap.okx.com:8443/ws/v5/private"


@pytest.mark.parametrize(
    ("tif", "ord_type"),
    [
        (TimeInForce.GTC, "limit"),
        (TimeInForce.POST_ONLY, "post_only"),
        (TimeInForce.IOC, "ioc"),
        (TimeInForce.FOK, "fok"),
    ],
)
def test_place_limit_body(tif: TimeInForce, ord_type: str) -> None:
    call = adapter().place(order(tif))
    assert (call.op, call.method, call.path) == (Op.PLACE, "POST", "/api/v5/trade/order")
    assert call.body is not None
    assert json.loads(call.body) == {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "clOrdId": "vgabc1",
        "side": "buy",
        "ordType": ord_type,
        "px": "43000.1",
        "sz": "0.01",
    }
    assert call.cost.priority is Priority.NEW
    assert call.cost.key == "BTC-USDT"
    windows = {w.name for w in Adapter.rate_model.windows}
    assert set(call.cost.costs) <= windows


def test_place_market_in_base_currency() -> None:
    call = adapter().place(order(type=OrderType.MARKET, price=None))
    assert call.body is not None
    body = json.loads(call.body)
    assert body["ordType"] == "market"
    assert body["tgtCcy"] == "base_ccy"
    assert "px" not in body


def test_unsupported_orders_are_refused() -> None:
    from datetime import UTC, datetime

    with pytest.raises(ConfigError):
        adapter().place(order(TimeInForce.GTD, expire_at=datetime(2030, 1, 1, tzinfo=UTC)))
    with pytest.raises(ConfigError):
        adapter().place(order(type=OrderType.STOP_LIMIT))
    with pytest.raises(ConfigError):
        adapter().place(order(reduce_only=True))


def test_signed_call_is_verified_by_the_venue_side_verifier() -> None:
    from venuegate.sim.verify import Credentials, verify_request

    a = adapter()
    call = a.query(order())
    assert a.signer is not None
    signed = a.signer.sign(
        call.method, call.path, params=call.params, timestamp_ms=1_700_000_000_000
    )
    assert signed.path == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=vgabc1"
    cred = Credentials("key-1234567890abcdef", SECRET, passphrase="pass-phrase")
    verify_request("okx", signed, cred, now_ms=1_700_000_000_000)
    post = a.amend(order(), Amend(quantity=Decimal("0.02"), price=Decimal("42999.9")))
    assert post.body is not None
    assert json.loads(post.body) == {
        "instId": "BTC-USDT",
        "clOrdId": "vgabc1",
        "newSz": "0.02",
        "newPx": "42999.9",
    }
    s2 = a.signer.sign(post.method, post.path, body=post.body, timestamp_ms=1_700_000_000_000)
    verify_request("okx", s2, cred, now_ms=1_700_000_000_000)


def test_parse_place_ack() -> None:
    body = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "clOrdId": "vgabc1",
                "ordId": "312269865356374016",
                "tag": "",
                "ts": "1695190491421",
                "sCode": "0",
                "sMsg": "",
            }
        ],
        "inTime": "1695190491421339",
        "outTime": "1695190491423240",
    }
    (r,) = adapter().parse_place(order(), resp(body))
    assert r.kind is ReportKind.ACK
    assert r.venue_order_id == "312269865356374016"
    assert r.ts_ms == 1695190491421


ORDER_DETAILS = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "accFillSz": "0.00192834",
            "avgPx": "51858",
            "cTime": "1708587373361",
            "cancelSource": "",
            "clOrdId": "vgabc1",
            "fee": "-0.00000192834",
            "feeCcy": "BTC",
            "fillPx": "51858",
            "fillSz": "0.00192834",
            "instId": "BTC-USDT",
            "instType": "SPOT",
            "ordId": "680800019749904384",
            "ordType": "limit",
            "px": "51858",
            "side": "buy",
            "state": "partially_filled",
            "sz": "0.01",
            "tdMode": "cash",
            "tradeId": "744876980",
            "uTime": "1708587373362",
        }
    ],
}


def test_parse_query_status_and_not_found() -> None:
    a = adapter()
    (r,) = a.parse_query(order(), resp(ORDER_DETAILS))
    assert r.kind is ReportKind.STATUS
    assert r.state is OrderState.PARTIALLY_FILLED
    assert r.filled_qty == Decimal("0.00192834")
    assert r.quantity == Decimal("0.01")
    (nf,) = a.parse_query(
        order(), resp({"code": "51603", "msg": "Order does not exist", "data": []})
    )
    assert nf.kind is ReportKind.NOT_FOUND


def test_query_of_a_post_only_order_cancelled_for_crossing_says_expired() -> None:
    # As the stream's push does (cancelSource 31): a later query must not contradict it.
    detail = ORDER_DETAILS["data"][0] | {"state": "canceled", "cancelSource": "31"}  # type: ignore[index]
    (r,) = adapter().parse_query(order(), resp(ORDER_DETAILS | {"data": [detail]}))
    assert (r.kind, r.state) == (ReportKind.STATUS, OrderState.EXPIRED)
    plain = detail | {"cancelSource": "1"}
    (c,) = adapter().parse_query(order(), resp(ORDER_DETAILS | {"data": [plain]}))
    assert c.state is OrderState.CANCELED


def test_parse_fills_exact_decimals_and_fee_sign() -> None:
    body = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "side": "buy",
                "fillSz": "0.00192834",
                "fillPx": "51858",
                "fee": "-0.00000192834",
                "ordId": "680800019749904384",
                "instType": "SPOT",
                "instId": "BTC-USDT",
                "clOrdId": "vgabc1",
                "billId": "680800019754098688",
                "execType": "T",
                "tradeId": "744876980",
                "feeCcy": "BTC",
                "ts": "1708587373362",
            }
        ],
    }
    (f,) = adapter().parse_fills(resp(body))
    assert (f.trade_id, f.last_qty, f.last_price) == (
        "744876980",
        Decimal("0.00192834"),
        Decimal(51858),
    )
    assert f.fee == Decimal("0.00000192834")
    assert f.fee_asset == "BTC"
    assert f.liquidity == "taker"


def test_time_status_dead_man() -> None:
    a = adapter()
    assert a.parse_server_time(
        resp({"code": "0", "msg": "", "data": [{"ts": "1597026383085"}]})
    ) == (1597026383085)
    event = {
        "begin": "1672823400000",
        "end": "1672823520000",
        "state": "ongoing",
        "serviceType": "8",
        "system": "unified",
        "title": "Trading account system upgrade",
    }
    st = a.parse_status(resp({"code": "0", "msg": "", "data": [event]}))
    assert not st.trading
    assert st.until_ms == 1672823520000
    assert a.parse_status(
        resp({"code": "0", "msg": "", "data": [event | {"state": "completed"}]})
    ).trading
    call = a.dead_man(60, ["BTC-USDT"])
    assert call.path == "/api/v5/trade/cancel-all-after"
    assert call.body == b'{"timeOut":"60"}'
    assert a.dead_man(0, []).body == b'{"timeOut":"0"}'
    with pytest.raises(ConfigError):
        a.dead_man(5, [])


def _failed(code: str, msg: str = "") -> dict[str, object]:
    return {
        "code": "1",
        "msg": "All operations failed",
        "data": [{"clOrdId": "vgabc1", "ordId": "", "sCode": code, "sMsg": msg, "ts": "1"}],
    }


@pytest.mark.parametrize(
    ("op", "status", "body", "cls"),
    [
        (Op.PLACE, 200, _failed("51016", "Duplicated clOrdId"), DuplicateOrderError),
        (Op.PLACE, 200, _failed("51008"), FatalError),
        (Op.CANCEL, 200, _failed("51400"), OrderNotFoundError),
        (Op.AMEND, 200, _failed("51503"), OrderNotFoundError),
        (Op.PLACE, 400, {"code": "50004", "msg": "timeout", "data": []}, UnknownOutcomeError),
        (Op.QUERY, 400, {"code": "50004", "msg": "timeout", "data": []}, RetryableError),
        (Op.PLACE, 500, {"code": "50026", "msg": "System error", "data": []}, UnknownOutcomeError),
        (Op.PLACE, 503, {"code": "50001", "msg": "unavailable", "data": []}, VenueUnavailableError),
        (Op.PLACE, 429, {"code": "50011", "msg": "Too Many Requests"}, RateLimitedError),
        (Op.PLACE, 401, {"code": "50102", "msg": "Timestamp request expired"}, ClockSkewError),
        (Op.PLACE, 401, {"code": "50113", "msg": "Invalid Sign"}, AuthError),
        (Op.PLACE, 502, {}, VenueUnavailableError),
        (Op.CANCEL, 504, {}, UnknownOutcomeError),
        (Op.OPEN_ORDERS, 504, {}, RetryableError),
    ],
)
def test_error_classes(op: Op, status: int, body: object, cls: type[Exception]) -> None:
    with pytest.raises(cls) as err:
        adapter().check(op, resp(body, status))
    assert type(err.value) is cls or cls is RetryableError


def test_html_5xx_after_place_is_unknown_outcome() -> None:
    with pytest.raises(UnknownOutcomeError):
        adapter().check(Op.PLACE, HttpResponse(500, {}, b"<html>oops</html>"))


def test_error_table_is_documented() -> None:
    for code, (kind, words) in ERRORS.items():
        assert code.isdigit()
        assert kind
        assert words


def test_client_ids_follow_okx_rules() -> None:
    a = adapter()
    ids = {
        a.new_client_order_id(s, n)
        for s in ("sess1", "a-b", "ab", "x" * 40)
        for n in (0, 1, 10**12)
    }
    assert len(ids) == 12
    for cid in ids:
        assert 1 <= len(cid) <= Adapter.client_id_max_len
        assert cid.isalnum()
        assert cid.isascii()
    assert a.new_client_order_id("s", 36**14 - 1)
    with pytest.raises(ConfigError):
        a.new_client_order_id("s", 36**14)


def test_cancel_all_uses_batch_of_known_open_orders() -> None:
    a = adapter()
    with pytest.raises(ConfigError):
        a.cancel_all(None)
    a.parse_place(order(), resp({"code": "0", "msg": "", "data": [{"ordId": "1", "sCode": "0"}]}))
    call = a.cancel_all("BTC-USDT")
    assert call.path == "/api/v5/trade/cancel-batch-orders"
    assert call.body is not None
    assert json.loads(call.body) == [{"instId": "BTC-USDT", "clOrdId": "vgabc1"}]
    assert call.cost.priority is Priority.CANCEL
    (r,) = a.parse_cancel_all(
        resp({"code": "0", "msg": "", "data": [{"clOrdId": "vgabc1", "ordId": "1", "sCode": "0"}]})
    )
    assert r.kind is ReportKind.CANCELED


def test_stream_login_subscribe_and_pushes() -> None:
    a = adapter()
    st = a.private_stream(["BTC-USDT"])
    (login,) = st.open_messages()
    msg = json.loads(login)
    assert msg["op"] == "login"
    assert set(msg["args"][0]) == {"apiKey", "passphrase", "timestamp", "sign"}
    ev = st.on_message('{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}')
    sub = json.loads(ev.replies[0])
    assert sub == {
        "op": "subscribe",
        "args": [{"channel": "orders", "instType": "SPOT", "instId": "BTC-USDT"}],
    }
    assert st.on_message(
        '{"event":"subscribe","arg":{"channel":"orders","instType":"SPOT"},"connId":"a"}'
    ).ready
    assert st.keepalive() == "ping"
    assert st.on_message("pong").reports == []
    push: dict[str, Any] = {
        "arg": {"channel": "orders", "instType": "SPOT", "uid": "614488474791936"},
        "data": [
            {
                "accFillSz": "0.001",
                "avgPx": "31527.1",
                "cancelSource": "",
                "clOrdId": "vgabc1",
                "execType": "M",
                "fee": "-0.0000001",
                "feeCcy": "BTC",
                "fillFee": "-0.0000001",
                "fillFeeCcy": "BTC",
                "fillPx": "31527.1",
                "fillSz": "0.001",
                "fillTime": "1654084334977",
                "instId": "BTC-USDT",
                "instType": "SPOT",
                "ordId": "452197707845865472",
                "ordType": "limit",
                "px": "31527.1",
                "side": "buy",
                "state": "partially_filled",
                "sz": "0.01",
                "tradeId": "242589207",
                "uTime": "1654084334977",
                "amendResult": "",
            }
        ],
    }
    (fill,) = st.on_message(json.dumps(push)).reports
    assert fill.kind is ReportKind.FILL
    assert fill.trade_id == "242589207"
    assert (fill.last_qty, fill.last_price, fill.fee) == (
        Decimal("0.001"),
        Decimal("31527.1"),
        Decimal("0.0000001"),
    )
    assert fill.liquidity == "maker"
    assert fill.filled_qty == Decimal("0.001")
    live = push["data"][0] | {"state": "live", "tradeId": "", "fillSz": "0", "accFillSz": "0"}
    assert [r.kind for r in st.on_message(json.dumps(push | {"data": [live]})).reports] == [
        ReportKind.ACK
    ]
    amended = live | {"amendResult": "0", "sz": "0.02"}
    (am,) = st.on_message(json.dumps(push | {"data": [amended]})).reports
    assert am.kind is ReportKind.AMENDED
    assert am.quantity == Decimal("0.02")
    canceled = live | {"state": "canceled", "cancelSource": "1"}
    assert [r.kind for r in st.on_message(json.dumps(push | {"data": [canceled]})).reports] == [
        ReportKind.CANCELED
    ]
    po = live | {"state": "canceled", "cancelSource": "31"}
    assert [r.kind for r in st.on_message(json.dumps(push | {"data": [po]})).reports] == [
        ReportKind.EXPIRED
    ]


def test_stream_login_errors() -> None:
    st = adapter().private_stream([])
    e1 = st.on_message('{"event":"error","code":"60009","msg":"Login failed.","connId":"a"}').error
    assert isinstance(e1, AuthError)
    assert not isinstance(e1, ClockSkewError)
    e2 = st.on_message(
        '{"event":"error","code":"60006","msg":"Timestamp request expired","connId":"a"}'
    ).error
    assert isinstance(e2, ClockSkewError)


def test_secrets_not_in_calls_or_reprs() -> None:
    a = adapter()
    call = a.place(order())
    assert SECRET not in repr(call)
    assert "pass-phrase" not in repr(call)
    assert SECRET not in repr(a.signer)
