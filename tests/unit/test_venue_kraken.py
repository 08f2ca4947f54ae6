"""The Kraken adapter without I/O: requests built, documented sample answers parsed, errors
classified, client order ids.

Samples are the examples of the Kraken API docs:
AddOrder https://docs.kraken.com/api/docs/rest-api/add-order,
OpenOrders https://docs.kraken.com/api/docs/rest-api/get-open-orders,
TradesHistory https://docs.kraken.com/api/docs/rest-api/get-trade-history,
Time https://docs.kraken.com/api/docs/rest-api/get-server-time,
SystemStatus https://docs.kraken.com/api/docs/rest-api/get-system-status,
AmendOrder https://docs.kraken.com/api/docs/rest-api/amend-order,
GetWebSocketsToken https://docs.kraken.com/api/docs/rest-api/get-websockets-token,
executions https://docs.kraken.com/api/docs/websocket-v2/executions.
"""

from __future__ import annotations

import json
import re
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
    RetryClass,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.oms.types import ReportKind
from venuegate.sim.verify import Credentials, verify_request
from venuegate.venues.base import Amend, HttpResponse, Op, RestCaller
from venuegate.venues.kraken import ENDPOINTS, ERRORS, RATE_MODEL, Adapter, rest_pair, ws_symbol

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
KEY = "vgtestkey" + "0" * 47


def adapter() -> Adapter:
    return Adapter(
        endpoints=ENDPOINTS["production"], signer=signer("kraken", api_key=KEY, secret=SECRET)
    )


def resp(body: object, status: int = 200) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {}, raw)


def order(**kw: object) -> Order:
    base: dict[str, object] = {
        "venue": "kraken",
        "symbol": "BTC/USD",
        "client_order_id": "vg-1",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": Decimal("1.25"),
        "price": Decimal("27500.0"),
    }
    base.update(kw)
    return Order.model_validate(base)


def test_endpoints_are_kraken_hosts() -> None:
    prod = ENDPOINTS["production"]
    assert prod.rest_url == "https://api.kraken.com"
    assert prod.private_ws_url == "wss://ws-auth.kraken.com/v2"
    assert "testnet" not in ENDPOINTS  # Kraken spot has no testnet


def test_symbols() -> None:
    assert rest_pair("BTC/USD") == "XBTUSD"
    assert rest_pair("ETH/USD") == "ETHUSD"
    assert ws_symbol("XXBTZUSD") == "BTC/USD"
    assert ws_symbol("XBTUSD") == "BTC/USD"
    assert ws_symbol("XETHZUSD") == "ETH/USD"
    assert ws_symbol("USDCUSD") == "USDC/USD"


def test_place_limit_builds_add_order_and_signs_verifiably() -> None:
    a = adapter()
    call = a.place(order())
    assert (call.op, call.method, call.path) == (Op.PLACE, "POST", "/0/private/AddOrder")
    assert call.params == (
        ("ordertype", "limit"),
        ("type", "buy"),
        ("volume", "1.25"),
        ("pair", "XBTUSD"),
        ("cl_ord_id", "vg-1"),
        ("price", "27500.0"),
    )
    assert call.cost.costs == {"TRADING": 1}
    assert call.cost.key == "XBTUSD"
    assert a.signer is not None
    signed = a.signer.sign(call.method, call.path, params=call.params, nonce=1616492376594)
    assert signed.body == (
        b"nonce=1616492376594&ordertype=limit&type=buy&volume=1.25&pair=XBTUSD"
        b"&cl_ord_id=vg-1&price=27500.0"
    )
    verify_request("kraken", signed, Credentials(api_key=KEY, secret=SECRET))


def test_place_time_in_force_and_refusals() -> None:
    a = adapter()
    ioc = dict(a.place(order(time_in_force=TimeInForce.IOC)).params)
    assert ioc["timeinforce"] == "IOC"
    post = dict(a.place(order(time_in_force=TimeInForce.POST_ONLY)).params)
    assert post["oflags"] == "post"
    assert "timeinforce" not in post
    exp = datetime(2030, 1, 1, tzinfo=UTC)
    gtd = dict(a.place(order(time_in_force=TimeInForce.GTD, expire_at=exp)).params)
    assert gtd["timeinforce"] == "GTD"
    assert gtd["expiretm"] == int(exp.timestamp())
    mkt = dict(a.place(order(type=OrderType.MARKET, price=None)).params)
    assert mkt["ordertype"] == "market"
    assert "price" not in mkt
    with pytest.raises(ConfigError):
        a.place(order(time_in_force=TimeInForce.FOK))
    with pytest.raises(ConfigError):
        a.place(order(type=OrderType.STOP_LIMIT))
    with pytest.raises(ConfigError):
        a.place(order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.POST_ONLY))


