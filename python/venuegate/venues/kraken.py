"""Kraken spot trading adapter: REST (`/0/private/...`) order entry and WS v2 `executions`.

Sources (Kraken API docs, read 2026-11):

* REST auth and nonce: https://docs.kraken.com/api/docs/guides/spot-rest-auth
* AddOrder: https://docs.kraken.com/api/docs/rest-api/add-order (`ordertype` limit / market,
  `type` buy / sell, `volume`, `price`, `pair` = asset pair id or altname, `cl_ord_id`,
  `oflags=post`, `timeinforce` GTC / IOC / GTD with `expiretm`; there is no FOK on spot).
  Answer: `{"error":[],"result":{"descr":{"order":"buy 1.25 XBTUSD @ limit 27500.0"},
  "txid":["OU22CG-KLAF2-FWUDD7"]}}`.
* AmendOrder: https://docs.kraken.com/api/docs/rest-api/amend-order (`txid` or `cl_ord_id`,
  `order_qty`, `limit_price`; identifiers are kept: `AmendMode.IN_PLACE`; answer `amend_id`).
* CancelOrder / CancelAll / CancelAllOrdersAfter:
  https://docs.kraken.com/api/docs/rest-api/cancel-order (`txid` or `cl_ord_id`, answer `count`),
  https://docs.kraken.com/api/docs/rest-api/cancel-all-orders,
  https://docs.kraken.com/api/docs/rest-api/cancel-all-orders-after (`timeout` seconds, 0 disarms).
* QueryOrders (needs `txid`), OpenOrders / ClosedOrders (take `cl_ord_id` as a filter),
  TradesHistory: https://docs.kraken.com/api/docs/rest-api/get-orders-info,
  https://docs.kraken.com/api/docs/rest-api/get-open-orders,
  https://docs.kraken.com/api/docs/rest-api/get-closed-orders,
  https://docs.kraken.com/api/docs/rest-api/get-trade-history.
* Time / SystemStatus: https://docs.kraken.com/api/docs/rest-api/get-server-time,
  https://docs.kraken.com/api/docs/rest-api/get-system-status.
* Client order ids: https://docs.kraken.com/api/docs/guides/spot-clordid (UUID, with or without
  dashes, or free text of at most 18 characters; unique among *open* orders only).
* Errors: https://docs.kraken.com/api/docs/guides/spot-errors (HTTP 200 with
  `{"error":["EOrder:..."]}`).
* Rate limits: https://docs.kraken.com/api/docs/guides/spot-rest-ratelimits (API call counter)
  and https://docs.kraken.com/api/docs/guides/spot-ratelimits (per-pair trading counter).
* Private stream: https://docs.kraken.com/api/docs/websocket-v2/executions, token from
  https://docs.kraken.com/api/docs/rest-api/get-websockets-token, ping / heartbeat:
  https://docs.kraken.com/api/docs/websocket-v2/ping, .../heartbeat.
* WS order entry (`WsEntryAdapter`, for `venuegate.oms.ws_entry.WsOrderEntry`):
  https://docs.kraken.com/api/docs/websocket-v2/add_order, .../amend_order, .../cancel_order on
  `wss://ws-auth.kraken.com/v2`; every request carries the GetWebSocketsToken `token` and an
  integer `req_id`, echoed in the answer `{"method", "req_id", "success", "result" | "error",
  "time_in", "time_out"}`.

Symbols: the adapter's symbols are the WS v2 spelling (`BTC/USD`, as in the simulator's
catalog and the `executions` channel). REST `pair` takes the asset pair id (`XXBTZUSD`) or the
altname (`XBTUSD`); the adapter sends the altname (`rest_pair`) and maps REST answers back
(`ws_symbol`).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from venuegate.auth._base import Secret, Signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    ConfigError,
    DuplicateOrderError,
    FatalError,
    OrderNotFoundError,
    ProtocolError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
    VenuegateError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.priority import Priority, RequestCost
from venuegate.net.ratemodel import RateModel, Window, WindowKind
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.venues._wire import dec_or_none, loads_decimal
from venuegate.venues.base import (
    Amend,
    AmendMode,
    Endpoints,
    HttpCall,
    HttpResponse,
    Op,
    PrivateStream,
    RestCaller,
    StreamEvents,
    VenueAdapter,
    VenueStatus,
    WsRequest,
)

__all__ = [
    "ENDPOINTS",
    "ERRORS",
    "RATE_MODEL",
    "Adapter",
    "KrakenPrivateStream",
    "rest_pair",
    "ws_answer_as_rest",
    "ws_answer_error",
    "ws_symbol",
]

VENUE = "kraken"

ENDPOINTS: dict[str, Endpoints] = {
    # https://docs.kraken.com/api/docs/guides/global-intro (REST base) and
    # https://docs.kraken.com/api/docs/websocket-v2/executions (wss://ws-auth.kraken.com/v2; the
    # same authenticated connection carries add_order / amend_order / cancel_order).
    "production": Endpoints(
        rest_url="https://api.kraken.com",
        private_ws_url="wss://ws-auth.kraken.com/v2",
        ws_api_url="wss://ws-auth.kraken.com/v2",
    ),
    # Beta WebSocket endpoints share the production trading engine (new features early); Kraken
    # spot has no sandbox / testnet (https://docs.kraken.com/exchange/api-reference/spot-websocket).
    "beta": Endpoints(
        rest_url="https://api.kraken.com",
        private_ws_url="wss://beta-ws-auth.kraken.com/v2",
        ws_api_url="wss://beta-ws-auth.kraken.com/v2",
    ),
}
"""Kraken spot endpoints (no testnet exists for spot)."""

# --- rate model ------------------------------------------------------------------------------
# REST call counter (per API key): +1 per call, +2 for ledger / trade-history calls, AddOrder and
# CancelOrder excluded; Intermediate tier: max 20, decays 0.5/s (Starter 15 / 0.33, Pro 20 / 1).
# Trading counter (per pair, shared by REST, WS and FIX): AddOrder +1, AmendOrder +1 and +3 when
# the order is younger than 5 s, CancelOrder up to +8 for an order younger than 5 s; Intermediate
# threshold 125, decaying 2.34/s (Starter 60 / 1, Pro 180 / 3.75). Charges here are the worst
# case (the order's age is not known when the call is built).
API_COUNTER = "API_COUNTER"
TRADING = "TRADING"

TIERS: Mapping[str, tuple[float, float, float, float]] = {
    # tier: (API counter max, its decay /s, trading counter threshold, its decay /s)
    "starter": (15, 0.33, 60, 1.0),
    "intermediate": (20, 0.5, 125, 2.34),
    "pro": (20, 1.0, 180, 3.75),
}
"""Kraken's verification tiers and their counters (REST rate-limit and trading rate-limit guides
above); the account's tier is a setting (`Adapter.for_tier`, the simulator's `tier` option)."""


def rate_model(tier: str = "intermediate") -> RateModel:
    """Kraken's windows for an account tier (starter, intermediate, pro).

    Raises:
        ConfigError: an unknown tier.
    """
    if tier not in TIERS:
        raise ConfigError(f"unknown Kraken tier {tier!r} (one of {', '.join(TIERS)})", venue=VENUE)
    api_max, api_decay, trading_max, trading_decay = TIERS[tier]
    return RateModel(
        VENUE,
        windows=(
            Window(API_COUNTER, api_max, kind=WindowKind.DECAY, decay_per_s=api_decay),
            Window(
                TRADING,
                trading_max,
                kind=WindowKind.DECAY,
                decay_per_s=trading_decay,
                per_key=True,
                reserve={Priority.CANCEL: 0.1},
            ),
        ),
        used_headers={},
        ban_statuses=frozenset(),
    )


RATE_MODEL = rate_model("intermediate")
"""Kraken's windows (Intermediate tier)."""

