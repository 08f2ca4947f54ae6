"""The venue adapter contract: one class per venue, without I/O.

Each adapter turns orders into signed-ready REST calls and the venue's answers (REST bodies,
private-stream messages) into `VenueReport`s.

Adapters do no I/O. `venuegate.net.rest.RestClient` sends `HttpCall`s (signing them with the
venue's signer at send time, charging the rate limiter with `HttpCall.cost`), and hands the
`HttpResponse` back to the adapter's `parse_*` method. Every `parse_*` first calls `self.check(op,
resp)`, which raises the venue's error classified by its table (`ERRORS`), so the engine reads a
`RetryClass`, never a message string.

Symbols are the venue's own (`BTCUSDT`, `BTC-USDT`, `BTC/USD`, `tBTCUSD`, `btcusdt`,
`BTC-USD`). Prices and sizes are `Decimal`, written in plain notation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from venuegate.auth._base import ParamValue, Signer
from venuegate.errors import ConfigError, VenueError
from venuegate.model import Order
from venuegate.net.priority import Priority, RequestCost
from venuegate.net.ratemodel import RateModel
from venuegate.oms.types import VenueReport

__all__ = [
    "Amend",
    "AmendMode",
    "Endpoints",
    "HttpCall",
    "HttpResponse",
    "Op",
    "PrivateStream",
    "StreamEvents",
    "VenueAdapter",
    "VenueStatus",
    "WsRequest",
]


class Op(StrEnum):
    """What a call does; error classification depends on it.

    A 5xx after PLACE is an unknown outcome, after QUERY merely retryable.
    """

    PLACE = "place"
    CANCEL = "cancel"
    CANCEL_ALL = "cancel_all"
    AMEND = "amend"
    QUERY = "query"
    OPEN_ORDERS = "open_orders"
    FILLS = "fills"
    TIME = "time"
    STATUS = "status"
    DEAD_MAN = "dead_man"
    OTHER = "other"

    @property
    def changes_state(self) -> bool:
        """True for calls that may change orders at the venue."""
        return self in (Op.PLACE, Op.CANCEL, Op.CANCEL_ALL, Op.AMEND, Op.DEAD_MAN)


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One REST call, not yet signed.

    Attributes:
        op: what it does.
        method: HTTP method.
        path: URL path (no query string).
        params: parameters in order; the venue's signer places them in the query or the body.
        body: a verbatim body, for venues that sign a body the adapter builds (JSON).
        signed: False for public calls (sent with `params` as the query string).
        cost: its rate cost and priority.
    """

    op: Op
    method: str
    path: str
    params: tuple[tuple[str, ParamValue], ...] = ()
    body: bytes | None = None
    signed: bool = True
    cost: RequestCost = field(default_factory=lambda: RequestCost(Priority.QUERY))


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A venue's REST answer.

    Attributes:
        status: HTTP status.
        headers: response headers, names lower-cased.
        body: the raw body.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Amend:
    """A change to a resting order.

    Attributes:
        quantity: the new total quantity (None: unchanged).
        price: the new price (None: unchanged).
        new_client_order_id: the replacement's client order id, for venues whose amend is a
            cancel-replace that creates a new order (`AmendMode.REPLACE`).
    """

    quantity: Decimal | None = None
    price: Decimal | None = None
    new_client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class WsRequest:
    """A WebSocket order-entry request awaiting its answer.

    What it asked, so the answer is parsed as the REST answer of the same call
    (`VenueAdapter.parse_ws_reports`).

    Attributes:
        op: PLACE, CANCEL or AMEND.
        order: the order as sent.
        amend: the change, for AMEND.
        rid: the order entry's request id, where the venue's own id differs from it.
    """

    op: Op
    order: Order
    amend: Amend | None = None
    rid: str = ""


