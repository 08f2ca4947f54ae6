"""Coinbase Advanced Trade: the trading adapter (REST v3 brokerage API + `user` WebSocket channel).

Sources (read 2026-11):

* Create order — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/create-order
  (`POST /api/v3/brokerage/orders`, one `order_configuration` key per order type and TIF).
* Edit order — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/edit-order
  (`POST /api/v3/brokerage/orders/edit`: new `price` / `size` of a GTC limit order; ids kept).
* Cancel orders — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/cancel-orders
  (`POST /api/v3/brokerage/orders/batch_cancel`, by venue `order_ids` only).
* Get order — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/get-order
* List orders — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-orders
* List fills — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-fills
* Server time — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-server-time
* Public product — https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-public-product
* Rate limits — https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/rate-limits
  (REST: 30 requests/s per user on private endpoints, 10 requests/s per IP on public ones).
* Status codes — https://docs.cdp.coinbase.com/coinbase-app/api-architecture/status-codes
* WebSocket — https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
  and https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/user (`user`
  channel, `heartbeats` channel; user data at `wss://advanced-trade-ws-user.coinbase.com`).
* JWT auth — https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication
  (the signer, `venuegate.auth.coinbase.CoinbaseSigner`).

Facts this adapter is built on:

* Client order ids: a repeated `client_order_id` does not create a second order — the venue
  answers with the order that already has it ("If the ID provided is not unique, the order will not
  be created and the order with this ID will be returned instead", create-order docs). Resending an
  UNKNOWN order with the same id is therefore safe (`duplicate_client_ids_rejected = True`: the
  venue never makes a duplicate), and no duplicate-id error code exists.
* Query by client order id: no endpoint filters on it. `query` uses `GET
  orders/historical/{order_id}` when the venue order id is known, otherwise lists the product's
  recent orders (`orders/historical/batch`, newest first, one page of `QUERY_PAGE`) and picks the
  client id out of them; an order older than that page reads as NOT_FOUND.
* Cancel works by venue order id only. Advanced Trade has no cancel-all endpoint: `cancel_all`
  batch-cancels the open orders this adapter knows of (from place answers, queries, open-order
  listings and the stream), and raises `ConfigError` when it knows none — call `open_orders`
  first after a restart so the list is complete.
* Dead-man switch: none in Advanced Trade (`dead_man` returns None; the engine cancels itself).
* The `user` channel reports cumulative quantities, not executions (no trade ids). Its fills
  become STATUS reports with `filled_qty`; FILL reports (venue `trade_id`, price, size,
  commission) come from the fills listing (`fills` / `parse_fills`), which the engine reconciles
  against the stream's cumulative quantity.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from venuegate.auth._base import ParamValue, Signer
from venuegate.auth.coinbase import CoinbaseSigner
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    ConfigError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.priority import Priority, RequestCost
from venuegate.net.ratemodel import RateModel, Window, WindowKind
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.venues.base import (
    Amend,
    AmendMode,
    Endpoints,
    HttpCall,
    HttpResponse,
    Op,
    PrivateStream,
    StreamEvents,
    VenueAdapter,
    VenueStatus,
)

__all__ = ["ENDPOINTS", "ERRORS", "RATE_MODEL", "Adapter", "CoinbaseUserStream"]

VENUE = "coinbase"
_BROKERAGE = "/api/v3/brokerage"
QUERY_PAGE = 250
"""Orders fetched when a query has only the client order id."""

ENDPOINTS: Mapping[str, Endpoints] = {
    # REST: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/introduction
    # User-data WebSocket: https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
    "production": Endpoints(
        rest_url="https://api.coinbase.com",
        private_ws_url="wss://advanced-trade-ws-user.coinbase.com",
    ),
    # Advanced Trade's "sandbox" serves static mocked answers to a subset of REST calls; JWTs
    # for it name its host: `signer("coinbase", ..., host="api-sandbox.coinbase.com")`
    # (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/sandbox); it has no
    # private WebSocket, so the production stream URL is kept and orders never match there.
    "sandbox": Endpoints(
        rest_url="https://api-sandbox.coinbase.com",
        private_ws_url="wss://advanced-trade-ws-user.coinbase.com",
    ),
}
"""Where Advanced Trade is reached."""

RATE_MODEL = RateModel(
    venue=VENUE,
    windows=(
        # "private endpoints ... 30 requests per second" per user (rate-limits page).
        Window("PRIVATE", 30, 1.0, WindowKind.SLIDING, reserve={Priority.CANCEL: 0.1}),
        # "public endpoints ... 10 requests per second" per IP (rate-limits page).
        Window("PUBLIC", 10, 1.0, WindowKind.SLIDING),
    ),
    # Advanced Trade sends no usage headers; 429 is the only signal.
    used_headers={},
    ban_statuses=frozenset(),  # no IP bans: a 429 is all the venue says
)
"""Advanced Trade's REST windows."""