_ADD_COST = 1
_AMEND_COST = 4
_CANCEL_COST = 8


def _cost(
    priority: Priority, window: str, n: int, key: str = "", endpoint: str = ""
) -> RequestCost:
    return RequestCost(priority, {window: n}, key=key, endpoint=endpoint)


# --- errors ----------------------------------------------------------------------------------
type ErrorClass = type[VenueError]

ERRORS: Mapping[str, tuple[ErrorClass, str]] = {
    # Authentication / nonce (https://docs.kraken.com/api/docs/guides/spot-errors)
    "EAPI:Invalid key": (AuthError, "An invalid API-Key header was supplied."),
    "EAPI:Invalid signature": (AuthError, "An invalid API-Sign header was supplied."),
    "EAPI:Invalid nonce": (
        ClockSkewError,
        "An invalid nonce was supplied (not above the last one used with the key).",
    ),
    "EGeneral:Permission denied": (AuthError, "API key doesn't have permission to make request."),
    "EAPI:Feature disabled": (FatalError, "The endpoint is disabled for this key."),
    "ESession:Invalid session": (AuthError, "Invalid session."),
    "EAccount:Invalid token": (
        AuthError,
        "The WebSocket token is unknown or expired (WS v2 only; fetch a new one with "
        "GetWebSocketsToken).",
    ),
    # Rate
    "EAPI:Rate limit exceeded": (
        RateLimitedError,
        "REST API call counter exceeded the user's maximum.",
    ),
    "EOrder:Rate limit exceeded": (
        RateLimitedError,
        "The per-pair trading rate counter reached its threshold.",
    ),
    "EGeneral:Too many requests": (RateLimitedError, "Too many requests."),
    "EGeneral:Temporary lockout": (
        RateLimitedError,
        "Too many sequential EAPI:Invalid key errors: account temporarily locked.",
    ),
    "EService:Throttled": (
        RateLimitedError,
        "Too many concurrent requests; try again after the given UNIX time.",
    ),
    # Service state: nothing was done
    "EService:Unavailable": (VenueUnavailableError, "The matching engine or API is offline."),
    "EService:Busy": (VenueUnavailableError, "The service is busy."),
    "EService:Market in cancel_only mode": (
        VenueUnavailableError,
        "Request can't be made at this time (market in cancel-only mode: new orders refused).",
    ),
    "EService:Market in post_only mode": (
        VenueUnavailableError,
        "Request can't be made at this time (market in post-only mode).",
    ),
    "EService:Market in limit_only mode": (
        VenueUnavailableError,
        "Request can't be made at this time (market in limit-only mode).",
    ),
    # Timeouts / internal errors: the request may have been processed
    "EService:Deadline elapsed": (
        UnknownOutcomeError,
        "The request timed out according to the default or specified deadline; the order may "
        "have been placed: check before retrying.",
    ),
    "EGeneral:Internal error": (UnknownOutcomeError, "Internal error."),
    "EDatabase:Internal error": (UnknownOutcomeError, "Internal error."),
    # Orders
    "EOrder:Duplicate order": (
        DuplicateOrderError,
        "cl_ord_id already used by an open order of this client (string not in the docs' table;"
        " seen in clients).",
    ),
    "EOrder:Unknown order": (OrderNotFoundError, "Unknown order (or no longer open)."),
    "EOrder:Invalid order": (OrderNotFoundError, "Invalid order (id)."),
    "EOrder:Post only order": (FatalError, "A post-only order would have taken liquidity."),
    "EOrder:Insufficient funds": (FatalError, "Client does not have sufficient funds."),
    "EOrder:Order minimum not met": (FatalError, "Order size below the pair's minimum."),
    "EOrder:Cost minimum not met": (FatalError, "Order cost below the pair's minimum."),
    "EOrder:Tick size check failed": (FatalError, "Price is not a multiple of the tick size."),
    "EOrder:Invalid price": (FatalError, "Invalid price."),
    "EOrder:Orders limit exceeded": (FatalError, "Too many open orders."),
    "EOrder:Positions limit exceeded": (FatalError, "Too many open positions."),
    "EOrder:Trading agreement required": (FatalError, "Trading agreement required."),
    "EOrder:Cannot open position": (FatalError, "Cannot open position."),
    "EOrder:Margin allowance exceeded": (FatalError, "Margin allowance exceeded."),
    "EOrder:Invalid reference id": (FatalError, "Invalid cl_ord_id / userref."),
    "EGeneral:Invalid arguments": (FatalError, "The request payload is malformed or ambiguous."),
    "EQuery:Unknown asset pair": (FatalError, "Unknown asset pair."),
    "EQuery:Invalid asset pair": (FatalError, "Invalid asset pair."),
    "ETrade:User Locked": (AuthError, "Account locked."),
}
"""Kraken error string → (class, the docs' words). Codes are matched exactly, then by dropping
trailing `:detail` parts (`EGeneral:Invalid arguments:volume` → `EGeneral:Invalid arguments`)."""

_UNAVAILABLE_BEFORE = frozenset({"EService:Unavailable", "EService:Busy"})


def classify(code: str) -> tuple[ErrorClass, str] | None:
    """The table entry for an error string, or None."""
    key = code.strip()
    while key:
        hit = ERRORS.get(key)
        if hit is not None:
            return hit
        if ":" not in key:
            return None
        head, _, _ = key.rpartition(":")
        if ":" not in head:
            return ERRORS.get(head)
        key = head
    return None