class AmendMode(StrEnum):
    """How a venue amends."""

    IN_PLACE = "in_place"
    """The order keeps its ids (OKX amend-order, Kraken AmendOrder, Coinbase edit, Bitfinex
    update): reports for it are AMENDED."""
    REPLACE = "replace"
    """A new order with a new client order id replaces the old one atomically at the venue
    (Binance cancelReplace): the old one ends CANCELED, the new one is tracked from its ACK."""
    CANCEL_NEW = "cancel_new"
    """No amend at the venue: the engine cancels, then places a new order (HTX)."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a venue is reached; every URL is configurable (simulator, testnet, production).

    Attributes:
        rest_url: REST base URL, no trailing slash.
        private_ws_url: the private (user data / orders) WebSocket URL.
        ws_api_url: the WebSocket order-entry URL, where the venue offers one.
    """

    rest_url: str
    private_ws_url: str
    ws_api_url: str | None = None


@dataclass(frozen=True, slots=True)
class VenueStatus:
    """The venue's own statement of its health.

    Attributes:
        trading: False during maintenance or an outage (new orders are then refused locally).
        reason: the venue's words.
        until_ms: when the venue says it will be back, if it says (ms since the epoch).
    """

    trading: bool
    reason: str = ""
    until_ms: int | None = None


@dataclass(slots=True)
class StreamEvents:
    """What one private-stream message produced.

    Attributes:
        reports: order reports, in the venue's order.
        replies: messages to send back (pong, subscribe after login).
        ready: True once the stream is logged in and subscribed (reports may flow).
        error: a venue error that ends the stream (bad login): the session reconnects after
            backoff, or gives up on AUTH.
    """

    reports: list[VenueReport] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    ready: bool = False
    error: VenueError | None = None


class PrivateStream(ABC):
    """One private WebSocket connection's protocol: login, subscribe, keepalive, decode.

    The session (`venuegate.oms.stream`) does the I/O: `await prepare(call)` (REST steps such as
    Binance's listen key or Kraken's token, made through `call`), connect to `url()`, send
    `open_messages()`, then feed every message to `on_message`; send `keepalive()` every
    `keepalive_s` seconds.
    """

    keepalive_s: ClassVar[float] = 15.0

    async def prepare(self, call: RestCaller) -> None:  # noqa: B027 - optional hook
        """REST steps before connecting (listen key, WebSocket token). Default: none."""

    @abstractmethod
    def url(self) -> str:
        """The WebSocket URL to connect to (may embed a listen key)."""

    @abstractmethod
    def open_messages(self) -> list[str]:
        """Messages to send right after connecting (login and/or subscribe)."""

    @abstractmethod
    def on_message(self, data: str | bytes) -> StreamEvents:
        """Decodes one message."""

    def keepalive(self) -> str | None:
        """A keepalive message to send every `keepalive_s`, or None (server pings)."""
        return None

    async def refresh(self, call: RestCaller) -> None:  # noqa: B027 - optional hook
        """Periodic REST upkeep (Binance listen-key keepalive). Default: none."""


class RestCaller(ABC):
    """What a private stream may use to make REST calls during `prepare` / `refresh`."""

    @abstractmethod
    async def __call__(self, call: HttpCall) -> HttpResponse:
        """Sends `call` (signed, rate limited) and returns the response."""


