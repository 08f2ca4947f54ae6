r"""HTX (Huobi) spot trading adapter: REST orders, dead-man switch, private ws/v2 streams.

The private streams are `orders#` and `trade.clearing#`.

Written from the HTX spot API documentation (https://huobiapi.github.io/docs/spot/v1/en/):

* Accounts `GET /v1/account/accounts` (#get-all-accounts-of-the-current-user): orders name the
  spot `account-id`; `accounts()` / `parse_accounts()` fetch it (the private stream's `prepare`
  does so when it is not configured).
* Place `POST /v1/order/orders/place` (#place-a-new-order): `account-id`, `symbol`, `type`
  (`buy-limit`, `buy-ioc`, `buy-limit-fok`, `buy-limit-maker`, `buy-market`, and sell-*),
  `amount`, `price`, `source` ("spot-api"), `client-order-id` (at most 64 characters, unique
  for 8 hours). A market *buy*'s `amount` is in the quote currency, so base-sized market buys
  are refused here (use an IOC limit). HTX has no good-till-date order: GTD is refused.
* Cancel by client order id `POST /v1/order/orders/submitCancelClientOrder`
  (#submit-cancel-for-an-order-based-on-client-order-id): `data` is a cancellation status
  (-1 closed long ago, 5 partial-canceled, 6 filled, 7 canceled, 10 cancelling).
* Cancel all `POST /v1/order/orders/batchCancelOpenOrders` (#submit-cancel-for-multiple-orders-by-
  criteria): up to 100 open orders per call; `data.next-id` -1 when none is left.
* No amend at HTX: `AmendMode.CANCEL_NEW` (the engine cancels, then places).
* Query `GET /v1/order/orders/getClientOrder?clientOrderId=` (#get-the-order-detail-of-an-
  order-based-on-client-order-id): "base-record-invalid" becomes a NOT_FOUND report; open
  orders `GET /v1/order/openOrders` (#get-all-open-orders); fills `GET /v1/order/matchresults`
  (#search-match-results), `start-time` in ms.
* Server time `GET /v1/common/timestamp` (#get-current-timestamp); market status
  `GET /v2/market-status` (#get-market-status: 1 normal, 2 halted, 3 cancel-only).
* Dead-man switch `POST /v2/algo-orders/cancel-all-after` (#dead-man-s-switch): `timeout` in
  seconds (0 disarms).
* Errors (#error-code): v1 answers `{"status": "error", "err-code": .., "err-msg": ..}`, v2
  answers `{"code": 200|.., "message": .., "data": ..}`.
* Private stream `wss://api.huobi.pro/ws/v2` (#websocket-asset-and-order): `{"action": "req",
  "ch": "auth", "params": {authType api, accessKey, signatureMethod HmacSHA256,
  signatureVersion 2.1, timestamp, signature}}` (signature over "GET\n<host>\n/ws/v2\n<sorted
  params>"), then `sub` `orders#<symbol>` (#subscribe-order-updates) and
  `trade.clearing#<symbol>#0` (#subscribe-trade-details-amp-order-cancellation-post-clearing);
  the server's `{"action": "ping"}` is answered `{"action": "pong"}`; messages are plain JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final, NoReturn
from urllib.parse import quote, urlsplit

from venuegate.auth._base import ParamValue, Signer, iso_seconds, wall_clock_ms
from venuegate.auth.htx import HtxSigner
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
)

__all__ = ["DOCS", "ENDPOINTS", "ERRORS", "Adapter", "HtxPrivateStream", "dumps"]

DOCS: Final = "https://huobiapi.github.io/docs/spot/v1/en/"

ENDPOINTS: Final[Mapping[str, Endpoints]] = {
    # https://huobiapi.github.io/docs/spot/v1/en/#access-urls — REST `https://api.huobi.pro`
    # (or `https://api-aws.huobi.pro` from AWS); private stream `wss://api.huobi.pro/ws/v2`.
    "production": Endpoints(
        rest_url="https://api.huobi.pro",
        private_ws_url="wss://api.huobi.pro/ws/v2",
    ),
    "aws": Endpoints(
        rest_url="https://api-aws.huobi.pro",
        private_ws_url="wss://api-aws.huobi.pro/ws/v2",
    ),
}
"""Where HTX is reached. HTX runs no public spot testnet; "aws" is its AWS-hosted entry (sign
with `host="api-aws.huobi.pro"`)."""

# -- errors ------------------------------------------------------------------------------------
# kind: "retry" (nothing happened), "unavailable" (down/maintenance, nothing happened),
# "unknown" (may have acted: unknown outcome for state-changing ops, retryable otherwise),
# "rate", "auth", "clock", "duplicate", "not_found", "fatal".
ERRORS: Final[Mapping[str, tuple[str, str]]] = {
    # https://huobiapi.github.io/docs/spot/v1/en/#error-code (and answers ccxt records)
    "gateway-internal-error": ("unavailable", "Failed to load data. Try again later."),
    "system-maintenance": ("unavailable", "System is in maintenance!"),
    "timeout": ("unknown", "Request Timeout"),
    "internal-error": ("unknown", "Internal error"),
    "base-request-exceed-frequency-limit": (
        "rate",
        "Frequency of requests has exceeded the limit, please try again later",
    ),
    "rate-too-many-requests": ("rate", "exceeded rate limit"),
    "api-signature-not-valid": ("auth", "Signature not valid"),
    "api-signature-check-failed": ("auth", "Signature check failed"),
    "login-required": ("auth", "Signature parameter missing"),
    "invalid-access-key": ("auth", "Access key invalid"),
    "api-key-invalid": ("auth", "API key invalid"),
    "forbidden-trade-for-open-protect": ("fatal", "Trade is forbidden for open protect"),
    "base-symbol-error": ("fatal", "The symbol is invalid"),
    "base-symbol-trade-disabled": ("fatal", "Trading is disabled for this symbol"),
    "invalid-parameter": ("fatal", "Invalid parameter"),
    "invalid-amount": ("fatal", "Parameter `amount` is invalid."),
    "bad-request": ("fatal", "Bad request"),
    "validation-format-error": ("fatal", "Format Error"),
    "validation-constraints-required": ("fatal", "Field is missing"),
    "account-frozen-balance-insufficient-error": ("fatal", "trade account balance is not enough"),
    "order-accountbalance-error": ("fatal", "Account balance insufficient"),
    "order-value-min-error": ("fatal", "Order total cannot be lower than the minimum"),
    "order-orderprice-precision-error": ("fatal", "order price precision error"),
    "order-orderamount-precision-error": ("fatal", "order amount precision error"),
    "order-limitorder-amount-min-error": ("fatal", "limit order amount error, min"),
    "order-limitorder-amount-max-error": ("fatal", "limit order amount error, max"),
    "order-marketorder-amount-min-error": ("fatal", "market order amount error, min"),
    "order-invalid-price": ("fatal", "invalid price"),
    "order-limit-maker-price-error": (
        "fatal",
        "limit-maker order would take liquidity (price crosses the book)",
    ),
    "order-duplicate-client-order-id": ("duplicate", "client-order-id is duplicated"),
    "base-record-invalid": ("not_found", "record invalid"),
    "base-not-found": ("not_found", "The record is not found."),
    "order-queryorder-invalid": ("not_found", "The order does not exist"),
    "order-orderstate-error": ("not_found", "Incorrect order state"),
}
"""HTX `err-code` → (class, the docs' words). Codes not listed: fatal, or by HTTP status. Two
codes are the simulator's choice where the public table names none (duplicate client order id,
limit-maker crossing); both classes are right whatever the venue's code, as a resend of a
duplicate is refused either way. An `api-signature-not-valid` whose message speaks of the
timestamp is a clock error (HTX answers timestamps outside its window with that code)."""

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
# Per-endpoint limits per UID, from each endpoint's "Rate Limit" line in the docs (and HTX's
# announcement https://www.htx.com/support/900001168066): place 100/2s, cancel 100/2s,
# batchCancelOpenOrders 50/2s, openOrders 50/2s, order queries 50/2s, matchresults 20/2s,
# accounts 100/2s; public endpoints 10/1s per IP for these reference calls. HTX counts in fixed
# intervals; a client counting in sliding windows never exceeds them.
_RATE: Final = RateModel(
    venue="htx",
    windows=(
        Window("PLACE", 100, 2.0, WindowKind.SLIDING, reserve={}),
        Window("CANCEL", 100, 2.0, WindowKind.SLIDING),
        Window("CANCEL_ALL", 50, 2.0, WindowKind.SLIDING),
        Window("QUERY", 50, 2.0, WindowKind.SLIDING),
        Window("OPEN_ORDERS", 50, 2.0, WindowKind.SLIDING),
        Window("FILLS", 20, 2.0, WindowKind.SLIDING),
        Window("ACCOUNTS", 100, 2.0, WindowKind.SLIDING),
        Window("DEAD_MAN", 20, 2.0, WindowKind.SLIDING),
        Window("PUBLIC", 10, 1.0, WindowKind.SLIDING),
    ),
    ban_statuses=frozenset(),
)

_STATE: Final[Mapping[str, OrderState]] = {
    "created": OrderState.NEW,
    "submitted": OrderState.NEW,
    "partial-filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "partial-canceled": OrderState.CANCELED,
    "canceling": OrderState.PENDING_CANCEL,
    "canceled": OrderState.CANCELED,
}

_TYPE_SUFFIX: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "limit",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "limit-fok",
    TimeInForce.POST_ONLY: "limit-maker",
}

_CANCEL_STATUS_DONE: Final = frozenset({"5", "7"})
_CID_ALPHABET: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_CID_MAX: Final = 64
_BATCH_CANCEL_MAX: Final = 100


def _plain(value: Decimal) -> str:
    if not value.is_finite():
        raise ConfigError("prices and sizes must be finite decimals", venue="htx")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def dumps(obj: object) -> bytes:
    """Compact JSON with Decimals as plain-notation strings (HTX takes numbers as strings)."""

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


def _str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _side(order_type: object) -> Side | None:
    text = str(order_type or "")
    if text.startswith("buy"):
        return Side.BUY
    if text.startswith("sell"):
        return Side.SELL
    return None


class Adapter(VenueAdapter):
    """HTX spot: the request builders and parsers for the engine.

    Args:
        endpoints: where HTX is reached (`ENDPOINTS`, or the simulator's URLs).
        signer: an `HtxSigner` (REST signature v2); its host is the host signed for.
        account_id: the spot `account-id`; when None, fetch it with `accounts()` /
            `parse_accounts()` (the private stream's `prepare` does).
    """

    venue: ClassVar[str] = "htx"
    amend_mode: ClassVar[AmendMode] = AmendMode.CANCEL_NEW
    duplicate_client_ids_rejected: ClassVar[bool] = True
    client_id_max_len: ClassVar[int] = _CID_MAX
    rate_model: ClassVar[RateModel] = _RATE
    ERRORS: ClassVar[Mapping[str, tuple[str, str]]] = ERRORS

    def __init__(
        self,
        *,
        endpoints: Endpoints,
        signer: Signer | None = None,
        account_id: str | int | None = None,
    ) -> None:
        if signer is not None and not isinstance(signer, HtxSigner):
            raise ConfigError("the htx adapter needs an HTX signer", venue="htx")
        super().__init__(endpoints=endpoints, signer=signer)
        self.account_id: str | None = None if account_id is None else str(account_id)
        # venue order id → client order id (HTX fill listings carry only the order id)
        self._cids: dict[str, str] = {}

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        """`vg` + session + `-` + base-36 `n`: letters, digits, `-` and `_`, at most 64.

        HTX: `client-order-id` "max length 64 chars", unique within 8 hours. A session that is
        long or uses other characters is replaced by a digest of it.
        """
        if n < 0:
            raise ConfigError("client order sequence numbers are non-negative", venue="htx")
        tail = _base36(n)
        if len(tail) > 20:
            raise ConfigError("client order sequence number too large", venue="htx")
        if not session or len(session) > 40 or not set(session) <= _CID_ALPHABET:
            session = hashlib.blake2b(session.encode(), digest_size=8).hexdigest()
        return f"vg{session}-{tail}"

    def remember(self, venue_order_id: str, client_order_id: str) -> None:
        """Records a venue order id's client order id (fills listings name only the former)."""
        if venue_order_id and client_order_id:
            self._cids[venue_order_id] = client_order_id

    # -- helpers ---------------------------------------------------------------------------
    def _post(
        self, op: Op, path: str, body: object, costs: Mapping[str, int], prio: Priority
    ) -> HttpCall:
        return HttpCall(
            op=op,
            method="POST",
            path=path,
            body=dumps(body),
            cost=RequestCost(prio, costs, endpoint=path),
        )

    def _get(
        self,
        op: Op,
        path: str,
        params: Sequence[tuple[str, ParamValue]],
        costs: Mapping[str, int],
        *,
        signed: bool = True,
    ) -> HttpCall:
        return HttpCall(
            op=op,
            method="GET",
            path=path,
            params=tuple(params),
            signed=signed,
            cost=RequestCost(Priority.QUERY, costs, endpoint=path),
        )

    def _account(self) -> str:
        if self.account_id is None:
            raise ConfigError(
                "htx: account-id unknown; pass account_id or call accounts() first", venue="htx"
            )
        return self.account_id

    def _data(self, op: Op, resp: HttpResponse) -> Any:
        self.check(op, resp)
        body = _loads(resp.body)
        return body.get("data") if isinstance(body, dict) else None

    # -- accounts ----------------------------------------------------------------------------
    async def prepare(self, call: RestCaller) -> None:
        """Looks up the spot account id when it was not given."""
        if self.account_id is None:
            resp = await call(self.accounts())
            self.parse_accounts(resp)

    def accounts(self) -> HttpCall:
        """`GET /v1/account/accounts`."""
        return self._get(Op.OTHER, "/v1/account/accounts", [], {"ACCOUNTS": 1})

    def parse_accounts(self, resp: HttpResponse) -> str:
        """Sets and returns the `id` of the working `spot` account.

        Raises:
            ConfigError: the key has no spot account.
        """
        data = self._data(Op.OTHER, resp)
        for acc in data if isinstance(data, list) else []:
            if isinstance(acc, dict) and acc.get("type") == "spot":
                self.account_id = str(acc["id"])
                return self.account_id
        raise ConfigError("htx: this key has no spot account", venue="htx")

    # -- place -----------------------------------------------------------------------------
    def place(self, order: Order) -> HttpCall:
        """`POST /v1/order/orders/place` (`source` "spot-api").

        Raises:
            ConfigError: stop orders (not supported here), GTD (HTX has none), reduce-only,
                a market buy (HTX sizes those in the quote currency), market orders with a
                time in force other than GTC/IOC, an unknown account id.
        """
        if order.type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ConfigError(f"htx: {order.type} orders are not supported", venue="htx")
        if order.time_in_force is TimeInForce.GTD:
            raise ConfigError("htx has no good-till-date order type", venue="htx")
        if order.reduce_only:
            raise ConfigError("htx: reduce-only does not apply to spot orders", venue="htx")
        if len(order.client_order_id) > _CID_MAX or not set(order.client_order_id) <= _CID_ALPHABET:
            raise ConfigError("htx: client-order-id must be 1..64 of [A-Za-z0-9_-]", venue="htx")
        side = order.side.value
        body: dict[str, object] = {"account-id": self._account(), "symbol": order.symbol}
        if order.type is OrderType.MARKET:
            if order.side is Side.BUY:
                raise ConfigError(
                    "htx market buys are sized in the quote currency; use an IOC limit buy",
                    venue="htx",
                )
            if order.time_in_force not in (TimeInForce.GTC, TimeInForce.IOC):
                raise ConfigError(f"htx: market orders cannot be {order.time_in_force}")
            body |= {"type": f"{side}-market", "amount": order.quantity}
        else:
            assert order.price is not None  # noqa: S101 - Order validates limit prices
            body |= {
                "type": f"{side}-{_TYPE_SUFFIX[order.time_in_force]}",
                "amount": order.quantity,
                "price": order.price,
            }
        body |= {"source": "spot-api", "client-order-id": order.client_order_id}
        return self._post(Op.PLACE, "/v1/order/orders/place", body, {"PLACE": 1}, Priority.NEW)

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """ACK with the venue's order id (`data`); fills come on the stream and in listings."""
        data = self._data(Op.PLACE, resp)
        oid = _str(data)
        if oid:
            self.remember(oid, order.client_order_id)
        return [
            VenueReport(
                venue=self.venue,
                client_order_id=order.client_order_id,
                kind=ReportKind.ACK,
                venue_order_id=oid,
                symbol=order.symbol,
                side=order.side,
                state=OrderState.NEW,
                quantity=order.quantity,
                price=order.price,
            )
        ]

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, order: Order) -> HttpCall:
        """`POST /v1/order/orders/submitCancelClientOrder` by `client-order-id`."""
        return self._post(
            Op.CANCEL,
            "/v1/order/orders/submitCancelClientOrder",
            {"client-order-id": order.client_order_id},
            {"CANCEL": 1},
            Priority.CANCEL,
        )

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """Reports by HTX's cancellation status.

        7 / 5: CANCELED; 6: STATUS filled; 10 (cancelling) and -1 (closed long ago): nothing
        (the stream, or a query, tells).
        """
        status = str(self._data(Op.CANCEL, resp))
        base: dict[str, Any] = {
            "venue": self.venue,
            "client_order_id": order.client_order_id,
            "venue_order_id": order.venue_order_id,
            "symbol": order.symbol,
            "side": order.side,
        }
        if status in _CANCEL_STATUS_DONE:
            return [VenueReport(kind=ReportKind.CANCELED, state=OrderState.CANCELED, **base)]
        if status == "6":
            return [VenueReport(kind=ReportKind.STATUS, state=OrderState.FILLED, **base)]
        return []

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """`POST /v1/order/orders/batchCancelOpenOrders`.

        Up to 100 orders per call; repeat while `next-id` is not -1.
        """
        body: dict[str, object] = {"account-id": self._account()}
        if symbol is not None:
            body["symbol"] = symbol
        body["size"] = _BATCH_CANCEL_MAX
        return self._post(
            Op.CANCEL_ALL,
            "/v1/order/orders/batchCancelOpenOrders",
            body,
            {"CANCEL_ALL": 1},
            Priority.CANCEL,
        )

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """Nothing: the stream reports each cancellation.

        The answer gives only counts (`success-count`, `failed-count`).
        """
        self.check(Op.CANCEL_ALL, resp)
        return []

    # -- amend -------------------------------------------------------------------------------
    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """HTX cannot amend an order.

        Raises:
            ConfigError: always (`amend_mode` is CANCEL_NEW: the engine cancels, then places).
        """
        raise ConfigError(
            "htx has no amend: the engine cancels then places (AmendMode.CANCEL_NEW)",
            venue="htx",
        )

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """HTX cannot amend an order.

        Raises:
            ConfigError: always.
        """
        raise ConfigError("htx has no amend (AmendMode.CANCEL_NEW)", venue="htx")

    # -- queries -----------------------------------------------------------------------------
    def query(self, order: Order) -> HttpCall:
        """`GET /v1/order/orders/getClientOrder?clientOrderId=..`."""
        return self._get(
            Op.QUERY,
            "/v1/order/orders/getClientOrder",
            [("clientOrderId", order.client_order_id)],
            {"QUERY": 1},
        )

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS, or NOT_FOUND for "base-record-invalid" (and HTX's other not-found codes)."""
        try:
            data = self._data(Op.QUERY, resp)
        except OrderNotFoundError:
            data = None
        if not isinstance(data, dict):
            return [
                VenueReport(
                    venue=self.venue,
                    client_order_id=order.client_order_id,
                    kind=ReportKind.NOT_FOUND,
                    symbol=order.symbol,
                )
            ]
        return [self.order_report(data, ReportKind.STATUS, order.client_order_id)]

    def open_orders(self, symbol: str | None) -> HttpCall:
        """`GET /v1/order/openOrders?account-id=..[&symbol=..]&size=500`."""
        params: list[tuple[str, ParamValue]] = [("account-id", self._account())]
        if symbol is not None:
            params.append(("symbol", symbol))
        params.append(("size", "500"))
        return self._get(Op.OPEN_ORDERS, "/v1/order/openOrders", params, {"OPEN_ORDERS": 1})

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per open order."""
        data = self._data(Op.OPEN_ORDERS, resp)
        items = data if isinstance(data, list) else []
        return [self.order_report(d, ReportKind.STATUS) for d in items if isinstance(d, dict)]

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """`GET /v1/order/matchresults?symbol=..&start-time=..&size=500`.

        HTX serves at most 48 hours from `start-time`, within the last 120 days.
        """
        return self._get(
            Op.FILLS,
            "/v1/order/matchresults",
            [("symbol", symbol), ("start-time", str(since_ms)), ("size", "500")],
            {"FILLS": 1},
        )

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per execution.

        Fields: `trade-id` (the stream's `tradeId`), `filled-amount`, `price`, `filled-fees` +
        `fee-currency`, `role` maker/taker.
        """
        data = self._data(Op.FILLS, resp)
        out: list[VenueReport] = []
        for d in data if isinstance(data, list) else []:
            if not isinstance(d, dict):
                continue
            oid = _str(d.get("order-id")) or ""
            role = str(d.get("role") or "")
            out.append(
                VenueReport(
                    venue=self.venue,
                    client_order_id=_str(d.get("client-order-id")) or self._cids.get(oid, ""),
                    kind=ReportKind.FILL,
                    venue_order_id=oid or None,
                    symbol=_str(d.get("symbol")),
                    side=_side(d.get("type")),
                    trade_id=_str(d.get("trade-id")),
                    last_qty=_dec(d.get("filled-amount")),
                    last_price=_dec(d.get("price")),
                    fee=_dec(d.get("filled-fees")),
                    fee_asset=_str(d.get("fee-currency")),
                    liquidity=role if role in ("maker", "taker") else None,
                    ts_ms=_int(d.get("created-at") or 0),
                )
            )
        return out

    # -- time, status, dead man ------------------------------------------------------------
    def server_time(self) -> HttpCall:
        """`GET /v1/common/timestamp`."""
        return self._get(Op.TIME, "/v1/common/timestamp", [], {"PUBLIC": 1}, signed=False)

    def parse_server_time(self, resp: HttpResponse) -> int:
        """`data`, ms since the epoch."""
        data = self._data(Op.TIME, resp)
        if data is None:
            raise ProtocolError("htx: time answer without data", venue="htx")
        return int(str(data))

    def status(self) -> HttpCall:
        """`GET /v2/market-status`."""
        return self._get(Op.STATUS, "/v2/market-status", [], {"PUBLIC": 1}, signed=False)

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """Trading when `marketStatus` is 1; 2 (halted) and 3 (cancel-only) stop new orders."""
        data = self._data(Op.STATUS, resp)
        if not isinstance(data, dict):
            raise ProtocolError("htx: market-status answer without data", venue="htx")
        status = _int(data.get("marketStatus"))
        if status == 1:
            return VenueStatus(True)
        reason = {2: "halted", 3: "cancel-only"}.get(status, f"marketStatus {status}")
        if data.get("haltReason") is not None:
            reason += f" (haltReason {data.get('haltReason')})"
        end = _int(data.get("haltEndTime") or 0)
        return VenueStatus(False, reason, end or None)

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall:
        """`POST /v2/algo-orders/cancel-all-after` with `timeout` seconds.

        0 disarms; HTX takes at least 5 seconds otherwise.

        Raises:
            ConfigError: a timeout between 0 and 5 seconds, or negative.
        """
        secs = round(timeout_s)
        if secs < 0 or 0 < secs < 5:
            raise ConfigError("htx cancel-all-after takes 0 or at least 5 seconds", venue="htx")
        return self._post(
            Op.DEAD_MAN,
            "/v2/algo-orders/cancel-all-after",
            {"timeout": secs},
            {"DEAD_MAN": 1},
            Priority.CANCEL,
        )

    def parse_dead_man(self, resp: HttpResponse) -> int:
        """The venue's `triggerTime` (ms; 0 when disarmed)."""
        data = self._data(Op.DEAD_MAN, resp)
        return _int(data.get("triggerTime") or 0) if isinstance(data, dict) else 0

    # -- errors -----------------------------------------------------------------------------
    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified error of an HTX answer (v1 `status`/`err-code`, v2 `code`)."""
        try:
            body = _loads(resp.body) if resp.body else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._raise(op, resp, "", "no JSON body")
        if "status" in body:
            if body.get("status") == "ok" and resp.status < 400:
                return
            code = str(body.get("err-code") or body.get("err_code") or "")
            msg = str(body.get("err-msg") or body.get("err_msg") or "")
            self._raise(op, resp, code, msg)
        if "code" in body:
            code = str(body.get("code"))
            if code == "200" and resp.status < 400:
                return
            self._raise(op, resp, code, str(body.get("message") or ""))
        if resp.status < 400:
            return
        self._raise(op, resp, "", "unexpected answer")

    def _raise(self, op: Op, resp: HttpResponse, code: str, msg: str) -> NoReturn:
        text = f"htx: {op} failed: HTTP {resp.status} {code or '-'} {msg}".strip()
        kind = ERRORS.get(code, ("", ""))[0]
        if kind == "auth" and "timestamp" in msg.lower():
            kind = "clock"
        if not kind:
            if resp.status == 429:
                kind = "rate"
            elif resp.status in (502, 503):
                kind = "unavailable"
            elif resp.status >= 500:
                kind = "unknown"
            elif resp.status in (401, 403):
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
        """A report from an HTX REST order object (order detail, open orders)."""
        oid = _str(d.get("id")) or ""
        cid = _str(d.get("client-order-id")) or client_order_id or self._cids.get(oid, "")
        self.remember(oid, cid)
        filled = _dec(d.get("filled-amount", d.get("field-amount")))
        order_type = str(d.get("type") or "")
        return VenueReport(
            venue=self.venue,
            client_order_id=cid,
            kind=kind,
            venue_order_id=oid or None,
            symbol=_str(d.get("symbol")),
            side=_side(order_type),
            state=_state(str(d.get("state") or ""), order_type, filled),
            quantity=_dec(d.get("amount")),
            price=_dec(d.get("price")) if "market" not in order_type else None,
            filled_qty=filled,
            ts_ms=_int(d.get("finished-at") or d.get("created-at") or 0),
        )

    # -- private stream -------------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> HtxPrivateStream:
        """An auth + `orders#` / `trade.clearing#` subscription protocol for one connection."""
        if not isinstance(self.signer, HtxSigner):
            raise ConfigError("the htx private stream needs credentials", venue="htx")
        return HtxPrivateStream(self, self.signer, symbols)


def _state(state: str, order_type: str, filled: Decimal | None) -> OrderState | None:
    mapped = _STATE.get(state)
    if (
        mapped is OrderState.CANCELED
        and order_type.endswith(("-fok", "-limit-maker"))
        and not filled
    ):
        return OrderState.EXPIRED
    return mapped


def ws_auth_message(
    signer: HtxSigner, host: str, path: str = "/ws/v2", timestamp_ms: int | None = None
) -> str:
    r"""The ws/v2 `auth` request, signature version 2.1.

    The signature is over "GET\n<host>\n<path>\n<sorted, URI-encoded params>"
    (https://huobiapi.github.io/docs/spot/v1/en/#websocket-asset-and-order "Authentication").

    The signer's `ws_signature` signs it; the secret never leaves native code.
    """
    ts = timestamp_ms if timestamp_ms is not None else wall_clock_ms()
    params = {
        "accessKey": signer.api_key,
        "signatureMethod": "HmacSHA256",
        "signatureVersion": "2.1",
        "timestamp": iso_seconds(ts),
    }
    canonical = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params.items()))
    signature = signer.ws_signature(host, path, canonical)
    return json.dumps(
        {
            "action": "req",
            "ch": "auth",
            "params": {"authType": "api", **params, "signature": signature},
        },
        separators=(",", ":"),
    )


class HtxPrivateStream(PrivateStream):
    """`/ws/v2`: `auth`, then `sub` `orders#<symbol>` and `trade.clearing#<symbol>#0`.

    Pings are answered; order events and clearing (fee-bearing) trades decoded.

    `orders#` events (#subscribe-order-updates): `eventType` "creation" (ACK), "trade" (the
    fill's `tradeId` / `tradePrice` / `tradeVolume`, no fee), "cancellation" (CANCELED, or
    EXPIRED for FOK / limit-maker orders that never filled). FILLs are taken from
    `trade.clearing#` (same `tradeId`, with `transactFee` / `feeCurrency`), so each execution is
    reported once, with its fee; set `fills_from_orders=True` to report them from `orders#`
    instead.
    """

    keepalive_s: ClassVar[float] = 20.0

    def __init__(
        self,
        adapter: Adapter,
        signer: HtxSigner,
        symbols: Sequence[str],
        *,
        fills_from_orders: bool = False,
    ) -> None:
        self._adapter = adapter
        self._signer = signer
        self._symbols = tuple(symbols) or ("*",)
        self._fills_from_orders = fills_from_orders
        self._pending: set[str] = set()
        self._authed = False

    async def prepare(self, call: RestCaller) -> None:
        """Fetches the spot account id when the adapter has none (orders need it)."""
        if self._adapter.account_id is None:
            self._adapter.parse_accounts(await call(self._adapter.accounts()))

    def url(self) -> str:
        """The private WebSocket URL."""
        return self._adapter.endpoints.private_ws_url

    def channels(self) -> list[str]:
        """The channels subscribed after auth."""
        out: list[str] = []
        for s in self._symbols:
            out.append(f"orders#{s}")
            out.append(f"trade.clearing#{s}#0")
        return out

    def open_messages(self) -> list[str]:
        """The `auth` request, signed for the signer's host and the URL's path."""
        path = urlsplit(self.url()).path or "/ws/v2"
        host = self._signer.host or "api.huobi.pro"
        return [ws_auth_message(self._signer, host, path, wall_clock_ms())]

    def on_message(self, data: str | bytes) -> StreamEvents:  # noqa: PLR0911
        """Decodes one message (auth / sub answers, ping, pushes)."""
        text = data.decode() if isinstance(data, bytes) else data
        ev = StreamEvents(ready=self._authed and not self._pending)
        try:
            msg = _loads(text)
        except ValueError:
            ev.error = RetryableError("htx: undecodable private message", venue="htx")
            return ev
        if not isinstance(msg, dict):
            return ev
        action = msg.get("action")
        ch = str(msg.get("ch") or "")
        if action == "ping":
            ts = (msg.get("data") or {}).get("ts")
            ev.replies.append(json.dumps({"action": "pong", "data": {"ts": ts}}))
            return ev
        code = _int(msg.get("code", 200))
        if action == "req" and ch == "auth":
            if code != 200:
                text_ = f"htx: private stream auth refused: {code} {msg.get('message', '')}"
                cls: type[VenueError] = (
                    ClockSkewError
                    if "timestamp" in str(msg.get("message", "")).lower()
                    else AuthError
                )
                ev.error = cls(text_, venue="htx", code=str(code))
                return ev
            self._authed = True
            for channel in self.channels():
                self._pending.add(channel)
                ev.replies.append(json.dumps({"action": "sub", "ch": channel}))
            return ev
        if action == "sub":
            if code != 200:
                ev.error = FatalError(
                    f"htx: subscription {ch} refused: {code} {msg.get('message', '')}",
                    venue="htx",
                    code=str(code),
                )
                return ev
            self._pending.discard(ch)
            ev.ready = self._authed and not self._pending
            return ev
        if action == "push":
            d = msg.get("data")
            if isinstance(d, dict):
                if ch.startswith("orders#"):
                    ev.reports.extend(self._order_event(d))
                elif ch.startswith("trade.clearing#"):
                    ev.reports.extend(self._clearing(d))
        return ev

    def _order_event(self, d: Mapping[str, Any]) -> list[VenueReport]:
        a = self._adapter
        event = str(d.get("eventType") or "")
        oid = _str(d.get("orderId")) or ""
        cid = _str(d.get("clientOrderId")) or a._cids.get(oid, "")
        a.remember(oid, cid)
        order_type = str(d.get("type") or "")
        qty = _dec(d.get("orderSize"))
        price = _dec(d.get("orderPrice")) if "market" not in order_type else None
        filled = _dec(d.get("execAmt"))
        base: dict[str, Any] = {
            "venue": a.venue,
            "client_order_id": cid,
            "venue_order_id": oid or None,
            "symbol": _str(d.get("symbol")),
            "side": _side(order_type),
            "quantity": qty,
            "price": price,
        }
        status = str(d.get("orderStatus") or "")
        if event == "creation":
            return [
                VenueReport(
                    kind=ReportKind.ACK,
                    state=_STATE.get(status, OrderState.NEW),
                    ts_ms=_int(d.get("orderCreateTime") or 0),
                    **base,
                )
            ]
        if event == "trade":
            if not self._fills_from_orders:
                return []
            return [
                VenueReport(
                    kind=ReportKind.FILL,
                    state=_STATE.get(status),
                    filled_qty=filled,
                    trade_id=_str(d.get("tradeId")),
                    last_qty=_dec(d.get("tradeVolume")),
                    last_price=_dec(d.get("tradePrice")),
                    liquidity="taker" if d.get("aggressor") is True else "maker",
                    ts_ms=_int(d.get("tradeTime") or 0),
                    **base,
                )
            ]
        if event == "cancellation":
            state = _state(status, order_type, filled)
            kind = ReportKind.EXPIRED if state is OrderState.EXPIRED else ReportKind.CANCELED
            return [
                VenueReport(
                    kind=kind,
                    state=state,
                    filled_qty=filled,
                    reason=status or None,
                    ts_ms=_int(d.get("lastActTime") or 0),
                    **base,
                )
            ]
        return []

    def _clearing(self, d: Mapping[str, Any]) -> list[VenueReport]:
        a = self._adapter
        if str(d.get("eventType") or "trade") != "trade":
            return []
        oid = _str(d.get("orderId")) or ""
        cid = _str(d.get("clientOrderId")) or a._cids.get(oid, "")
        a.remember(oid, cid)
        side = str(d.get("orderSide") or "")
        order_type = str(d.get("orderType") or "")
        return [
            VenueReport(
                venue=a.venue,
                client_order_id=cid,
                kind=ReportKind.FILL,
                venue_order_id=oid or None,
                symbol=_str(d.get("symbol")),
                side=Side(side) if side in ("buy", "sell") else _side(order_type),
                state=_STATE.get(str(d.get("orderStatus") or "")),
                quantity=_dec(d.get("orderSize")),
                price=_dec(d.get("orderPrice")) if "market" not in order_type else None,
                trade_id=_str(d.get("tradeId")),
                last_qty=_dec(d.get("tradeVolume")),
                last_price=_dec(d.get("tradePrice")),
                fee=_dec(d.get("transactFee")),
                fee_asset=_str(d.get("feeCurrency")),
                liquidity="taker" if d.get("aggressor") is True else "maker",
                ts_ms=_int(d.get("tradeTime") or 0),
            )
        ]
