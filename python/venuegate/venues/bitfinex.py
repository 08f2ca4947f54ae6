"""Bitfinex v2 spot trading adapter: REST order entry and the authenticated WebSocket.

Bitfinex v2 spot ("exchange" wallet) trading adapter: REST order entry and the authenticated
WebSocket's order and trade events.

Written from the Bitfinex API documentation (https://docs.bitfinex.com/):

* Submit order `POST /v2/auth/w/order/submit` (https://docs.bitfinex.com/reference/rest-auth-submit-order):
  `type` (`EXCHANGE LIMIT`, `EXCHANGE MARKET`, `EXCHANGE IOC`, `EXCHANGE FOK` — the `EXCHANGE`
  prefix trades the spot wallet), `symbol` (`tBTCUSD`), `amount` (a decimal string, positive =
  buy, negative = sell), `price`, `cid` (an integer, "should be unique in the day (UTC) (not
  enforced)"), `flags` (4096 post-only, https://docs.bitfinex.com/docs/flag-values), `tif`
  (good-till-date, "YYYY-MM-DD HH:MM:SS" UTC). The answer is a notification
  `[MTS, "on-req", MSG_ID, null, [ORDER], CODE, STATUS, TEXT]`.
* Update order `POST /v2/auth/w/order/update` (https://docs.bitfinex.com/reference/rest-auth-update-order):
  by order `id`; `price`, and `delta` (the change of amount, signed like the order). The order
  keeps its ids (AmendMode.IN_PLACE). We send `delta` rather than `amount` so that a fill racing
  the update cannot make the order larger than asked.
* Cancel order `POST /v2/auth/w/order/cancel` (https://docs.bitfinex.com/reference/rest-auth-cancel-order)
  by `cid` + `cid_date` (YYYY-MM-DD, the UTC day the order was created); cancel all
  `POST /v2/auth/w/order/cancel/multi` with `{"all": 1}`
  (https://docs.bitfinex.com/reference/rest-auth-cancel-orders-multiple).
* Active orders `POST /v2/auth/r/orders[/{symbol}]` (https://docs.bitfinex.com/reference/rest-auth-retrieve-orders,
  body `id`, `gid`, `cid`, `cid_date`); closed orders `POST /v2/auth/r/orders/{symbol}/hist`
  (https://docs.bitfinex.com/reference/rest-auth-orders-history); our trades
  `POST /v2/auth/r/trades/{symbol}/hist` (https://docs.bitfinex.com/reference/rest-auth-trades-by-symbol,
  `start`, `limit` up to 2500, `sort` 1 = ascending).
* Platform status `GET /v2/platform/status` (https://docs.bitfinex.com/reference/rest-public-platform-status):
  `[1]` operative, `[0]` maintenance. Bitfinex has no server-time endpoint (its nonces need only
  increase, no timestamp window is checked); `server_time()` asks the platform status and reads
  the venue's clock from the answer's HTTP `Date` header (RFC 9110, to the second).
* Errors (https://docs.bitfinex.com/docs/abbreviations-glossary#errorinfo-codes): REST errors are
  `["error", CODE, "TEXT"]`, sent with HTTP 500 even when the request was merely invalid, so the
  body decides; a bare 5xx (no Bitfinex error array) after an order-changing call is an unknown
  outcome; `{"error": "temporarily_unavailable"}` (HTTP 503) is a refusal before processing.
* Private stream `wss://api.bitfinex.com/ws/2` (https://docs.bitfinex.com/docs/ws-auth): the `auth`
  event (apiKey, authSig = hex HMAC-SHA384(secret, authPayload), authPayload = "AUTH" + nonce,
  authNonce, `dms: 4`, `filter: ["trading"]`); channel 0 carries `os`/`on`/`ou`/`oc` order
  snapshots and events (https://docs.bitfinex.com/reference/ws-auth-orders) and `te`/`tu` trades
  (https://docs.bitfinex.com/reference/ws-auth-trades; `tu` adds the fee), `n` notifications,
  and `hb` heartbeats.

Dead-man switch: Bitfinex has no REST dead-man endpoint; the authenticated WebSocket's `dms: 4`
flag makes the venue cancel every order of the account when that socket closes
(https://docs.bitfinex.com/docs/ws-auth). `dead_man()` therefore returns None, and arms (timeout
> 0) or disarms (0) the flag: the private stream's auth message then sets `dms: 4`. The engine
calls `dead_man()` before it opens the stream when a dead-man switch is configured, so the venue's
switch follows the engine's setting; `Adapter(dead_man_switch=True)` arms it from the start. The
flag takes effect at the next authentication (a running stream keeps what it logged in with).

Bitfinex sends numbers as JSON numbers: they are parsed with `parse_float=Decimal` (exactly, from
the text), never as floats.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Final, NoReturn

from venuegate.auth._base import Signer
from venuegate.auth.bitfinex import BitfinexSigner
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

__all__ = [
    "ENDPOINTS",
    "ERRORS",
    "TEXT_ERRORS",
    "Adapter",
    "BitfinexPrivateStream",
    "cid_date",
    "dumps",
    "loads",
]

VENUE: Final = "bitfinex"

ENDPOINTS: Final[Mapping[str, Endpoints]] = {
    # https://docs.bitfinex.com/docs/rest-general (authenticated REST: api.bitfinex.com) and
    # https://docs.bitfinex.com/docs/ws-auth (authenticated WebSocket: api.bitfinex.com/ws/2).
    "production": Endpoints(
        rest_url="https://api.bitfinex.com",
        private_ws_url="wss://api.bitfinex.com/ws/2",
        ws_api_url="wss://api.bitfinex.com/ws/2",
    ),
    # Bitfinex has no separate testnet host: paper trading is a sub-account on production URLs
    # trading the TEST pairs (e.g. tTESTBTC:TESTUSD), https://support.bitfinex.com (paper trading).
    "paper": Endpoints(
        rest_url="https://api.bitfinex.com",
        private_ws_url="wss://api.bitfinex.com/ws/2",
        ws_api_url="wss://api.bitfinex.com/ws/2",
    ),
}
"""Where Bitfinex is reached; "paper" is the paper-trading sub-account (same hosts)."""

# -- errors ------------------------------------------------------------------------------------
# kind: "retry" (nothing happened), "unavailable" (down/maintenance, nothing happened),
# "unknown" (may have acted: unknown outcome for order-changing ops, retryable otherwise),
# "rate", "auth", "clock", "duplicate", "not_found", "fatal".
ERRORS: Final[Mapping[str, tuple[str, str]]] = {
    # https://docs.bitfinex.com/docs/abbreviations-glossary#errorinfo-codes
    "10000": ("unknown", "ERR_UNK: Unknown error"),
    "10001": ("fatal", "ERR_GENERIC: Generic error (the text says which; see TEXT_ERRORS)"),
    "10008": ("retry", "ERR_CONCURRENCY: Concurrency error"),
    "10020": ("fatal", "ERR_PARAMS: Request parameters error"),
    "10050": ("fatal", "ERR_CONF_FAIL: Configuration setup failed"),
    "10100": ("auth", "ERR_AUTH_FAIL: Failed authentication"),
    "10111": ("auth", "ERR_AUTH_PAYLOAD: Error in authentication request payload"),
    "10112": ("auth", "ERR_AUTH_SIG: Error in authentication request signature"),
    "10113": ("auth", "ERR_AUTH_HMAC: Error in authentication request encryption"),
    "10114": ("clock", "ERR_AUTH_NONCE: Error in authentication request nonce (nonce: small)"),
    "10200": ("auth", "ERR_UNAUTH_FAIL: Error in un-authentication request"),
    "11000": ("retry", "ERR_READY: Not ready, try again later"),
    # https://docs.bitfinex.com/docs/requirements-and-limitations#rest-rate-limits
    "11010": ("rate", "ratelimit: error"),
    "ERR_RATE_LIMIT": ("rate", "ERR_RATE_LIMIT (legacy rate-limit answer)"),
    # https://docs.bitfinex.com/docs/ws-general#info-messages (20051 stop/restart, 20060
    # maintenance); REST answers ["error", 20060, "maintenance"] during maintenance.
    "20051": ("unavailable", "EVT_STOP: server stopping, please reconnect later"),
    "20060": ("unavailable", "EVT_RESYNC_START: maintenance, please reconnect later"),
    # HTTP 503 {"code":503,"error":"temporarily_unavailable","error_description":"Sorry, the
    # service is temporarily unavailable. See https://www.bitfinex.com/ for more info."}
    "temporarily_unavailable": ("unavailable", "Sorry, the service is temporarily unavailable"),
}
"""Bitfinex code → (class, the docs' words). Unlisted codes: fatal (a Bitfinex error array) or
by HTTP status (a bare 5xx)."""

TEXT_ERRORS: Final[tuple[tuple[str, str], ...]] = (
    # Texts that refine the generic codes (10001, 10020), matched case-insensitively.
    ("nonce: small", "clock"),
    ("apikey", "auth"),
    ("ratelimit", "rate"),
    ("maintenance", "unavailable"),
    ("order not found", "not_found"),
    ("order: invalid", "not_found"),
    ("id: invalid", "not_found"),
    ("duplicate", "duplicate"),
    ("not enough exchange balance", "fatal"),
    ("minimum size", "fatal"),
)
"""Error text fragment → class, first match wins (the texts ccxt and the SDKs match too)."""

_KIND_CLASS: Final[Mapping[str, type[VenueError]]] = {
    "retry": RetryableError,
    "unavailable": VenueUnavailableError,
    "auth": AuthError,
    "clock": ClockSkewError,
    "duplicate": DuplicateOrderError,
    "not_found": OrderNotFoundError,
    "fatal": FatalError,
}

# -- rate model --------------------------------------------------------------------------------
# Each endpoint page states its limit ("Rate Limit: 90 reqs/min"; platform status 30 reqs/min);
# "if an IP address exceeds the limit it is blocked for 60 seconds"
# (https://docs.bitfinex.com/docs/requirements-and-limitations#rest-rate-limits).
_PER_MIN: Final[Mapping[str, int]] = {
    "SUBMIT": 90,
    "UPDATE": 90,
    "CANCEL": 90,
    "CANCEL_MULTI": 90,
    "ORDERS": 90,
    "ORDERS_HIST": 90,
    "TRADES_HIST": 90,
    "STATUS": 30,
    "CONF": 90,
}
RATE_MODEL: Final = RateModel(
    venue=VENUE,
    windows=tuple(Window(n, lim, 60.0, WindowKind.SLIDING) for n, lim in _PER_MIN.items()),
    ban_statuses=frozenset(),
)

FLAG_HIDDEN: Final = 64
FLAG_REDUCE_ONLY: Final = 1024
FLAG_POST_ONLY: Final = 4096
"""https://docs.bitfinex.com/docs/flag-values"""

_TYPE: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "EXCHANGE LIMIT",
    TimeInForce.POST_ONLY: "EXCHANGE LIMIT",
    TimeInForce.GTD: "EXCHANGE LIMIT",
    TimeInForce.IOC: "EXCHANGE IOC",
    TimeInForce.FOK: "EXCHANGE FOK",
}

