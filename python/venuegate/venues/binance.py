"""Binance spot trading adapter: REST order entry and the WebSocket API user data stream.

Sources (Binance spot API docs, developers.binance.com):

* Trading endpoints (new order, cancel, cancel-replace, keep-priority amend, query, open orders):
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints
* Account endpoints (`GET /api/v3/myTrades`):
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints
* General endpoints (`GET /api/v3/time`, `GET /api/v3/exchangeInfo`):
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints
* Error codes: https://developers.binance.com/docs/binance-spot-api-docs/errors
* HTTP return codes (4XX/418/429/5XX semantics):
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-api-information
* Limits (REQUEST_WEIGHT, ORDERS, RAW_REQUESTS; `X-MBX-USED-WEIGHT-1M`,
  `X-MBX-ORDER-COUNT-10S/1D`; 429 then 418 bans):
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits
* Keep-priority amend FAQ:
  https://developers.binance.com/docs/binance-spot-api-docs/faqs/order_amend_keep_priority
* User data stream over the WebSocket API (`userDataStream.subscribe.signature`, the preferred
  way; the REST listen key is deprecated and was discontinued for spot on 2026-02-20):
  https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/user-data-stream-requests
  and the events: https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream
* System status (wallet SAPI): https://developers.binance.com/docs/wallet/others/system-status

The adapter does no I/O (see `venuegate.venues.base`). Every number is parsed from the venue's
strings into `Decimal` exactly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal

from venuegate.auth._base import ParamValue, Signer
from venuegate.errors import (
    AuthError,
    BannedError,
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
    WsRequest,
)

__all__ = [
    "ENDPOINTS",
    "ERRORS",
    "RATE_MODEL",
    "WS_METHODS",
    "Adapter",
    "BinanceStream",
    "ErrorKind",
]

VENUE: Final = "binance"

ENDPOINTS: Final[Mapping[str, Endpoints]] = {
    # https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-api-information
    # (base endpoint https://api.binance.com; api1..api4 and api-gcp are alternatives) and
    # https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/general-api-information
    # (wss://ws-api.binance.com:443/ws-api/v3). The user data stream is served on the WebSocket
    # API, so the private stream URL is the WebSocket API URL.
    "production": Endpoints(
        rest_url="https://api.binance.com",
        private_ws_url="wss://ws-api.binance.com:443/ws-api/v3",
        ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
    ),
    # https://developers.binance.com/docs/binance-spot-api-docs/testnet/rest-api/general-api-information
    "testnet": Endpoints(
        rest_url="https://testnet.binance.vision",
        private_ws_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
        ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
    ),
}
"""Where Binance spot is reached."""

RATE_MODEL: Final = RateModel(
    venue=VENUE,
    windows=(
        # exchangeInfo `rateLimits` (limits.md): REQUEST_WEIGHT 6000 / 1 MINUTE (per IP),
        # ORDERS 50 / 10 SECOND and 160000 / 1 DAY (per account; the API FAQ and the
        # exchangeInfo examples — accounts may be granted more: read exchangeInfo),
        # RAW_REQUESTS 61000 / 5 MINUTE.
        Window(
            "REQUEST_WEIGHT",
            6000,
            60.0,
            WindowKind.FIXED,
            reserve={Priority.CANCEL: 0.05},
        ),
        Window("ORDERS_10S", 50, 10.0, WindowKind.FIXED),
        Window("ORDERS_1D", 160_000, 86_400.0, WindowKind.FIXED),
        Window("RAW_REQUESTS", 61_000, 300.0, WindowKind.FIXED),
        # SAPI endpoints have their own IP weight budget (12000 / minute).
        Window("SAPI_IP_WEIGHT", 12_000, 60.0, WindowKind.FIXED),
    ),
    used_headers={
        "x-mbx-used-weight-1m": "REQUEST_WEIGHT",
        "x-mbx-order-count-10s": "ORDERS_10S",
        "x-mbx-order-count-1d": "ORDERS_1D",
    },
    ban_statuses=frozenset({418}),
)
"""Binance spot's documented windows."""

type ErrorKind = Literal[
    "retryable",
    "unavailable",
    "fatal",
    "unknown",
    "rate",
    "auth",
    "clock",
    "duplicate",
    "not_found",
    "partial",
]


@dataclass(frozen=True, slots=True)
class _ErrorSpec:
    kind: ErrorKind
    words: str


