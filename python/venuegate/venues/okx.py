"""OKX v5 spot trading adapter: REST order entry, dead-man switch and the private `orders` stream.

Written from the OKX v5 API documentation (https://www.okx.com/docs-v5/en/):

* Place order `POST /api/v5/trade/order`
  (#order-book-trading-trade-post-place-order): `instId`, `tdMode` ("cash" for spot), `clOrdId`,
  `side`, `ordType` (`market`, `limit`, `post_only`, `fok`, `ioc`), `sz`, `px`, `tgtCcy`
  (market orders: `base_ccy` so `sz` is in the base currency; a spot market buy defaults to
  the quote currency). OKX has no good-till-date order type for spot: GTD is refused.
* Cancel `POST /api/v5/trade/cancel-order` (#order-book-trading-trade-post-cancel-order) by
  `clOrdId`; cancel up to 20 at once `POST /api/v5/trade/cancel-batch-orders`
  (#order-book-trading-trade-post-cancel-multiple-orders).
* Amend `POST /api/v5/trade/amend-order` (#order-book-trading-trade-post-amend-order): `newSz`
  (the new *total* size, filled part included) / `newPx`, by `clOrdId`; the order keeps its ids.
* Query `GET /api/v5/trade/order` (#order-book-trading-trade-get-order-details) — 51603 "Order
  does not exist" becomes a NOT_FOUND report; open orders `GET /api/v5/trade/orders-pending`
  (#order-book-trading-trade-get-order-list); fills of the last 3 days `GET /api/v5/trade/fills`
  (#order-book-trading-trade-get-transaction-details-last-3-days), `begin` in ms.
* Dead-man switch `POST /api/v5/trade/cancel-all-after`
  (#order-book-trading-trade-post-cancel-all-after): `timeOut` in seconds, 0 or 10..120; 0
  disarms.
* Server time `GET /api/v5/public/time` (#public-data-rest-api-get-system-time); status
  `GET /api/v5/system/status` (#status-get-status).
* Errors (#error-code-rest-api): envelope `{"code": "0", "msg": "", "data": [...]}`; a single
  order refused on its merits answers `code` "1" with the reason in `data[0].sCode/sMsg`.
* Private stream `wss://ws.okx.com:8443/ws/v5/private` (#overview-websocket-login,
  #order-book-trading-trade-ws-order-channel): `login` (timestamp in seconds, sign =
  base64(HMAC-SHA256(secret, timestamp + "GET" + "/users/self/verify"))), then subscribe the
  `orders` channel with `instType` SPOT; the text "ping" is answered "pong".
* Demo trading (#overview-demo-trading-services): the same REST host with the
  `x-simulated-trading: 1` header (the signer's `demo=True`), WebSocket `wspap.okx.com`.

OKX has no "cancel every spot order" endpoint (`mass-cancel` is for options MMP only), so
`cancel_all` cancels, through `cancel-batch-orders`, the open orders this adapter has seen (ACKs,
open-order listings and stream reports) — at most 20 per call; repeat until none is left.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final, NoReturn

from venuegate.auth._base import ParamValue, Signer
from venuegate.auth.okx import OkxSigner
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
    StreamEvents,
    VenueAdapter,
    VenueStatus,
    WsRequest,
)

__all__ = ["ENDPOINTS", "ERRORS", "WS_OPS", "Adapter", "OkxPrivateStream", "dumps"]

DOCS: Final = "https://www.okx.com/docs-v5/en/"

ENDPOINTS: Final[Mapping[str, Endpoints]] = {
    # https://www.okx.com/docs-v5/en/#overview-production-trading-services
    "production": Endpoints(
        rest_url="https://www.okx.com",
        private_ws_url="wss://ws.okx.com:8443/ws/v5/private",
        ws_api_url="wss://ws.okx.com:8443/ws/v5/private",
    ),
    # https://www.okx.com/docs-v5/en/#overview-demo-trading-services — REST needs the header
    # `x-simulated-trading: 1` (signer(..., demo=True)).
    "demo": Endpoints(
        rest_url="https://www.okx.com",
        private_ws_url="wss://wspap.okx.com:8443/ws/v5/private",
        ws_api_url="wss://wspap.okx.com:8443/ws/v5/private",
    ),
}
"""Where OKX is reached; "demo" is OKX's testnet (demo trading)."""