_DAY_MS: Final = 86_400_000
_CID_MAX: Final = 1 << 45
_TICKS_PER_DAY: Final = 100_000_000  # ms of the day, < 10^8


def _plain(value: Decimal) -> str:
    if not value.is_finite():
        raise ConfigError("prices and sizes must be finite decimals", venue=VENUE)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def dumps(obj: object) -> bytes:
    """Compact JSON with Decimals as plain-notation strings.

    Compact JSON with Decimals as plain-notation strings (Bitfinex takes amounts and prices
    as strings).
    """

    def default(o: object) -> str:
        if isinstance(o, Decimal):
            return _plain(o)
        raise TypeError(f"cannot encode {type(o).__name__}")

    return json.dumps(obj, separators=(",", ":"), default=default).encode()


def loads(raw: bytes | str) -> Any:
    """JSON with every non-integer number as an exact Decimal (never a float)."""
    return json.loads(raw, parse_float=Decimal)


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):  # pragma: no cover - loads() never yields floats
        raise ProtocolError("bitfinex: float in a decoded message", venue=VENUE)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _at(seq: Sequence[Any], i: int) -> Any:
    return seq[i] if len(seq) > i else None


def cid_date(client_order_id: str) -> str:
    """The UTC day (`YYYY-MM-DD`) encoded in one of our client order ids.

    Raises:
        ConfigError: not one of this adapter's ids (not a decimal integer under 2**45).
    """
    if not client_order_id.isdigit() or int(client_order_id) >= _CID_MAX:
        raise ConfigError(f"bitfinex: {client_order_id!r} is not a cid", venue=VENUE)
    day = int(client_order_id) // (10 * _TICKS_PER_DAY)
    return _day_text(day * _DAY_MS)