class VenueAdapter(ABC):
    """One venue's trading API, without I/O.

    Class attributes:
        venue: venue name (as in `venuegate.auth.VENUES`; `coinbase` is Advanced Trade).
        amend_mode: how amends work here.
        duplicate_client_ids_rejected: True when the venue refuses a second order with a client
            order id in use, so resending an UNKNOWN order with the *same* id is safe.
        client_id_max_len: the longest client order id the venue accepts.
        rate_model: the venue's rate windows.
        ERRORS: the error table, documented (code → class), used by `check`.
    """

    venue: ClassVar[str]
    amend_mode: ClassVar[AmendMode]
    duplicate_client_ids_rejected: ClassVar[bool]
    client_id_max_len: ClassVar[int]
    rate_model: ClassVar[RateModel]

    lists_all_symbols: ClassVar[bool] = False
    """True when `open_orders` and `fills` answer for every symbol at once (Kraken's OpenOrders
    and TradesHistory have no pair filter): reconciliation then makes one call of each, not one
    per symbol."""

    fills_page_size: ClassVar[int | None] = None
    """The most fills one `fills` answer holds, when the venue pages them (a shorter page is the
    last one, so no extra call is made to learn that); None: unknown."""

    fills_newest_first: ClassVar[bool] = False
    """True when a `fills` answer is the newest page (OKX): older fills are fetched with
    `fills_before`, not by moving `since_ms` forward (which would skip them)."""

    fills_offset_cursor: ClassVar[bool] = False
    """True when `fills_older` pages by an offset from the newest fill (Kraken's `ofs`): fills
    arriving between two pages can shift older ones to higher offsets (the listing is bounded
    by the first page's newest fill, `until_ms`, but fills inside that unit of the bound still
    land), so a full page of fills already seen does not end it (only a short page does)."""

    def fills_before(self, symbol: str, since_ms: int, before_ms: int) -> HttpCall:
        """The next (older) page of a newest-first fills listing.

        Fills from `since_ms` to `before_ms` (the venue's end bound; the engine de-duplicates
        by trade id).

        Raises:
            ConfigError: the venue pages forward (`fills_newest_first` False).
        """
        del symbol, since_ms, before_ms
        raise ConfigError(f"{self.venue}: fills page forward", venue=self.venue)

    def fills_older(
        self, symbol: str, since_ms: int, before_ms: int, pages_done: int, until_ms: int
    ) -> HttpCall:
        """The page after `pages_done` pages of a newest-first fills listing.

        By default bounded by time (`fills_before`). A venue with an offset cursor pages by it
        instead (Kraken's `ofs`): a burst of more than a page of fills inside one unit of the
        time bound (Kraken: one second) would otherwise hide the older part of the burst. Such
        a venue bounds the listing by `until_ms` (the first page's newest fill), so fills
        arriving meanwhile do not keep shifting the offsets.
        """
        del pages_done, until_ms
        return self.fills_before(symbol, since_ms, before_ms)

    signs_with_server_time: ClassVar[bool] = True
    """True when signatures carry a timestamp the venue checks against its clock (then the
    client signs with the synced venue clock); False for nonce venues (Kraken, Bitfinex), whose
    nonces must only increase and come from the local clock."""

    nonce_ordered: ClassVar[bool] = False
    """True when the venue refuses a signed request whose nonce is below one it has already
    seen, with no tolerance window (Bitfinex): the REST client then sends signed requests one at
    a time, so concurrent requests on different pooled connections cannot overtake each other in
    flight and arrive out of nonce order ("nonce: small")."""

    def __init__(self, *, endpoints: Endpoints, signer: Signer | None = None) -> None:
        self.endpoints = endpoints
        self.signer = signer

    async def prepare(self, call: RestCaller) -> None:  # noqa: B027 - optional hook
        """REST steps before trading (HTX looks up its spot account id). Default: none."""

    # -- identifiers ---------------------------------------------------------------------
    @abstractmethod
    def new_client_order_id(self, session: str, n: int) -> str:
        """A client order id unique per (`session`, `n`), valid under the venue's rules.

        The rules cover length and alphabet; Coinbase needs a UUID, Bitfinex `cid` an integer.
        """

    # -- requests ------------------------------------------------------------------------
    @abstractmethod
    def place(self, order: Order) -> HttpCall:
        """The call placing `order` (its `client_order_id` set)."""

    @abstractmethod
    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """Reports from a place answer (ACK, and FILLs where the answer carries them)."""

    @abstractmethod
    def cancel(self, order: Order) -> HttpCall:
        """The call canceling `order` (by client order id where the venue allows)."""

    @abstractmethod
    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """Reports from a cancel answer."""

    @abstractmethod
    def cancel_all(self, symbol: str | None) -> HttpCall:
        """The call canceling every open order (of `symbol`, or all).

        Venues without a cancel-all build one from the open orders they have seen (a batch
        cancel) and raise `ConfigError` when they know of none; the engine then cancels order
        by order after listing open orders.
        """

    @abstractmethod
    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:
        """Reports from a cancel-all answer (may be empty: the stream reports the cancels)."""

    @abstractmethod
    def amend(self, order: Order, amend: Amend) -> HttpCall:
        """The call amending `order` (IN_PLACE / REPLACE venues)."""

    @abstractmethod
    def parse_amend(self, order: Order, amend: Amend, resp: HttpResponse) -> list[VenueReport]:
        """Reports from an amend answer (AMENDED; or CANCELED + ACK of the replacement)."""

    # -- WebSocket order entry (`venuegate.oms.ws_entry`; defaults for a venue with no login)
    def ws_entry_url(self) -> str:
        """The order-entry WebSocket URL: `Endpoints.ws_api_url`, else the private stream's."""
        return self.endpoints.ws_api_url or self.endpoints.private_ws_url

    def ws_entry_open_messages(self, timestamp_ms: int | None = None) -> list[str]:
        """Messages to send after connecting (a login).

        Default: none (Binance signs every request on its own; Kraken's token goes in every
        request).
        """
        del timestamp_ms
        return []

    def parse_ws_login(self, data: str | bytes) -> bool | VenueError | None:
        """True: logged in; a VenueError: refused; None: not a login answer.

        Default: None (a connection with no login step).
        """
        del data
        return None

    def parse_ws_reports(self, what: WsRequest, resp: HttpResponse) -> list[VenueReport]:
        """A WebSocket order-entry answer, in its REST answer's form, parsed as that one."""
        if what.op is Op.PLACE:
            return self.parse_place(what.order, resp)
        if what.op is Op.CANCEL:
            return self.parse_cancel(what.order, resp)
        return self.parse_amend(what.order, what.amend or Amend(), resp)

    @abstractmethod
    def query(self, order: Order) -> HttpCall:
        """The call asking for `order` by client order id."""

    @abstractmethod
    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS report, or one NOT_FOUND report when the venue has no such order.

        The venue's not-found error is turned into NOT_FOUND here, not raised.
        """

    def query_followup(self, order: Order, resp: HttpResponse) -> HttpCall | None:
        """A second call when `parse_query` of `resp` returned no report (undecided).

        Kraken asks OpenOrders by client id first, then ClosedOrders; Bitfinex its active
        orders, then the order history. Default: none.
        """
        return None

    def parse_query_followup(self, order: Order, resp: HttpResponse) -> list[VenueReport]:
        """Reports from the `query_followup` call's answer (STATUS or NOT_FOUND).

        Default: `parse_query` (Kraken tells its two answers apart by their shape).
        """
        return self.parse_query(order, resp)

    @abstractmethod
    def open_orders(self, symbol: str | None) -> HttpCall:
        """The call listing open orders."""

    @abstractmethod
    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:
        """One STATUS report per open order."""

    @abstractmethod
    def fills(self, symbol: str, since_ms: int) -> HttpCall:
        """The call listing our executions on `symbol` since `since_ms`."""

    @abstractmethod
    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:
        """One FILL report per execution."""

    def server_time(self) -> HttpCall | None:
        """The public call returning the venue's clock, if it has one."""
        return None

    def parse_server_time(self, resp: HttpResponse) -> int:
        """The venue's clock in ms since the epoch."""
        raise NotImplementedError

    def status(self) -> HttpCall | None:
        """The public call returning the venue's status (maintenance), if it has one."""
        return None

    def parse_status(self, resp: HttpResponse) -> VenueStatus:
        """The venue's status."""
        raise NotImplementedError

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> HttpCall | None:
        """The call arming (timeout > 0) or disarming (0) the venue's dead-man switch, or None.

        None where the venue has none (the engine then cancels all itself on disconnect).
        """
        return None

    # -- errors --------------------------------------------------------------------------
    @abstractmethod
    def check(self, op: Op, resp: HttpResponse) -> None:
        """Raises the classified `VenueError` if `resp` is an error.

        Classification is by the venue's table and `op`: a 5xx or timeout-coded answer to a
        state-changing op is UnknownOutcomeError.
        """

    # -- private stream ------------------------------------------------------------------
    @abstractmethod
    def private_stream(self, symbols: Sequence[str]) -> PrivateStream:
        """A fresh protocol object for one private-stream connection."""