# -- errors ------------------------------------------------------------------------------------
# kind: "retry" (nothing happened), "unavailable" (down/maintenance, nothing happened),
# "unknown" (may have acted: unknown outcome for state-changing ops, retryable otherwise),
# "rate", "auth", "clock", "duplicate", "not_found", "fatal".
ERRORS: Final[Mapping[str, tuple[str, str]]] = {
    # https://www.okx.com/docs-v5/en/#error-code-rest-api-public (General class)
    "50001": ("unavailable", "Service temporarily unavailable. Try again later"),
    "50002": ("fatal", "JSON syntax error"),
    "50004": (
        "unknown",
        "API endpoint request timeout (does not mean that the request was successful or "
        "failed, please check the request result)",
    ),
    "50005": ("unavailable", "API is offline or unavailable"),
    "50011": ("rate", "Rate limit reached. Please refer to API documentation and throttle"),
    "50013": ("retry", "Systems are busy. Please try again later"),
    "50014": ("fatal", "Parameter {param0} can not be empty"),
    "50026": ("unknown", "System error. Try again later"),
    "50061": ("rate", "Sub-account rate limit exceeded"),
    # Authentication class
    "50100": ("auth", "API frozen, please contact customer service"),
    "50101": ("auth", "APIKey does not match current environment"),
    "50102": ("clock", "Timestamp request expired"),
    "50103": ("auth", "Request header OK-ACCESS-KEY cannot be empty"),
    "50104": ("auth", "Request header OK-ACCESS-PASSPHRASE cannot be empty"),
    "50105": ("auth", "Request header OK-ACCESS-PASSPHRASE incorrect"),
    "50106": ("auth", "Request header OK-ACCESS-SIGN cannot be empty"),
    "50107": ("auth", "Request header OK-ACCESS-TIMESTAMP cannot be empty"),
    "50110": ("auth", "Your IP {param0} is not included in your API key's IP whitelist"),
    "50111": ("auth", "Invalid OK-ACCESS-KEY"),
    "50112": ("clock", "Invalid OK-ACCESS-TIMESTAMP"),
    "50113": ("auth", "Invalid signature"),
    "50114": ("auth", "Invalid authorization"),
    # Trade class, https://www.okx.com/docs-v5/en/#error-code-rest-api-trade
    "51000": ("fatal", "Parameter {param0} error"),
    "51001": ("fatal", "Instrument ID does not exist"),
    "51006": ("fatal", "Order price is not within the price limit"),
    "51008": ("fatal", "Order failed. Insufficient balance"),
    "51016": ("duplicate", "Duplicated clOrdId"),
    "51020": ("fatal", "Your order should meet or exceed the minimum order amount"),
    "51121": ("fatal", "Order quantity must be a multiple of the lot size"),
    "51400": (
        "not_found",
        "Order cancellation failed as the order has been filled, canceled or does not exist",
    ),
    "51401": ("not_found", "Cancellation failed as the order has been canceled"),
    "51402": ("not_found", "Cancellation failed as the order has been completed"),
    "51503": ("not_found", "Order modification failed as the order does not exist"),
    "51509": ("not_found", "Modification failed as the order has been canceled"),
    "51510": ("not_found", "Modification failed as the order has been completed"),
    "51511": ("fatal", "Operation failed as the order price did not meet the Post Only rule"),
    "51603": ("not_found", "Order does not exist"),
}
"""OKX code → (class, the docs' words). Codes not listed: fatal, or by HTTP status (5xx)."""

_KIND_CLASS: Final[Mapping[str, type[VenueError]]] = {
    "retry": RetryableError,
    "unavailable": VenueUnavailableError,
    "rate": RateLimitedError,
    "auth": AuthError,
    "clock": ClockSkewError,
    "duplicate": DuplicateOrderError,
    "not_found": OrderNotFoundError,
    "fatal": FatalError,
}

# -- rate model --------------------------------------------------------------------------------
# Per-endpoint limits from each endpoint's "Rate Limit" line in the docs; "User ID + Instrument
# ID" windows are per instrument (`per_key`); the sub-account order limit (1000 orders per
# 2 s for new and amended orders, #overview-rate-limits-sub-account-rate-limit) spans all.
_RATE: Final = RateModel(
    venue="okx",
    windows=(
        Window("PLACE", 60, 2.0, WindowKind.SLIDING, per_key=True),
        Window("CANCEL", 60, 2.0, WindowKind.SLIDING, per_key=True),
        Window("CANCEL_BATCH", 300, 2.0, WindowKind.SLIDING, per_key=True),
        Window("AMEND", 60, 2.0, WindowKind.SLIDING, per_key=True),
        Window("SUBACCOUNT_ORDERS", 1000, 2.0, WindowKind.SLIDING),
        Window("QUERY", 60, 2.0, WindowKind.SLIDING, per_key=True),
        Window("OPEN_ORDERS", 60, 2.0, WindowKind.SLIDING),
        Window("FILLS", 60, 2.0, WindowKind.SLIDING),
        Window("CANCEL_ALL_AFTER", 1, 1.0, WindowKind.SLIDING),
        Window("TIME", 10, 2.0, WindowKind.SLIDING),
        Window("STATUS", 1, 5.0, WindowKind.SLIDING),
    ),
    ban_statuses=frozenset(),
)

_ORD_TYPE: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "limit",
    TimeInForce.POST_ONLY: "post_only",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "fok",
}

_STATE: Final[Mapping[str, OrderState]] = {
    "live": OrderState.NEW,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "mmp_canceled": OrderState.CANCELED,
}