def _day_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _side(amount: Decimal | None) -> Side | None:
    if amount is None or amount == 0:
        return None
    return Side.BUY if amount > 0 else Side.SELL


def _status_state(status: str) -> tuple[OrderState, str | None]:
    """Bitfinex ORDER_STATUS → our state and, for cancels, the reason text.

    Statuses (https://docs.bitfinex.com/reference/rest-auth-retrieve-orders): ACTIVE, EXECUTED @
    PRICE(AMOUNT), PARTIALLY FILLED @ PRICE(AMOUNT), INSUFFICIENT MARGIN was: PARTIALLY FILLED @
    .., CANCELED, CANCELED was: PARTIALLY FILLED @ .., RSN_DUST, RSN_PAUSE, IOC CANCELED,
    FILLORKILL CANCELED, POSTONLY CANCELED.
    """
    s = status.strip().upper()
    if s.startswith("ACTIVE"):
        return OrderState.NEW, None
    if s.startswith("PARTIALLY FILLED"):
        return OrderState.PARTIALLY_FILLED, None
    if s.startswith("EXECUTED"):
        return OrderState.FILLED, None
    if s.startswith(("FILLORKILL CANCELED", "POSTONLY CANCELED")):
        return OrderState.EXPIRED, status
    return OrderState.CANCELED, status