# --- symbols ---------------------------------------------------------------------------------
_REST_ASSET = {"BTC": "XBT", "DOGE": "XDG"}
_WS_ASSET = {v: k for k, v in _REST_ASSET.items()}
_QUOTES = ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "CAD", "CHF", "AUD", "XBT", "ETH", "DAI")
_LEGACY_ID = re.compile(r"^[XZ]([A-Z]{3})[XZ]([A-Z]{3})$")


def rest_pair(symbol: str) -> str:
    """The REST altname of a WS v2 symbol (`BTC/USD` → `XBTUSD`)."""
    if "/" not in symbol:
        return symbol
    base, quote = symbol.split("/", 1)
    return _REST_ASSET.get(base, base) + _REST_ASSET.get(quote, quote)


def ws_symbol(pair: str) -> str:
    """The WS v2 symbol of a REST pair id or altname (`XXBTZUSD` / `XBTUSD` → `BTC/USD`)."""
    if "/" in pair:
        return pair
    m = _LEGACY_ID.match(pair)
    if m is not None:
        base, quote = m.group(1), m.group(2)
    else:
        for q in _QUOTES:
            if pair.endswith(q) and len(pair) > len(q):
                base, quote = pair[: -len(q)], q
                break
        else:
            return pair
    return f"{_WS_ASSET.get(base, base)}/{_WS_ASSET.get(quote, quote)}"


# --- helpers ---------------------------------------------------------------------------------
_loads = loads_decimal


_dec = dec_or_none


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _side(value: object) -> Side | None:
    if value in ("buy", "sell"):
        return Side(str(value))
    return None


_REST_STATE: Mapping[str, OrderState] = {
    "pending": OrderState.PENDING_NEW,
    "open": OrderState.NEW,
    "closed": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "expired": OrderState.EXPIRED,
}
_WS_STATE: Mapping[str, OrderState] = {
    "pending_new": OrderState.PENDING_NEW,
    "new": OrderState.NEW,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "expired": OrderState.EXPIRED,
}


def _ts_ms_from_seconds(value: object) -> int:
    d = _dec(value)
    return int(d * 1000) if d is not None else 0


def _ts_ms_from_rfc3339(value: object) -> int:
    if not isinstance(value, str) or not value:
        return 0
    text = value.replace("Z", "+00:00")
    # Python parses at most 6 fractional digits; Kraken sends 6.
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return 0


