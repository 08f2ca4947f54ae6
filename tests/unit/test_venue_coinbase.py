"""The Coinbase Advanced Trade adapter without I/O: request building, parsing of the venue's
documented sample answers, the error table, client ids and the `user` channel decoder.

Samples are the response examples of the Advanced Trade API reference
(https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/create-order,
.../orders/get-order, .../orders/list-fills, .../orders/cancel-orders, .../orders/edit-order,
.../public/get-server-time) and of the `user` channel page
(https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels),
with their placeholder values replaced by realistic ones where the docs give `"<string>"`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    ConfigError,
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
from venuegate.venues.base import Amend, HttpResponse, Op
from venuegate.venues.coinbase import ENDPOINTS, ERRORS, RATE_MODEL, Adapter

PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)
KEY = "organizations/11111111-2222/apiKeys/33333333-4444"


@pytest.fixture
def adapter() -> Adapter:
    return Adapter(
        endpoints=ENDPOINTS["production"],
        signer=signer("coinbase", api_key=KEY, secret=PEM),
    )


def order(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "venue": "coinbase",
        "symbol": "BTC-USD",
        "client_order_id": "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": Decimal("0.001"),
        "price": Decimal("10000.00"),
    }
    base.update(kw)
    return Order(**base)


def ok(body: object, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers or {}, raw)


# --- requests ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "config"),
    [
        (
            {},
            {
                "limit_limit_gtc": {
                    "base_size": "0.001",
                    "limit_price": "10000.00",
                    "post_only": False,
                }
            },
        ),
        (
            {"time_in_force": TimeInForce.POST_ONLY},
            {
                "limit_limit_gtc": {
                    "base_size": "0.001",
                    "limit_price": "10000.00",
                    "post_only": True,
                }
            },
        ),
        (
            {"time_in_force": TimeInForce.IOC},
            {"sor_limit_ioc": {"base_size": "0.001", "limit_price": "10000.00"}},
        ),
        (
            {"time_in_force": TimeInForce.FOK},
            {"limit_limit_fok": {"base_size": "0.001", "limit_price": "10000.00"}},
        ),
        (
            {
                "time_in_force": TimeInForce.GTD,
                "expire_at": datetime(2021, 5, 31, 9, 59, 59, tzinfo=UTC),
            },
            {
                "limit_limit_gtd": {
                    "base_size": "0.001",
                    "limit_price": "10000.00",
                    "end_time": "2021-05-31T09:59:59.000000Z",
                    "post_only": False,
                }
            },
        ),
        (
            {"type": OrderType.MARKET, "price": None, "time_in_force": TimeInForce.IOC},
            {"market_market_ioc": {"base_size": "0.001"}},
        ),
        (
            {"type": OrderType.MARKET, "price": None, "time_in_force": TimeInForce.FOK},
            {"market_market_fok": {"base_size": "0.001"}},
        ),
    ],
)
def test_place_builds_the_documented_order_configuration(
    adapter: Adapter, kw: dict[str, Any], config: dict[str, Any]
) -> None:
    call = adapter.place(order(**kw))
    assert (call.op, call.method, call.path) == (Op.PLACE, "POST", "/api/v3/brokerage/orders")
    assert call.body is not None
    assert json.loads(call.body) == {
        "client_order_id": "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": config,
    }
    assert call.cost.costs == {"PRIVATE": 1}


def test_place_writes_decimals_plainly_and_signs_a_jwt(adapter: Adapter) -> None:
    call = adapter.place(order(quantity=Decimal("1E-8"), price=Decimal("4.3E+4")))
    cfg = json.loads(call.body or b"")["order_configuration"]["limit_limit_gtc"]
    assert (cfg["base_size"], cfg["limit_price"]) == ("0.00000001", "43000")
    assert adapter.signer is not None
    signed = adapter.signer.sign(call.method, call.path, body=call.body)
    assert re.fullmatch(r"Bearer [\w-]+\.[\w-]+\.[\w-]+", signed.headers["Authorization"])


@pytest.mark.parametrize(
    "kw",
    [
        {"type": OrderType.MARKET, "price": None, "time_in_force": TimeInForce.POST_ONLY},
        {"type": OrderType.STOP_LIMIT},
        {"reduce_only": True},
    ],
)
def test_what_the_venue_lacks_is_refused(adapter: Adapter, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        adapter.place(order(**kw))


def test_cancel_amend_query_calls(adapter: Adapter) -> None:
    o = order(venue_order_id="0000-000000-000000")
    cancel = adapter.cancel(o)
    assert (cancel.path, json.loads(cancel.body or b"")) == (
        "/api/v3/brokerage/orders/batch_cancel",
        {"order_ids": ["0000-000000-000000"]},
    )
    amend = adapter.amend(o, Amend(price=Decimal("19000.00")))
    assert amend.path == "/api/v3/brokerage/orders/edit"
    assert json.loads(amend.body or b"") == {
        "order_id": "0000-000000-000000",
        "price": "19000.00",
        "size": "0.001",
    }
    assert adapter.query(o).path == "/api/v3/brokerage/orders/historical/0000-000000-000000"
    by_client = adapter.query(order())
    assert by_client.path == "/api/v3/brokerage/orders/historical/batch"
    assert ("product_ids", "BTC-USD") in by_client.params
    with pytest.raises(OrderNotFoundError):
        adapter.cancel(order())  # no venue id yet: cancel works by order id only
    with pytest.raises(ConfigError):
        adapter.amend(o.evolve(time_in_force=TimeInForce.IOC), Amend(price=Decimal(1)))
    opened = adapter.open_orders("BTC-USD")
    assert ("order_status", "OPEN") in opened.params
    fills = adapter.fills("BTC-USD", 1_622_455_199_000)
    assert ("start_sequence_timestamp", "2021-05-31T09:59:59.000000Z") in fills.params
    assert adapter.dead_man(60, ["BTC-USD"]) is None
    time_call = adapter.server_time()
    assert (time_call.signed, time_call.path) == (False, "/api/v3/brokerage/time")


# --- parsing documented answers ------------------------------------------------------------
CREATE_OK = {
    "success": True,
    "success_response": {
        "order_id": "11111-00000-000000",
        "product_id": "BTC-USD",
        "side": "BUY",
        "client_order_id": "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60",
    },
    "order_configuration": {
        "limit_limit_gtc": {"base_size": "0.001", "limit_price": "10000.00", "post_only": False}
    },
}

GET_ORDER = {
    "order": {
        "order_id": "0000-000000-000000",
        "product_id": "BTC-USD",
        "user_id": "2222-000000-000000",
        "order_configuration": {
            "limit_limit_gtc": {
                "base_size": "0.001",
                "limit_price": "10000.00",
                "post_only": False,
            }
        },
        "side": "BUY",
        "client_order_id": "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60",
        "status": "OPEN",
        "time_in_force": "GOOD_UNTIL_CANCELLED",
        "created_time": "2021-05-31T09:59:59.000Z",
        "completion_percentage": "50",
        "filled_size": "0.0005",
        "average_filled_price": "10000.00",
        "number_of_fills": "2",
        "filled_value": "5",
        "pending_cancel": False,
        "size_in_quote": False,
        "total_fees": "0.03",
        "order_type": "LIMIT",
        "product_type": "SPOT",
    }
}

FILLS = {
    "fills": [
        {
            "entry_id": "22222-2222222-22222222",
            "trade_id": "1111-11111-111111",
            "order_id": "0000-000000-000000",
            "trade_time": "2021-05-31T09:59:59.000Z",
            "trade_type": "FILL",
            "price": "10000.00",
            "size": "0.001",
            "commission": "1.25",
            "product_id": "BTC-USD",
            "sequence_timestamp": "2021-05-31T09:58:59.000Z",
            "liquidity_indicator": "MAKER",
            "size_in_quote": False,
            "user_id": "3333-333333-3333333",
            "side": "BUY",
        }
    ],
    "cursor": "789100",
}


def test_parse_place_gives_an_ack_with_the_venue_id(adapter: Adapter) -> None:
    (ack,) = adapter.parse_place(order(), ok(CREATE_OK))
    assert (ack.kind, ack.venue_order_id, ack.state) == (
        ReportKind.ACK,
        "11111-00000-000000",
        OrderState.NEW,
    )


def test_parse_get_order_and_fills(adapter: Adapter) -> None:
    (st,) = adapter.parse_query(order(), ok(GET_ORDER))
    assert st.kind is ReportKind.STATUS
    assert st.state is OrderState.PARTIALLY_FILLED
    assert (st.quantity, st.price, st.filled_qty, st.fee) == (
        Decimal("0.001"),
        Decimal("10000.00"),
        Decimal("0.0005"),
        Decimal("0.03"),
    )
    assert st.ts_ms == 1_622_455_199_000
    (fill,) = adapter.parse_fills(ok(FILLS))
    assert fill.kind is ReportKind.FILL
    assert fill.client_order_id == "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60"  # learned above
    assert (fill.trade_id, fill.last_qty, fill.last_price, fill.fee) == (
        "1111-11111-111111",
        Decimal("0.001"),
        Decimal("10000.00"),
        Decimal("1.25"),
    )
    assert (fill.liquidity, fill.fee_asset, fill.side) == ("maker", "USD", Side.BUY)


def test_not_found_query_becomes_a_not_found_report(adapter: Adapter) -> None:
    body = {
        "error": "NOT_FOUND",
        "error_details": "order with this orderID was not found",
        "message": "order with this orderID was not found",
    }
    (nf,) = adapter.parse_query(order(venue_order_id="x"), ok(body, 404))
    assert nf.kind is ReportKind.NOT_FOUND
    (nf2,) = adapter.parse_query(order(), ok({"orders": [], "has_next": False, "cursor": ""}))
    assert nf2.kind is ReportKind.NOT_FOUND


def test_cancel_all_uses_the_orders_it_knows(adapter: Adapter) -> None:
    adapter.parse_place(order(), ok(CREATE_OK))
    call = adapter.cancel_all("BTC-USD")
    assert json.loads(call.body or b"") == {"order_ids": ["11111-00000-000000"]}
    results = {
        "results": [
            {
                "success": True,
                "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                "order_id": "11111-00000-000000",
            }
        ]
    }
    (cx,) = adapter.parse_cancel_all(ok(results))
    assert (cx.kind, cx.client_order_id) == (
        ReportKind.CANCELED,
        "0c4e3b6a-8f4e-4f3e-9a51-1f2d3c4b5a60",
    )
    with pytest.raises(ConfigError):
        adapter.cancel_all(None)  # nothing known open: no cancel-all endpoint to fall back on


def test_server_time_and_status(adapter: Adapter) -> None:
    body = {
        "iso": "2022-01-01T00:00:00Z",
        "epochSeconds": "1640995200",
        "epochMillis": "1640995200123",
    }
    assert adapter.parse_server_time(ok(body)) == 1_640_995_200_123
    product = {
        "product_id": "BTC-USD",
        "status": "online",
        "cancel_only": False,
        "trading_disabled": False,
    }
    assert adapter.parse_status(ok(product)).trading
    assert not adapter.parse_status(ok({**product, "cancel_only": True})).trading


# --- errors --------------------------------------------------------------------------------
def failed_create(error: str, preview: str = "UNKNOWN_PREVIEW_FAILURE_REASON") -> HttpResponse:
    return ok(
        {
            "success": False,
            "failure_reason": "UNKNOWN_FAILURE_REASON",
            "order_id": "",
            "error_response": {
                "error": error,
                "message": "The order configuration was invalid",
                "error_details": "Market orders cannot be placed on empty books",
                "preview_failure_reason": preview,
                "new_order_failure_reason": error,
            },
        }
    )


@pytest.mark.parametrize(
    ("op", "resp", "cls", "code"),
    [
        (Op.PLACE, failed_create("INSUFFICIENT_FUND"), FatalError, "INSUFFICIENT_FUND"),
        (
            Op.PLACE,
            failed_create("INVALID_LIMIT_PRICE_POST_ONLY"),
            FatalError,
            "INVALID_LIMIT_PRICE_POST_ONLY",
        ),
        (
            Op.PLACE,
            failed_create("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"),
            FatalError,
            "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
        ),
        (
            Op.PLACE,
            failed_create("ORDER_ENTRY_DISABLED"),
            VenueUnavailableError,
            "ORDER_ENTRY_DISABLED",
        ),
        (
            Op.AMEND,
            ok({"success": False, "errors": [{"edit_failure_reason": "ORDER_NOT_FOUND"}]}),
            OrderNotFoundError,
            "ORDER_NOT_FOUND",
        ),
        (
            Op.AMEND,
            ok(
                {
                    "success": False,
                    "errors": [
                        {
                            "edit_failure_reason": "UNKNOWN_EDIT_ORDER_FAILURE_REASON",
                            "preview_failure_reason": "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
                        }
                    ],
                }
            ),
            FatalError,
            "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
        ),
        (
            Op.CANCEL,
            ok(
                {
                    "results": [
                        {
                            "success": False,
                            "failure_reason": "UNKNOWN_CANCEL_ORDER",
                            "order_id": "1",
                        }
                    ]
                }
            ),
            OrderNotFoundError,
            "UNKNOWN_CANCEL_ORDER",
        ),
        (Op.PLACE, ok(b"Unauthorized", 401), AuthError, "UNAUTHENTICATED"),
        (
            Op.PLACE,
            ok(
                {
                    "errors": [
                        {"id": "authentication_error", "message": "request timestamp expired"}
                    ]
                },
                401,
            ),
            ClockSkewError,
            "request timestamp expired",
        ),
        (
            Op.QUERY,
            ok({"error": "PERMISSION_DENIED", "message": "Missing required scopes"}, 403),
            AuthError,
            "PERMISSION_DENIED",
        ),
        (
            Op.PLACE,
            ok({"error": "INVALID_ARGUMENT", "message": "bad"}, 400),
            FatalError,
            "INVALID_ARGUMENT",
        ),
        (
            Op.PLACE,
            ok({"error": "UNAVAILABLE", "message": "x"}, 503),
            VenueUnavailableError,
            "UNAVAILABLE",
        ),
        (Op.PLACE, ok({"error": "INTERNAL", "message": "x"}, 500), UnknownOutcomeError, "INTERNAL"),
        (Op.CANCEL, ok(b"<html>bad gateway</html>", 502), UnknownOutcomeError, "INTERNAL"),
        (
            Op.AMEND,
            ok({"error": "DEADLINE_EXCEEDED"}, 504),
            UnknownOutcomeError,
            "DEADLINE_EXCEEDED",
        ),
        (Op.QUERY, ok({"error": "INTERNAL", "message": "x"}, 500), RetryableError, "INTERNAL"),
        (Op.QUERY, ok({"error": "NOT_FOUND"}, 404), OrderNotFoundError, "NOT_FOUND"),
    ],
)
def test_check_classifies(
    adapter: Adapter, op: Op, resp: HttpResponse, cls: type[Exception], code: str
) -> None:
    with pytest.raises(cls) as info:
        adapter.check(op, resp)
    assert getattr(info.value, "code", None) == code
    if cls is RetryableError:
        assert not isinstance(info.value, UnknownOutcomeError)


def test_429_is_rate_limited_with_retry_after(adapter: Adapter) -> None:
    resp = ok({"error": "rate_limit_exceeded"}, 429, {"retry-after": "2"})
    with pytest.raises(RateLimitedError) as info:
        adapter.check(Op.PLACE, resp)
    assert info.value.retry_after == 2.0
    assert info.value.retry_class is RetryClass.RATE_LIMITED


def test_successes_pass(adapter: Adapter) -> None:
    adapter.check(Op.PLACE, ok(CREATE_OK))
    adapter.check(Op.AMEND, ok({"success": True, "errors": []}))
    adapter.check(
        Op.CANCEL,
        ok(
            {
                "results": [
                    {
                        "success": True,
                        "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                        "order_id": "1",
                    }
                ]
            }
        ),
    )


def test_error_table_rows_are_classified_and_worded() -> None:
    for code, (cls, words) in ERRORS.items():
        assert issubclass(cls, Exception), code
        assert words, code
    assert ERRORS["UNAVAILABLE"][0] is VenueUnavailableError
    assert ERRORS["request timestamp expired"][0] is ClockSkewError


# --- identifiers, rates ----------------------------------------------------------------------
def test_client_ids_are_deterministic_uuids(adapter: Adapter) -> None:
    a = adapter.new_client_order_id("session", 1)
    assert a == adapter.new_client_order_id("session", 1)
    assert a != adapter.new_client_order_id("session", 2)
    assert a != adapter.new_client_order_id("other", 1)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a)
    assert len(a) <= Adapter.client_id_max_len
    assert Adapter.duplicate_client_ids_rejected


def test_rate_model_names_every_window_calls_charge(adapter: Adapter) -> None:
    names = {w.name for w in RATE_MODEL.windows}
    o = order(venue_order_id="1")
    calls = [
        adapter.place(o),
        adapter.cancel(o),
        adapter.amend(o, Amend(price=Decimal(1))),
        adapter.query(o),
        adapter.open_orders(None),
        adapter.fills("BTC-USD", 0),
        adapter.server_time(),
        adapter.status(),
    ]
    for call in calls:
        assert call.cost.costs
        assert set(call.cost.costs) <= names
    assert {w.name: w.limit for w in RATE_MODEL.windows} == {"PRIVATE": 30, "PUBLIC": 10}
    assert ENDPOINTS["production"].rest_url == "https://api.coinbase.com"
    assert ENDPOINTS["production"].private_ws_url == "wss://advanced-trade-ws-user.coinbase.com"


# --- user channel ----------------------------------------------------------------------------
def user_msg(events: list[dict[str, Any]], seq: int = 1) -> str:
    return json.dumps(
        {
            "channel": "user",
            "client_id": "",
            "timestamp": "2023-02-09T20:33:57.609931463Z",
            "sequence_num": seq,
            "events": events,
        }
    )


def ws_order(**kw: Any) -> dict[str, Any]:
    base = {
        "order_id": "XXX",
        "client_order_id": "YYY",
        "cumulative_quantity": "0",
        "leaves_quantity": "0.000994",
        "avg_price": "0",
        "total_fees": "0",
        "status": "OPEN",
        "product_id": "BTC-USD",
        "creation_time": "2022-12-07T19:42:18.719312Z",
        "order_side": "BUY",
        "order_type": "Limit",
        "limit_price": "20000",
    }
    base.update(kw)
    return base


def test_user_channel_subscribe_and_decode(adapter: Adapter) -> None:
    stream = adapter.private_stream(["BTC-USD"])
    assert stream.url() == "wss://advanced-trade-ws-user.coinbase.com"
    subs = [json.loads(m) for m in stream.open_messages()]
    assert [s["channel"] for s in subs] == ["heartbeats", "user"]
    assert all(s["type"] == "subscribe" and s["jwt"].count(".") == 2 for s in subs)
    assert subs[0]["jwt"] != subs[1]["jwt"]  # one JWT per message
    assert stream.keepalive() is None

    snap = stream.on_message(
        user_msg(
            [{"type": "snapshot", "orders": [ws_order(order_id="S", client_order_id="snap")]}], 0
        )
    )
    assert snap.ready
    assert [r.kind for r in snap.reports] == [ReportKind.STATUS]
    ev = stream.on_message(user_msg([{"type": "update", "orders": [ws_order()]}]))
    (ack,) = ev.reports
    assert (ack.kind, ack.quantity, ack.price, ack.side) == (
        ReportKind.ACK,
        Decimal("0.000994"),
        Decimal("20000"),
        Side.BUY,
    )
    (am,) = stream.on_message(
        user_msg([{"type": "update", "orders": [ws_order(limit_price="19999")]}])
    ).reports
    assert (am.kind, am.price) == (ReportKind.AMENDED, Decimal("19999"))
    part = ws_order(
        limit_price="19999",
        cumulative_quantity="0.0004",
        leaves_quantity="0.000594",
        avg_price="19999",
    )
    (st,) = stream.on_message(user_msg([{"type": "update", "orders": [part]}])).reports
    assert (st.kind, st.state, st.filled_qty, st.quantity) == (
        ReportKind.STATUS,
        OrderState.PARTIALLY_FILLED,
        Decimal("0.0004"),
        Decimal("0.000994"),
    )
    done = ws_order(status="FILLED", cumulative_quantity="0.000994", leaves_quantity="0")
    (fl,) = stream.on_message(user_msg([{"type": "update", "orders": [done]}])).reports
    assert (fl.kind, fl.state, fl.filled_qty) == (
        ReportKind.STATUS,
        OrderState.FILLED,
        Decimal("0.000994"),
    )
    for status, kind in (
        ("CANCELLED", ReportKind.CANCELED),
        ("EXPIRED", ReportKind.EXPIRED),
        ("FAILED", ReportKind.REJECTED),
    ):
        (r,) = stream.on_message(
            user_msg(
                [{"type": "update", "orders": [ws_order(client_order_id=status, status=status)]}]
            )
        ).reports
        assert r.kind is kind
    hb = stream.on_message(
        json.dumps({"channel": "heartbeats", "events": [{"heartbeat_counter": 3}]})
    )
    assert hb.reports == []
    err = stream.on_message(json.dumps({"type": "error", "message": "authentication failure"}))
    assert isinstance(err.error, AuthError)


def test_private_stream_needs_the_coinbase_signer() -> None:
    with pytest.raises(ConfigError):
        Adapter(endpoints=ENDPOINTS["production"]).private_stream(["BTC-USD"])


def test_no_secret_in_reprs(adapter: Adapter) -> None:
    text = repr(adapter.signer) + repr(adapter.place(order())) + repr(adapter.private_stream([]))
    assert "PRIVATE KEY" not in text
    assert PEM[40:80] not in text