def test_parse_add_order_sample() -> None:
    a = adapter()
    o = order()
    body = {
        "error": [],
        "result": {
            "descr": {"order": "buy 1.25000000 XBTUSD @ limit 27500.0"},
            "txid": ["OU22CG-KLAF2-FWUDD7"],
        },
    }
    (ack,) = a.parse_place(o, resp(body))
    assert ack.kind is ReportKind.ACK
    assert ack.venue_order_id == "OU22CG-KLAF2-FWUDD7"
    assert ack.client_order_id == "vg-1"
    assert ack.price == Decimal("27500.0")


def test_cancel_amend_query_dead_man_requests() -> None:
    a = adapter()
    o = order()
    assert a.cancel(o).params == (("cl_ord_id", "vg-1"),)
    known = o.evolve(venue_order_id="OU22CG-KLAF2-FWUDD7")
    assert a.cancel(known).params == (("txid", "OU22CG-KLAF2-FWUDD7"),)
    assert a.cancel(known).cost.priority == 0
    (cx,) = a.parse_cancel(known, resp({"error": [], "result": {"count": 1}}))
    assert cx.kind is ReportKind.CANCELED
    am = a.amend(known, Amend(quantity=Decimal("2"), price=Decimal("27400.5")))
    assert am.path == "/0/private/AmendOrder"
    assert am.params == (
        ("txid", "OU22CG-KLAF2-FWUDD7"),
        ("order_qty", "2"),
        ("limit_price", "27400.5"),
    )
    (amended,) = a.parse_amend(
        known,
        Amend(price=Decimal("27400.5")),
        resp({"error": [], "result": {"amend_id": "TJSMEH-AA67V-YUSQ6O"}}),
    )
    assert amended.kind is ReportKind.AMENDED
    assert amended.price == Decimal("27400.5")
    assert amended.quantity == Decimal("1.25")
    assert amended.venue_order_id == known.venue_order_id
    assert a.query(known).path == "/0/private/QueryOrders"
    assert a.query(o).path == "/0/private/OpenOrders"
    assert a.query(o).params == (("cl_ord_id", "vg-1"),)
    assert a.query_closed(o).path == "/0/private/ClosedOrders"
    dm = a.dead_man(60, ["BTC/USD"])
    assert dm is not None
    assert dm.path == "/0/private/CancelAllOrdersAfter"
    assert dm.params == (("timeout", 60),)
    assert dm.op.changes_state
    off = a.dead_man(0, [])
    assert off is not None
    assert off.params == (("timeout", 0),)
    assert a.cancel_all(None).path == "/0/private/CancelAll"


OPEN_ORDERS = {
    "error": [],
    "result": {
        "open": {
            "OQCLML-BW3P3-BUCMWZ": {
                "refid": "None",
                "userref": 0,
                "status": "open",
                "opentm": 1688666559.8974,
                "starttm": 0,
                "expiretm": 0,
                "descr": {
                    "pair": "XBTUSD",
                    "type": "buy",
                    "ordertype": "limit",
                    "price": "30010.0",
                    "price2": "0",
                    "leverage": "none",
                    "order": "buy 1.25000000 XBTUSD @ limit 30010.0",
                    "close": "",
                },
                "vol": "1.25000000",
                "vol_exec": "0.37500000",
                "cost": "11253.7",
                "fee": "0.00000",
                "price": "30010.0",
                "stopprice": "0.00000",
                "limitprice": "0.00000",
                "misc": "",
                "oflags": "fciq",
                "trades": ["TCCCTY-WE2O6-P3NB37"],
            }
        }
    },
}