class Adapter(VenueAdapter):
    """Kraken spot (REST order entry, WS v2 executions stream, WS v2 order entry).

    WS v2 order entry (`add_order` / `amend_order` / `cancel_order`) goes through
    `venuegate.oms.ws_entry.WsOrderEntry`, which needs a REST caller for the token
    (`WsOrderEntry(adapter, rest=rest_client)`; `ws_entry_prepare`).
    """

    signs_with_server_time: ClassVar[bool] = False  # nonces: increasing, local clock
    # "EAPI:Invalid nonce: the nonce submitted is less than or equal to the last accepted nonce
    # for this API key ... If multiple threads share the same API key, use a counter with a
    # mutex" (https://docs.kraken.com/exchange/guides/general/errors). A key's nonce window is 0
    # unless raised in its settings, so requests signed concurrently on several pooled
    # connections can overtake each other and be refused: signed requests go out one at a time
    # (the chaos run's stream logins were refused so; `GetWebSocketsToken` is one of them).
    nonce_ordered: ClassVar[bool] = True
    venue: ClassVar[str] = VENUE
    amend_mode: ClassVar[AmendMode] = AmendMode.IN_PLACE
    # cl_ord_id is unique among *open* orders only: a resend after the first attempt closed
    # (filled) would be accepted as a second order, so a resend with the same id is not safe.
    duplicate_client_ids_rejected: ClassVar[bool] = False
    client_id_max_len: ClassVar[int] = 36
    rate_model: ClassVar[RateModel] = RATE_MODEL
    tier: ClassVar[str] = "intermediate"
    lists_all_symbols: ClassVar[bool] = True  # OpenOrders, TradesHistory: no pair filter
    fills_page_size: ClassVar[int | None] = 50  # TradesHistory: 50 results per call
    fills_newest_first: ClassVar[bool] = True  # TradesHistory: most recent first
    fills_offset_cursor: ClassVar[bool] = True  # older pages by `ofs` (fills_older)

    @classmethod
    def for_tier(cls, tier: str) -> type[Adapter]:
        """The adapter class for an account tier (its rate model), e.g. `Adapter.for_tier("pro")`.

        Raises:
            ConfigError: an unknown tier.
        """
        model = rate_model(tier)
        return type(f"Adapter_{tier}", (cls,), {"rate_model": model, "tier": tier})

    def __init__(
        self, *, endpoints: Endpoints = ENDPOINTS["production"], signer: Signer | None = None
    ) -> None:
        super().__init__(endpoints=endpoints, signer=signer)
        self._cl_by_txid: dict[str, str] = {}
        # WebSocket order entry: the token (never logged, never in a repr or an error), Kraken's
        # integer `req_id`s and what each one asked, by req_id and by WsOrderEntry's id.
        self._ws_token: Secret | None = None
        self._ws_req_ids = itertools.count(1)
        self._ws_requests: dict[int, WsRequest] = {}
        self._ws_by_rid: dict[str, int] = {}

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        """A UUID (one of the documented `cl_ord_id` forms), deterministic per (session, n)."""
        if n < 0:
            raise ConfigError("client order id counter must be >= 0", venue=VENUE)
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"venuegate:kraken:{session}:{n}"))

    def remember(self, txid: str, client_order_id: str) -> None:
        """Notes which client order id a Kraken order id belongs to (fills carry only txids)."""
        if txid and client_order_id:
            self._cl_by_txid[txid] = client_order_id

    def _cl(self, txid: str | None, given: object = None) -> str:
        if isinstance(given, str) and given:
            if txid:
                self._cl_by_txid[txid] = given
            return given
        return self._cl_by_txid.get(txid or "", "")

    # -- requests ------------------------------------------------------------------------
    def _private(
        self, op: Op, name: str, params: list[tuple[str, Any]], cost: RequestCost
    ) -> HttpCall:
        return HttpCall(op, "POST", f"/0/private/{name}", params=tuple(params), cost=cost)

    def place(self, order: Order) -> HttpCall:
        """AddOrder (`cl_ord_id` set; limit / market; GTC, IOC, GTD, post-only)."""
        if order.type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ConfigError(
                f"kraken adapter places limit and market orders, not {order.type}", venue=VENUE
            )
        if order.reduce_only:
            raise ConfigError("reduce_only applies to margin orders only at Kraken", venue=VENUE)
        if len(order.client_order_id) > self.client_id_max_len:
            raise ConfigError("cl_ord_id longer than 36 characters", venue=VENUE)
        pair = rest_pair(order.symbol)
        params: list[tuple[str, Any]] = [
            ("ordertype", order.type.value),
            ("type", order.side.value),
            ("volume", _plain(order.quantity)),
            ("pair", pair),
            ("cl_ord_id", order.client_order_id),
        ]
        if order.type is OrderType.LIMIT:
            if order.price is None:  # the model refuses this already
                raise ConfigError("a limit order needs a price", venue=VENUE)
            params.append(("price", _plain(order.price)))
        tif = order.time_in_force
        if tif is TimeInForce.FOK:
            raise ConfigError("Kraken spot has no fill-or-kill time in force", venue=VENUE)
        if tif is TimeInForce.POST_ONLY:
            if order.type is not OrderType.LIMIT:
                raise ConfigError("post-only needs a limit order", venue=VENUE)
            params.append(("oflags", "post"))
        elif tif is TimeInForce.IOC:
            params.append(("timeinforce", "IOC"))
        elif tif is TimeInForce.GTD:
            if order.type is not OrderType.LIMIT or order.expire_at is None:
                raise ConfigError("GTD needs a limit order and expire_at", venue=VENUE)
            params.append(("timeinforce", "GTD"))
            params.append(("expiretm", int(order.expire_at.timestamp())))
        return self._private(
            Op.PLACE, "AddOrder", params, _cost(Priority.NEW, TRADING, _ADD_COST, key=pair)
        )

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """ACK with the txid (AddOrder's answer carries no fills: the stream reports them)."""
        self.check(Op.PLACE, resp)
        result = _loads(resp.body).get("result") or {}
        txids = result.get("txid") or []
        txid = str(txids[0]) if txids else None
        if txid:
            self.remember(txid, order.client_order_id)
        return [
            VenueReport(
                VENUE,
                order.client_order_id,
                ReportKind.ACK,
                venue_order_id=txid,
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                price=order.price,
                reason=(result.get("descr") or {}).get("order"),
            )
        ]

    def _target(self, order: Order) -> tuple[str, str]:
        if order.venue_order_id:
            return ("txid", order.venue_order_id)
        return ("cl_ord_id", order.client_order_id)

    def cancel(self, order: Order) -> HttpCall:
        """CancelOrder by txid when known, else by `cl_ord_id`."""
        return self._private(
            Op.CANCEL,
            "CancelOrder",
            [self._target(order)],
            _cost(Priority.CANCEL, TRADING, _CANCEL_COST, key=rest_pair(order.symbol)),
        )

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED when `count` > 0 (`pending` means the cancel is in progress)."""
        self.check(Op.CANCEL, resp)
        result = _loads(resp.body).get("result") or {}
        if int(result.get("count", 0) or 0) <= 0:
            return []
        return [
            VenueReport(
                VENUE,
                order.client_order_id,
                ReportKind.CANCELED,
                venue_order_id=order.venue_order_id,
                symbol=order.symbol,
                side=order.side,
                state=OrderState.CANCELED,
            )
        ]

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """CancelAll (every open order; Kraken has no per-pair cancel-all)."""
        key = rest_pair(symbol) if symbol else ""
        return self._private(
            Op.CANCEL_ALL,
            "CancelAll",
            [],
            RequestCost(Priority.CANCEL, {API_COUNTER: 1}, key=key),
        )

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """No reports: the answer is a count; the stream reports each cancel."""
        self.check(Op.CANCEL_ALL, resp)
        return []

    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """AmendOrder (in place; by txid when known, else by `cl_ord_id`)."""
        if amend.quantity is None and amend.price is None:
            raise ConfigError("an amend changes quantity and/or price", venue=VENUE)
        params: list[tuple[str, Any]] = [self._target(order)]
        if amend.quantity is not None:
            params.append(("order_qty", _plain(amend.quantity)))
        if amend.price is not None:
            params.append(("limit_price", _plain(amend.price)))
        if order.time_in_force is TimeInForce.POST_ONLY:
            params.append(("post_only", "true"))
        return self._private(
            Op.AMEND,
            "AmendOrder",
            params,
            _cost(Priority.AMEND, TRADING, _AMEND_COST, key=rest_pair(order.symbol)),
        )

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """AMENDED with the new values (ids unchanged)."""
        self.check(Op.AMEND, resp)
        return [
            VenueReport(
                VENUE,
                order.client_order_id,
                ReportKind.AMENDED,
                venue_order_id=order.venue_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=amend.quantity if amend.quantity is not None else order.quantity,
                price=amend.price if amend.price is not None else order.price,
            )
        ]

    def query(self, order: Order) -> HttpCall:
        """QueryOrders by txid when known; else OpenOrders filtered by `cl_ord_id`.

        QueryOrders takes no `cl_ord_id`. When OpenOrders has no match, ask `query_closed(order)`.
        """
        if order.venue_order_id:
            return self._private(
                Op.QUERY,
                "QueryOrders",
                [("txid", order.venue_order_id), ("trades", "true")],
                _cost(Priority.QUERY, API_COUNTER, 1),
            )
        return self._private(
            Op.QUERY,
            "OpenOrders",
            [("cl_ord_id", order.client_order_id)],
            _cost(Priority.QUERY, API_COUNTER, 1),
        )

    def query_closed(self, order: Order) -> HttpCall:
        """ClosedOrders filtered by `cl_ord_id` (the second step of a query by client id)."""
        return self._private(
            Op.QUERY,
            "ClosedOrders",
            [("cl_ord_id", order.client_order_id)],
            _cost(Priority.QUERY, API_COUNTER, 2),
        )

    def query_followup(self, order: Order, resp: HttpResponse) -> HttpCall | None:
        """After an OpenOrders query with no match: ClosedOrders by client id."""
        return self.query_closed(order)

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS, or NOT_FOUND.

        From OpenOrders without a match: [] (inconclusive: the order may be closed; follow with
        `query_closed`).
        """
        try:
            self.check(Op.QUERY, resp)
        except OrderNotFoundError:
            return [self._not_found(order)]
        result = _loads(resp.body).get("result") or {}
        from_open = "open" in result
        rows: Mapping[str, Any]
        if from_open:
            rows = result.get("open") or {}
        elif "closed" in result:
            rows = result.get("closed") or {}
        else:
            rows = result
        for txid, info in rows.items():
            if not isinstance(info, Mapping):
                continue
            cl = info.get("cl_ord_id")
            if txid == order.venue_order_id or cl == order.client_order_id:
                return [self._status(str(txid), info, fallback_cl=order.client_order_id)]
        if from_open:
            return []
        return [self._not_found(order)]

    def _not_found(self, order: Order) -> VenueReport:
        return VenueReport(
            VENUE,
            order.client_order_id,
            ReportKind.NOT_FOUND,
            venue_order_id=order.venue_order_id,
            symbol=order.symbol,
        )

    def _status(self, txid: str, info: Mapping[str, Any], fallback_cl: str = "") -> VenueReport:
        descr = info.get("descr") or {}
        vol = _dec(info.get("vol"))
        filled = _dec(info.get("vol_exec")) or Decimal(0)
        raw = str(info.get("status", ""))
        state = _REST_STATE.get(raw, OrderState.UNKNOWN)
        if state is OrderState.NEW and filled > 0:
            state = OrderState.PARTIALLY_FILLED
        if raw == "closed" and vol is not None and filled < vol:
            state = OrderState.CANCELED
        price = _dec(descr.get("price"))
        cl = self._cl(txid, info.get("cl_ord_id")) or fallback_cl
        return VenueReport(
            VENUE,
            cl,
            ReportKind.STATUS,
            venue_order_id=txid,
            symbol=ws_symbol(str(descr.get("pair", ""))) if descr.get("pair") else None,
            side=_side(descr.get("type")),
            state=state,
            quantity=vol,
            price=price if price else None,
            filled_qty=filled,
            reason=info.get("reason") if isinstance(info.get("reason"), str) else None,
            ts_ms=_ts_ms_from_seconds(info.get("closetm") or info.get("opentm")),
        )

    def open_orders(self, symbol: str | None) -> HttpCall:
        """OpenOrders (all pairs; filtered by symbol in `parse_open_orders` callers)."""
        return self._private(
            Op.OPEN_ORDERS, "OpenOrders", [], _cost(Priority.QUERY, API_COUNTER, 1)
        )

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per open order."""
        self.check(Op.OPEN_ORDERS, resp)
        result = _loads(resp.body).get("result") or {}
        return [
            self._status(str(txid), info)
            for txid, info in (result.get("open") or {}).items()
            if isinstance(info, Mapping)
        ]

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """TradesHistory from `since_ms`.

        `start` is exclusive, in seconds: one second earlier is asked. There is no pair filter;
        each FILL carries its symbol.
        """
        start = max(0, since_ms // 1000 - 1)
        return self._private(
            Op.FILLS,
            "TradesHistory",
            [("start", start)],
            _cost(Priority.QUERY, API_COUNTER, 2),
        )

    def fills_older(
        self, symbol: str, since_ms: int, before_ms: int, pages_done: int, until_ms: int
    ) -> HttpCall:
        """The next page by TradesHistory's offset cursor (`ofs`, 50 a page), not by `end`.

        `end` has a resolution of one second: more than 50 fills in one second (a sweep through
        many resting orders) would repeat the same page and hide the rest. `end` (inclusive,
        whole seconds, while fill times have fractions) is the second after the first page's
        newest fill (`until_ms`): every fill the first page held stays in the listing (an `end`
        that cut some off would shift the offsets the other way and skip older fills), and
        fills arriving meanwhile in later seconds do not shift the offsets; those before `end`
        shift older ones to higher offsets: seen twice (de-duplicated), never skipped.
        """
        del symbol, before_ms
        return self._private(
            Op.FILLS,
            "TradesHistory",
            [
                ("start", max(0, since_ms // 1000 - 1)),
                ("end", max(0, until_ms // 1000 + 1)),
                ("ofs", pages_done * 50),
            ],
            _cost(Priority.QUERY, API_COUNTER, 2),
        )

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per trade; `trade_id` is the trade txid (as `exec_id` in the stream)."""
        self.check(Op.FILLS, resp)
        result = _loads(resp.body).get("result") or {}
        out: list[VenueReport] = []
        for ttxid, t in (result.get("trades") or {}).items():
            if not isinstance(t, Mapping):
                continue
            otxid = str(t.get("ordertxid", ""))
            maker = t.get("maker")
            out.append(
                VenueReport(
                    VENUE,
                    self._cl(otxid),
                    ReportKind.FILL,
                    venue_order_id=otxid or None,
                    symbol=ws_symbol(str(t.get("pair", ""))),
                    side=_side(t.get("type")),
                    trade_id=str(ttxid),
                    last_qty=_dec(t.get("vol")),
                    last_price=_dec(t.get("price")),
                    fee=_dec(t.get("fee")),
                    liquidity=None if maker is None else ("maker" if maker else "taker"),
                    ts_ms=_ts_ms_from_seconds(t.get("time")),
                )
            )
        out.sort(key=lambda r: (r.ts_ms, r.trade_id or ""))
        return out

    def server_time(self) -> HttpCall | None:
        """GET /0/public/Time."""
        return HttpCall(
            Op.TIME, "GET", "/0/public/Time", signed=False, cost=RequestCost(Priority.QUERY)
        )

    def parse_server_time(self, resp: HttpResponse) -> int:
        """`unixtime` (seconds) in ms."""
        self.check(Op.TIME, resp)
        return int(_loads(resp.body)["result"]["unixtime"]) * 1000

    def status(self) -> HttpCall | None:
        """GET /0/public/SystemStatus."""
        return HttpCall(
            Op.STATUS,
            "GET",
            "/0/public/SystemStatus",
            signed=False,
            cost=RequestCost(Priority.QUERY),
        )

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """The venue's status: trading only when `online`.

        maintenance / cancel_only / post_only / limit_only refuse some or all new orders.
        """
        self.check(Op.STATUS, resp)
        status = str((_loads(resp.body).get("result") or {}).get("status", ""))
        return VenueStatus(trading=status == "online", reason=status)

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall | None:
        """CancelAllOrdersAfter: `timeout` whole seconds, 0 disarms.

        Kraken advises 60 s, refreshed every 15-30 s.
        """
        return self._private(
            Op.DEAD_MAN,
            "CancelAllOrdersAfter",
            [("timeout", max(0, int(timeout_s)))],
            _cost(Priority.CANCEL, API_COUNTER, 1),
        )

    # -- errors --------------------------------------------------------------------------
    def check(self, op: Op, resp: HttpResponse) -> None:  # noqa: PLR0912 - one branch per case
        """Raises the classified error (see `ERRORS`); `W...` warnings are not errors."""
        errors: list[str] = []
        body: Any = None
        try:
            body = _loads(resp.body) if resp.body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, Mapping):
            raw = body.get("error") or []
            if isinstance(raw, str):
                raw = [raw]
            errors = [str(e) for e in raw if str(e) and not str(e).startswith("W")]
        status = resp.status
        if status == 429:
            raise RateLimitedError(
                f"kraken: rate limited (HTTP 429) {errors}",
                venue=VENUE,
                code=errors[0] if errors else None,
                http_status=429,
            )
        if status >= 500:
            code = errors[0] if errors else None
            if code in _UNAVAILABLE_BEFORE:
                raise VenueUnavailableError(
                    f"kraken: {code} (HTTP {status})", venue=VENUE, code=code, http_status=status
                )
            if op.changes_state:
                raise UnknownOutcomeError(
                    f"kraken: {op} answered HTTP {status} {code or ''}; outcome unknown",
                    venue=VENUE,
                    code=code,
                    http_status=status,
                )
            raise RetryableError(
                f"kraken: HTTP {status} {code or ''}", venue=VENUE, code=code, http_status=status
            )
        if errors:
            code = errors[0]
            hit = classify(code)
            if hit is None:
                raise FatalError(f"kraken: {code}", venue=VENUE, code=code, http_status=status)
            cls, _ = hit
            if cls is UnknownOutcomeError and not op.changes_state:
                cls = RetryableError
            if issubclass(cls, RateLimitedError):
                raise cls(f"kraken: {code}", venue=VENUE, code=code, http_status=status)
            raise cls(f"kraken: {code}", venue=VENUE, code=code, http_status=status)
        if status >= 400:
            raise FatalError(f"kraken: HTTP {status}", venue=VENUE, http_status=status)
        if not isinstance(body, Mapping):
            if op.changes_state:
                raise UnknownOutcomeError(
                    "kraken: unreadable answer to a state-changing call", venue=VENUE
                )
            raise ProtocolError("kraken: unreadable answer", venue=VENUE)

    # -- private stream ------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> PrivateStream:
        """A WS v2 `executions` subscription."""
        return KrakenPrivateStream(self, symbols)

    def ws_token_call(self) -> HttpCall:
        """POST /0/private/GetWebSocketsToken.

        The token is valid 15 minutes for a first connection; a connected stream keeps it alive.
        """
        return self._private(
            Op.OTHER, "GetWebSocketsToken", [], _cost(Priority.QUERY, API_COUNTER, 1)
        )

    async def ws_token(self, call: RestCaller) -> tuple[str, float]:
        """Fetches a WebSocket token: (token, seconds it is valid for a first connection).

        Raises:
            VenueError: the REST call's classified refusal (`check`); AuthError when the answer
                carries no token.
        """
        resp = await call(self.ws_token_call())
        self.check(Op.OTHER, resp)
        result = _loads(resp.body).get("result") or {}
        token = result.get("token") if isinstance(result, Mapping) else None
        if not isinstance(token, str) or not token:
            raise AuthError("kraken: GetWebSocketsToken answered no token", venue=VENUE)
        try:
            expires = _dec(result.get("expires"))
        except ArithmeticError:
            expires = None
        valid = expires is not None and expires.is_finite() and expires > 0
        return token, float(expires) if valid and expires is not None else _TOKEN_TTL_S

    # -- WS v2 order entry: the requests (shared with KrakenPrivateStream) -------------------
    def ws_add_order_params(self, order: Order) -> dict[str, Any]:
        """`add_order` params (no token): the mapping and refusals of `place` (AddOrder).

        Raises:
            ConfigError: what `place` refuses (FOK, stop orders, reduce_only, long ids, ...).
        """
        rest = dict(self.place(order).params)
        params: dict[str, Any] = {
            "order_type": rest["ordertype"],
            "side": rest["type"],
            "order_qty": order.quantity,
            "symbol": order.symbol,
            "cl_ord_id": order.client_order_id,
        }
        if order.price is not None and order.type is OrderType.LIMIT:
            params["limit_price"] = order.price
        if "timeinforce" in rest:
            params["time_in_force"] = str(rest["timeinforce"]).lower()
        if order.expire_at is not None and rest.get("timeinforce") == "GTD":
            expire = order.expire_at
            if expire.tzinfo is not None:
                expire = expire.astimezone(UTC)
            params["expire_time"] = expire.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if rest.get("oflags") == "post":
            params["post_only"] = True
        return params

    def ws_amend_order_params(self, order: Order, amend: Amend) -> dict[str, Any]:
        """`amend_order` params (no token): as `amend` (AmendOrder), by `order_id` when known.

        Raises:
            ConfigError: an amend that changes nothing.
        """
        rest = dict(self.amend(order, amend).params)
        params: dict[str, Any] = (
            {"order_id": order.venue_order_id}
            if order.venue_order_id
            else {"cl_ord_id": order.client_order_id}
        )
        if amend.quantity is not None:
            params["order_qty"] = amend.quantity
        if amend.price is not None:
            params["limit_price"] = amend.price
        if rest.get("post_only") == "true":
            params["post_only"] = True
        return params

    def ws_cancel_order_params(self, order: Order) -> dict[str, Any]:
        """`cancel_order` params (no token): by `order_id` when known, else `cl_ord_id`."""
        if order.venue_order_id:
            return {"order_id": [order.venue_order_id]}
        return {"cl_ord_id": [order.client_order_id]}

    # -- WS v2 order entry: WsEntryAdapter ------------------------------------------------------
    # One connection to wss://ws-auth.kraken.com/v2 with no subscription and no login: the
    # token rides in every request. `WsOrderEntry` calls `ws_entry_prepare` before each connect
    # (a new token per connection) and again after the delay it returns, so a long-lived
    # connection never sends a token older than its validity (the docs keep a token alive only
    # while a *subscription* uses it; this connection has none).
    async def ws_entry_prepare(self, call: RestCaller) -> float | None:
        """Fetches the token for WS order entry; returns when to fetch the next one (seconds).

        Raises:
            VenueError: GetWebSocketsToken refused (AuthError for bad credentials).
        """
        token, valid_s = await self.ws_token(call)
        self._ws_token = Secret(token)
        return max(1.0, valid_s * _TOKEN_RENEW_AT)

    # ws_entry_url: the authenticated WS v2 URL (`wss://ws-auth.kraken.com/v2`), the base
    # default. No login step (the base defaults): the token goes in every request.

    def ws_entry_keepalive(self) -> str | None:
        """`{"method":"ping"}` (https://docs.kraken.com/api/docs/websocket-v2/ping)."""
        return '{"method":"ping"}'

    def _ws_send(self, method: str, params: Mapping[str, Any], what: WsRequest) -> str:
        if self._ws_token is None:
            raise AuthError("kraken: no WebSocket token (ws_entry_prepare first)", venue=VENUE)
        n = next(self._ws_req_ids)
        text = _ws_request_text(method, params, self._ws_token.reveal(), n)
        self._ws_requests[n] = what
        self._ws_by_rid[what.rid] = n
        return text

    def ws_place(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`add_order` (the params of `place`: same mapping, same refusals)."""
        params = self.ws_add_order_params(order)
        return self._ws_send("add_order", params, WsRequest(Op.PLACE, order, rid=req_id))

    def ws_cancel(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`cancel_order` by `order_id` when known, else `cl_ord_id`."""
        params = self.ws_cancel_order_params(order)
        return self._ws_send("cancel_order", params, WsRequest(Op.CANCEL, order, rid=req_id))

    def ws_amend(
        self, order: Order, amend: Amend, req_id: str, timestamp_ms: int | None = None
    ) -> str:
        """`amend_order` (in place, as AmendOrder)."""
        params = self.ws_amend_order_params(order, amend)
        return self._ws_send("amend_order", params, WsRequest(Op.AMEND, order, amend, rid=req_id))

    def ws_forget(self, req_id: str) -> None:
        """Drops a request whose answer will not be waited for (timeout, disconnect)."""
        n = self._ws_by_rid.pop(req_id, None)
        if n is not None:
            self._ws_requests.pop(n, None)

    def _ws_answered(self, msg: object) -> WsRequest | None:
        """The pending request `msg` answers (now no longer pending), or None."""
        if not isinstance(msg, Mapping) or "success" not in msg:
            return None
        n = msg.get("req_id")
        if not isinstance(n, int) or isinstance(n, bool) or n not in self._ws_requests:
            return None
        what = self._ws_requests[n]
        method = msg.get("method")
        if method is not None and _WS_METHODS.get(str(method)) is not what.op:
            return None
        del self._ws_requests[n]
        self._ws_by_rid.pop(what.rid, None)
        return what

    def parse_ws_answer(
        self, data: str | bytes
    ) -> tuple[str | None, list[VenueReport] | VenueError]:
        """(request id, reports or the classified error) of an answer to `ws_place` & co.

        The answer is turned into the REST answer of the same call (`ws_answer_as_rest`) and
        parsed by `parse_place` / `parse_cancel` / `parse_amend`: the same reports, and errors
        classified by `ERRORS` as over REST. Anything else (pong, heartbeat, status, answers
        to unknown or forgotten req_ids): (None, []). An unreadable answer to a pending request
        is an `UnknownOutcomeError`.
        """
        try:
            msg = _loads(data)
        except (ValueError, UnicodeDecodeError):
            return None, []
        what = self._ws_answered(msg)
        if what is None:
            return None, []
        try:
            return what.rid, self.parse_ws_reports(what, ws_answer_as_rest(what.op, msg))
        except VenueError as exc:
            return what.rid, exc
        except (VenuegateError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return what.rid, UnknownOutcomeError(
                f"kraken {what.op}: unreadable WebSocket answer ({type(exc).__name__})",
                venue=VENUE,
            )

    def execution_reports(  # noqa: PLR0911 - one return per exec_type
        self, item: Mapping[str, Any], snapshot: bool = False
    ) -> list[VenueReport]:
        """Reports from one `executions` data item."""
        exec_type = str(item.get("exec_type", ""))
        txid = str(item.get("order_id", "")) or None
        cl = self._cl(txid, item.get("cl_ord_id"))
        symbol = item.get("symbol") if isinstance(item.get("symbol"), str) else None
        side = _side(item.get("side"))
        state = _WS_STATE.get(str(item.get("order_status", "")))
        qty = _dec(item.get("order_qty"))
        price = _dec(item.get("limit_price"))
        cum = _dec(item.get("cum_qty"))
        ts = _ts_ms_from_rfc3339(item.get("timestamp"))
        reason = item.get("reason") if isinstance(item.get("reason"), str) else None
        common: dict[str, Any] = {
            "venue_order_id": txid,
            "symbol": symbol,
            "side": side,
            "state": state,
            "filled_qty": cum,
            "ts_ms": ts,
        }
        if snapshot:
            return [VenueReport(VENUE, cl, ReportKind.STATUS, quantity=qty, price=price, **common)]
        if exec_type == "new":
            return [VenueReport(VENUE, cl, ReportKind.ACK, quantity=qty, price=price, **common)]
        if exec_type == "trade":
            fee = Decimal(0)
            fee_asset = None
            fees = item.get("fees") or []
            for f in fees:
                if isinstance(f, Mapping):
                    fee += _dec(f.get("qty")) or Decimal(0)
                    fee_asset = str(f.get("asset")) if f.get("asset") is not None else fee_asset
            liq = item.get("liquidity_ind")
            return [
                VenueReport(
                    VENUE,
                    cl,
                    ReportKind.FILL,
                    trade_id=str(item.get("exec_id", "")),
                    last_qty=_dec(item.get("last_qty")),
                    last_price=_dec(item.get("last_price")),
                    fee=fee if fees else None,
                    fee_asset=fee_asset,
                    liquidity={"m": "maker", "t": "taker"}.get(str(liq)) if liq else None,
                    **common,
                )
            ]
        if exec_type == "canceled":
            return [VenueReport(VENUE, cl, ReportKind.CANCELED, reason=reason, **common)]
        if exec_type == "expired":
            return [VenueReport(VENUE, cl, ReportKind.EXPIRED, reason=reason, **common)]
        if exec_type == "amended":
            return [VenueReport(VENUE, cl, ReportKind.AMENDED, quantity=qty, price=price, **common)]
        if exec_type in ("filled", "restated", "status"):
            return [VenueReport(VENUE, cl, ReportKind.STATUS, quantity=qty, price=price, **common)]
        return []  # pending_new, iceberg_refill: nothing to apply


def _ws_json(obj: object) -> str:
    """JSON with Decimals as JSON numbers written digit for digit (WS v2 takes numbers)."""
    if isinstance(obj, Decimal):
        return _plain(obj)
    if isinstance(obj, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_ws_json(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_ws_json(v) for v in obj) + "]"
    return json.dumps(obj)


_WS_METHODS: Mapping[str, Op] = {
    "add_order": Op.PLACE,
    "cancel_order": Op.CANCEL,
    "amend_order": Op.AMEND,
}
"""WS v2 order-entry methods and the REST operation each one replaces."""

_TOKEN_TTL_S = 900.0
"""A token's validity for a first connection when GetWebSocketsToken does not say (`expires`)."""
_TOKEN_RENEW_AT = 2 / 3
"""WS order entry fetches a new token after this share of the old one's validity."""


def _ws_request_text(method: str, params: Mapping[str, Any], token: str, req_id: int) -> str:
    """A WS v2 request: `{"method", "params": {..., "token"}, "req_id"}`, numbers exact."""
    return _ws_json({"method": method, "params": {**params, "token": token}, "req_id": req_id})


def ws_answer_error(msg: Mapping[str, Any]) -> str:
    """The error string of a refused WS v2 answer (`error` is a string; a list is read too)."""
    raw = msg.get("error")
    if isinstance(raw, list | tuple):
        raw = next((str(e) for e in raw if str(e)), None)
    return str(raw) if raw else "refused"


def ws_answer_as_rest(op: Op, msg: Mapping[str, Any]) -> HttpResponse:
    """The REST answer equivalent to a WS v2 order-entry answer, for `parse_place` & co.

    `success:false` → `{"error": [<error>]}` (HTTP 200, as Kraken answers REST refusals), so
    `check` classifies it by `ERRORS` exactly as the REST refusal. `success:true` →
    `add_order`: `{"txid": [order_id]}`; `cancel_order`: `{"count": 1}`; `amend_order`:
    `{"amend_id": ...}`.
    """
    if msg.get("success") is not True:
        body: dict[str, Any] = {"error": [ws_answer_error(msg)]}
    else:
        result = msg.get("result")
        got: Mapping[str, Any] = result if isinstance(result, Mapping) else {}
        rest: dict[str, Any]
        if op is Op.PLACE:
            rest = {"txid": [str(got["order_id"])]} if got.get("order_id") else {}
        elif op is Op.CANCEL:
            rest = {"count": 1}
        else:
            rest = {"amend_id": str(got.get("amend_id") or "")}
        body = {"error": [], "result": rest}
    return HttpResponse(200, {}, json.dumps(body).encode())


class KrakenPrivateStream(PrivateStream):
    """WS v2 `executions`: token via REST, subscribe with it, app-level ping.

    The same connection can carry WS order entry (`add_order`, `amend_order`, `cancel_order`,
    https://docs.kraken.com/api/docs/websocket-v2/add_order and siblings): build the requests
    with `add_order_message` / `amend_order_message` / `cancel_order_message` (the params of
    `Adapter.ws_add_order_params` & co, as `WsOrderEntry` sends them); a refused `add_order`
    comes back from `on_message` as a REJECTED report, other refusals are kept in `failures`
    (the order's state is unchanged by them). For request / answer order entry with the REST
    path's outcomes, use `WsOrderEntry` (its own connection) instead.
    """

    keepalive_s: ClassVar[float] = 20.0

    def __init__(self, adapter: Adapter, symbols: Sequence[str]) -> None:
        self._adapter = adapter
        self._symbols = tuple(symbols)
        self._token: str | None = None
        self._req = 0
        self._pending_add: dict[int, Order] = {}
        self.failures: list[tuple[str, str]] = []
        """(method, error) of refused amend / cancel requests, oldest first."""

    async def prepare(self, call: RestCaller) -> None:
        """Fetches a WebSocket token (GetWebSocketsToken)."""
        self._token, _ = await self._adapter.ws_token(call)

    def url(self) -> str:
        """The authenticated WS v2 URL."""
        return self._adapter.endpoints.private_ws_url

    def open_messages(self) -> list[str]:
        """Subscribe to `executions` with the token (open orders in the snapshot)."""
        if self._token is None:
            raise AuthError("kraken: prepare() must fetch a token first", venue=VENUE)
        self._req += 1
        msg = {
            "method": "subscribe",
            "params": {
                "channel": "executions",
                "token": self._token,
                "snap_orders": True,
                "snap_trades": False,
                "order_status": True,
            },
            "req_id": self._req,
        }
        return [json.dumps(msg, separators=(",", ":"))]

    def keepalive(self) -> str | None:
        """An application-level ping (the server also sends heartbeats each second)."""
        self._req += 1
        return json.dumps({"method": "ping", "req_id": self._req}, separators=(",", ":"))

    def _request(self, method: str, params: Mapping[str, Any]) -> tuple[int, str]:
        if self._token is None:
            raise AuthError("kraken: prepare() must fetch a token first", venue=VENUE)
        self._req += 1
        return self._req, _ws_request_text(method, params, self._token, self._req)

    def add_order_message(self, order: Order) -> str:
        """A WS v2 `add_order` request (`Adapter.ws_add_order_params`: as `Adapter.place`)."""
        req_id, text = self._request("add_order", self._adapter.ws_add_order_params(order))
        self._pending_add[req_id] = order
        return text

    def amend_order_message(self, order: Order, amend: Amend) -> str:
        """A WS v2 `amend_order` request (by `order_id` when known, else `cl_ord_id`)."""
        return self._request("amend_order", self._adapter.ws_amend_order_params(order, amend))[1]

    def cancel_order_message(self, order: Order) -> str:
        """A WS v2 `cancel_order` request (by `order_id` when known, else `cl_ord_id`)."""
        return self._request("cancel_order", self._adapter.ws_cancel_order_params(order))[1]

    def _order_reply(self, method: str, msg: Mapping[str, Any]) -> list[VenueReport]:
        req_id = msg.get("req_id")
        order = self._pending_add.pop(req_id, None) if isinstance(req_id, int) else None
        result = msg.get("result") or {}
        if msg.get("success") is True:
            if order is not None and isinstance(result, Mapping) and result.get("order_id"):
                self._adapter.remember(str(result["order_id"]), order.client_order_id)
            return []
        error = ws_answer_error(msg)
        if method == "add_order" and order is not None:
            return [
                VenueReport(
                    VENUE,
                    order.client_order_id,
                    ReportKind.REJECTED,
                    symbol=order.symbol,
                    side=order.side,
                    state=OrderState.REJECTED,
                    reason=error,
                )
            ]
        self.failures.append((method, error))
        return []

    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes one message.

        Subscribe answers, pongs, heartbeats, status, executions, and answers to WS order entry.
        """
        ev = StreamEvents()
        try:
            msg = _loads(data)
        except ValueError:
            ev.error = RetryableError("kraken: unreadable stream message", venue=VENUE)
            return ev
        if not isinstance(msg, Mapping):
            return ev
        method = msg.get("method")
        if method == "subscribe":
            if msg.get("success") is True:
                ev.ready = True
            else:
                text = str(msg.get("error", "subscribe refused"))
                hit = classify(text)
                cls: ErrorClass = hit[0] if hit else AuthError
                ev.error = cls(f"kraken: {text}", venue=VENUE, code=text)
            return ev
        if method in ("add_order", "amend_order", "cancel_order"):
            ev.reports.extend(self._order_reply(str(method), msg))
            return ev
        if msg.get("channel") == "executions":
            snapshot = msg.get("type") == "snapshot"
            for item in msg.get("data") or []:
                if isinstance(item, Mapping):
                    ev.reports.extend(self._adapter.execution_reports(item, snapshot=snapshot))
        return ev