_POST_ONLY_CANCEL: Final = "31"
"""cancelSource "31": "The post-only order will take liquidity in maker orders"."""

_BATCH_MAX: Final = 20
_ALNUM: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _plain(value: Decimal) -> str:
    if not value.is_finite():
        raise ConfigError("prices and sizes must be finite decimals", venue="okx")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def dumps(obj: object) -> bytes:
    """Compact JSON with Decimals as plain-notation strings (OKX sends and takes strings)."""

    def default(o: object) -> str:
        if isinstance(o, Decimal):
            return _plain(o)
        raise TypeError(f"cannot encode {type(o).__name__}")

    return json.dumps(obj, separators=(",", ":"), default=default).encode()


_loads = loads_decimal


_dec = dec_or_none


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


WS_OPS: Final[Mapping[str, str]] = {
    # REST path → WebSocket `op` (#order-book-trading-trade-ws-place-order and following).
    "/api/v5/trade/order": "order",
    "/api/v5/trade/cancel-order": "cancel-order",
    "/api/v5/trade/amend-order": "amend-order",
}


def _ws_event_error(msg: Mapping[str, Any]) -> VenueError:
    """A WebSocket `error` event (or a refused login) classified (#error-code-websocket-public).

    60004/60006: invalid / expired login timestamp; 60005/60007/60009/60024: key, sign, login
    failed, passphrase; anything else is fatal.
    """
    code = str(msg.get("code", ""))
    text = f"okx: WebSocket error {code} {msg.get('msg', '')}"
    cls: type[VenueError] = ClockSkewError if code in ("60004", "60006") else AuthError
    if code not in ("60004", "60005", "60006", "60007", "60009", "60024"):
        cls = FatalError
    return cls(text, venue="okx", code=code or None)