def test_parse_open_orders_and_query_samples() -> None:
    a = adapter()
    (st,) = a.parse_open_orders(resp(OPEN_ORDERS))
    assert st.kind is ReportKind.STATUS
    assert st.venue_order_id == "OQCLML-BW3P3-BUCMWZ"
    assert st.state is OrderState.PARTIALLY_FILLED
    assert st.symbol == "BTC/USD"
    assert st.quantity == Decimal("1.25000000")
    assert st.filled_qty == Decimal("0.37500000")
    assert st.price == Decimal("30010.0")
    assert st.side is Side.BUY
    assert st.ts_ms == 1688666559897
    # QueryOrders answers a txid-keyed map; a miss is NOT_FOUND, not an exception.
    known = order(venue_order_id="OQCLML-BW3P3-BUCMWZ")
    (q,) = a.parse_query(known, resp({"error": [], "result": OPEN_ORDERS["result"]["open"]}))  # type: ignore[index]
    assert q.kind is ReportKind.STATUS
    assert q.client_order_id == "vg-1"
    (nf,) = a.parse_query(known, resp({"error": ["EOrder:Invalid order"]}))
    assert nf.kind is ReportKind.NOT_FOUND
    # OpenOrders by cl_ord_id without a match is inconclusive; ClosedOrders without one is not.
    assert a.parse_query(order(), resp({"error": [], "result": {"open": {}}})) == []
    closed = {"error": [], "result": {"closed": {}, "count": 0}}
    (nf2,) = a.parse_query(order(), resp(closed))
    assert nf2.kind is ReportKind.NOT_FOUND


def test_parse_trades_history_sample() -> None:
    a = adapter()
    a.remember("OQCLML-BW3P3-BUCMWZ", "vg-7")
    body = {
        "error": [],
        "result": {
            "trades": {
                "THVRQM-33VKH-UCI7BS": {
                    "ordertxid": "OQCLML-BW3P3-BUCMWZ",
                    "postxid": "TKH2SE-M7IF5-CFI7LT",
                    "pair": "XXBTZUSD",
                    "time": 1688667796.8802,
                    "type": "buy",
                    "ordertype": "limit",
                    "price": "30010.00000",
                    "cost": "600.20000",
                    "fee": "0.00000",
                    "vol": "0.02000000",
                    "margin": "0.00000",
                    "misc": "",
                    "trade_id": 39482674,
                    "maker": True,
                }
            },
            "count": 1,
        },
    }
    (f,) = a.parse_fills(resp(body))
    assert f.kind is ReportKind.FILL
    assert f.trade_id == "THVRQM-33VKH-UCI7BS"
    assert f.client_order_id == "vg-7"
    assert f.symbol == "BTC/USD"
    assert f.liquidity == "maker"
    assert (f.last_qty, f.last_price, f.fee) == (
        Decimal("0.02000000"),
        Decimal("30010.00000"),
        Decimal("0.00000"),
    )
    call = a.fills("BTC/USD", 1688667796880)
    assert call.path == "/0/private/TradesHistory"
    assert call.params == (("start", 1688667795),)
    assert call.cost.costs == {"API_COUNTER": 2}


def test_time_and_status_samples() -> None:
    a = adapter()
    body = {
        "error": [],
        "result": {"unixtime": 1688669448, "rfc1123": "Thu, 06 Jul 23 18:50:48 +0000"},
    }
    assert a.parse_server_time(resp(body)) == 1688669448000
    st = a.parse_status(
        resp({"error": [], "result": {"status": "online", "timestamp": "2023-07-06T18:52:00Z"}})
    )
    assert st.trading
    mt = a.parse_status(resp({"error": [], "result": {"status": "maintenance", "timestamp": "x"}}))
    assert not mt.trading
    assert mt.reason == "maintenance"
    call = a.server_time()
    assert call is not None
    assert not call.signed
    assert call.path == "/0/public/Time"