type _ErrorRow = tuple[type[VenueError], str]

ERRORS: Mapping[str, _ErrorRow] = {
    # --- create order: `error_response.error` / `new_order_failure_reason` (create-order docs,
    # NewOrderFailureReason enum); answered with HTTP 200 and "success": false.
    "UNKNOWN_FAILURE_REASON": (FatalError, "unknown failure reason"),
    "UNSUPPORTED_ORDER_CONFIGURATION": (FatalError, "unsupported order configuration"),
    "INVALID_SIDE": (FatalError, "invalid side"),
    "INVALID_PRODUCT_ID": (FatalError, "invalid product id"),
    "INVALID_SIZE_PRECISION": (FatalError, "invalid size precision"),
    "INVALID_PRICE_PRECISION": (FatalError, "invalid price precision"),
    "INSUFFICIENT_FUND": (FatalError, "insufficient fund"),
    "INVALID_LEDGER_BALANCE": (FatalError, "invalid ledger balance"),
    "ORDER_ENTRY_DISABLED": (VenueUnavailableError, "order entry disabled (cancel-only)"),
    "INELIGIBLE_PAIR": (FatalError, "ineligible pair"),
    "INVALID_LIMIT_PRICE_POST_ONLY": (FatalError, "post-only limit price would take liquidity"),
    "INVALID_LIMIT_PRICE": (FatalError, "invalid limit price"),
    "INVALID_NO_LIQUIDITY": (FatalError, "no liquidity"),
    "INVALID_REQUEST": (FatalError, "invalid request"),
    "COMMANDER_REJECTED_NEW_ORDER": (FatalError, "rejected by the matching engine"),
    "INSUFFICIENT_FUNDS": (FatalError, "insufficient funds"),
    # preview failure reasons that come with a failed create / edit
    "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY": (FatalError, "post-only limit price would take"),
    "PREVIEW_INSUFFICIENT_FUND": (FatalError, "insufficient fund"),
    "PREVIEW_INVALID_SIZE_PRECISION": (FatalError, "invalid size precision"),
    "PREVIEW_INVALID_PRICE_PRECISION": (FatalError, "invalid price precision"),
    "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL": (FatalError, "base size too small"),
    # --- cancel: `results[].failure_reason` (cancel-orders docs, CancelOrderFailureReason).
    "UNKNOWN_CANCEL_ORDER": (OrderNotFoundError, "unknown order"),
    "INVALID_CANCEL_REQUEST": (FatalError, "invalid cancel request (order not open)"),
    "ORDER_IS_FILLED": (FatalError, "order is filled"),
    "DUPLICATE_CANCEL_REQUEST": (FatalError, "cancel already requested"),
    "COMMANDER_REJECTED_CANCEL_ORDER": (FatalError, "cancel rejected by the matching engine"),
    "ORDER_IS_BEING_REPLACED": (RetryableError, "order is being edited; retry the cancel"),
    # --- edit: `errors[].edit_failure_reason` (edit-order docs, EditOrderFailureReason).
    "ORDER_NOT_FOUND": (OrderNotFoundError, "order not found"),
    "CANNOT_EDIT_TO_BELOW_FILLED_SIZE": (FatalError, "new size below the filled size"),
    "ONLY_LIMIT_ORDER_EDITS_SUPPORTED": (FatalError, "only GTC limit orders can be edited"),
    "INVALID_EDITED_SIZE": (FatalError, "invalid edited size"),
    "INVALID_EDITED_PRICE": (FatalError, "invalid edited price"),
    "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST": (FatalError, "edit equals the original order"),
    "ONLY_OPEN_ORDERS_CAN_BE_EDITED": (FatalError, "only open orders can be edited"),
    "COMMANDER_REJECTED_EDIT_ORDER": (FatalError, "edit rejected by the matching engine"),
    "UNKNOWN_EDIT_ORDER_FAILURE_REASON": (FatalError, "edit failed (unknown reason)"),
    # --- HTTP / gRPC-gateway errors (`{"error": CODE, "message": ...}`; status-codes page).
    "INVALID_ARGUMENT": (FatalError, "400 invalid argument"),
    "UNAUTHENTICATED": (AuthError, "401 couldn't authenticate your request"),
    "authentication_error": (AuthError, "401 invalid auth"),
    "request timestamp expired": (ClockSkewError, "401 request timestamp expired"),
    "PERMISSION_DENIED": (AuthError, "403 key lacks the permission"),
    "NOT_FOUND": (OrderNotFoundError, "404 order with this orderID was not found"),
    "rate_limit_exceeded": (RateLimitedError, "429 too many requests"),
    "RESOURCE_EXHAUSTED": (RateLimitedError, "429 resource exhausted"),
    "UNAVAILABLE": (VenueUnavailableError, "503 service unavailable (throttled or maintenance)"),
    "INTERNAL": (UnknownOutcomeError, "500 internal server error"),
    "UNKNOWN": (UnknownOutcomeError, "500 unknown error"),
    "DEADLINE_EXCEEDED": (UnknownOutcomeError, "504 deadline exceeded"),
}
"""Error code → (class, the docs' words). Codes of the unknown-outcome class are retryable
after non-state-changing calls."""