class Adapter(VenueAdapter):
    """OKX v5 spot (`tdMode` "cash"): the request builders and parsers for the engine."""

    venue: ClassVar[str] = "okx"
    amend_mode: ClassVar[AmendMode] = AmendMode.IN_PLACE
    fills_page_size: ClassVar[int | None] = 100
    fills_newest_first: ClassVar[bool] = True
    duplicate_client_ids_rejected: ClassVar[bool] = True
    client_id_max_len: ClassVar[int] = 32
    rate_model: ClassVar[RateModel] = _RATE
    ERRORS: ClassVar[Mapping[str, tuple[str, str]]] = ERRORS

    def __init__(self, *, endpoints: Endpoints, signer: Signer | None = None) -> None:
        if signer is not None and not isinstance(signer, OkxSigner):
            raise ConfigError("the okx adapter needs an OKX signer", venue="okx")
        super().__init__(endpoints=endpoints, signer=signer)
        self._open: dict[str, str] = {}  # client order id → instId, of orders seen open
        self._ws_requests: dict[str, WsRequest] = {}  # WebSocket request id → what was asked

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        """`vg` + session + base-36 `n`, alphanumeric and at most 32 characters.

        OKX: "A combination of case-sensitive alphanumerics, all numbers, or all letters of up
        to 32 characters." A session that is not short and alphanumeric is replaced by a
        digest of it (so distinct sessions keep distinct ids).
        """
        if n < 0:
            raise ConfigError("client order sequence numbers are non-negative", venue="okx")
        tail = _base36(n)
        if len(tail) > 14:
            raise ConfigError("client order sequence number too large", venue="okx")
        if not session or len(session) > 16 or not set(session) <= _ALNUM:
            session = hashlib.blake2b(session.encode(), digest_size=8).hexdigest()
        return f"vg{session}{tail}"

    # -- helpers ---------------------------------------------------------------------------
    def _post(
        self, op: Op, path: str, body: object, costs: Mapping[str, int], key: str, prio: Priority
    ) -> HttpCall:
        return HttpCall(
            op=op,
            method="POST",
            path=path,
            body=dumps(body),
            cost=RequestCost(prio, costs, key=key, endpoint=path),
        )

    def _get(
        self,
        op: Op,
        path: str,
        params: Sequence[tuple[str, ParamValue]],
        costs: Mapping[str, int],
        key: str = "",
        *,
        signed: bool = True,
    ) -> HttpCall:
        return HttpCall(
            op=op,
            method="GET",
            path=path,
            params=tuple(params),
            signed=signed,
            cost=RequestCost(Priority.QUERY, costs, key=key, endpoint=path),
        )

    def _data(self, op: Op, resp: HttpResponse) -> list[dict[str, Any]]:
        self.check(op, resp)
        body = _loads(resp.body)
        data = body.get("data") if isinstance(body, dict) else None
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def _track(self, report: VenueReport) -> None:
        if report.state is not None and report.state.is_terminal:
            self._open.pop(report.client_order_id, None)
        elif report.kind in (ReportKind.ACK, ReportKind.STATUS, ReportKind.FILL) and report.symbol:
            self._open[report.client_order_id] = report.symbol
        if report.kind in (ReportKind.CANCELED, ReportKind.EXPIRED, ReportKind.REJECTED):
            self._open.pop(report.client_order_id, None)

    # -- place -----------------------------------------------------------------------------
    def place(self, order: Order) -> HttpCall:
        """`POST /api/v5/trade/order` (spot, `tdMode` cash).

        Raises:
            ConfigError: stop orders (OKX algo orders, not supported here), GTD (OKX has no
                good-till-date order type), reduce-only (not for spot cash).
        """
        if order.type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ConfigError(f"okx: {order.type} orders are algo orders (not supported)")
        if order.time_in_force is TimeInForce.GTD:
            raise ConfigError("okx has no good-till-date order type", venue="okx")
        if order.reduce_only:
            raise ConfigError("okx: reduce-only does not apply to spot (cash) orders")
        body: dict[str, object] = {
            "instId": order.symbol,
            "tdMode": "cash",
            "clOrdId": order.client_order_id,
            "side": order.side.value,
        }
        if order.type is OrderType.MARKET:
            if order.time_in_force not in (TimeInForce.GTC, TimeInForce.IOC):
                raise ConfigError(f"okx: market orders cannot be {order.time_in_force}")
            body |= {"ordType": "market", "sz": order.quantity, "tgtCcy": "base_ccy"}
        else:
            assert order.price is not None  # noqa: S101 - Order validates limit prices
            body |= {
                "ordType": _ORD_TYPE[order.time_in_force],
                "px": order.price,
                "sz": order.quantity,
            }
        return self._post(
            Op.PLACE,
            "/api/v5/trade/order",
            body,
            {"PLACE": 1, "SUBACCOUNT_ORDERS": 1},
            order.symbol,
            Priority.NEW,
        )

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """ACK with the venue's `ordId` (fills come on the stream and in fill listings)."""
        data = self._data(Op.PLACE, resp)
        item = data[0] if data else {}
        report = VenueReport(
            venue=self.venue,
            client_order_id=order.client_order_id,
            kind=ReportKind.ACK,
            venue_order_id=str(item.get("ordId") or "") or None,
            symbol=order.symbol,
            side=order.side,
            state=OrderState.NEW,
            quantity=order.quantity,
            price=order.price,
            ts_ms=_int(item.get("ts", 0)),
        )
        self._track(report)
        return [report]

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, order: Order) -> HttpCall:
        """`POST /api/v5/trade/cancel-order` by `clOrdId`."""
        body = {"instId": order.symbol, "clOrdId": order.client_order_id}
        return self._post(
            Op.CANCEL,
            "/api/v5/trade/cancel-order",
            body,
            {"CANCEL": 1},
            order.symbol,
            Priority.CANCEL,
        )

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED (OKX answers once the cancel request is accepted)."""
        data = self._data(Op.CANCEL, resp)
        item = data[0] if data else {}
        self._open.pop(order.client_order_id, None)
        return [
            VenueReport(
                venue=self.venue,
                client_order_id=order.client_order_id,
                kind=ReportKind.CANCELED,
                venue_order_id=str(item.get("ordId") or "") or order.venue_order_id,
                symbol=order.symbol,
                side=order.side,
                state=OrderState.CANCELED,
                ts_ms=_int(item.get("ts", 0)),
            )
        ]

    def cancel_batch(self, orders: Sequence[tuple[str, str]]) -> HttpCall:
        """`POST /api/v5/trade/cancel-batch-orders` for up to 20 (instId, clOrdId) pairs."""
        if not orders or len(orders) > _BATCH_MAX:
            raise ConfigError(f"okx cancels 1 to {_BATCH_MAX} orders per batch", venue="okx")
        body = [{"instId": inst, "clOrdId": cid} for inst, cid in orders]
        return self._post(
            Op.CANCEL_ALL,
            "/api/v5/trade/cancel-batch-orders",
            body,
            {"CANCEL_BATCH": len(orders)},
            orders[0][0],
            Priority.CANCEL,
        )

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """A `cancel-batch-orders` of up to 20 open orders this adapter has seen (of `symbol`).

        Raises:
            ConfigError: no open order is known (nothing to cancel: list open orders first).
        """
        known = [(inst, cid) for cid, inst in self._open.items() if symbol in (None, inst)]
        if not known:
            raise ConfigError("okx: no known open order to cancel", venue="okx")
        return self.cancel_batch(known[:_BATCH_MAX])

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED per order whose `sCode` is "0" (orders already gone: stream and queries)."""
        self.check(Op.CANCEL_ALL, resp)
        body = _loads(resp.body)
        out: list[VenueReport] = []
        for item in body.get("data") or []:
            cid = str(item.get("clOrdId") or "")
            if not cid:
                continue
            if str(item.get("sCode", "0")) in ("0", "51400", "51401", "51402"):
                self._open.pop(cid, None)
            if str(item.get("sCode", "0")) != "0":
                continue
            out.append(
                VenueReport(
                    venue=self.venue,
                    client_order_id=cid,
                    kind=ReportKind.CANCELED,
                    venue_order_id=str(item.get("ordId") or "") or None,
                    state=OrderState.CANCELED,
                    ts_ms=_int(item.get("ts", 0)),
                )
            )
        return out

    # -- amend -------------------------------------------------------------------------------
    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """`POST /api/v5/trade/amend-order`: `newSz` (total, filled included) / `newPx`."""
        if amend.quantity is None and amend.price is None:
            raise ConfigError("okx: an amend needs a new size or a new price", venue="okx")
        body: dict[str, object] = {"instId": order.symbol, "clOrdId": order.client_order_id}
        if amend.quantity is not None:
            body["newSz"] = amend.quantity
        if amend.price is not None:
            body["newPx"] = amend.price
        return self._post(
            Op.AMEND,
            "/api/v5/trade/amend-order",
            body,
            {"AMEND": 1, "SUBACCOUNT_ORDERS": 1},
            order.symbol,
            Priority.AMEND,
        )

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """AMENDED with the new values (the ids stay)."""
        data = self._data(Op.AMEND, resp)
        item = data[0] if data else {}
        return [
            VenueReport(
                venue=self.venue,
                client_order_id=order.client_order_id,
                kind=ReportKind.AMENDED,
                venue_order_id=str(item.get("ordId") or "") or order.venue_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=amend.quantity if amend.quantity is not None else order.quantity,
                price=amend.price if amend.price is not None else order.price,
                ts_ms=_int(item.get("ts", 0)),
            )
        ]

    # -- queries -----------------------------------------------------------------------------
    def query(self, order: Order) -> HttpCall:
        """`GET /api/v5/trade/order?instId=..&clOrdId=..`."""
        return self._get(
            Op.QUERY,
            "/api/v5/trade/order",
            [("instId", order.symbol), ("clOrdId", order.client_order_id)],
            {"QUERY": 1},
            order.symbol,
        )

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS, or NOT_FOUND for 51603 "Order does not exist"."""
        try:
            data = self._data(Op.QUERY, resp)
        except OrderNotFoundError:
            data = []
        if not data:
            return [
                VenueReport(
                    venue=self.venue,
                    client_order_id=order.client_order_id,
                    kind=ReportKind.NOT_FOUND,
                    symbol=order.symbol,
                )
            ]
        report = self.order_report(data[0], ReportKind.STATUS, order.client_order_id)
        self._track(report)
        return [report]

    def open_orders(self, symbol: str | None) -> HttpCall:
        """`GET /api/v5/trade/orders-pending?instType=SPOT[&instId=..]` (up to 100)."""
        params: list[tuple[str, ParamValue]] = [("instType", "SPOT")]
        if symbol is not None:
            params.append(("instId", symbol))
        return self._get(Op.OPEN_ORDERS, "/api/v5/trade/orders-pending", params, {"OPEN_ORDERS": 1})

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per open order."""
        out = [self.order_report(d, ReportKind.STATUS) for d in self._data(Op.OPEN_ORDERS, resp)]
        for r in out:
            self._track(r)
        return out

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """`GET /api/v5/trade/fills?instType=SPOT&instId=..&begin=..` (last 3 days).

        The answer is the newest 100 at most, newest first (#order-book-trading-trade-get-
        transaction-details-last-3-days): older pages come from `fills_before`.
        """
        return self._get(
            Op.FILLS,
            "/api/v5/trade/fills",
            [("instType", "SPOT"), ("instId", symbol), ("begin", str(since_ms))],
            {"FILLS": 1},
        )

    def fills_before(self, symbol: str, since_ms: int, before_ms: int) -> HttpCall:
        """The older page: the same listing with `end` (ms) bounding it."""
        return self._get(
            Op.FILLS,
            "/api/v5/trade/fills",
            [
                ("instType", "SPOT"),
                ("instId", symbol),
                ("begin", str(since_ms)),
                ("end", str(before_ms)),
            ],
            {"FILLS": 1},
        )

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per execution (`tradeId`, `fillSz`, `fillPx`; `fee` negative = paid)."""
        out: list[VenueReport] = []
        for d in self._data(Op.FILLS, resp):
            fee = _dec(d.get("fee"))
            out.append(
                VenueReport(
                    venue=self.venue,
                    client_order_id=str(d.get("clOrdId") or ""),
                    kind=ReportKind.FILL,
                    venue_order_id=str(d.get("ordId") or "") or None,
                    symbol=d.get("instId"),
                    side=Side(d["side"]) if d.get("side") in ("buy", "sell") else None,
                    trade_id=str(d.get("tradeId") or ""),
                    last_qty=_dec(d.get("fillSz")),
                    last_price=_dec(d.get("fillPx")),
                    fee=None if fee is None else -fee,
                    fee_asset=d.get("feeCcy") or None,
                    liquidity=_liquidity(d.get("execType")),
                    ts_ms=_int(d.get("ts") or d.get("fillTime") or 0),
                )
            )
        return out

    # -- time, status, dead man ------------------------------------------------------------
    def server_time(self) -> HttpCall:
        """`GET /api/v5/public/time`."""
        return self._get(Op.TIME, "/api/v5/public/time", [], {"TIME": 1}, signed=False)

    def parse_server_time(self, resp: HttpResponse) -> int:
        """`data[0].ts` in ms."""
        data = self._data(Op.TIME, resp)
        if not data:
            raise ProtocolError("okx: time answer without data", venue="okx")
        return int(str(data[0]["ts"]))

    def status(self) -> HttpCall:
        """`GET /api/v5/system/status` (maintenance events; "ongoing" ones stop trading)."""
        return self._get(Op.STATUS, "/api/v5/system/status", [], {"STATUS": 1}, signed=False)

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """Not trading while an event's `state` is "ongoing"."""
        for d in self._data(Op.STATUS, resp):
            if d.get("state") == "ongoing":
                end = _int(d.get("end") or 0)
                return VenueStatus(False, str(d.get("title") or "maintenance"), end or None)
        return VenueStatus(True)

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall:
        """`POST /api/v5/trade/cancel-all-after` with `timeOut` (0, or 10 to 120 seconds).

        Raises:
            ConfigError: a timeout outside 0 and 10..120 s.
        """
        secs = round(timeout_s)
        if secs != 0 and not 10 <= secs <= 120:
            raise ConfigError("okx cancel-all-after takes 0 or 10..120 seconds", venue="okx")
        return self._post(
            Op.DEAD_MAN,
            "/api/v5/trade/cancel-all-after",
            {"timeOut": str(secs)},
            {"CANCEL_ALL_AFTER": 1},
            "",
            Priority.CANCEL,
        )

    # -- errors -----------------------------------------------------------------------------
    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified error of an OKX answer (`code`, or `data[].sCode`)."""
        try:
            body = _loads(resp.body) if resp.body else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if resp.status < 400 and body is not None:
                return
            self._raise_status(op, resp, "no JSON body")
        code = str(body.get("code", ""))
        if code == "0" and resp.status < 400:
            return
        msg = str(body.get("msg") or "")
        if code in ("1", "2"):
            items = [d for d in body.get("data") or [] if isinstance(d, dict)]
            bad = [d for d in items if str(d.get("sCode", "0")) != "0"]
            if op is Op.CANCEL_ALL and code == "2":
                return  # partly done: parse_cancel_all reports what was canceled
            if (
                op is Op.CANCEL_ALL
                and bad
                and all(str(d.get("sCode")) in ("51400", "51401", "51402") for d in bad)
            ):
                return  # nothing left to cancel among them
            if bad:
                code, msg = str(bad[0].get("sCode")), str(bad[0].get("sMsg") or msg)
        self._raise(op, resp, code, msg)

    def _raise_status(self, op: Op, resp: HttpResponse, msg: str) -> NoReturn:
        self._raise(op, resp, "", msg)

    def _raise(self, op: Op, resp: HttpResponse, code: str, msg: str) -> NoReturn:
        text = f"okx: {op} failed: HTTP {resp.status} code {code or '-'} {msg}".strip()
        kind = ERRORS.get(code, ("", ""))[0]
        if not kind:
            if resp.status == 429:
                kind = "rate"
            elif resp.status in (502, 503):
                kind = "unavailable"
            elif resp.status >= 500:
                kind = "unknown"
            elif resp.status == 401:
                kind = "auth"
            else:
                kind = "fatal"
        if kind == "unknown":
            cls: type[VenueError] = UnknownOutcomeError if op.changes_state else RetryableError
        elif kind == "rate":
            after = resp.headers.get("retry-after")
            raise RateLimitedError(
                text,
                retry_after=float(after) if after and after.replace(".", "").isdigit() else None,
                venue=self.venue,
                code=code or None,
                http_status=resp.status,
            )
        else:
            cls = _KIND_CLASS[kind]
        raise cls(text, venue=self.venue, code=code or None, http_status=resp.status)

    # -- reports ------------------------------------------------------------------------------
    def order_report(
        self, d: Mapping[str, Any], kind: ReportKind, client_order_id: str | None = None
    ) -> VenueReport:
        """A report from an OKX order object (REST order details or a stream push)."""
        acc = _dec(d.get("accFillSz"))
        state = _STATE.get(str(d.get("state") or ""))
        if state is OrderState.CANCELED and str(d.get("cancelSource") or "") == _POST_ONLY_CANCEL:
            # As the stream's push says it (EXPIRED): a query must not contradict it.
            state = OrderState.EXPIRED
        return VenueReport(
            venue=self.venue,
            client_order_id=str(d.get("clOrdId") or client_order_id or ""),
            kind=kind,
            venue_order_id=str(d.get("ordId") or "") or None,
            symbol=d.get("instId") or None,
            side=Side(d["side"]) if d.get("side") in ("buy", "sell") else None,
            state=state,
            quantity=_dec(d.get("sz")),
            price=_dec(d.get("px")),
            filled_qty=acc,
            reason=str(d.get("cancelSource") or "") or None,
            ts_ms=_int(d.get("uTime") or d.get("cTime") or 0),
        )

    # -- WebSocket order entry -------------------------------------------------------------------
    # #order-book-trading-trade-ws-place-order, #order-book-trading-trade-ws-cancel-order,
    # #order-book-trading-trade-ws-amend-order: on the private connection after `login`,
    # `{"id", "op": "order" | "cancel-order" | "amend-order", "args": [<the REST body>]}`; the
    # answer `{"id", "op", "code", "msg", "data": [{"clOrdId", "ordId", "ts", "sCode",
    # "sMsg"}], "inTime", "outTime"}` has the REST envelope ("1": refused, reason in sCode).
    # `id`: "a combination of case-sensitive alphanumerics ... up to 32 characters". The
    # rate limits are shared with the REST endpoints.
    # ws_entry_url: the private WebSocket URL (`wss://ws.okx.com:8443/ws/v5/private`), the
    # base default.

    def ws_entry_open_messages(self, timestamp_ms: int | None = None) -> list[str]:
        """The `login` operation (#overview-websocket-login)."""
        if not isinstance(self.signer, OkxSigner):
            raise ConfigError("okx WebSocket order entry needs credentials", venue="okx")
        return [json.dumps({"op": "login", "args": [self.signer.ws_login_args(timestamp_ms)]})]

    def parse_ws_login(self, data: str | bytes) -> bool | VenueError | None:
        """True for a successful login answer, the classified error for a refusal, else None."""
        try:
            msg = _loads(data)
        except ValueError:
            return None
        if not isinstance(msg, dict):
            return None
        if msg.get("event") == "login":
            return True if str(msg.get("code", "0")) == "0" else _ws_event_error(msg)
        if msg.get("event") == "error":
            return _ws_event_error(msg)
        return None

    def ws_entry_keepalive(self) -> str | None:
        """The text "ping": OKX closes a connection silent for 30 s; the answer is "pong"."""
        return "ping"

    def _ws_request(self, call: HttpCall, req_id: str, what: WsRequest) -> str:
        op = WS_OPS[call.path]
        if not req_id.isalnum() or len(req_id) > 32:
            raise ConfigError("okx WebSocket ids are alphanumeric, at most 32", venue="okx")
        body = (call.body or b"{}").decode()
        self._ws_requests[req_id] = what
        return f'{{"id":"{req_id}","op":"{op}","args":[{body}]}}'

    def ws_place(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`op: order` with the body of `POST /api/v5/trade/order`."""
        return self._ws_request(self.place(order), req_id, WsRequest(Op.PLACE, order))

    def ws_cancel(self, order: Order, req_id: str, timestamp_ms: int | None = None) -> str:
        """`op: cancel-order` by `clOrdId`."""
        return self._ws_request(self.cancel(order), req_id, WsRequest(Op.CANCEL, order))

    def ws_amend(
        self, order: Order, amend: Amend, req_id: str, timestamp_ms: int | None = None
    ) -> str:
        """`op: amend-order` (`newSz` total / `newPx`, by `clOrdId`)."""
        return self._ws_request(self.amend(order, amend), req_id, WsRequest(Op.AMEND, order, amend))

    def ws_forget(self, req_id: str) -> None:
        """Drops a request whose answer will not be waited for (timeout, disconnect)."""
        self._ws_requests.pop(req_id, None)

    def parse_ws_answer(
        self, data: str | bytes
    ) -> tuple[str | None, list[VenueReport] | VenueError]:
        """(request id, reports or the classified error) of an answer to `ws_place` & co.

        The answer has the REST envelope, so it is parsed (and classified by `ERRORS`, sCode
        first) as the REST answer of the same call. Anything else (pushes, login, "pong"):
        (None, []). An answer that cannot be read is an `UnknownOutcomeError`.
        """
        text = data.decode() if isinstance(data, bytes) else data
        try:
            msg = None if text == "pong" else _loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or msg.get("op") not in WS_OPS.values():
            return None, []
        rid = str(msg.get("id") or "")
        what = self._ws_requests.pop(rid, None)
        if what is None:
            return None, []
        resp = HttpResponse(200, {}, text.encode())
        try:
            return rid, self.parse_ws_reports(what, resp)
        except VenueError as exc:
            return rid, exc
        except (VenuegateError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return rid, UnknownOutcomeError(
                f"okx {what.op}: unreadable WebSocket answer ({type(exc).__name__})", venue="okx"
            )

    # -- private stream -------------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> OkxPrivateStream:
        """A login + `orders` subscription protocol for one connection."""
        if not isinstance(self.signer, OkxSigner):
            raise ConfigError("the okx private stream needs credentials", venue="okx")
        return OkxPrivateStream(self, self.signer, symbols)


def _liquidity(exec_type: object) -> str | None:
    return {"T": "taker", "M": "maker"}.get(str(exec_type or ""))


class OkxPrivateStream(PrivateStream):
    """`/ws/v5/private`: login, subscribe `orders` (SPOT), "ping"/"pong", decode pushes.

    Pushes (#order-book-trading-trade-ws-order-channel) carry `state` (live, partially_filled,
    filled, canceled, mmp_canceled), the last execution (`tradeId`, `fillSz`, `fillPx`,
    `fillFee` — negative = paid — `fillFeeCcy`, `execType` T/M), `accFillSz`, and for amends
    `amendResult` ("0" success) with `reqId`.
    """

    keepalive_s: ClassVar[float] = 20.0

    def __init__(self, adapter: Adapter, signer: OkxSigner, symbols: Sequence[str]) -> None:
        self._adapter = adapter
        self._signer = signer
        self._symbols = tuple(symbols)
        self._logged_in = False
        self._subscribed = False

    def url(self) -> str:
        """The private WebSocket URL."""
        return self._adapter.endpoints.private_ws_url

    def open_messages(self) -> list[str]:
        """The `login` operation (subscription follows the login answer)."""
        args = self._signer.ws_login_args()
        return [json.dumps({"op": "login", "args": [args]})]

    def keepalive(self) -> str:
        """OKX: send "ping" when nothing came for under 30 s; the answer is "pong"."""
        return "ping"

    def _subscribe(self) -> str:
        if self._symbols:
            args = [{"channel": "orders", "instType": "SPOT", "instId": s} for s in self._symbols]
        else:
            args = [{"channel": "orders", "instType": "SPOT"}]
        return json.dumps({"op": "subscribe", "args": args})

    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes one message (login answer, subscribe answer, error, pong or orders push)."""
        text = data.decode() if isinstance(data, bytes) else data
        ev = StreamEvents(ready=self._subscribed)
        if text == "pong":
            return ev
        try:
            msg = _loads(text)
        except ValueError:
            ev.error = RetryableError("okx: undecodable private message", venue="okx")
            return ev
        event = msg.get("event")
        if event == "login":
            if str(msg.get("code", "0")) == "0":
                self._logged_in = True
                ev.replies.append(self._subscribe())
            return ev
        if event == "subscribe":
            self._subscribed = True
            ev.ready = True
            return ev
        if event == "error":
            code = str(msg.get("code", ""))
            text_ = f"okx: private stream error {code} {msg.get('msg', '')}"
            # 60004/60006: invalid / expired login timestamp; 60005/60007/60009/60024: key,
            # sign, login failed, passphrase (#error-code-websocket-public).
            cls: type[VenueError] = ClockSkewError if code in ("60004", "60006") else AuthError
            if code not in ("60004", "60005", "60006", "60007", "60009", "60024"):
                cls = FatalError
            ev.error = cls(text_, venue="okx", code=code or None)
            return ev
        arg = msg.get("arg") or {}
        if arg.get("channel") == "orders":
            for d in msg.get("data") or []:
                for report in self._decode(d):
                    self._adapter._track(report)
                    ev.reports.append(report)
        return ev

    def _decode(self, d: Mapping[str, Any]) -> list[VenueReport]:
        a = self._adapter
        state = str(d.get("state") or "")
        out: list[VenueReport] = []
        fill_sz = _dec(d.get("fillSz"))
        trade_id = str(d.get("tradeId") or "")
        if str(d.get("amendResult") or "") == "0":
            out.append(a.order_report(d, ReportKind.AMENDED))
            return out
        if trade_id and fill_sz:
            base = a.order_report(d, ReportKind.FILL)
            fee = _dec(d.get("fillFee"))
            out.append(
                VenueReport(
                    venue=a.venue,
                    client_order_id=base.client_order_id,
                    kind=ReportKind.FILL,
                    venue_order_id=base.venue_order_id,
                    symbol=base.symbol,
                    side=base.side,
                    state=base.state,
                    quantity=base.quantity,
                    price=base.price,
                    filled_qty=base.filled_qty,
                    trade_id=trade_id,
                    last_qty=fill_sz,
                    last_price=_dec(d.get("fillPx")),
                    fee=None if fee is None else -fee,
                    fee_asset=d.get("fillFeeCcy") or None,
                    liquidity=_liquidity(d.get("execType")),
                    ts_ms=_int(d.get("fillTime") or d.get("uTime") or 0),
                )
            )
        if state in ("canceled", "mmp_canceled"):
            kind = (
                ReportKind.EXPIRED
                if str(d.get("cancelSource") or "") == _POST_ONLY_CANCEL
                else ReportKind.CANCELED
            )
            out.append(a.order_report(d, kind))
        elif state == "live" and not out and str(d.get("amendResult") or "") == "":
            out.append(a.order_report(d, ReportKind.ACK))
        return out