@pytest.mark.parametrize(
    ("op", "status", "errors", "cls", "retry"),
    [
        (Op.PLACE, 200, ["EAPI:Invalid nonce"], ClockSkewError, RetryClass.RETRYABLE),
        (Op.PLACE, 200, ["EAPI:Invalid key"], AuthError, RetryClass.AUTH),
        (Op.QUERY, 200, ["EAPI:Invalid signature"], AuthError, RetryClass.AUTH),
        (Op.PLACE, 200, ["EOrder:Duplicate order"], DuplicateOrderError, RetryClass.FATAL),
        (Op.CANCEL, 200, ["EOrder:Unknown order"], OrderNotFoundError, RetryClass.FATAL),
        (Op.PLACE, 200, ["EOrder:Insufficient funds"], FatalError, RetryClass.FATAL),
        (Op.PLACE, 200, ["EGeneral:Invalid arguments:volume"], FatalError, RetryClass.FATAL),
        (Op.PLACE, 200, ["EOrder:Rate limit exceeded"], RateLimitedError, RetryClass.RATE_LIMITED),
        (Op.QUERY, 200, ["EAPI:Rate limit exceeded"], RateLimitedError, RetryClass.RATE_LIMITED),
        (Op.PLACE, 200, ["EService:Unavailable"], VenueUnavailableError, RetryClass.RETRYABLE),
        (Op.PLACE, 503, ["EService:Unavailable"], VenueUnavailableError, RetryClass.RETRYABLE),
        (
            Op.PLACE,
            200,
            ["EService:Market in cancel_only mode"],
            VenueUnavailableError,
            RetryClass.RETRYABLE,
        ),
        (
            Op.PLACE,
            200,
            ["EService:Deadline elapsed"],
            UnknownOutcomeError,
            RetryClass.UNKNOWN_OUTCOME,
        ),
        (Op.QUERY, 200, ["EService:Deadline elapsed"], RetryableError, RetryClass.RETRYABLE),
        (
            Op.AMEND,
            500,
            ["EGeneral:Internal error"],
            UnknownOutcomeError,
            RetryClass.UNKNOWN_OUTCOME,
        ),
        (Op.CANCEL, 502, [], UnknownOutcomeError, RetryClass.UNKNOWN_OUTCOME),
        (Op.QUERY, 500, [], RetryableError, RetryClass.RETRYABLE),
        (Op.QUERY, 429, ["EAPI:Rate limit exceeded"], RateLimitedError, RetryClass.RATE_LIMITED),
        (Op.PLACE, 200, ["EBrandNew:Something"], FatalError, RetryClass.FATAL),
    ],
)
def test_error_classification(
    op: Op, status: int, errors: list[str], cls: type[Exception], retry: RetryClass
) -> None:
    with pytest.raises(cls) as info:
        adapter().check(op, resp({"error": errors}, status))
    assert type(info.value) is cls
    assert info.value.retry_class is retry  # type: ignore[attr-defined]


def test_check_passes_answers_and_warnings() -> None:
    a = adapter()
    a.check(Op.PLACE, resp({"error": [], "result": {}}))
    a.check(Op.QUERY, resp({"error": ["WGeneral:Deprecated"], "result": {}}))
    with pytest.raises(UnknownOutcomeError):
        a.check(Op.PLACE, resp(b"<html>bad gateway</html>"))


def test_error_table_is_documented() -> None:
    for code, (cls, words) in ERRORS.items():
        assert re.fullmatch(r"E[A-Za-z]+:[^:]+", code), code
        assert words
        assert issubclass(cls, Exception)


def test_costs_name_windows_of_the_model() -> None:
    a = adapter()
    names = {w.name for w in RATE_MODEL.windows}
    o = order(venue_order_id="OU22CG-KLAF2-FWUDD7")
    calls = [
        a.place(o),
        a.cancel(o),
        a.cancel_all(None),
        a.amend(o, Amend(price=Decimal(1))),
        a.query(o),
        a.query_closed(o),
        a.open_orders(None),
        a.fills("BTC/USD", 0),
        a.ws_token_call(),
    ]
    for call in calls:
        assert call.cost.costs, call.path
        assert set(call.cost.costs) <= names, call.path


def test_client_order_ids() -> None:
    a = adapter()
    ids = {a.new_client_order_id("s", n) for n in range(1000)}
    assert len(ids) == 1000
    uuid_re = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    for cid in ids:
        assert uuid_re.match(cid)
        assert len(cid) <= a.client_id_max_len
    assert a.new_client_order_id("s", 1) == a.new_client_order_id("s", 1)
    assert a.new_client_order_id("s", 1) != a.new_client_order_id("t", 1)
    assert not a.duplicate_client_ids_rejected  # unique among open orders only


EXEC_NEW = (
    '{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5",'
    '"order_userref":3,"symbol":"BTC/USD","order_qty":0.005,"cum_cost":0.0,'
    '"time_in_force":"GTC","exec_type":"new","side":"sell","order_type":"limit",'
    '"limit_price_type":"static","limit_price":26500.0,"stop_price":0.0,"order_status":"new",'
    '"fee_usd_equiv":0.0,"fee_ccy_pref":"fciq","timestamp":"2023-09-22T10:33:05.709993Z"}],'
    '"sequence":9}'
)
EXEC_TRADE = (
    '{"channel":"executions","type":"update","data":[{"order_id":"O6NTZC-K6FRH-ATWBCK",'
    '"exec_id":"T5DIUI-5N4KO-Z5BPXK","exec_type":"trade","trade_id":8253473,'
    '"symbol":"USDC/USD","side":"sell","last_qty":15.44,"last_price":1.0002,'
    '"liquidity_ind":"t","cost":15.443088,"order_userref":0,"order_status":"filled",'
    '"order_type":"market","fee_usd_equiv":0.03088618,"fees":[{"asset":"USD","qty":0.3458}],'
    '"timestamp":"2023-09-22T10:33:05.709993Z"}],"sequence":10}'
)