class Adapter(VenueAdapter):
    """Bitfinex v2, spot exchange wallet: the request builders and parsers for the engine.

    Args:
        endpoints: where Bitfinex is reached (`ENDPOINTS`, or the simulator's URLs).
        signer: a `BitfinexSigner` (REST and WebSocket auth).
        dead_man_switch: send `dms: 4` in the WebSocket auth (cancel all on disconnect) from the
            start; otherwise `dead_man()` arms it.
        clock_ms: the clock client order ids are derived from.
    """

    signs_with_server_time: ClassVar[bool] = False  # nonces: increasing, local clock
    # No nonce window: a request overtaken in flight by a later-signed one is refused "nonce:
    # small" (the full chaos run lost most of its rate budget to that): signed requests go out
    # one at a time (https://docs.bitfinex.com/docs/rest-auth: "nonce must be strictly
    # increasing").
    nonce_ordered: ClassVar[bool] = True
    venue: ClassVar[str] = VENUE
    amend_mode: ClassVar[AmendMode] = AmendMode.IN_PLACE
    # "cid: Should be unique in the day (UTC) (not enforced)": a resend with the same cid is NOT
    # refused, so an UNKNOWN order must be resolved by query, never by resending.
    duplicate_client_ids_rejected: ClassVar[bool] = False
    client_id_max_len: ClassVar[int] = 14  # decimal digits of an integer below 2**45
    rate_model: ClassVar[RateModel] = RATE_MODEL
    ERRORS: ClassVar[Mapping[str, tuple[str, str]]] = ERRORS

    def __init__(
        self,
        *,
        endpoints: Endpoints,
        signer: Signer | None = None,
        dead_man_switch: bool = False,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if signer is not None and not isinstance(signer, BitfinexSigner):
            raise ConfigError("the bitfinex adapter needs a Bitfinex signer", venue=VENUE)
        self.bfx_signer = signer
        # BitfinexSigner's nonces always rise (its own counter, shared with `ws_auth`), and the
        # REST client passes no server time to nonce venues (`signs_with_server_time`).
        super().__init__(endpoints=endpoints, signer=signer)
        self.dead_man_switch = dead_man_switch
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._last_tick = 0
        self._dates: dict[str, str] = {}  # cid → cid_date of the order's creation
        self._cid_by_id: dict[str, str] = {}  # venue order id → cid
        self._seen: dict[str, tuple[Decimal | None, Decimal | None]] = {}  # cid → (qty, price)

    # -- identifiers ---------------------------------------------------------------------
    def new_client_order_id(self, session: str, n: int) -> str:
        """A `cid`: `day * 10**9 + ms_of_day * 10 + slot`, as a decimal string.

        `day` is the UTC day number (so `cid_date` is recovered from the id, `cid_date()`),
        `ms_of_day` the issue time — strictly increasing within this adapter, so ids are unique
        and sort in issue order — and `slot` a digit derived from `session`, so two processes
        issuing in the same millisecond differ unless their sessions share a slot. The value
        stays below 2**45 (Bitfinex's int45 cid) until 2066.
        """
        if n < 0:
            raise ConfigError("client order sequence numbers are non-negative", venue=VENUE)
        day, ms = divmod(self._clock_ms(), _DAY_MS)
        tick = max(day * _TICKS_PER_DAY + ms, self._last_tick + 1)
        self._last_tick = tick
        slot = int.from_bytes(hashlib.blake2b(session.encode(), digest_size=2).digest()) % 10
        cid = tick * 10 + slot
        if cid >= _CID_MAX:
            raise ConfigError("bitfinex cid beyond 2**45", venue=VENUE)
        return str(cid)

    def cid_date(self, client_order_id: str) -> str:
        """The `cid_date` of an order.

        The `cid_date` of an order: its creation day when the venue told us, else the day
        encoded in the id.
        """
        known = self._dates.get(client_order_id)
        return known if known is not None else cid_date(client_order_id)

    def _cid_int(self, client_order_id: str) -> int:
        if not client_order_id.isdigit() or int(client_order_id) >= _CID_MAX:
            raise ConfigError(
                f"bitfinex client order ids are integers below 2**45, got {client_order_id!r}",
                venue=VENUE,
            )
        return int(client_order_id)

    # -- helpers ---------------------------------------------------------------------------
    def _post(
        self, op: Op, path: str, body: object, window: str, prio: Priority, key: str = ""
    ) -> HttpCall:
        return HttpCall(
            op=op,
            method="POST",
            path=path,
            body=dumps(body),
            cost=RequestCost(prio, {window: 1}, key=key, endpoint=window),
        )

    def _loads(self, op: Op, resp: HttpResponse) -> Any:
        self.check(op, resp)
        try:
            return loads(resp.body)
        except ValueError:
            raise ProtocolError(f"bitfinex: {op} answer is not JSON", venue=VENUE) from None

    def _notification_orders(self, op: Op, resp: HttpResponse) -> list[list[Any]]:
        body = self._loads(op, resp)
        data = _at(body, 4) if isinstance(body, list) else None
        if not isinstance(data, list):
            return []
        if data and isinstance(data[0], list):
            return [d for d in data if isinstance(d, list)]
        return [data] if data else []

    # -- place -----------------------------------------------------------------------------
    def place(self, order: Order) -> HttpCall:
        """`POST /v2/auth/w/order/submit` for the exchange (spot) wallet.

        Raises:
            ConfigError: stop orders, reduce-only (margin only), market orders other than
                GTC/IOC, or a client order id that is not one of ours.
        """
        if order.type in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET):
            raise ConfigError("bitfinex adapter: stop orders are not supported", venue=VENUE)
        if order.reduce_only:
            raise ConfigError("bitfinex: reduce-only applies to margin orders only", venue=VENUE)
        signed = order.quantity if order.side is Side.BUY else -order.quantity
        body: dict[str, object] = {
            "type": "",
            "symbol": order.symbol,
            "amount": signed,
            "cid": self._cid_int(order.client_order_id),
        }
        if order.type is OrderType.MARKET:
            if order.time_in_force not in (TimeInForce.GTC, TimeInForce.IOC):
                raise ConfigError(
                    f"bitfinex: market orders cannot be {order.time_in_force}", venue=VENUE
                )
            body["type"] = "EXCHANGE MARKET"
        else:
            assert order.price is not None  # noqa: S101 - Order validates limit prices
            body["type"] = _TYPE[order.time_in_force]
            body["price"] = order.price
            if order.time_in_force is TimeInForce.POST_ONLY:
                body["flags"] = FLAG_POST_ONLY
            if order.time_in_force is TimeInForce.GTD:
                assert order.expire_at is not None  # noqa: S101 - Order validates GTD
                when = order.expire_at.astimezone(UTC)
                body["tif"] = when.strftime("%Y-%m-%d %H:%M:%S")
        self._dates.setdefault(order.client_order_id, cid_date(order.client_order_id))
        return self._post(
            Op.PLACE, "/v2/auth/w/order/submit", body, "SUBMIT", Priority.NEW, order.symbol
        )

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """ACK (and the terminal report when the order ended at once: IOC/FOK/post-only)."""
        orders = self._notification_orders(Op.PLACE, resp)
        if not orders:
            raise ProtocolError("bitfinex: submit answer without the order", venue=VENUE)
        o = orders[0]
        ack = self.order_report(o, ReportKind.ACK, order.client_order_id)
        out = [ack]
        if ack.state in (OrderState.CANCELED, OrderState.EXPIRED):
            kind = ReportKind.EXPIRED if ack.state is OrderState.EXPIRED else ReportKind.CANCELED
            out.append(self.order_report(o, kind, order.client_order_id))
        return out

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, order: Order) -> HttpCall:
        """`POST /v2/auth/w/order/cancel` by `cid` and `cid_date`."""
        body = {
            "cid": self._cid_int(order.client_order_id),
            "cid_date": self.cid_date(order.client_order_id),
        }
        return self._post(
            Op.CANCEL, "/v2/auth/w/order/cancel", body, "CANCEL", Priority.CANCEL, order.symbol
        )

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED when the answer shows the order canceled.

        CANCELED when the answer shows the order canceled; nothing while Bitfinex says
        "Submitted for cancellation; waiting for confirmation" (the stream's `oc` confirms).
        """
        out: list[VenueReport] = []
        for o in self._notification_orders(Op.CANCEL, resp):
            r = self.order_report(o, ReportKind.STATUS, order.client_order_id)
            if r.state is OrderState.CANCELED:
                out.append(self.order_report(o, ReportKind.CANCELED, order.client_order_id))
            elif r.state is not None and r.state.is_terminal:
                out.append(r)
        return out

    def cancel_all(self, symbol: str | None) -> HttpCall:
        """Cancels every order of the account.

        `POST /v2/auth/w/order/cancel/multi` `{"all": 1}` (every order of the account:
        Bitfinex has no per-symbol cancel-all, so `symbol` cannot narrow it).
        """
        return self._post(
            Op.CANCEL_ALL,
            "/v2/auth/w/order/cancel/multi",
            {"all": 1},
            "CANCEL_MULTI",
            Priority.CANCEL,
        )

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """CANCELED for every listed order whose status says canceled (others: the stream)."""
        out: list[VenueReport] = []
        for o in self._notification_orders(Op.CANCEL_ALL, resp):
            r = self.order_report(o, ReportKind.STATUS)
            if r.state is OrderState.CANCELED and r.client_order_id:
                out.append(self.order_report(o, ReportKind.CANCELED))
        return out

    # -- amend -------------------------------------------------------------------------------
    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """Updates an order in place.

        `POST /v2/auth/w/order/update` by order `id`: `price`, and `delta` = the change of
        the total amount, signed like the order.

        Raises:
            ConfigError: nothing to change, or the venue order id is not known yet.
        """
        if amend.quantity is None and amend.price is None:
            raise ConfigError("bitfinex: an amend needs a new amount or price", venue=VENUE)
        if not order.venue_order_id:
            raise ConfigError("bitfinex updates orders by id: venue order id unknown", venue=VENUE)
        body: dict[str, object] = {"id": _int(order.venue_order_id)}
        if amend.price is not None:
            body["price"] = amend.price
        if amend.quantity is not None and amend.quantity != order.quantity:
            change = amend.quantity - order.quantity
            body["delta"] = change if order.side is Side.BUY else -change
        return self._post(
            Op.AMEND, "/v2/auth/w/order/update", body, "UPDATE", Priority.AMEND, order.symbol
        )

    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """AMENDED with the venue's new amount and price (the ids stay)."""
        orders = self._notification_orders(Op.AMEND, resp)
        if orders:
            r = self.order_report(orders[0], ReportKind.AMENDED, order.client_order_id)
            self._seen[order.client_order_id] = (r.quantity, r.price)
            return [r]
        return [
            VenueReport(
                venue=VENUE,
                client_order_id=order.client_order_id,
                kind=ReportKind.AMENDED,
                venue_order_id=order.venue_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=amend.quantity if amend.quantity is not None else order.quantity,
                price=amend.price if amend.price is not None else order.price,
            )
        ]

    # -- queries -----------------------------------------------------------------------------
    def query(self, order: Order) -> HttpCall:
        """Looks an order up by client order id among the active orders.

        `/v2/auth/r/orders/{symbol}` by `cid`/`cid_date`; when it is not there, `query_followup`
        asks the closed orders of the symbol right after (Bitfinex has no single lookup for
        both). The two calls belong to one query: no state is kept between queries (a history
        lookup left pending by an earlier query once answered a later one about an order that
        was active by then: NOT_FOUND for a live order).
        """
        body = {"cid": self._cid_int(order.client_order_id),
                "cid_date": self.cid_date(order.client_order_id)}  # fmt: skip
        return self._post(
            Op.QUERY, f"/v2/auth/r/orders/{order.symbol}", body, "ORDERS", Priority.QUERY,
            order.symbol,
        )  # fmt: skip

    def query_followup(self, order: Order, resp: HttpResponse) -> HttpCall | None:
        """The order history, after the active orders did not have the order.

        `.../hist`, by `id` when known, else the orders of the cid's day.
        """
        del resp
        body: dict[str, object] = {"limit": 2500}
        if order.venue_order_id:
            body["id"] = [_int(order.venue_order_id)]
        else:
            day = int(
                datetime.strptime(self.cid_date(order.client_order_id), "%Y-%m-%d")
                .replace(tzinfo=UTC)
                .timestamp()
            )
            body["start"] = day * 1000 - _DAY_MS
            body["end"] = day * 1000 + 2 * _DAY_MS
        return self._post(
            Op.QUERY, f"/v2/auth/r/orders/{order.symbol}/hist", body, "ORDERS_HIST",
            Priority.QUERY, order.symbol,
        )  # fmt: skip

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS from the active orders; [] when not there (undecided: `query_followup`)."""
        report = self._find_order(order, resp)
        return [] if report is None else [report]

    def parse_query_followup(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """STATUS from the order history; NOT_FOUND when neither lookup had it."""
        report = self._find_order(order, resp)
        if report is not None:
            return [report]
        return [
            VenueReport(venue=VENUE, client_order_id=order.client_order_id,
                        kind=ReportKind.NOT_FOUND, symbol=order.symbol)
        ]  # fmt: skip

    def _find_order(self, order: Order, resp: HttpResponse) -> VenueReport | None:
        cid = order.client_order_id
        try:
            body = self._loads(Op.QUERY, resp)
        except OrderNotFoundError:
            body = []
        rows = [o for o in body if isinstance(o, list)] if isinstance(body, list) else []
        for o in rows:
            if str(_at(o, 2)) == cid or (
                order.venue_order_id and str(_at(o, 0)) == order.venue_order_id
            ):
                return self.order_report(o, ReportKind.STATUS, cid)
        return None

    def open_orders(self, symbol: str | None) -> HttpCall:
        """`POST /v2/auth/r/orders[/{symbol}]` (active orders)."""
        path = "/v2/auth/r/orders" + (f"/{symbol}" if symbol else "")
        return self._post(Op.OPEN_ORDERS, path, {}, "ORDERS", Priority.QUERY, symbol or "")

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS per active order."""
        body = self._loads(Op.OPEN_ORDERS, resp)
        rows = body if isinstance(body, list) else []
        return [self.order_report(o, ReportKind.STATUS) for o in rows if isinstance(o, list)]

    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """`POST /v2/auth/r/trades/{symbol}/hist` from `since_ms`, ascending, 2500 at most."""
        body = {"start": since_ms, "limit": 2500, "sort": 1}
        return self._post(
            Op.FILLS, f"/v2/auth/r/trades/{symbol}/hist", body, "TRADES_HIST", Priority.QUERY,
            symbol,
        )  # fmt: skip

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL per trade.

        One FILL per trade `[ID, PAIR, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE,
        ORDER_PRICE, MAKER, FEE, FEE_CURRENCY, CID]` (fee negative = paid).
        """
        body = self._loads(Op.FILLS, resp)
        rows = body if isinstance(body, list) else []
        return [self.trade_report(t) for t in rows if isinstance(t, list)]

    # -- time, status, dead man ------------------------------------------------------------
    def server_time(self) -> HttpCall:
        """`GET /v2/platform/status`, for its `Date` header (Bitfinex has no time endpoint)."""
        return HttpCall(
            op=Op.TIME,
            method="GET",
            path="/v2/platform/status",
            signed=False,
            cost=RequestCost(Priority.QUERY, {"STATUS": 1}, endpoint="STATUS"),
        )

    def parse_server_time(self, resp: HttpResponse) -> int:
        """The venue's clock from the HTTP `Date` header, at the middle of its second.

        Raises:
            ProtocolError: no usable `Date` header.
        """
        self.check(Op.TIME, resp)
        try:
            when = parsedate_to_datetime(resp.headers.get("date", ""))
        except (TypeError, ValueError):
            raise ProtocolError("bitfinex: answer without a Date header", venue=VENUE) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp()) * 1000 + 500

    def status(self) -> HttpCall:
        """`GET /v2/platform/status` (public)."""
        return HttpCall(
            op=Op.STATUS,
            method="GET",
            path="/v2/platform/status",
            signed=False,
            cost=RequestCost(Priority.QUERY, {"STATUS": 1}, endpoint="STATUS"),
        )

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """`[1]` operative, `[0]` maintenance."""
        body = self._loads(Op.STATUS, resp)
        if not isinstance(body, list) or not body:
            raise ProtocolError("bitfinex: platform status answer malformed", venue=VENUE)
        if _int(body[0]) == 1:
            return VenueStatus(True)
        return VenueStatus(False, "maintenance")

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall | None:
        """None: Bitfinex's dead-man switch lives on the private WebSocket.

        Bitfinex has no REST timer; its switch is the `dms: 4` flag of the private WebSocket's
        auth (all the account's orders are canceled when that socket closes, whatever
        `timeout_s` and `symbols` say). A timeout above 0 arms the flag for the next
        authentication, 0 disarms it.
        """
        self.dead_man_switch = timeout_s > 0
        return None

    # -- errors -----------------------------------------------------------------------------
    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified error of a Bitfinex answer.

        Raises the classified error of a Bitfinex answer (`["error", code, text]`, an ERROR
        notification, `{"error": ...}`, or a bare HTTP error).
        """
        try:
            body = loads(resp.body) if resp.body else None
        except ValueError:
            body = None
        code, text = "", ""
        if isinstance(body, list) and len(body) >= 2 and body[0] == "error":
            code, text = str(body[1]), str(_at(body, 2) or "")
        elif isinstance(body, dict) and ("error" in body or "message" in body):
            code = str(body.get("error") or "")
            text = str(body.get("error_description") or body.get("message") or code)
        elif (
            isinstance(body, list)
            and len(body) >= 7
            and isinstance(body[1], str)
            and str(body[6]).upper() in ("ERROR", "FAILURE")
        ):
            code, text = str(body[5] or ""), str(_at(body, 7) or "")
        elif resp.status < 400 and body is not None:
            return
        self._raise(op, resp, code, text)

    def classify(self, code: str, text: str) -> str:
        """The error class name of a Bitfinex (code, text) pair ("" when neither says)."""
        low = text.lower()
        kind = ERRORS.get(code, ("", ""))[0]
        if kind in ("", "fatal"):
            for frag, k in TEXT_ERRORS:
                if frag in low:
                    return k
        return kind

    def _raise(self, op: Op, resp: HttpResponse, code: str, text: str) -> NoReturn:
        msg = f"bitfinex: {op} failed: HTTP {resp.status} code {code or '-'} {text}".strip()
        kind = self.classify(code, text)
        if not kind:
            if resp.status == 429:
                kind = "rate"
            elif resp.status == 503:
                kind = "unavailable"
            elif resp.status >= 500 and not code:
                kind = "unknown"
            elif resp.status in (401, 403):
                kind = "auth"
            else:
                kind = "fatal"
        if kind == "unknown":
            cls: type[VenueError] = UnknownOutcomeError if op.changes_state else RetryableError
        elif kind == "rate":
            after = resp.headers.get("retry-after")
            try:
                retry = float(after) if after else None
            except ValueError:
                retry = None
            raise RateLimitedError(
                msg, retry_after=retry, venue=VENUE, code=code or None, http_status=resp.status
            )
        else:
            cls = _KIND_CLASS[kind]
        raise cls(msg, venue=VENUE, code=code or None, http_status=resp.status)

    # -- reports ------------------------------------------------------------------------------
    def _remember(self, cid: str, venue_id: str | None, created_ms: int) -> None:
        if not cid:
            return
        if venue_id:
            self._cid_by_id[venue_id] = cid
        if created_ms > 0:
            self._dates[cid] = _day_text(created_ms)

    def order_report(
        self, o: Sequence[Any], kind: ReportKind, client_order_id: str | None = None
    ) -> VenueReport:
        """A report from a Bitfinex order array.

        A report from a Bitfinex order array `[ID, GID, CID, SYMBOL, MTS_CREATE, MTS_UPDATE,
        AMOUNT, AMOUNT_ORIG, TYPE, TYPE_PREV, MTS_TIF, _, FLAGS, STATUS, _, _, PRICE,
        PRICE_AVG, ...]` (AMOUNT is what remains, AMOUNT_ORIG the order's amount; both signed).
        """
        venue_id = str(_at(o, 0)) if _at(o, 0) is not None else None
        raw_cid = _at(o, 2)
        cid = str(raw_cid) if raw_cid is not None else ""
        if not cid and venue_id:
            cid = self._cid_by_id.get(venue_id, "")
        cid = cid or client_order_id or ""
        created = _int(_at(o, 4) or 0)
        updated = _int(_at(o, 5) or 0)
        self._remember(cid, venue_id, created)
        remaining = _dec(_at(o, 6))
        orig = _dec(_at(o, 7))
        qty = abs(orig) if orig is not None else None
        filled = qty - abs(remaining) if qty is not None and remaining is not None else None
        status = str(_at(o, 13) or "")
        state, reason = _status_state(status) if status else (None, None)
        tif = _int(_at(o, 10) or 0)
        if state is OrderState.CANCELED and tif and updated >= tif:
            state, reason = OrderState.EXPIRED, reason or "tif"
        if kind is ReportKind.CANCELED and state is OrderState.EXPIRED:
            kind = ReportKind.EXPIRED
        price = _dec(_at(o, 16))
        return VenueReport(
            venue=VENUE,
            client_order_id=cid,
            kind=kind,
            venue_order_id=venue_id,
            symbol=_at(o, 3) or None,
            side=_side(orig),
            state=state,
            quantity=qty,
            price=price if price else None,
            filled_qty=filled,
            reason=reason if kind in (ReportKind.CANCELED, ReportKind.EXPIRED) else None,
            ts_ms=updated or created,
        )

    def trade_report(self, t: Sequence[Any]) -> VenueReport:
        """A FILL from a trade array.

        A FILL from a trade array (REST trades, stream `te`/`tu`): `[ID, SYMBOL, MTS,
        ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE, ORDER_PRICE, MAKER, FEE, FEE_CURRENCY,
        CID]`; MAKER 1 = maker, -1 = taker; FEE negative = paid.
        """
        venue_id = str(_at(t, 3)) if _at(t, 3) is not None else None
        raw_cid = _at(t, 11)
        cid = str(raw_cid) if raw_cid is not None else self._cid_by_id.get(venue_id or "", "")
        amount = _dec(_at(t, 4))
        fee = _dec(_at(t, 9))
        maker = _at(t, 8)
        return VenueReport(
            venue=VENUE,
            client_order_id=cid,
            kind=ReportKind.FILL,
            venue_order_id=venue_id,
            symbol=_at(t, 1) or None,
            side=_side(amount),
            trade_id=str(_at(t, 0)),
            last_qty=abs(amount) if amount is not None else None,
            last_price=_dec(_at(t, 5)),
            fee=-fee if fee is not None else None,
            fee_asset=str(_at(t, 10)) if _at(t, 10) else None,
            liquidity=None if maker is None else ("maker" if _int(maker) == 1 else "taker"),
            ts_ms=_int(_at(t, 2) or 0),
        )

    def stream_order(self, event: str, o: Sequence[Any]) -> list[VenueReport]:
        """Reports of one `os` item or `on`/`ou`/`oc` event."""
        base = self.order_report(o, ReportKind.STATUS)
        cid = base.client_order_id
        prev = self._seen.get(cid)
        self._seen[cid] = (base.quantity, base.price)
        if event == "os":
            return [base]
        if event == "on":
            out = [self.order_report(o, ReportKind.ACK)]
            if base.state in (OrderState.CANCELED, OrderState.EXPIRED):
                out.append(self.order_report(o, ReportKind.CANCELED))
            return out
        if event == "oc":
            self._seen.pop(cid, None)
            if base.state in (OrderState.CANCELED, OrderState.EXPIRED):
                return [self.order_report(o, ReportKind.CANCELED)]
            return [base]
        if prev is not None and prev != (base.quantity, base.price):
            return [self.order_report(o, ReportKind.AMENDED)]
        return [base]

    # -- private stream -------------------------------------------------------------------------
    def private_stream(self, symbols: Sequence[str]) -> BitfinexPrivateStream:
        """The authenticated WebSocket protocol for one connection."""
        if self.bfx_signer is None:
            raise ConfigError("the bitfinex private stream needs credentials", venue=VENUE)
        return BitfinexPrivateStream(self, self.bfx_signer, symbols)


class BitfinexPrivateStream(PrivateStream):
    """`wss://api.bitfinex.com/ws/2`: `auth` (with `dms: 4`), then channel 0 events.

    Keepalive: `{"event": "ping", "cid": n}` (answered with `pong`); Bitfinex also sends
    `[0, "hb"]` heartbeats (https://docs.bitfinex.com/docs/ws-general#ping-pong).
    """

    keepalive_s: ClassVar[float] = 15.0

    def __init__(self, adapter: Adapter, signer: BitfinexSigner, symbols: Sequence[str]) -> None:
        self._adapter = adapter
        self._signer = signer
        self._symbols = frozenset(symbols)
        self._authed = False
        self._pings = 0

    def url(self) -> str:
        """The authenticated WebSocket URL."""
        return self._adapter.endpoints.private_ws_url

    def open_messages(self) -> list[str]:
        """The `auth` event with `filter: ["trading"]` and, by default, `dms: 4`."""
        event = self._signer.ws_auth(dead_man_switch=self._adapter.dead_man_switch)
        event["filter"] = ["trading"]
        return [json.dumps(event, separators=(",", ":"))]

    def keepalive(self) -> str:
        """A `ping` event."""
        self._pings += 1
        return json.dumps({"event": "ping", "cid": self._pings})

    def _wanted(self, symbol: object) -> bool:
        return not self._symbols or symbol in self._symbols

    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes one message (info, auth answer, pong, heartbeat, order / trade events)."""
        ev = StreamEvents(ready=self._authed)
        try:
            msg = loads(data)
        except ValueError:
            ev.error = RetryableError("bitfinex: undecodable private message", venue=VENUE)
            return ev
        if isinstance(msg, dict):
            self._event(msg, ev)
            return ev
        if not isinstance(msg, list) or len(msg) < 2 or msg[0] != 0:
            return ev
        kind, payload = msg[1], _at(msg, 2)
        a = self._adapter
        if kind == "os" and isinstance(payload, list):
            for o in payload:
                if isinstance(o, list) and self._wanted(_at(o, 3)):
                    ev.reports.extend(a.stream_order("os", o))
        elif kind in ("on", "ou", "oc") and isinstance(payload, list):
            if self._wanted(_at(payload, 3)):
                ev.reports.extend(a.stream_order(kind, payload))
        elif kind in ("te", "tu") and isinstance(payload, list):
            if self._wanted(_at(payload, 1)):
                ev.reports.append(a.trade_report(payload))
        elif kind == "n" and isinstance(payload, list):
            self._notification(payload, ev)
        return ev

    def _event(self, msg: Mapping[str, Any], ev: StreamEvents) -> None:
        event = msg.get("event")
        if event == "auth":
            if str(msg.get("status")) == "OK":
                self._authed = True
                ev.ready = True
                return
            code = str(msg.get("code") or "")
            text = f"bitfinex: private stream auth failed: {code} {msg.get('msg', '')}"
            cls: type[VenueError] = ClockSkewError if code == "10114" else AuthError
            ev.error = cls(text, venue=VENUE, code=code or None)
        elif event == "info" and msg.get("code") is not None:
            code = str(msg.get("code"))
            if code in ("20051", "20060"):
                ev.error = VenueUnavailableError(
                    f"bitfinex: {code} {msg.get('msg', '')}", venue=VENUE, code=code
                )
        elif event == "error":
            code = str(msg.get("code") or "")
            ev.error = FatalError(
                f"bitfinex: private stream error {code} {msg.get('msg', '')}",
                venue=VENUE,
                code=code or None,
            )

    def _notification(self, n: Sequence[Any], ev: StreamEvents) -> None:
        # [MTS, TYPE, MSG_ID, null, DATA, CODE, STATUS, TEXT]: a refused WebSocket or REST order
        # request ("on-req" ERROR) is a REJECTED for the order in DATA.
        if str(_at(n, 1)) != "on-req" or str(_at(n, 6)).upper() not in ("ERROR", "FAILURE"):
            return
        o = _at(n, 4)
        if isinstance(o, list) and o and isinstance(o[0], list):
            o = o[0]
        if not isinstance(o, list) or _at(o, 2) is None:
            return
        ev.reports.append(
            VenueReport(
                venue=VENUE,
                client_order_id=str(_at(o, 2)),
                kind=ReportKind.REJECTED,
                symbol=_at(o, 3) or None,
                state=OrderState.REJECTED,
                reason=str(_at(n, 7) or ""),
                ts_ms=_int(_at(n, 0) or 0),
            )
        )