_STATUS: Mapping[str, OrderState] = {
    "PENDING": OrderState.PENDING_NEW,
    "OPEN": OrderState.NEW,
    "QUEUED": OrderState.NEW,
    "FILLED": OrderState.FILLED,
    "CANCELLED": OrderState.CANCELED,
    "CANCEL_QUEUED": OrderState.PENDING_CANCEL,
    "EXPIRED": OrderState.EXPIRED,
    "FAILED": OrderState.REJECTED,
}
"""Advanced Trade order status → ours (OrderStatus enum of list-orders / the `user` channel)."""

_PLACEHOLDER_REASONS = frozenset(
    {
        "",
        "UNKNOWN_FAILURE_REASON_UNSET",
        "UNKNOWN_PREVIEW_FAILURE_REASON",
        "UNKNOWN_EDIT_ORDER_FAILURE_REASON",
        "UNKNOWN_CANCEL_FAILURE_REASON",
    }
)


def _num(value: Decimal) -> str:
    """A Decimal in plain notation (never exponent form)."""
    return format(value, "f")


def _dec(value: object) -> Decimal | None:
    """A venue number (string, or Decimal from parse_float) as Decimal; "" and None → None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    raise ValueError(f"not a number: {type(value).__name__}")


def _ms(value: object) -> int:
    """An RFC 3339 time ("2023-01-16T23:37:23.947030Z") in ms since the epoch; 0 when absent."""
    if not isinstance(value, str) or not value:
        return 0
    text = value.replace("Z", "+00:00")
    head, dot, frac = text.partition(".")
    if dot:
        digits = "".join(ch for ch in frac if ch.isdigit())
        tz = frac[len(digits) :]
        text = f"{head}.{digits[:6]}{tz}"
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _iso(ms: int) -> str:
    """Ms since the epoch as RFC 3339 with a Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _loads(body: bytes) -> Any:
    """JSON with every fractional number as Decimal; None when not JSON."""
    try:
        return json.loads(body, parse_float=Decimal) if body else None
    except ValueError:
        return None


def _side(value: object) -> Side | None:
    if isinstance(value, str) and value.upper() in ("BUY", "SELL"):
        return Side(value.lower())
    return None


def _config_numbers(config: object) -> tuple[Decimal | None, Decimal | None]:
    """(base_size, limit_price) of an `order_configuration`."""
    if not isinstance(config, dict):
        return None, None
    for body in config.values():
        if isinstance(body, dict):
            return _dec(body.get("base_size")), _dec(body.get("limit_price"))
    return None, None