class _Rest(RestCaller):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, call: object) -> HttpResponse:
        self.calls.append(getattr(call, "path", ""))
        return resp(
            {
                "error": [],
                "result": {"token": "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw", "expires": 900},
            }
        )


def test_private_stream_protocol() -> None:
    import asyncio

    a = adapter()
    a.remember("O6NTZC-K6FRH-ATWBCK", "vg-9")
    stream = a.private_stream(["BTC/USD"])
    rest = _Rest()
    asyncio.run(stream.prepare(rest))
    assert rest.calls == ["/0/private/GetWebSocketsToken"]
    assert stream.url() == "wss://ws-auth.kraken.com/v2"
    (sub,) = stream.open_messages()
    params = json.loads(sub)["params"]
    assert params["channel"] == "executions"
    assert params["token"].startswith("1Dwc4")
    assert params["snap_orders"] is True
    assert json.loads(stream.keepalive() or "{}")["method"] == "ping"
    ack = stream.on_message(
        '{"method":"subscribe","result":{"channel":"executions","maxratecount":180,'
        '"snapshot":true},"success":true,"time_in":"2023-09-22T10:33:05.709993Z",'
        '"time_out":"2023-09-22T10:33:05.709993Z"}'
    )
    assert ack.ready
    assert ack.error is None
    (new,) = stream.on_message(EXEC_NEW).reports
    assert new.kind is ReportKind.ACK
    assert new.venue_order_id == "OK4GJX-KSTLS-7DZZO5"
    assert new.quantity == Decimal("0.005")
    assert new.price == Decimal("26500.0")
    assert new.side is Side.SELL
    assert new.ts_ms == 1695378785709
    (fill,) = stream.on_message(EXEC_TRADE).reports
    assert fill.kind is ReportKind.FILL
    assert fill.trade_id == "T5DIUI-5N4KO-Z5BPXK"
    assert fill.client_order_id == "vg-9"
    assert fill.liquidity == "taker"
    assert (fill.last_qty, fill.last_price, fill.fee) == (
        Decimal("15.44"),
        Decimal("1.0002"),
        Decimal("0.3458"),
    )
    assert fill.state is OrderState.FILLED
    assert fill.fee_asset == "USD"
    assert stream.on_message('{"channel":"heartbeat"}').reports == []
    bad = stream.on_message(
        '{"method":"subscribe","error":"EAccount:Invalid token","success":false}'
    )
    assert bad.error is not None
    assert bad.error.retry_class is RetryClass.AUTH


def test_repr_hides_the_secret() -> None:
    a = adapter()
    assert SECRET not in repr(a.signer)
    assert SECRET not in repr(a.place(order()))


def test_ws_order_entry_messages() -> None:
    import asyncio

    from venuegate.venues.kraken import KrakenPrivateStream

    stream = adapter().private_stream(["BTC/USD"])
    assert isinstance(stream, KrakenPrivateStream)
    asyncio.run(stream.prepare(_Rest()))
    text = stream.add_order_message(order(time_in_force=TimeInForce.POST_ONLY))
    assert '"order_qty":1.25' in text
    assert '"limit_price":27500.0' in text
    msg = json.loads(text)
    assert msg["method"] == "add_order"
    assert msg["params"]["symbol"] == "BTC/USD"
    assert msg["params"]["post_only"] is True
    assert msg["params"]["cl_ord_id"] == "vg-1"
    refused = stream.on_message(
        json.dumps(
            {
                "error": "EOrder:Insufficient funds",
                "method": "add_order",
                "req_id": msg["req_id"],
                "success": False,
            }
        )
    )
    (rej,) = refused.reports
    assert rej.kind is ReportKind.REJECTED
    assert rej.client_order_id == "vg-1"
    known = order(venue_order_id="OU22CG-KLAF2-FWUDD7")
    amend = json.loads(stream.amend_order_message(known, Amend(quantity=Decimal("2"))))
    assert amend["params"]["order_id"] == "OU22CG-KLAF2-FWUDD7"
    assert amend["params"]["order_qty"] == 2
    cancel = json.loads(stream.cancel_order_message(order()))
    assert cancel["params"]["cl_ord_id"] == ["vg-1"]