ERRORS: Final[Mapping[int, _ErrorSpec]] = {
    # https://developers.binance.com/docs/binance-spot-api-docs/errors (docs' words)
    -1000: _ErrorSpec("unknown", "An unknown error occurred while processing the request."),
    -1001: _ErrorSpec(
        "unknown", "Internal error; unable to process your request. Please try again."
    ),
    -1002: _ErrorSpec("auth", "You are not authorized to execute this request."),
    -1003: _ErrorSpec("rate", "Too much request weight used / IP banned until %s."),
    -1006: _ErrorSpec(
        "unknown",
        "An unexpected response was received from the message bus. Execution status unknown.",
    ),
    -1007: _ErrorSpec(
        "unknown",
        "Timeout waiting for response from backend server. Send status unknown; execution "
        "status unknown.",
    ),
    -1008: _ErrorSpec(
        "unavailable",
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
    -1013: _ErrorSpec("fatal", "Invalid quantity / Filter failure: %s."),
    -1014: _ErrorSpec("fatal", "Unsupported order combination."),
    -1015: _ErrorSpec("rate", "Too many new orders; current limit is %s orders per %s."),
    -1016: _ErrorSpec("fatal", "This service is no longer available."),
    -1021: _ErrorSpec("clock", "Timestamp for this request is outside of the recvWindow."),
    -1022: _ErrorSpec("auth", "Signature for this request is not valid."),
    -1100: _ErrorSpec("fatal", "Illegal characters found in a parameter."),
    -1102: _ErrorSpec("fatal", "A mandatory parameter was not sent, was empty/null, or malformed."),
    -1111: _ErrorSpec("fatal", "Parameter '%s' has too much precision."),
    -1121: _ErrorSpec("fatal", "Invalid symbol."),
    -2010: _ErrorSpec("fatal", "NEW_ORDER_REJECTED (e.g. 'Duplicate order sent.')"),
    -2011: _ErrorSpec("not_found", "CANCEL_REJECTED ('Unknown order sent.')"),
    -2013: _ErrorSpec("not_found", "Order does not exist."),
    -2014: _ErrorSpec("auth", "API-key format invalid."),
    -2015: _ErrorSpec("auth", "Invalid API-key, IP, or permissions for action."),
    -2016: _ErrorSpec("fatal", "No trading window could be found for the symbol."),
    -2021: _ErrorSpec("partial", "Order cancel-replace partially failed."),
    -2022: _ErrorSpec("fatal", "Order cancel-replace failed."),
    -2026: _ErrorSpec(
        "not_found",
        "Order was canceled or expired with no executed qty over 90 days ago and has been "
        "archived.",
    ),
}
"""Binance spot error code → class (with the docs' words). Codes not listed are FATAL for a
4XX and, for a 5XX, UNKNOWN after a state-changing call (RETRYABLE otherwise)."""

_TIF: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}
_STATES: Final[Mapping[str, OrderState]] = {
    "PENDING_NEW": OrderState.PENDING_NEW,
    "NEW": OrderState.NEW,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELED,
    "PENDING_CANCEL": OrderState.PENDING_CANCEL,
    "REJECTED": OrderState.REJECTED,
    "EXPIRED": OrderState.EXPIRED,
    "EXPIRED_IN_MATCH": OrderState.EXPIRED,
}
_CLIENT_ID_RE: Final = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_BAD_CHARS: Final = re.compile(r"[^\.A-Z\:/a-z0-9_-]")
_B36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def _cost(priority: Priority, weight: int, *, orders: bool = False) -> RequestCost:
    costs = {"REQUEST_WEIGHT": weight, "RAW_REQUESTS": 1}
    if orders:
        costs |= {"ORDERS_10S": 1, "ORDERS_1D": 1}
    return RequestCost(priority, costs, endpoint="api")


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _dec(value: object) -> Decimal | None:
    """A venue number (string, or Decimal from `parse_float=Decimal`) as an exact Decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    raise ProtocolError(f"binance: not a decimal: {type(value).__name__}", venue=VENUE)


def _loads(body: bytes | str) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError:
        raise ProtocolError("binance: malformed JSON", venue=VENUE) from None


def _side(value: object) -> Side | None:
    return {"BUY": Side.BUY, "SELL": Side.SELL}.get(str(value))


def _b36(n: int) -> str:
    if n < 0:
        raise ConfigError("client order id sequence must not be negative", venue=VENUE)
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


WS_METHODS: Final[Mapping[tuple[str, str], str]] = {
    # https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/trading-requests
    ("POST", "/api/v3/order"): "order.place",
    ("DELETE", "/api/v3/order"): "order.cancel",
    ("POST", "/api/v3/order/cancelReplace"): "order.cancelReplace",
    ("PUT", "/api/v3/order/amend/keepPriority"): "order.amend.keepPriority",
}
"""REST order endpoint → its WebSocket API method (same parameters, answers and codes)."""


class Adapter(VenueAdapter):
    """Binance spot.

    Order types: LIMIT (GTC / IOC / FOK), MARKET, post-only as `LIMIT_MAKER`. Binance spot has
    no GTD, no reduce-only and (on this order model, which carries no stop price) no stop
    orders: those are refused with `ConfigError`.

    Amends are cancel-replace (`POST /api/v3/order/cancelReplace`, `STOP_ON_FAILURE`, a new
    client order id: `AmendMode.REPLACE`). A pure quantity decrease asked without a new client
    order id goes through `PUT /api/v3/order/amend/keepPriority` instead, which keeps the order,
    its id and its queue priority (reported AMENDED).

    Args:
        endpoints: URLs (`ENDPOINTS["production"]`, `["testnet"]`, or the simulator's).
        signer: a `BinanceSigner` (HMAC or Ed25519).
        recv_window_ms: `recvWindow` sent with signed calls (docs: at most 60000).
    """

    venue: ClassVar[str] = VENUE
    amend_mode: ClassVar[AmendMode] = AmendMode.REPLACE
    duplicate_client_ids_rejected: ClassVar[bool] = True
    client_id_max_len: ClassVar[int] = 36
    rate_model: ClassVar[RateModel] = RATE_MODEL
    ERRORS: ClassVar[Mapping[int, _ErrorSpec]] = ERRORS

    def __init__(
        self,
        *,
        endpoints: Endpoints,
        signer: Signer | None = None,
        recv_window_ms: int = 5000,
    ) -> None:
        super().__init__(endpoints=endpoints, signer=signer)
        if not 0 < recv_window_ms <= 60_000:
            raise ConfigError("recvWindow must be in (0, 60000] ms", venue=VENUE)
        self.recv_window_ms = recv_window_ms
        # myTrades carries orderId only: remember client ids seen in other answers.
        self._client_ids: dict[str, str] = {}
        # WebSocket API requests awaiting their answer: request id → what was asked.
        self._ws_requests: dict[str, WsRequest] = {}

    def __repr__(self) -> str:
        return f"binance.Adapter(rest_url={self.endpoints.rest_url!r})"

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        r"""A client order id unique per (`session`, `n`).

        `<session>-<n base36>`, within Binance's `^[\\.A-Z\\:/a-z0-9_-]{1,36}$`; a session
        name that is too long or has other characters is replaced by a 12-hex digest.
        """
        suffix = "-" + _b36(n)
        prefix = session
        if not prefix or _BAD_CHARS.search(prefix) or len(prefix) + len(suffix) > 36:
            prefix = hashlib.blake2b(session.encode(), digest_size=6).hexdigest()
        cid = prefix + suffix
        if not _CLIENT_ID_RE.match(cid):
            raise ConfigError(f"sequence {n} too large for a 36-character id", venue=VENUE)
        return cid

    def _remember(self, venue_order_id: str | None, client_order_id: str | None) -> None:
        if venue_order_id and client_order_id:
            self._client_ids[venue_order_id] = client_order_id
            if len(self._client_ids) > 200_000:
                for key in list(itertools.islice(self._client_ids, 100_000)):
                    del self._client_ids[key]

    def _signed_params(
        self, *pairs: tuple[str, ParamValue | None]
    ) -> tuple[tuple[str, ParamValue], ...]:
        out = tuple((k, v) for k, v in pairs if v is not None)
        return (*out, ("recvWindow", self.recv_window_ms))

    # -- place ---------------------------------------------------------------------------
    def _order_params(self, order: Order, quantity: Decimal) -> list[tuple[str, ParamValue | None]]:
        if order.reduce_only:
            raise ConfigError("Binance spot has no reduce-only orders", venue=VENUE)
        if order.type in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET):
            raise ConfigError(
                "stop orders need a stop price, which this order model does not carry",
                venue=VENUE,
            )
        if order.time_in_force is TimeInForce.GTD:
            raise ConfigError("Binance spot has no GTD time in force", venue=VENUE)
        side = "BUY" if order.side is Side.BUY else "SELL"
        if order.type is OrderType.MARKET:
            if order.time_in_force not in (TimeInForce.GTC, TimeInForce.IOC):
                raise ConfigError(f"a MARKET order cannot be {order.time_in_force}", venue=VENUE)
            return [("side", side), ("type", "MARKET"), ("quantity", _plain(quantity))]
        if order.price is None:  # pragma: no cover - Order validates this
            raise ConfigError("a limit order needs a price", venue=VENUE)
        if order.time_in_force is TimeInForce.POST_ONLY:
            return [
                ("side", side),
                ("type", "LIMIT_MAKER"),
                ("quantity", _plain(quantity)),
                ("price", _plain(order.price)),
            ]
        return [
            ("side", side),
            ("type", "LIMIT"),
            ("timeInForce", _TIF[order.time_in_force]),
            ("quantity", _plain(quantity)),
            ("price", _plain(order.price)),
        ]

    def place(self, order: Order) -> HttpCall:
        """The call placing `order`.

        `POST /api/v3/order` (weight 1, 1 order), `newOrderRespType=FULL` so the answer
        carries the fills.
        """
        self._check_client_id(order.client_order_id)
        params = self._signed_params(
            ("symbol", order.symbol),
            *self._order_params(order, order.quantity),
            ("newClientOrderId", order.client_order_id),
            ("newOrderRespType", "FULL"),
        )
        return HttpCall(
            Op.PLACE, "POST", "/api/v3/order", params, cost=_cost(Priority.NEW, 1, orders=True)
        )

    def _check_client_id(self, cid: str) -> None:
        if not _CLIENT_ID_RE.match(cid):
            raise ConfigError(
                f"client order id {cid!r} does not match ^[.A-Z:/a-z0-9_-]{{1,36}}$", venue=VENUE
            )

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """ACK, one FILL per entry of `fills`, then CANCELED / EXPIRED for an IOC / FOK rest."""
        self.check(Op.PLACE, resp)
        return self._order_answer(_loads(resp.body), order.client_order_id)

    def _order_answer(self, data: Mapping[str, Any], cid: str) -> list[VenueReport]:
        cid = str(data.get("clientOrderId") or cid)
        oid = str(data["orderId"]) if data.get("orderId") is not None else None
        self._remember(oid, cid)
        status = str(data.get("status", ""))
        state = _STATES.get(status)
        common: dict[str, Any] = {
            "venue": VENUE,
            "client_order_id": cid,
            "venue_order_id": oid,
            "symbol": data.get("symbol"),
            "side": _side(data.get("side")),
        }
        ts = int(data.get("transactTime") or data.get("workingTime") or 0)
        qty = _dec(data.get("origQty"))
        price = _dec(data.get("price"))
        if status == "REJECTED":
            return [VenueReport(kind=ReportKind.REJECTED, state=state, reason=status, ts_ms=ts,
                                **common)]  # fmt: skip
        out = [
            VenueReport(
                kind=ReportKind.ACK,
                state=OrderState.NEW,
                quantity=qty,
                price=price if price else None,
                filled_qty=Decimal(0),
                ts_ms=ts,
                **common,
            )
        ]
        filled = Decimal(0)
        for f in data.get("fills") or ():
            last = _dec(f.get("qty")) or Decimal(0)
            filled += last
            out.append(
                VenueReport(
                    kind=ReportKind.FILL,
                    state=OrderState.PARTIALLY_FILLED,
                    filled_qty=filled,
                    trade_id=str(f.get("tradeId")),
                    last_qty=last,
                    last_price=_dec(f.get("price")),
                    fee=_dec(f.get("commission")),
                    fee_asset=f.get("commissionAsset"),
                    liquidity="taker",
                    ts_ms=ts,
                    **common,
                )
            )
        if out[-1].kind is ReportKind.FILL and status == "FILLED":
            out[-1] = _replace_state(out[-1], OrderState.FILLED)
        executed = _dec(data.get("executedQty"))
        if status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"):
            kind = ReportKind.CANCELED if status == "CANCELED" else ReportKind.EXPIRED
            out.append(
                VenueReport(
                    kind=kind,
                    state=state,
                    quantity=qty,
                    filled_qty=executed,
                    reason=status,
                    ts_ms=ts,
                    **common,
                )
            )
        return out

    # -- cancel --------------------------------------------------------------------------
    def cancel(self, order: Order) -> HttpCall:
        """`DELETE /api/v3/order` by `origClientOrderId` (weight 1)."""
        params = self._signed_params(
            ("symbol", order.symbol), ("origClientOrderId", order.client_order_id)
        )
        return HttpCall(
            Op.CANCEL, "DELETE", "/api/v3/order", params, cost=_cost(Priority.CANCEL, 1)
        )

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """One CANCELED report."""
        self.check(Op.CANCEL, resp)
        return [self._canceled(_loads(resp.body), order.client_order_id)]

    def _canceled(self, data: Mapping[str, Any], cid: str | None = None) -> VenueReport:
        cid = str(data.get("origClientOrderId") or cid or data.get("clientOrderId"))
        oid = str(data["orderId"]) if data.get("orderId") is not None else None
        self._remember(oid, cid)
        status = str(data.get("status", "CANCELED"))
        return VenueReport(
            venue=VENUE,
            client_order_id=cid,
            kind=ReportKind.CANCELED if status != "EXPIRED" else ReportKind.EXPIRED,
            venue_order_id=oid,
            symbol=data.get("symbol"),
            side=_side(data.get("side")),
            state=_STATES.get(status, OrderState.CANCELED),
            quantity=_dec(data.get("origQty")),
            price=_dec(data.get("price")) or None,
            filled_qty=_dec(data.get("executedQty")),
            ts_ms=int(data.get("transactTime") or 0),
        )

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """`DELETE /api/v3/openOrders` (weight 1). Binance spot cancels per symbol only.

        Raises:
            ConfigError: `symbol` is None.
        """
        if symbol is None:
            raise ConfigError(
                "Binance spot cancels open orders per symbol: call once per symbol", venue=VENUE
            )
        params = self._signed_params(("symbol", symbol))
        return HttpCall(
            Op.CANCEL_ALL, "DELETE", "/api/v3/openOrders", params,
            cost=_cost(Priority.CANCEL, 1),
        )  # fmt: skip

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """Reports from a cancel-all answer.

        One CANCELED per canceled order (order lists flattened); none when there was
        nothing to cancel (-2011).
        """
        self.check(Op.CANCEL_ALL, resp)
        data = _loads(resp.body)
        if not isinstance(data, list):
            return []
        out: list[VenueReport] = []
        for item in data:
            for rep in item.get("orderReports") or [item]:
                out.append(self._canceled(rep))
        return out

    # -- amend ---------------------------------------------------------------------------
    def uses_keep_priority(self, order: Order, amend: Amend) -> bool:
        """Whether `amend` uses keep-priority amend.

        True when `amend` goes through keep-priority amend: a quantity decrease, price
        unchanged, no new client order id asked for.
        """
        return (
            amend.new_client_order_id is None
            and amend.quantity is not None
            and amend.quantity < order.quantity
            and amend.quantity > order.filled_quantity
            and (amend.price is None or amend.price == order.price)
        )

    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """The call amending `order`.

        `PUT /api/v3/order/amend/keepPriority` (weight 4, 0 orders) for a pure quantity
        decrease without a new id; else `POST /api/v3/order/cancelReplace` (weight 1, 1 order)
        with `cancelReplaceMode=STOP_ON_FAILURE`: the replacement's quantity is the new total
        less what is already filled.

        Raises:
            ConfigError: a cancel-replace without `new_client_order_id`, or nothing to change.
        """
        if self.uses_keep_priority(order, amend):
            assert amend.quantity is not None  # noqa: S101 - checked above
            params = self._signed_params(
                ("symbol", order.symbol),
                ("origClientOrderId", order.client_order_id),
                ("newClientOrderId", order.client_order_id),
                ("newQty", _plain(amend.quantity)),
            )
            return HttpCall(
                Op.AMEND, "PUT", "/api/v3/order/amend/keepPriority", params,
                cost=_cost(Priority.AMEND, 4),
            )  # fmt: skip
        if amend.new_client_order_id is None:
            raise ConfigError(
                "a Binance cancel-replace needs Amend.new_client_order_id", venue=VENUE
            )
        self._check_client_id(amend.new_client_order_id)
        total = amend.quantity if amend.quantity is not None else order.quantity
        remaining = total - order.filled_quantity
        if remaining <= 0:
            raise ConfigError("the new quantity is not above the filled quantity", venue=VENUE)
        new = order.model_copy(update={"price": amend.price or order.price})
        params = self._signed_params(
            ("symbol", order.symbol),
            *self._order_params(new, remaining),
            ("cancelReplaceMode", "STOP_ON_FAILURE"),
            ("cancelOrigClientOrderId", order.client_order_id),
            ("newClientOrderId", amend.new_client_order_id),
            ("newOrderRespType", "FULL"),
        )
        return HttpCall(
            Op.AMEND, "POST", "/api/v3/order/cancelReplace", params,
            cost=_cost(Priority.AMEND, 1, orders=True),
        )  # fmt: skip

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """Reports from an amend answer.

        AMENDED (keep-priority); or CANCELED of the old order then the replacement's ACK
        and fills; a -2021 partial failure (cancel done, new order refused) gives CANCELED
        + REJECTED of the replacement.
        """
        self.check(Op.AMEND, resp)
        data = _loads(resp.body)
        if "amendedOrder" in data:
            o = data["amendedOrder"]
            oid = str(o.get("orderId"))
            cid = str(o.get("clientOrderId") or order.client_order_id)
            self._remember(oid, cid)
            return [
                VenueReport(
                    venue=VENUE,
                    client_order_id=cid,
                    kind=ReportKind.AMENDED,
                    venue_order_id=oid,
                    symbol=o.get("symbol"),
                    side=_side(o.get("side")),
                    state=_STATES.get(str(o.get("status"))),
                    quantity=_dec(o.get("qty")),
                    price=_dec(o.get("price")) or None,
                    filled_qty=_dec(o.get("executedQty")),
                    ts_ms=int(data.get("transactTime") or 0),
                )
            ]
        body = data.get("data", data) if "code" in data else data
        out: list[VenueReport] = []
        if body.get("cancelResult") == "SUCCESS":
            out.append(self._canceled(body.get("cancelResponse") or {}, order.client_order_id))
        new = body.get("newOrderResponse")
        new_cid = amend.new_client_order_id or ""
        if body.get("newOrderResult") == "SUCCESS" and isinstance(new, dict):
            out.extend(self._order_answer(new, new_cid))
        elif body.get("newOrderResult") == "FAILURE":
            reason = new.get("msg") if isinstance(new, dict) else None
            out.append(
                VenueReport(
                    venue=VENUE,
                    client_order_id=new_cid,
                    kind=ReportKind.REJECTED,
                    symbol=order.symbol,
                    side=order.side,
                    state=OrderState.REJECTED,
                    reason=str(reason or "new order failed"),
                )
            )
        return out

    # -- query ---------------------------------------------------------------------------
    def query(self, order: Order) -> HttpCall:
        """`GET /api/v3/order` by `origClientOrderId` (weight 4)."""
        params = self._signed_params(
            ("symbol", order.symbol), ("origClientOrderId", order.client_order_id)
        )
        return HttpCall(Op.QUERY, "GET", "/api/v3/order", params, cost=_cost(Priority.QUERY, 4))

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """One report for a query answer.

        STATUS; NOT_FOUND for -2013 "Order does not exist."; an archived order (-2026,
        closed with no fills over 90 days ago) is STATUS CANCELED.
        """
        code = _code(resp)
        if code == -2013:
            return [
                VenueReport(
                    venue=VENUE,
                    client_order_id=order.client_order_id,
                    kind=ReportKind.NOT_FOUND,
                    symbol=order.symbol,
                    reason="Order does not exist.",
                )
            ]
        if code == -2026:
            return [
                VenueReport(
                    venue=VENUE,
                    client_order_id=order.client_order_id,
                    kind=ReportKind.STATUS,
                    symbol=order.symbol,
                    state=OrderState.CANCELED,
                    filled_qty=Decimal(0),
                    reason="archived",
                )
            ]
        self.check(Op.QUERY, resp)
        return [self._status(_loads(resp.body))]

    def _status(self, data: Mapping[str, Any]) -> VenueReport:
        cid = str(data.get("clientOrderId"))
        oid = str(data.get("orderId"))
        self._remember(oid, cid)
        return VenueReport(
            venue=VENUE,
            client_order_id=cid,
            kind=ReportKind.STATUS,
            venue_order_id=oid,
            symbol=data.get("symbol"),
            side=_side(data.get("side")),
            state=_STATES.get(str(data.get("status"))),
            quantity=_dec(data.get("origQty")),
            price=_dec(data.get("price")) or None,
            filled_qty=_dec(data.get("executedQty")),
            ts_ms=int(data.get("updateTime") or data.get("time") or 0),
        )

    def open_orders(self, symbol: str | None) -> HttpCall:
        """`GET /api/v3/openOrders` (weight 6 for one symbol, 80 for all)."""
        params = self._signed_params(("symbol", symbol))
        weight = 6 if symbol is not None else 80
        return HttpCall(
            Op.OPEN_ORDERS, "GET", "/api/v3/openOrders", params,
            cost=_cost(Priority.QUERY, weight),
        )  # fmt: skip

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per open order."""
        self.check(Op.OPEN_ORDERS, resp)
        return [self._status(o) for o in _loads(resp.body)]

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """The call listing our trades since `since_ms`.

        `GET /api/v3/myTrades` from `startTime` (weight 20; up to 1000 trades; the docs
        limit a startTime..endTime span to 24 hours, so page from the last trade's time).
        """
        params = self._signed_params(("symbol", symbol), ("startTime", since_ms), ("limit", 1000))
        return HttpCall(Op.FILLS, "GET", "/api/v3/myTrades", params, cost=_cost(Priority.QUERY, 20))

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per trade.

        One FILL per trade. Trades carry `orderId` only: the client id is the one this
        adapter saw for that order (empty when it saw none; the engine then matches on
        `venue_order_id`).
        """
        self.check(Op.FILLS, resp)
        out: list[VenueReport] = []
        for t in _loads(resp.body):
            oid = str(t.get("orderId"))
            out.append(
                VenueReport(
                    venue=VENUE,
                    client_order_id=self._client_ids.get(oid, ""),
                    kind=ReportKind.FILL,
                    venue_order_id=oid,
                    symbol=t.get("symbol"),
                    side=Side.BUY if t.get("isBuyer") else Side.SELL,
                    trade_id=str(t.get("id")),
                    last_qty=_dec(t.get("qty")),
                    last_price=_dec(t.get("price")),
                    fee=_dec(t.get("commission")),
                    fee_asset=t.get("commissionAsset"),
                    liquidity="maker" if t.get("isMaker") else "taker",
                    ts_ms=int(t.get("time") or 0),
                )
            )
        return out

    # -- time, status, dead man ------------------------------------------------------------
    def server_time(self) -> HttpCall:
        """`GET /api/v3/time` (public, weight 1)."""
        return HttpCall(Op.TIME, "GET", "/api/v3/time", signed=False, cost=_cost(Priority.QUERY, 1))

    def parse_server_time(self, resp: HttpResponse) -> int:
        """`serverTime`."""
        self.check(Op.TIME, resp)
        return int(_loads(resp.body)["serverTime"])

    def status(self) -> HttpCall:
        """`GET /sapi/v1/system/status` (public, SAPI weight 1): 0 normal, 1 maintenance."""
        return HttpCall(
            Op.STATUS,
            "GET",
            "/sapi/v1/system/status",
            signed=False,
            cost=RequestCost(Priority.QUERY, {"SAPI_IP_WEIGHT": 1}, endpoint="sapi"),
        )

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """`{"status": 0, "msg": "normal"}` or `{"status": 1, "msg": "system maintenance"}`."""
        self.check(Op.STATUS, resp)
        data = _loads(resp.body)
        return VenueStatus(trading=int(data.get("status", 1)) == 0, reason=str(data.get("msg")))

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall | None:
        """No dead-man switch on Binance spot.

        None: Binance spot has no dead-man switch (USD-M futures has
        `POST /fapi/v1/countdownCancelAll`; spot has none), so the engine cancels on
        disconnect itself.
        """
        return None

    # -- errors --------------------------------------------------------------------------
    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified error for an error answer.

        Answers the `parse_*` methods turn into reports are let through: -2013 on QUERY
        (NOT_FOUND), -2011 on CANCEL_ALL (nothing to cancel) and -2021 on AMEND (the cancel
        succeeded, the new order failed: CANCELED + REJECTED).
        """
        if 200 <= resp.status < 300:
            return
        code = _code(resp)
        msg = _msg(resp)
        if (op, code) in ((Op.QUERY, -2013), (Op.CANCEL_ALL, -2011), (Op.AMEND, -2021)):
            return
        raise classify(op, resp.status, code, msg, resp.headers)

    # -- WebSocket API order entry ------------------------------------------------------
    # https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/general-api-information
    # (request `{"id", "method", "params"}`, answer `{"id", "status", "result" | "error",
    # "rateLimits"}`), .../websocket-api/request-security (signed per request: `apiKey`,
    # `timestamp`, `signature` over the parameters sorted by name), .../websocket-api/
    # trading-requests (`order.place`, `order.cancel`, `order.cancelReplace`,
    # `order.amend.keepPriority`: the REST endpoints' parameters, answers and error codes) and
    # .../websocket-api/rate-limits (weights and order counts shared with the REST API).
    # ws_entry_url: the WebSocket API URL (`wss://ws-api.binance.com:443/ws-api/v3`), the base
    # default. No login step (the base defaults): every request is signed on its own (HMAC keys
    # cannot `session.logon`).

    def ws_entry_keepalive(self) -> str | None:
        """None: the server pings every 20 s and the WebSocket library answers."""
        return None

    def _ws_request(self, call: HttpCall, req_id: str, timestamp_ms: int | None,
                    what: WsRequest) -> str:  # fmt: skip
        method = WS_METHODS.get((call.method, call.path))
        if method is None:  # pragma: no cover - only order calls reach here
            raise ConfigError(f"no WebSocket API method for {call.path}", venue=VENUE)
        ws_params = getattr(self.signer, "ws_params", None)
        if ws_params is None:
            raise ConfigError("WebSocket API order entry needs a Binance signer", venue=VENUE)
        params = {k: str(v) for k, v in call.params}
        msg = {"id": req_id, "method": method, "params": ws_params(params, timestamp_ms)}
        self._ws_requests[req_id] = what
        return json.dumps(msg, separators=(",", ":"))

    def ws_place(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`order.place` with the parameters of `POST /api/v3/order` (FULL answer)."""
        return self._ws_request(self.place(order), req_id, timestamp_ms,
                                WsRequest(Op.PLACE, order))  # fmt: skip

    def ws_cancel(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`order.cancel` by `origClientOrderId`."""
        return self._ws_request(self.cancel(order), req_id, timestamp_ms,
                                WsRequest(Op.CANCEL, order))  # fmt: skip

    def ws_amend(
        self, order: Order, amend: Amend, req_id: str, timestamp_ms: int | None = None
    ) -> str:
        """`order.cancelReplace` (STOP_ON_FAILURE), or `order.amend.keepPriority`.

        The same choice as `amend`: keep-priority for a pure quantity decrease without a new
        client order id.
        """
        return self._ws_request(self.amend(order, amend), req_id, timestamp_ms,
                                WsRequest(Op.AMEND, order, amend))  # fmt: skip

    def ws_forget(self, req_id: str) -> None:
        """Drops a request whose answer will not be waited for (timeout, disconnect)."""
        self._ws_requests.pop(req_id, None)

    def parse_ws_answer(
        self, data: str | bytes
    ) -> tuple[str | None, list[VenueReport] | VenueError]:
        """(request id, reports or the classified error) of an answer to `ws_place` & co.

        `{"id", "status": 200, "result": {...}}` is parsed as the REST answer of the same
        call; `{"id", "status": 4XX/5XX, "error": {"code", "msg", "data"?}}` is classified by
        `ERRORS` exactly like the REST error body (a 429's `error.data.retryAfter` becomes
        `retry_after`). Anything else (events, answers to other requests, pings): (None, []).
        An answer that cannot be read is an `UnknownOutcomeError` for its request.
        """
        try:
            msg = json.loads(data, parse_float=Decimal)
        except ValueError:
            return None, []
        if not isinstance(msg, dict) or "status" not in msg or msg.get("id") is None:
            return None, []
        rid = str(msg["id"])
        what = self._ws_requests.pop(rid, None)
        if what is None:
            return None, []
        try:
            status = int(msg["status"])
            ok = 200 <= status < 300
            body = msg.get("result") if ok else msg.get("error")
            headers: dict[str, str] = {}
            err_data = body.get("data") if isinstance(body, dict) and not ok else None
            if isinstance(err_data, dict) and "retryAfter" in err_data:
                now = int(err_data.get("serverTime") or 0)
                after = max(0, int(err_data["retryAfter"]) - now) / 1000 if now else None
                if after is not None:
                    headers["retry-after"] = str(after)
            raw = json.dumps(body, default=str).encode()
            resp = HttpResponse(status, headers, raw)
            return rid, self.parse_ws_reports(what, resp)
        except VenueError as exc:
            return rid, exc
        except (VenuegateError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return rid, UnknownOutcomeError(
                f"binance {what.op}: unreadable WebSocket API answer ({type(exc).__name__})",
                venue=VENUE,
            )

    # -- private stream ------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> BinanceStream:
        """A user-data-stream protocol object (WebSocket API signature subscription)."""
        if self.signer is None:
            raise ConfigError("the Binance user data stream needs credentials", venue=VENUE)
        return BinanceStream(self, self.signer)

    def execution_report(self, ev: Mapping[str, Any]) -> VenueReport | None:  # noqa: PLR0911
        """One `executionReport` event as a report (None for kinds with nothing to say)."""
        x = str(ev.get("x"))
        status = str(ev.get("X"))
        # A cancel carries the canceled order's id in "C" ("c" is the cancel request's id).
        cid = str(ev.get("C") or ev.get("c")) if x == "CANCELED" else str(ev.get("c"))
        oid = str(ev.get("i"))
        self._remember(oid, cid)
        common: dict[str, Any] = {
            "venue": VENUE,
            "client_order_id": cid,
            "venue_order_id": oid,
            "symbol": ev.get("s"),
            "side": _side(ev.get("S")),
            "state": _STATES.get(status),
            "quantity": _dec(ev.get("q")),
            "price": _dec(ev.get("p")) or None,
            "filled_qty": _dec(ev.get("z")),
            "ts_ms": int(ev.get("E") or 0),
        }
        if x == "NEW":
            return VenueReport(kind=ReportKind.ACK, **common)
        if x == "TRADE":
            return VenueReport(
                kind=ReportKind.FILL,
                trade_id=str(ev.get("t")),
                last_qty=_dec(ev.get("l")),
                last_price=_dec(ev.get("L")),
                fee=_dec(ev.get("n")),
                fee_asset=ev.get("N"),
                liquidity="maker" if ev.get("m") else "taker",
                **common,
            )
        if x == "CANCELED":
            return VenueReport(kind=ReportKind.CANCELED, reason=str(ev.get("r")), **common)
        if x in ("EXPIRED", "TRADE_PREVENTION"):
            return VenueReport(kind=ReportKind.EXPIRED, reason=x, **common)
        if x == "REJECTED":
            return VenueReport(kind=ReportKind.REJECTED, reason=str(ev.get("r")), **common)
        if x == "REPLACED":
            return VenueReport(kind=ReportKind.AMENDED, **common)
        return None


def _replace_state(rep: VenueReport, state: OrderState) -> VenueReport:
    return replace(rep, state=state)


def _body(resp: HttpResponse) -> Mapping[str, Any]:
    try:
        data = json.loads(resp.body, parse_float=Decimal) if resp.body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _code(resp: HttpResponse) -> int | None:
    code = _body(resp).get("code")
    return int(code) if isinstance(code, int) else None


def _msg(resp: HttpResponse) -> str:
    return str(_body(resp).get("msg") or "")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(  # noqa: PLR0911, PLR0912
    op: Op,
    status: int,
    code: int | None,
    msg: str,
    headers: Mapping[str, str] | None = None,
) -> VenueError:
    """The classified error for one Binance error answer (REST or WebSocket API).

    Args:
        op: the call's purpose (a 5XX after a state-changing call is an unknown outcome).
        status: the HTTP status (the WebSocket API's `status`).
        code: Binance's error code, if any.
        msg: Binance's message.
        headers: response headers (lower-case), for `Retry-After`.
    """
    headers = headers or {}
    kw: dict[str, Any] = {"venue": VENUE, "code": None if code is None else str(code),
                          "http_status": status}  # fmt: skip
    text = f"binance {op}: HTTP {status} {code if code is not None else ''} {msg}".strip()
    if status == 418:
        return BannedError(text, retry_after=_retry_after(headers), **kw)
    if status == 429:
        return RateLimitedError(text, retry_after=_retry_after(headers), **kw)
    spec = ERRORS.get(code) if code is not None else None
    kind: ErrorKind
    if spec is not None:
        kind = spec.kind
    elif status >= 500:
        # HTTP 503 "Service Unavailable." is a failure (nothing done); any other 5XX may
        # have been executed (general-api-information, HTTP return codes).
        kind = "unavailable" if msg.strip() == "Service Unavailable." else "unknown"
    elif status in (401, 403):
        kind = "auth"
    else:
        kind = "fatal"
    if code == -2010:
        if msg.startswith("Duplicate order sent"):
            kind = "duplicate"
        elif msg.startswith("Market is closed"):
            kind = "unavailable"
    if kind in ("unknown",) and not op.changes_state:
        kind = "retryable"
    if code == -2022:
        return OrderNotFoundError(text, **kw)
    match kind:
        case "retryable":
            return RetryableError(text, **kw)
        case "unavailable":
            return VenueUnavailableError(text, **kw)
        case "unknown":
            return UnknownOutcomeError(text, **kw)
        case "rate":
            return RateLimitedError(text, retry_after=_retry_after(headers), **kw)
        case "auth":
            return AuthError(text, **kw)
        case "clock":
            return ClockSkewError(text, **kw)
        case "duplicate":
            return DuplicateOrderError(text, **kw)
        case "not_found":
            return OrderNotFoundError(text, **kw)
        case _:
            return FatalError(text, **kw)


class BinanceStream(PrivateStream):
    """The user data stream on the WebSocket API (the docs' preferred way).

    Connect to `Endpoints.private_ws_url` (`/ws-api/v3`), send
    `userDataStream.subscribe.signature` (apiKey + timestamp signed like any WebSocket API
    request), then events arrive as `{"subscriptionId": N, "event": {...}}`. The server pings
    every 20 s (the WebSocket library answers), so there is no application keepalive and no
    listen key to renew.
    """

    keepalive_s: ClassVar[float] = 30.0
    _ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def __init__(self, adapter: Adapter, signer: Signer) -> None:
        self._adapter = adapter
        self._signer = signer
        self._sub_id = f"vg-uds-{next(self._ids)}"
        self.subscription_id: int | None = None

    def __repr__(self) -> str:
        return f"BinanceStream(url={self.url()!r})"

    def url(self) -> str:
        """The WebSocket API URL."""
        return self._adapter.endpoints.private_ws_url

    def open_messages(self) -> list[str]:
        """The signed subscription request."""
        ws_params = getattr(self._signer, "ws_params", None)
        if ws_params is None:
            raise ConfigError("a Binance signer is needed", venue=VENUE)
        params = ws_params({"recvWindow": str(self._adapter.recv_window_ms)})
        msg = {"id": self._sub_id, "method": "userDataStream.subscribe.signature",
               "params": params}  # fmt: skip
        return [json.dumps(msg, separators=(",", ":"))]

    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes a response or an event."""
        out = StreamEvents()
        msg = _loads(data)
        if not isinstance(msg, dict):
            return out
        if "id" in msg and ("status" in msg or "error" in msg):
            if msg.get("id") != self._sub_id:
                return out
            status = int(msg.get("status") or 0)
            if status == 200:
                result = msg.get("result") or {}
                sid = result.get("subscriptionId")
                self.subscription_id = int(sid) if sid is not None else None
                out.ready = True
                return out
            err = msg.get("error") or {}
            code = err.get("code")
            out.error = classify(
                Op.OTHER, status or 400, int(code) if isinstance(code, int) else None,
                str(err.get("msg") or ""),
            )  # fmt: skip
            return out
        event = msg.get("event", msg)
        if not isinstance(event, dict):
            return out
        kind = event.get("e")
        if kind == "executionReport":
            rep = self._adapter.execution_report(event)
            if rep is not None:
                out.reports.append(rep)
        elif kind == "eventStreamTerminated":
            out.error = RetryableError("binance: user data stream terminated", venue=VENUE)
        return out