class Adapter(VenueAdapter):
    """Coinbase Advanced Trade.

    Args:
        endpoints: where to connect (`ENDPOINTS["production"]`, or the simulator's URLs).
        signer: a `CoinbaseSigner` (CDP key name + EC / Ed25519 key); None for public calls only.
        status_product: the product whose trading status `status()` reports.
    """

    venue: ClassVar[str] = VENUE
    amend_mode: ClassVar[AmendMode] = AmendMode.IN_PLACE
    duplicate_client_ids_rejected: ClassVar[bool] = True
    client_id_max_len: ClassVar[int] = 36
    rate_model: ClassVar[RateModel] = RATE_MODEL

    def __init__(
        self,
        *,
        endpoints: Endpoints,
        signer: Signer | None = None,
        status_product: str = "BTC-USD",
    ) -> None:
        super().__init__(endpoints=endpoints, signer=signer)
        self.status_product = status_product
        self._open: dict[str, tuple[str, str]] = {}  # venue order id → (client id, symbol)
        self._client_ids: dict[str, str] = {}  # venue order id → client id (open or closed)

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        """A UUID, the docs' conventional `client_order_id`.

        Derived from (`session`, `n`) so a recovering engine regenerates the same id.
        """
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"venuegate:{session}:{n}"))

    def _remember(self, report: VenueReport) -> None:
        """Tracks open orders (for cancel-all) and venue → client ids (for fills)."""
        vid = report.venue_order_id
        if not vid:
            return
        if report.client_order_id:
            self._client_ids[vid] = report.client_order_id
        terminal = report.kind in (
            ReportKind.CANCELED,
            ReportKind.EXPIRED,
            ReportKind.REJECTED,
        ) or (report.state is not None and report.state.is_terminal)
        if terminal:
            self._open.pop(vid, None)
        elif report.kind in (ReportKind.ACK, ReportKind.STATUS, ReportKind.AMENDED):
            symbol = report.symbol or self._open.get(vid, ("", ""))[1]
            self._open[vid] = (report.client_order_id, symbol)

    def _cost(self, priority: Priority, endpoint: str, window: str = "PRIVATE") -> RequestCost:
        return RequestCost(priority, {window: 1}, endpoint=endpoint)

    # -- requests ------------------------------------------------------------------------
    def _configuration(  # noqa: PLR0911 - one configuration per type and TIF
        self, order: Order
    ) -> dict[str, dict[str, object]]:
        tif = order.time_in_force
        size = _num(order.quantity)
        if order.reduce_only:
            raise ConfigError("Advanced Trade spot orders have no reduce-only flag", venue=VENUE)
        if order.type is OrderType.MARKET:
            if tif in (TimeInForce.GTC, TimeInForce.IOC):
                return {"market_market_ioc": {"base_size": size}}
            if tif is TimeInForce.FOK:
                return {"market_market_fok": {"base_size": size}}
            raise ConfigError(f"Advanced Trade market orders cannot be {tif}", venue=VENUE)
        if order.type is not OrderType.LIMIT:
            raise ConfigError(
                f"{order.type} orders need a stop price the order model lacks", venue=VENUE
            )
        assert order.price is not None  # noqa: S101 - the model requires it for limits
        price = _num(order.price)
        if tif is TimeInForce.GTC:
            return {
                "limit_limit_gtc": {"base_size": size, "limit_price": price, "post_only": False}
            }
        if tif is TimeInForce.POST_ONLY:
            return {"limit_limit_gtc": {"base_size": size, "limit_price": price, "post_only": True}}
        if tif is TimeInForce.IOC:
            return {"sor_limit_ioc": {"base_size": size, "limit_price": price}}
        if tif is TimeInForce.FOK:
            return {"limit_limit_fok": {"base_size": size, "limit_price": price}}
        assert order.expire_at is not None  # noqa: S101 - the model requires it for GTD
        end = order.expire_at if order.expire_at.tzinfo else order.expire_at.replace(tzinfo=UTC)
        return {
            "limit_limit_gtd": {
                "base_size": size,
                "limit_price": price,
                "end_time": _iso(int(end.timestamp() * 1000)),
                "post_only": False,
            }
        }

    def place(self, order: Order) -> HttpCall:
        """`POST /api/v3/brokerage/orders` with the order's `order_configuration`."""
        body = {
            "client_order_id": order.client_order_id,
            "product_id": order.symbol,
            "side": order.side.value.upper(),
            "order_configuration": self._configuration(order),
        }
        return HttpCall(
            Op.PLACE,
            "POST",
            f"{_BROKERAGE}/orders",
            body=json.dumps(body, separators=(",", ":")).encode(),
            cost=self._cost(Priority.NEW, "orders"),
        )

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """One ACK with the venue order id (fills follow on the stream / fills listing)."""
        self.check(Op.PLACE, resp)
        data = _loads(resp.body) or {}
        ok = data.get("success_response") or {}
        vid = str(ok.get("order_id") or data.get("order_id") or "") or None
        report = VenueReport(
            venue=VENUE,
            client_order_id=str(ok.get("client_order_id") or order.client_order_id),
            kind=ReportKind.ACK,
            venue_order_id=vid,
            symbol=str(ok.get("product_id") or order.symbol),
            side=_side(ok.get("side")) or order.side,
            state=OrderState.NEW,
            quantity=order.quantity,
            price=order.price,
        )
        self._remember(report)
        return [report]

    def _need_vid(self, order: Order, what: str) -> str:
        if not order.venue_order_id:
            raise OrderNotFoundError(
                f"{VENUE}: {what} works by venue order id; query the order first",
                venue=VENUE,
            )
        return order.venue_order_id

    def cancel_orders(self, venue_order_ids: Sequence[str], *, op: Op = Op.CANCEL) -> HttpCall:
        """`POST /api/v3/brokerage/orders/batch_cancel` for `venue_order_ids`."""
        body = json.dumps({"order_ids": list(venue_order_ids)}, separators=(",", ":")).encode()
        return HttpCall(
            op,
            "POST",
            f"{_BROKERAGE}/orders/batch_cancel",
            body=body,
            cost=self._cost(Priority.CANCEL, "orders"),
        )

    def cancel(self, order: Order) -> HttpCall:
        """Batch-cancel of the one order (Advanced Trade cancels by venue order id only)."""
        return self.cancel_orders([self._need_vid(order, "cancel")])

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED for the order."""
        self.check(Op.CANCEL, resp)
        report = VenueReport(
            venue=VENUE,
            client_order_id=order.client_order_id,
            kind=ReportKind.CANCELED,
            venue_order_id=order.venue_order_id,
            symbol=order.symbol,
            state=OrderState.CANCELED,
        )
        self._remember(report)
        return [report]

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """Batch-cancel of every open order this adapter knows of (of `symbol`, or all).

        Raises:
            ConfigError: no open order is known (Advanced Trade has no cancel-all endpoint; list
                open orders first).
        """
        ids = [v for v, (_, s) in self._open.items() if symbol is None or s == symbol]
        if not ids:
            raise ConfigError(
                "Advanced Trade has no cancel-all endpoint and no open order is known here; "
                "list open orders first",
                venue=VENUE,
            )
        return self.cancel_orders(ids, op=Op.CANCEL_ALL)

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED for each order the venue canceled (failures are left to the stream)."""
        self.check(Op.CANCEL_ALL, resp)
        out: list[VenueReport] = []
        for row in (_loads(resp.body) or {}).get("results", []):
            vid = str(row.get("order_id", ""))
            if not row.get("success") or not vid:
                continue
            cid, symbol = self._open.get(vid, (self._client_ids.get(vid, ""), ""))
            report = VenueReport(
                venue=VENUE,
                client_order_id=cid,
                kind=ReportKind.CANCELED,
                venue_order_id=vid,
                symbol=symbol or None,
                state=OrderState.CANCELED,
            )
            self._remember(report)
            out.append(report)
        return out

    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """`POST /api/v3/brokerage/orders/edit` with the new `price` and `size`.

        Both are sent; the unchanged one repeats the order's value.
        """
        if order.type is not OrderType.LIMIT or order.time_in_force not in (
            TimeInForce.GTC,
            TimeInForce.POST_ONLY,
        ):
            raise ConfigError("Advanced Trade edits only GTC limit orders", venue=VENUE)
        price = amend.price if amend.price is not None else order.price
        size = amend.quantity if amend.quantity is not None else order.quantity
        assert price is not None  # noqa: S101 - a limit order has a price
        body = {
            "order_id": self._need_vid(order, "edit"),
            "price": _num(price),
            "size": _num(size),
        }
        return HttpCall(
            Op.AMEND,
            "POST",
            f"{_BROKERAGE}/orders/edit",
            body=json.dumps(body, separators=(",", ":")).encode(),
            cost=self._cost(Priority.AMEND, "orders"),
        )

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """AMENDED with the new quantity and price."""
        self.check(Op.AMEND, resp)
        report = VenueReport(
            venue=VENUE,
            client_order_id=order.client_order_id,
            kind=ReportKind.AMENDED,
            venue_order_id=order.venue_order_id,
            symbol=order.symbol,
            quantity=amend.quantity if amend.quantity is not None else order.quantity,
            price=amend.price if amend.price is not None else order.price,
        )
        self._remember(report)
        return [report]

    def query(self, order: Order) -> HttpCall:
        """`GET orders/historical/{order_id}`, or the product's recent orders.

        The listing is used when only the client order id is known (no endpoint filters by it).
        """
        if order.venue_order_id:
            return HttpCall(
                Op.QUERY,
                "GET",
                f"{_BROKERAGE}/orders/historical/{order.venue_order_id}",
                cost=self._cost(Priority.QUERY, "orders"),
            )
        params: tuple[tuple[str, ParamValue], ...] = (
            ("product_ids", order.symbol),
            ("limit", QUERY_PAGE),
        )
        return HttpCall(
            Op.QUERY,
            "GET",
            f"{_BROKERAGE}/orders/historical/batch",
            params=params,
            cost=self._cost(Priority.QUERY, "orders"),
        )

    def _order_report(self, row: Mapping[str, Any]) -> VenueReport:
        """STATUS from an order object (get-order / list-orders)."""
        size, price = _config_numbers(row.get("order_configuration"))
        filled = _dec(row.get("filled_size")) or Decimal(0)
        state = _STATUS.get(str(row.get("status", "")), OrderState.UNKNOWN)
        if state is OrderState.NEW and filled > 0:
            state = OrderState.PARTIALLY_FILLED
        reason = row.get("cancel_message") or row.get("reject_message") or None
        report = VenueReport(
            venue=VENUE,
            client_order_id=str(row.get("client_order_id", "")),
            kind=ReportKind.STATUS,
            venue_order_id=str(row.get("order_id", "")) or None,
            symbol=row.get("product_id"),
            side=_side(row.get("side")),
            state=state,
            quantity=size,
            price=price,
            filled_qty=filled,
            last_price=_dec(row.get("average_filled_price")) if filled > 0 else None,
            fee=_dec(row.get("total_fees")),
            reason=str(reason) if reason else None,
            ts_ms=_ms(row.get("created_time")),
        )
        self._remember(report)
        return report

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS, or NOT_FOUND.

        NOT_FOUND answers the venue's 404 "order with this orderID was not found", or a client id
        absent from the recent orders.
        """
        not_found = VenueReport(
            venue=VENUE,
            client_order_id=order.client_order_id,
            kind=ReportKind.NOT_FOUND,
            venue_order_id=order.venue_order_id,
            symbol=order.symbol,
        )
        if resp.status in (400, 404):
            data = _loads(resp.body)
            code = str(data.get("error", "")) if isinstance(data, dict) else ""
            text = json.dumps(data, default=str) if data is not None else ""
            if resp.status == 404 or code == "NOT_FOUND" or "not found" in text.lower():
                return [not_found]
        self.check(Op.QUERY, resp)
        data = _loads(resp.body) or {}
        if "order" in data:
            return [self._order_report(data["order"])]
        for row in data.get("orders", []):
            if row.get("client_order_id") == order.client_order_id:
                return [self._order_report(row)]
        return [not_found]

    def open_orders(self, symbol: str | None) -> HttpCall:
        """`GET orders/historical/batch?order_status=OPEN` (of `symbol`)."""
        params: list[tuple[str, ParamValue]] = [("order_status", "OPEN")]
        if symbol is not None:
            params.append(("product_ids", symbol))
        params.append(("limit", 1000))
        return HttpCall(
            Op.OPEN_ORDERS,
            "GET",
            f"{_BROKERAGE}/orders/historical/batch",
            params=tuple(params),
            cost=self._cost(Priority.QUERY, "orders"),
        )

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per open order (also refreshes the cancel-all list)."""
        self.check(Op.OPEN_ORDERS, resp)
        rows = (_loads(resp.body) or {}).get("orders", [])
        reports = [self._order_report(row) for row in rows]
        listed = {r.venue_order_id for r in reports}
        symbols = {r.symbol for r in reports}
        for vid, (_, sym) in list(self._open.items()):
            if vid not in listed and (not symbols or sym in symbols):
                # The venue no longer lists it as open.
                self._open.pop(vid, None)
        return reports

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """`GET orders/historical/fills?product_ids=..&start_sequence_timestamp=..`."""
        params: tuple[tuple[str, ParamValue], ...] = (
            ("product_ids", symbol),
            ("start_sequence_timestamp", _iso(since_ms)),
            ("limit", 1000),
        )
        return HttpCall(
            Op.FILLS,
            "GET",
            f"{_BROKERAGE}/orders/historical/fills",
            params=params,
            cost=self._cost(Priority.QUERY, "fills"),
        )

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per execution, oldest first.

        Fills carry the venue order id, not the client id: it is resolved from the orders this
        adapter has seen ("" when unknown).
        """
        self.check(Op.FILLS, resp)
        out: list[VenueReport] = []
        for row in (_loads(resp.body) or {}).get("fills", []):
            vid = str(row.get("order_id", ""))
            symbol = str(row.get("product_id", ""))
            size = _dec(row.get("size")) or Decimal(0)
            price = _dec(row.get("price")) or Decimal(0)
            if row.get("size_in_quote") and price:
                size = size / price
            liquidity = str(row.get("liquidity_indicator", "")).lower()
            out.append(
                VenueReport(
                    venue=VENUE,
                    client_order_id=self._client_ids.get(vid, ""),
                    kind=ReportKind.FILL,
                    venue_order_id=vid or None,
                    symbol=symbol or None,
                    side=_side(row.get("side")),
                    trade_id=str(row.get("trade_id", "")),
                    last_qty=size,
                    last_price=price,
                    fee=_dec(row.get("commission")),
                    fee_asset=symbol.partition("-")[2] or None,
                    liquidity=liquidity if liquidity in ("maker", "taker") else None,
                    ts_ms=_ms(row.get("trade_time")),
                )
            )
        return sorted(out, key=lambda r: (r.ts_ms, r.trade_id or ""))

    def server_time(self) -> HttpCall:
        """`GET /api/v3/brokerage/time` (public)."""
        return HttpCall(
            Op.TIME,
            "GET",
            f"{_BROKERAGE}/time",
            signed=False,
            cost=self._cost(Priority.QUERY, "time", "PUBLIC"),
        )

    def parse_server_time(self, resp: HttpResponse) -> int:
        """`epochMillis`."""
        self.check(Op.TIME, resp)
        data = _loads(resp.body) or {}
        return int(str(data["epochMillis"]))

    def status(self) -> HttpCall:
        """`GET /api/v3/brokerage/market/products/{status_product}` (public).

        The product's `status`, `cancel_only` and `trading_disabled` flags are Advanced Trade's
        only statement of trading health (platform incidents live on status.coinbase.com).
        """
        return HttpCall(
            Op.STATUS,
            "GET",
            f"{_BROKERAGE}/market/products/{self.status_product}",
            signed=False,
            cost=self._cost(Priority.QUERY, "status", "PUBLIC"),
        )

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """Trading unless the product is offline, cancel-only or trading-disabled."""
        self.check(Op.STATUS, resp)
        data = _loads(resp.body) or {}
        reasons = [
            name
            for name, bad in (
                ("cancel_only", data.get("cancel_only") is True),
                ("trading_disabled", data.get("trading_disabled") is True),
                (f"status {data.get('status')}", data.get("status") not in (None, "online")),
            )
            if bad
        ]
        return VenueStatus(trading=not reasons, reason=", ".join(reasons))

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall | None:
        """None: Advanced Trade has no dead-man switch (cancel-after) endpoint."""
        return None

    # -- errors --------------------------------------------------------------------------
    def _raise(self, op: Op, code: str, message: str, status: int) -> None:
        cls, words = ERRORS.get(code, (FatalError, "unlisted error"))
        if cls is UnknownOutcomeError and not op.changes_state:
            cls = RetryableError
        text = f"{VENUE}: {op} failed: {code} ({words})"
        if message and message != code:
            text += f": {message[:200]}"
        raise cls(text, venue=VENUE, code=code, http_status=status)

    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified error of an Advanced Trade answer.

        HTTP errors are classified by status and the body's `error` code; HTTP 200 answers to
        create / edit / cancel carry `"success": false` with the failure reason instead.
        """
        status = resp.status
        data = _loads(resp.body)
        body = data if isinstance(data, dict) else {}
        text = resp.body.decode("utf-8", "replace") if data is None else ""
        code = str(body.get("error", "") or "")
        message = str(body.get("message", "") or body.get("error_details", "") or text)
        errors = body.get("errors")
        if not code and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = str(errors[0].get("id", "") or "")
            message = str(errors[0].get("message", "") or message)
        if status == 429:
            retry = resp.headers.get("retry-after")
            raise RateLimitedError(
                f"{VENUE}: rate limited (HTTP 429)",
                retry_after=float(retry) if retry else None,
                venue=VENUE,
                code=code or "rate_limit_exceeded",
                http_status=429,
            )
        if status >= 500:
            if status == 503 or code == "UNAVAILABLE":
                self._raise(op, "UNAVAILABLE", message, status)
            self._raise(op, code if code in ERRORS else "INTERNAL", message, status)
        if status == 401:
            if "timestamp expired" in message.lower():
                self._raise(op, "request timestamp expired", message, status)
            self._raise(op, "UNAUTHENTICATED", message, status)
        if status == 403:
            self._raise(op, "PERMISSION_DENIED", message, status)
        if status == 404:
            self._raise(op, "NOT_FOUND", message, status)
        if status >= 400:
            self._raise(op, code or "INVALID_ARGUMENT", message, status)
        self._check_success(op, body, status)

    def _check_success(self, op: Op, body: Mapping[str, Any], status: int) -> None:
        if op is Op.PLACE and body.get("success") is False:
            err = body.get("error_response") or {}
            code = str(err.get("error") or err.get("new_order_failure_reason") or "")
            preview = str(err.get("preview_failure_reason") or "")
            generic = code in _PLACEHOLDER_REASONS or code not in ERRORS
            if (generic or code == "UNKNOWN_FAILURE_REASON") and preview in ERRORS:
                code = preview
            elif generic:
                code = code or "UNKNOWN_FAILURE_REASON"
            self._raise(op, code, str(err.get("message", "")), status)
        if op is Op.AMEND and body.get("success") is False:
            code = "UNKNOWN_EDIT_ORDER_FAILURE_REASON"
            for row in body.get("errors") or []:
                edit = str(row.get("edit_failure_reason", ""))
                preview = str(row.get("preview_failure_reason", ""))
                code = edit if edit not in _PLACEHOLDER_REASONS else preview or code
                if code in _PLACEHOLDER_REASONS:
                    code = "UNKNOWN_EDIT_ORDER_FAILURE_REASON"
                break
            self._raise(op, code, "", status)
        if op is Op.CANCEL:
            for row in body.get("results") or []:
                if row.get("success") is False:
                    reason = str(row.get("failure_reason", "")) or "INVALID_CANCEL_REQUEST"
                    self._raise(op, reason, "", status)

    # -- private stream ------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> CoinbaseUserStream:
        """The `user` + `heartbeats` subscription, authenticated with the signer's JWTs."""
        if not isinstance(self.signer, CoinbaseSigner):
            raise ConfigError("the Coinbase user channel needs a CoinbaseSigner", venue=VENUE)
        return CoinbaseUserStream(
            self.endpoints.private_ws_url, self.signer, symbols, on_report=self._remember
        )


class CoinbaseUserStream(PrivateStream):
    """The `user` channel: one JWT per subscribe message, `heartbeats` keeps it open.

    Order updates carry `status`, `cumulative_quantity`, `leaves_quantity`, `avg_price`,
    `limit_price`: the first OPEN sighting is an ACK, a changed cumulative quantity a STATUS
    with `filled_qty` (no trade ids on this channel — FILLs come from the fills listing), a
    changed price or total size with the same cumulative quantity an AMENDED; CANCELLED /
    EXPIRED / FAILED end the order. Snapshot orders become STATUS reports.
    """

    keepalive_s: ClassVar[float] = 30.0

    def __init__(
        self,
        url: str,
        signer: CoinbaseSigner,
        symbols: Sequence[str],
        *,
        on_report: Callable[[VenueReport], None] | None = None,
    ) -> None:
        self._url = url
        self._signer = signer
        self._symbols = list(symbols)
        self._on_report = on_report
        self._seen: dict[str, tuple[Decimal, Decimal | None, Decimal | None]] = {}
        self._ready = False
        self.last_sequence = -1

    def url(self) -> str:
        """The user-data WebSocket URL."""
        return self._url

    def _subscribe(self, channel: str) -> str:
        return json.dumps(
            {
                "type": "subscribe",
                "product_ids": self._symbols,
                "channel": channel,
                "jwt": self._signer.jwt(None),
            },
            separators=(",", ":"),
        )

    def open_messages(self) -> list[str]:
        """Subscribe to `heartbeats` and `user`, each with a fresh JWT.

        The docs ask for one JWT per message; each expires after two minutes.
        """
        return [self._subscribe("heartbeats"), self._subscribe("user")]

    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes one message."""
        events = StreamEvents(ready=self._ready)
        try:
            msg = json.loads(data, parse_float=Decimal)
        except ValueError:
            return events
        if not isinstance(msg, dict):
            return events
        if msg.get("type") == "error":
            text = str(msg.get("message", ""))
            cls: type[VenueError] = (
                AuthError if "auth" in text.lower() or "jwt" in text.lower() else RetryableError
            )
            events.error = cls(f"{VENUE}: user channel error: {text[:200]}", venue=VENUE)
            return events
        if msg.get("channel") != "user":
            return events
        seq = msg.get("sequence_num")
        if isinstance(seq, int):
            self.last_sequence = seq
        ts = _ms(msg.get("timestamp"))
        for event in msg.get("events", []):
            snapshot = event.get("type") == "snapshot"
            for row in event.get("orders", []):
                report = self._decode(row, snapshot, ts)
                if report is not None:
                    if self._on_report is not None:
                        self._on_report(report)
                    events.reports.append(report)
            if snapshot:
                self._ready = True
        events.ready = self._ready
        return events

    def _decode(self, row: Mapping[str, Any], snapshot: bool, ts: int) -> VenueReport | None:
        cid = str(row.get("client_order_id", ""))
        vid = str(row.get("order_id", "")) or None
        status = str(row.get("status", ""))
        cum = _dec(row.get("cumulative_quantity")) or Decimal(0)
        leaves = _dec(row.get("leaves_quantity"))
        price = _dec(row.get("limit_price"))
        avg = _dec(row.get("avg_price"))
        state = _STATUS.get(status)
        if state is None or state is OrderState.PENDING_NEW:
            return None
        total = cum + leaves if leaves is not None and state is OrderState.NEW else None
        if state is OrderState.NEW and cum > 0:
            state = OrderState.PARTIALLY_FILLED
        base: dict[str, Any] = {
            "venue": VENUE,
            "client_order_id": cid,
            "venue_order_id": vid,
            "symbol": row.get("product_id"),
            "side": _side(row.get("order_side")),
            "state": state,
            "filled_qty": cum,
            "ts_ms": ts,
        }
        prev = self._seen.get(cid)
        self._seen[cid] = (cum, total, price)
        if state in (OrderState.NEW, OrderState.PARTIALLY_FILLED, OrderState.PENDING_CANCEL):
            kind = ReportKind.STATUS
            if not snapshot and prev is None and cum == 0 and state is OrderState.NEW:
                kind = ReportKind.ACK
            elif prev is not None and prev[0] == cum and (prev[1], prev[2]) != (total, price):
                kind = ReportKind.AMENDED
            return VenueReport(
                kind=kind,
                quantity=total,
                price=price,
                last_price=avg if cum > 0 else None,
                **base,
            )
        if state is OrderState.FILLED:
            return VenueReport(kind=ReportKind.STATUS, price=price, last_price=avg, **base)
        kinds = {
            OrderState.CANCELED: ReportKind.CANCELED,
            OrderState.EXPIRED: ReportKind.EXPIRED,
            OrderState.REJECTED: ReportKind.REJECTED,
        }
        reason = row.get("cancel_reason") or row.get("reject_reason") or None
        return VenueReport(
            kind=kinds[state], price=price, reason=str(reason) if reason else None, **base
        )
