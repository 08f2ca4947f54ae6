"""FIX order entry: the `OrderManager`'s orders over a FIX session.

`FixOrderEntry` is the order manager's `order_entry` (the hook `WsOrderEntry` uses) over one
`FixSession` initiator. It is the session's `Application` (wrapped by a venue dialect that signs
the Logon), so it sees every logon, logout and application message:

    entry = FixOrderEntry("coinbase", COINBASE)
    initiator = dialect.initiator(entry)          # or FixInitiator(settings, entry)
    async with OrderManager.open(adapter, rest, journal_path=p, symbols=s, reconcile=False) as om:
        entry.attach(om)                          # unsolicited reports, journal, reconcile
        await initiator.start()
        await entry.wait_ready(10.0)
        await om.reconcile()
        order = await om.place("BTC-USD", Side.BUY, Decimal("0.01"), Decimal("43000"))

Messages (`docs/ORDER_PATH.md`, "FIX order entry"):

* place → NewOrderSingle (D); cancel → OrderCancelRequest (F); amend → OrderCancelReplaceRequest
  (G); query → OrderStatusRequest (H); cancel-all → OrderMassCancelRequest (q); reconciliation →
  OrderMassStatusRequest (AF), or H per open order where the venue has no mass status.
* A cancel or replace carries a new ClOrdID on the wire; the order keeps its client order id in
  the manager. Every wire ClOrdID maps to the manager's client order id (and back to the order's
  live ClOrdID, the OrigClOrdID of the next request); the mapping is journaled (markers) before
  the request leaves, so a restart keeps it.
* ExecutionReport (8) → `VenueReport` (table in the doc); OrderCancelReject (9), session Reject
  (3) and BusinessMessageReject (j) of an order message → the classified `VenueError`.

Outcomes, as over REST and `WsOrderEntry`:

* not logged on: `RetryableError`, nothing sent;
* no answer within `timeout_s`, or a disconnect with the request pending: `UnknownOutcomeError`
  (the manager queries: H, or REST; never a blind resend). A late answer is applied as an
  unsolicited report. The venue handles our messages in sequence order, so an H sent later is
  answered after a lost order message (replayed on the venue's ResendRequest) was processed.

Reports are applied in wire order: those answering a request and the unsolicited ones (fills,
venue cancels) go to `OrderManager.apply_reports` as they arrive, so the request methods return
an empty list once attached (unattached, they return the answer's reports).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from venuegate.auth._base import Signer
from venuegate.errors import (
    AuthError,
    ConfigError,
    DuplicateOrderError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
    VenueUnavailableError,
)
from venuegate.fix.codec import FixError, FixMessage, parse_utc_timestamp, utc_timestamp
from venuegate.fix.session import Application, FixSession, NotLoggedOnError
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.ratemodel import RateModel
from venuegate.oms.journal import MarkerRecord, OrderJournal, Record
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.venues.base import (
    Amend,
    AmendMode,
    Endpoints,
    HttpCall,
    HttpResponse,
    Op,
    PrivateStream,
    VenueAdapter,
)

if TYPE_CHECKING:
    from venuegate.oms.engine import OrderManager

__all__ = [
    "BINANCE",
    "COINBASE",
    "GENERIC_42",
    "GENERIC_44",
    "KRAKEN",
    "FixOnlyAdapter",
    "FixOrderEntry",
    "NoRest",
    "OrderDialect",
    "exec_report_kind",
    "ord_status_state",
]

log = logging.getLogger("venuegate.fix.order_entry")

# Message types.
NEW_ORDER_SINGLE = "D"
ORDER_CANCEL_REQUEST = "F"
ORDER_CANCEL_REPLACE_REQUEST = "G"
ORDER_STATUS_REQUEST = "H"
ORDER_MASS_CANCEL_REQUEST = "q"
ORDER_MASS_CANCEL_REPORT = "r"
ORDER_MASS_STATUS_REQUEST = "AF"
EXECUTION_REPORT = "8"
ORDER_CANCEL_REJECT = "9"
BUSINESS_MESSAGE_REJECT = "j"
SESSION_REJECT = "3"
_ORDER_MESSAGES = frozenset({NEW_ORDER_SINGLE, ORDER_CANCEL_REQUEST, ORDER_CANCEL_REPLACE_REQUEST})

# Tags.
AVG_PX, CL_ORD_ID, COMMISSION, CUM_QTY, EXEC_ID, EXEC_INST = 6, 11, 12, 14, 17, 18
EXEC_TRANS_TYPE, HANDL_INST, LAST_PX, LAST_QTY, MSG_SEQ_NUM = 20, 21, 31, 32, 34
ORDER_ID, ORDER_QTY, ORD_STATUS, ORD_TYPE, ORIG_CL_ORD_ID = 37, 38, 39, 40, 41
PRICE, REF_SEQ_NUM, SIDE, SYMBOL, TEXT, TIME_IN_FORCE, TRANSACT_TIME = 44, 45, 54, 55, 58, 59, 60
CXL_REJ_REASON, ORD_REJ_REASON, EXPIRE_TIME, LEAVES_QTY, EXEC_TYPE = 102, 103, 126, 151, 150
SESSION_REJECT_REASON, REF_MSG_TYPE, BUSINESS_REJECT_REF_ID = 373, 372, 379
BUSINESS_REJECT_REASON, CXL_REJ_RESPONSE_TO, COMM_CURRENCY = 380, 434, 479
MASS_CANCEL_REQUEST_TYPE, MASS_CANCEL_RESPONSE, MASS_CANCEL_REJECT_REASON = 530, 531, 532
MASS_STATUS_REQ_ID, MASS_STATUS_REQ_TYPE, ORD_STATUS_REQ_ID = 584, 585, 790
LAST_LIQUIDITY_IND, TOT_NUM_REPORTS, LAST_RPT_REQUESTED = 851, 911, 912

type RequestKind = Literal["place", "cancel", "amend", "query", "mass_status", "mass_cancel"]

_SIDES = {Side.BUY: "1", Side.SELL: "2"}
_SIDE_OF = {"1": Side.BUY, "2": Side.SELL}
_ORD_TYPES = {OrderType.MARKET: "1", OrderType.LIMIT: "2"}
_TIF = {
    TimeInForce.GTC: "1",
    TimeInForce.IOC: "3",
    TimeInForce.FOK: "4",
    TimeInForce.GTD: "6",
    TimeInForce.POST_ONLY: "1",
}

# ExecType (150) → report kind. Trades are "F" (FIX 4.4+) or "1"/"2" (FIX 4.2 partial / fill);
# "A" (pending new) proves nothing yet, so it gives no report; the pending states of our own
# requests prove the order is live (ACK). Everything else is a STATUS whose state is OrdStatus.
_EXEC_KIND: dict[str, ReportKind | None] = {
    "0": ReportKind.ACK,
    "1": ReportKind.FILL,
    "2": ReportKind.FILL,
    "F": ReportKind.FILL,
    "4": ReportKind.CANCELED,
    "5": ReportKind.AMENDED,
    "6": ReportKind.ACK,
    "E": ReportKind.ACK,
    "8": ReportKind.REJECTED,
    "C": ReportKind.EXPIRED,
    "A": None,
    "3": ReportKind.STATUS,
    "7": ReportKind.STATUS,
    "9": ReportKind.STATUS,
    "B": ReportKind.STATUS,
    "D": ReportKind.STATUS,
    "I": ReportKind.STATUS,
    "G": ReportKind.STATUS,
    "H": ReportKind.STATUS,
}

# OrdStatus (39) → state. None: "open", decided by the filled quantity (NEW or PARTIALLY_FILLED);
# pending states of our own requests are open too (the manager holds the pending flag).
_OPEN = None
_ORD_STATUS: dict[str, OrderState | None] = {
    "0": OrderState.NEW,
    "1": OrderState.PARTIALLY_FILLED,
    "2": OrderState.FILLED,
    "3": _OPEN,
    "4": OrderState.CANCELED,
    "5": _OPEN,
    "6": _OPEN,
    "7": _OPEN,
    "8": OrderState.REJECTED,
    "9": _OPEN,
    "B": _OPEN,
    "C": OrderState.EXPIRED,
    "D": OrderState.NEW,
    "E": _OPEN,
}


def exec_report_kind(
    exec_type: str | None, exec_trans_type: str | None = None
) -> ReportKind | None:
    """The report kind of an ExecutionReport from its ExecType (150) and ExecTransType (20).

    In FIX 4.2, ExecTransType 1 (cancel) and 2 (correct) of a trade, and 3 (status), are STATUS.

    Returns None for reports that prove nothing (PendingNew) and for unknown ExecTypes.
    """
    if exec_trans_type in ("1", "2", "3"):
        return ReportKind.STATUS
    if exec_type is None:
        return None
    return _EXEC_KIND.get(exec_type)


def ord_status_state(ord_status: str | None, cum_qty: Decimal | None) -> OrderState | None:
    """Our state for an OrdStatus (39); open statuses by the cumulative filled quantity.

    PendingNew ("A") and unknown values give None (no claim: the order is not settled by it).
    """
    if ord_status is None or ord_status == "A" or ord_status not in _ORD_STATUS:
        return None
    state = _ORD_STATUS[ord_status]
    if state is None or state in (OrderState.NEW, OrderState.PARTIALLY_FILLED):
        return (
            OrderState.PARTIALLY_FILLED if cum_qty is not None and cum_qty > 0 else OrderState.NEW
        )
    return state


def _uuid_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class OrderDialect:
    """How one venue speaks FIX order entry (the differences the order path needs).

    Attributes:
        venue: venue name (reports carry it).
        symbols: the manager's symbol → the venue's FIX Symbol (55), where they differ.
        post_only_exec_inst: ExecInst (18) value for post-only orders ("6",
            ParticipateDontInitiate), or None where the venue has none (refused).
        handl_inst: HandlInst (21) to send on D and G (required by FIX 4.2), or None.
        new_order_fields: extra fields on every NewOrderSingle (Coinbase SelfTradePrevention
            7928, Binance SelfTradePreventionMode 25001).
        supports_replace: OrderCancelReplaceRequest (G) accepted.
        supports_status: OrderStatusRequest (H) accepted.
        supports_mass_status: OrderMassStatusRequest (AF) accepted.
        supports_mass_cancel: OrderMassCancelRequest (q) accepted.
        gtd: GoodTillDate (59=6 with ExpireTime 126) accepted.
        status_req_id: send OrdStatusReqID (790) on H (FIX 4.4+) to match its answer.
        send_order_id: send the venue's OrderID (37) on F, G and H when known.
        new_cl_ord_id: makes the ClOrdID of a cancel or in-place replace (default a UUID4).
        timestamp_precision: precision of TransactTime / ExpireTime.
        trade_id_tag: the tag carrying the venue's trade id on fills (Binance TradeID 1003),
            used as the fill's id so fills reached over FIX and over REST de-duplicate;
            None: ExecID (17).
    """

    venue: str = "fix"
    symbols: Mapping[str, str] = field(default_factory=dict)
    post_only_exec_inst: str | None = "6"
    handl_inst: str | None = None
    new_order_fields: tuple[tuple[int, str], ...] = ()
    supports_replace: bool = True
    supports_status: bool = True
    supports_mass_status: bool = True
    supports_mass_cancel: bool = True
    gtd: bool = True
    status_req_id: bool = True
    send_order_id: bool = True
    new_cl_ord_id: Callable[[], str] = _uuid_id
    timestamp_precision: Literal["s", "ms", "us", "ns"] = "ms"
    trade_id_tag: int | None = None

    def wire_symbol(self, symbol: str) -> str:
        """The venue's Symbol (55) for the manager's symbol."""
        return self.symbols.get(symbol, symbol)

    def our_symbol(self, wire: str) -> str:
        """The manager's symbol for the venue's Symbol (55)."""
        for ours, theirs in self.symbols.items():
            if theirs == wire:
                return ours
        return wire


GENERIC_44 = OrderDialect(venue="fix")
"""A FIX 4.4 venue with the whole order-entry message set."""
GENERIC_42 = OrderDialect(
    venue="fix",
    handl_inst="1",
    status_req_id=False,
    supports_mass_status=False,
    supports_mass_cancel=False,
)
"""A FIX 4.2 venue: HandlInst required; no OrdStatusReqID, AF or q (all FIX 4.3)."""
COINBASE = OrderDialect(venue="coinbase", supports_mass_status=False)
"""Coinbase Exchange FIX 5.0 SP2 order entry: D, F, G, H and q "by trading session only" (it
cancels the orders this session placed; symbols `BTC-USD`; no AF — see
`venuegate.fix.dialects.coinbase`). Add SelfTradePrevention with
`dataclasses.replace(COINBASE, new_order_fields=((7928, "N"),))`."""
BINANCE = OrderDialect(
    venue="binance",
    supports_replace=False,
    supports_status=False,
    supports_mass_status=False,
    gtd=False,
    trade_id_tag=1003,
)
"""Binance spot FIX API: D, F, q (no G, H, AF; its amend messages XCN/XAK are not wired here:
amends and queries go over REST)."""
KRAKEN = OrderDialect(venue="kraken", supports_mass_status=False)
"""Kraken FIX 4.4: D, F, G, H, q (symbols `BTC/USD`; no AF)."""


@dataclass(slots=True, eq=False)
class _Request:
    kind: RequestKind
    cid: str
    key: str
    fut: asyncio.Future[list[VenueReport]]
    msg_type: str
    seq: int | None = None
    collected: list[VenueReport] = field(default_factory=list)
    expected: int | None = None
    symbol: str | None = None


def _dec(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _num(value: Decimal) -> str:
    return format(value, "f")


class FixOrderEntry(Application):
    """The order manager's order entry over one FIX initiator session.

    Args:
        venue: venue name (as the manager's adapter has it).
        dialect: the venue's order-entry differences (`OrderDialect`).
        timeout_s: how long an answer is awaited before the outcome counts as unknown (orders)
            or the request as failed (queries, mass status).
        reconcile_on_logon: reconcile the attached manager after every logon.
        fix_only: no REST behind this venue: reconciliation lists open orders by H per order
            where the venue has no mass status (otherwise the manager asks REST).
        app: an application to forward every callback to (after this one's work).
    """

    def __init__(
        self,
        venue: str,
        dialect: OrderDialect | None = None,
        *,
        timeout_s: float = 5.0,
        reconcile_on_logon: bool = True,
        fix_only: bool = False,
        app: Application | None = None,
    ) -> None:
        self.venue = venue
        self.dialect = dialect or GENERIC_44
        self.timeout_s = timeout_s
        self.reconcile_on_logon = reconcile_on_logon
        self.fix_only = fix_only
        self.app = app
        self.session: FixSession | None = None
        self.ready = asyncio.Event()
        self.logons = 0
        self._om: OrderManager | None = None
        self._journal: OrderJournal | None = None
        self._on_reports: Callable[[list[VenueReport]], None] | None = None
        self._cid_of: dict[str, str] = {}  # wire ClOrdID → client order id
        self._live: dict[str, str] = {}  # client order id → the order's live ClOrdID
        self._replace_of: dict[str, str] = {}  # replace ClOrdID → client order id (unconfirmed)
        self._by_key: dict[str, _Request] = {}
        self._by_seq: dict[int, _Request] = {}
        self._cancel_of: dict[str, _Request] = {}  # client order id → its pending cancel
        self._doubtful_seqs: set[int] = set()  # order messages declared unknown: never replayed
        self._req_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.unsolicited = 0
        self.late = 0

    def __repr__(self) -> str:
        return f"FixOrderEntry(venue={self.venue!r}, ready={self.ready.is_set()})"

    # -- wiring --------------------------------------------------------------------------------
    def attach(self, om: OrderManager, *, restore: bool = True) -> None:
        """Becomes `om`'s order entry.

        Reports go to `om.apply_reports`, ClOrdID mappings to its journal (restored from it when
        `restore`), and `om.reconcile()` runs after every logon.
        """
        self._om = om
        self._journal = om.journal
        self._on_reports = om.apply_reports
        om.order_entry = self
        if restore and not om.journal.closed:
            with contextlib.suppress(Exception):
                om.journal.sync()
            self.restore(OrderJournal.replay(om.journal.path))

    def restore(self, records: Iterable[tuple[int, Record]]) -> int:
        """Rebuilds the ClOrdID mapping from journal markers; returns how many were read."""
        n = 0
        for _, rec in records:
            if not isinstance(rec, MarkerRecord):
                continue
            if rec.name == "fix_clordid":
                cid, wire = rec.data.get("cid"), rec.data.get("wire")
                if cid and wire:
                    self._cid_of[wire] = cid
                    n += 1
            elif rec.name == "fix_live":
                cid, wire = rec.data.get("cid"), rec.data.get("wire")
                if cid and wire:
                    self._cid_of[wire] = cid
                    self._live[cid] = wire
                    self._replace_of.pop(wire, None)  # a replace confirmed
                    n += 1
            elif rec.name == "fix_replace":
                wire, cid, target = (rec.data.get(k) for k in ("wire", "cid", "target"))
                if wire and cid and target:
                    self._replace_of[wire] = cid
                    self._cid_of[wire] = target
                    n += 1
            elif rec.name == "fix_replace_end":
                self._replace_of.pop(str(rec.data.get("wire", "")), None)
            elif rec.name == "fix_doubtful":
                seq = rec.data.get("seq", "")
                if seq.isdigit():
                    self._doubtful_seqs.add(int(seq))
        return n

    def can(self, op: str) -> bool:
        """Whether the manager should send `op` ("query", "open_orders", "cancel_all") here."""
        d = self.dialect
        if op == "query":
            return d.supports_status
        if op == "open_orders":
            return d.supports_mass_status or (self.fix_only and d.supports_status)
        if op == "cancel_all":
            return d.supports_mass_cancel
        return op in ("place", "cancel") or (op == "amend" and d.supports_replace)

    async def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Waits until the session is logged on; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.ready.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Fails pending requests (unknown outcome) and stops background work."""
        self._lost("the order-entry session was closed")
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def cl_ord_id(self, client_order_id: str) -> str:
        """The order's live ClOrdID on the wire (its client order id until a replace)."""
        return self._live.get(client_order_id, client_order_id)

    def client_order_id(self, cl_ord_id: str) -> str | None:
        """The manager's client order id for a wire ClOrdID, if it is one of ours."""
        return self._cid_of.get(cl_ord_id)

    # -- requests ------------------------------------------------------------------------------
    async def place(self, order: Order) -> list[VenueReport]:
        """Sends a NewOrderSingle (D).

        Raises:
            RetryableError: not logged on (nothing sent).
            UnknownOutcomeError: no answer in time, or the session dropped meanwhile.
            VenueError: the venue's refusal (ExecutionReport rejected, session or business
                reject), classified.
        """
        self._require_logged_on()
        d = self.dialect
        cid = order.client_order_id
        ord_type = _ORD_TYPES.get(order.type)
        if ord_type is None:
            raise FatalError(f"{self.venue}: {order.type} orders are not sent over FIX here")
        fields: list[tuple[int, Any]] = [(CL_ORD_ID, cid)]
        if d.handl_inst is not None:
            fields.append((HANDL_INST, d.handl_inst))
        fields += [
            (SYMBOL, d.wire_symbol(order.symbol)),
            (SIDE, _SIDES[order.side]),
            (TRANSACT_TIME, self._now()),
            (ORDER_QTY, _num(order.quantity)),
            (ORD_TYPE, ord_type),
        ]
        if order.price is not None and order.type is OrderType.LIMIT:
            fields.append((PRICE, _num(order.price)))
        fields.append((TIME_IN_FORCE, _TIF[order.time_in_force]))
        if order.time_in_force is TimeInForce.GTD:
            if not d.gtd or order.expire_at is None:
                raise FatalError(f"{self.venue}: GTD orders are not accepted over FIX here")
            fields.append(
                (
                    EXPIRE_TIME,
                    utc_timestamp(int(order.expire_at.timestamp() * 1e9), d.timestamp_precision),
                )
            )
        if order.time_in_force is TimeInForce.POST_ONLY:
            if d.post_only_exec_inst is None:
                raise FatalError(f"{self.venue}: post-only orders are not accepted over FIX here")
            fields.append((EXEC_INST, d.post_only_exec_inst))
        fields += list(d.new_order_fields)
        self._map(cid, cid, live=False)
        return await self._request("place", cid, cid, NEW_ORDER_SINGLE, fields)

    async def cancel(self, order: Order) -> list[VenueReport]:
        """Sends an OrderCancelRequest (F) for the order's live ClOrdID (as `place` for errors)."""
        self._require_logged_on()
        cid = order.client_order_id
        wire = self.dialect.new_cl_ord_id()
        fields: list[tuple[int, Any]] = [(ORIG_CL_ORD_ID, self.cl_ord_id(cid))]
        if self.dialect.send_order_id and order.venue_order_id:
            fields.append((ORDER_ID, order.venue_order_id))
        fields += [
            (CL_ORD_ID, wire),
            (SYMBOL, self.dialect.wire_symbol(order.symbol)),
            (SIDE, _SIDES[order.side]),
            (TRANSACT_TIME, self._now()),
            (ORDER_QTY, _num(order.quantity)),
        ]
        self._map(wire, cid, live=False)
        return await self._request("cancel", cid, wire, ORDER_CANCEL_REQUEST, fields)

    async def amend(self, order: Order, amend: Amend) -> list[VenueReport]:
        """Sends an OrderCancelReplaceRequest (G) (as `place` for errors).

        In place (no `amend.new_client_order_id`): the order gets a new ClOrdID on the wire and
        keeps its client order id (report AMENDED). With a new client order id (the manager's
        REPLACE mode), the replacement is that id (reports CANCELED + ACK).
        """
        self._require_logged_on()
        d = self.dialect
        if not d.supports_replace:
            raise FatalError(f"{self.venue}: no OrderCancelReplaceRequest over FIX here")
        cid = order.client_order_id
        if order.type is not OrderType.LIMIT or order.price is None:
            raise FatalError(f"{self.venue}: only limit orders are replaced over FIX here")
        new_cid = amend.new_client_order_id
        wire = new_cid if new_cid is not None else d.new_cl_ord_id()
        quantity = amend.quantity if amend.quantity is not None else order.quantity
        price = amend.price if amend.price is not None else order.price
        fields: list[tuple[int, Any]] = [(ORIG_CL_ORD_ID, self.cl_ord_id(cid))]
        if d.send_order_id and order.venue_order_id:
            fields.append((ORDER_ID, order.venue_order_id))
        fields.append((CL_ORD_ID, wire))
        if d.handl_inst is not None:
            fields.append((HANDL_INST, d.handl_inst))
        fields += [
            (SYMBOL, d.wire_symbol(order.symbol)),
            (SIDE, _SIDES[order.side]),
            (TRANSACT_TIME, self._now()),
            (ORDER_QTY, _num(quantity)),
            (ORD_TYPE, _ORD_TYPES[order.type]),
            (PRICE, _num(price)),
            (TIME_IN_FORCE, _TIF[order.time_in_force]),
        ]
        if order.time_in_force is TimeInForce.POST_ONLY and d.post_only_exec_inst is not None:
            fields.append((EXEC_INST, d.post_only_exec_inst))
        target = new_cid if new_cid is not None else cid
        self._map(wire, target, live=False)
        self._replace_of[wire] = cid
        self._mark("fix_replace", {"wire": wire, "cid": cid, "target": target})
        return await self._request("amend", cid, wire, ORDER_CANCEL_REPLACE_REQUEST, fields)

    async def query(self, order: Order) -> list[VenueReport]:
        """Sends an OrderStatusRequest (H): one STATUS report, or NOT_FOUND.

        Raises:
            RetryableError: not logged on, no answer in time, or the session dropped.
        """
        cid = order.client_order_id
        live = self.cl_ord_id(cid)
        fields: list[tuple[int, Any]] = []
        if self.dialect.send_order_id and order.venue_order_id:
            fields.append((ORDER_ID, order.venue_order_id))
        fields += [
            (CL_ORD_ID, live),
            (SYMBOL, self.dialect.wire_symbol(order.symbol)),
            (SIDE, _SIDES[order.side]),
        ]
        if self.dialect.status_req_id:
            key = f"vgq{next(self._req_ids)}.{uuid.uuid4().hex[:8]}"
            fields.append((ORD_STATUS_REQ_ID, key))
        else:
            key = f"status:{live}"
        return await self._request("query", cid, key, ORDER_STATUS_REQUEST, fields)

    async def open_orders(self, symbol: str | None = None) -> list[VenueReport]:
        """The venue's orders (STATUS reports) by OrderMassStatusRequest (AF).

        Reports of orders the manager does not know carry their ClOrdID (the manager adopts
        them).

        Where the venue has no mass status, returns no report (the manager then queries each
        open order). Raises `RetryableError` as `query`.
        """
        if not self.dialect.supports_mass_status:
            return []
        key = f"vgms{next(self._req_ids)}.{uuid.uuid4().hex[:8]}"
        fields: list[tuple[int, Any]] = [(MASS_STATUS_REQ_ID, key)]
        if symbol is not None:
            fields += [(MASS_STATUS_REQ_TYPE, "1"), (SYMBOL, self.dialect.wire_symbol(symbol))]
        else:
            fields.append((MASS_STATUS_REQ_TYPE, "7"))
        return await self._request(
            "mass_status", "", key, ORDER_MASS_STATUS_REQUEST, fields, symbol=symbol
        )

    async def cancel_all(self, symbol: str | None = None) -> list[VenueReport]:
        """Sends an OrderMassCancelRequest (q) (of `symbol`, or every order).

        The cancels arrive as ExecutionReports (applied as they come); returns no report.

        Raises:
            RetryableError: not logged on (nothing sent).
            UnknownOutcomeError: no OrderMassCancelReport in time.
            FatalError: the venue refused the mass cancel.
        """
        wire = self.dialect.new_cl_ord_id()
        fields: list[tuple[int, Any]] = [(CL_ORD_ID, wire)]
        if symbol is not None:
            fields += [
                (MASS_CANCEL_REQUEST_TYPE, "1"),
                (SYMBOL, self.dialect.wire_symbol(symbol)),
            ]
        else:
            fields.append((MASS_CANCEL_REQUEST_TYPE, "7"))
        fields.append((TRANSACT_TIME, self._now()))
        return await self._request("mass_cancel", "", wire, ORDER_MASS_CANCEL_REQUEST, fields)

    # -- request plumbing ----------------------------------------------------------------------
    def _now(self) -> str:
        return str(utc_timestamp(time.time_ns(), self.dialect.timestamp_precision))

    def _mark(self, name: str, data: dict[str, str]) -> None:
        """Journals a marker (before the request it describes leaves)."""
        journal = self._journal
        if journal is not None and not journal.closed:
            journal.write(MarkerRecord(time.time_ns(), name, data))

    def _doubt(self, seq: int) -> None:
        """Our order message `seq` has an unknown outcome: never replay it.

        Journaled, so a restarted engine gap-fills it too when the venue asks for a resend.
        """
        if seq not in self._doubtful_seqs:
            self._doubtful_seqs.add(seq)
            self._mark("fix_doubtful", {"seq": str(seq)})

    def _map(self, wire: str, cid: str, *, live: bool) -> None:
        """Maps a wire ClOrdID to `cid`, journaled before the request leaves."""
        known = self._cid_of.get(wire) == cid
        self._cid_of[wire] = cid
        if live:
            self._live[cid] = wire
        journal = self._journal
        if journal is not None and not journal.closed and (live or (not known and wire != cid)):
            journal.write(
                MarkerRecord(
                    time.time_ns(),
                    "fix_live" if live else "fix_clordid",
                    {"cid": cid, "wire": wire},
                )
            )

    def _require_logged_on(self) -> None:
        if self.session is None or not self.ready.is_set():
            raise self._not_logged_on()

    def _not_logged_on(self) -> RetryableError:
        return RetryableError(
            f"{self.venue}: FIX session not logged on (nothing sent)", venue=self.venue
        )

    async def _send(
        self, session: FixSession, req: _Request, fields: list[tuple[int, Any]], *, is_order: bool
    ) -> None:
        msg_type, fut = req.msg_type, req.fut
        # `FixSession.send` numbers, stores and writes the message before its first await:
        # the seq is known now, so a Reject naming it finds the request even mid-drain.
        req.seq = session.next_sender_seq
        self._by_seq[req.seq] = req
        try:
            seq = await session.send(msg_type, fields)
        except NotLoggedOnError:
            self._by_seq.pop(req.seq, None)
            req.seq = None
            raise self._not_logged_on() from None
        except FixError as exc:  # a value the encoder refuses: nothing sent
            self._by_seq.pop(req.seq, None)
            req.seq = None
            raise FatalError(f"{self.venue}: {msg_type} not encodable: {exc.reason}") from None
        except (OSError, ConnectionError) as exc:
            if is_order:
                raise UnknownOutcomeError(
                    f"{self.venue}: FIX send failed ({type(exc).__name__}); outcome unknown",
                    venue=self.venue,
                ) from None
            raise RetryableError(
                f"{self.venue}: FIX send failed ({type(exc).__name__})", venue=self.venue
            ) from None
        if seq != req.seq:
            self._by_seq.pop(req.seq, None)
            req.seq = seq
            if not fut.done():
                self._by_seq[seq] = req

    async def _request(
        self,
        kind: RequestKind,
        cid: str,
        key: str,
        msg_type: str,
        fields: list[tuple[int, Any]],
        *,
        symbol: str | None = None,
    ) -> list[VenueReport]:
        session = self.session
        if session is None or not self.ready.is_set():
            raise self._not_logged_on()
        fut: asyncio.Future[list[VenueReport]] = asyncio.get_running_loop().create_future()
        req = _Request(kind, cid, key, fut, msg_type, symbol=symbol)
        old = self._by_key.get(key)
        if old is not None and not old.fut.done():
            raise RetryableError(f"{self.venue}: a request with ClOrdID {key} is pending")
        self._by_key[key] = req
        if kind == "cancel":
            self._cancel_of[cid] = req
        is_order = msg_type in _ORDER_MESSAGES or kind == "mass_cancel"
        try:
            await self._send(session, req, fields, is_order=is_order)
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await fut
            except TimeoutError:
                if kind == "mass_status" and req.collected:
                    log.warning(
                        "%s: mass status %s incomplete after %s s (%d reports)",
                        self.venue,
                        key,
                        self.timeout_s,
                        len(req.collected),
                    )
                    return req.collected
                if is_order:
                    raise UnknownOutcomeError(
                        f"{self.venue}: no FIX answer to {msg_type} {key} in {self.timeout_s} s;"
                        " outcome unknown",
                        venue=self.venue,
                    ) from None
                raise RetryableError(
                    f"{self.venue}: no FIX answer to {msg_type} in {self.timeout_s} s",
                    venue=self.venue,
                ) from None
        except UnknownOutcomeError:
            if req.seq is not None:
                self._doubt(req.seq)
            raise
        finally:
            self._forget(req)

    def _finish(self, req: _Request, reports: list[VenueReport]) -> None:
        """Answers `req`.

        Reports go to the manager now (wire order); the caller gets them only when no manager is
        attached (queries and mass status always return theirs: the manager applies them).
        """
        if req.fut.done():
            self._emit(reports)
            return
        if self._on_reports is not None and req.kind not in ("query", "mass_status"):
            self._emit(reports)
            req.fut.set_result([])
        else:
            req.fut.set_result(reports)
        self._forget(req)

    def _fail(self, req: _Request, exc: BaseException) -> None:
        if not req.fut.done():
            req.fut.set_exception(exc)
        self._forget(req)

    def _forget(self, req: _Request) -> None:
        if self._by_key.get(req.key) is req:
            del self._by_key[req.key]
        if self._cancel_of.get(req.cid) is req:
            del self._cancel_of[req.cid]
        if req.seq is not None and self._by_seq.get(req.seq) is req:
            del self._by_seq[req.seq]

    def _emit(self, reports: list[VenueReport]) -> None:
        if not reports:
            return
        if self._on_reports is None:
            log.debug("%s: %d FIX reports with no order manager attached", self.venue, len(reports))
            return
        self._on_reports(reports)

    def _lost(self, why: str) -> None:
        self.ready.clear()
        pending = list(self._by_key.values())
        self._by_key.clear()
        self._by_seq.clear()
        self._cancel_of.clear()
        for req in pending:
            if req.fut.done():
                continue
            if req.kind in ("query", "mass_status"):
                req.fut.set_exception(RetryableError(f"{self.venue}: {why}", venue=self.venue))
            else:
                if req.seq is not None:
                    self._doubt(req.seq)
                req.fut.set_exception(
                    UnknownOutcomeError(f"{self.venue}: {why}; outcome unknown", venue=self.venue)
                )

    # -- Application callbacks -----------------------------------------------------------------
    def on_create(self, session: FixSession) -> None:
        """Remembers the session."""
        self.session = session
        if self.app is not None:
            self.app.on_create(session)

    def on_logon(self, session: FixSession) -> None:
        """Ready; reconciles the attached manager (mass status) in the background."""
        self.session = session
        self.logons += 1
        # Sequence numbers may have been reset: doubts about higher seqs are about old messages.
        self._doubtful_seqs = {s for s in self._doubtful_seqs if s < session.next_sender_seq}
        self.ready.set()
        if self._om is not None and self.reconcile_on_logon:
            task = asyncio.get_running_loop().create_task(
                self._reconcile(), name=f"{self.venue}-fix-reconcile"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self.app is not None:
            self.app.on_logon(session)

    async def _reconcile(self) -> None:
        om = self._om
        if om is None:
            return
        try:
            await om.reconcile()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the manager reconciles again on the next logon or query
            log.warning("%s: reconcile after FIX logon failed: %s", self.venue, exc)

    def on_logout(self, session: FixSession, reason: str) -> None:
        """Not ready; pending order requests end with `UnknownOutcomeError`."""
        self._lost(f"the FIX session dropped with the request pending ({reason})")
        if self.app is not None:
            self.app.on_logout(session, reason)

    def to_admin(
        self,
        session: FixSession,
        msg_type: str,
        seq_num: int,
        sending_time: str,
        fields: list[tuple[int, Any]],
    ) -> None:
        """Forwards to the wrapped application."""
        if self.app is not None:
            self.app.to_admin(session, msg_type, seq_num, sending_time, fields)

    def to_app(self, session: FixSession, msg_type: str, fields: list[tuple[int, Any]]) -> None:
        """Forwards to the wrapped application."""
        if self.app is not None:
            self.app.to_app(session, msg_type, fields)

    def may_resend(self, seq_num: int, msg_type: str) -> bool:
        """Whether a session may replay our message `seq_num` on a ResendRequest.

        False for order messages whose outcome was declared unknown (the manager resolves them
        by query): the session gap-fills those instead of replaying them (`FixSession`
        consults it when answering a ResendRequest).
        """
        return not (
            msg_type in (*_ORDER_MESSAGES, ORDER_MASS_CANCEL_REQUEST)
            and seq_num in self._doubtful_seqs
        )

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        """A session-level Reject of one of our requests fails it."""
        if msg.msg_type == SESSION_REJECT:
            self._on_session_reject(msg)
        if self.app is not None:
            self.app.from_admin(session, msg)

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        """ExecutionReport, OrderCancelReject, BusinessMessageReject, OrderMassCancelReport."""
        t = msg.msg_type
        try:
            if t == EXECUTION_REPORT:
                self._on_execution_report(msg)
            elif t == ORDER_CANCEL_REJECT:
                self._on_cancel_reject(msg)
            elif t == BUSINESS_MESSAGE_REJECT:
                self._on_business_reject(msg)
            elif t == ORDER_MASS_CANCEL_REPORT:
                self._on_mass_cancel_report(msg)
        except Exception:
            # A report we cannot read must not kill the session; the manager reconciles.
            log.exception("%s: FIX %s (seq %s) not applied", self.venue, t, msg.seq_num)
        if self.app is not None:
            self.app.from_app(session, msg)

    # -- inbound -------------------------------------------------------------------------------
    def _on_session_reject(self, msg: FixMessage) -> None:
        ref = msg.get_int(REF_SEQ_NUM)
        req = self._by_seq.get(ref) if ref is not None else None
        if req is None:
            log.warning("%s: session Reject of seq %s: %s", self.venue, ref, msg.get(TEXT))
            return
        text = msg.get(TEXT) or "session-level reject"
        self._fail_classified(
            req,
            FatalError(
                f"{self.venue}: FIX Reject of {req.msg_type}: {text}",
                venue=self.venue,
                code=msg.get(SESSION_REJECT_REASON),
            ),
        )

    def _fail_classified(self, req: _Request, exc: VenueError) -> None:
        if req.kind == "query" and isinstance(exc, OrderNotFoundError):
            self._finish(req, [self._not_found(req.cid, str(exc))])
            return
        if req.kind in ("query", "mass_status") and not isinstance(exc, RetryableError):
            exc = RetryableError(str(exc), venue=self.venue, code=exc.code)
        self._fail(req, exc)

    def _on_business_reject(self, msg: FixMessage) -> None:
        ref_id = msg.get(BUSINESS_REJECT_REF_ID)
        req = self._by_key.get(ref_id) if ref_id else None
        if req is None:
            ref = msg.get_int(REF_SEQ_NUM)
            req = self._by_seq.get(ref) if ref is not None else None
        text = msg.get(TEXT) or "business reject"
        reason = msg.get(BUSINESS_REJECT_REASON)
        if req is None:
            log.warning("%s: BusinessMessageReject (%s): %s", self.venue, reason, text)
            return
        message = f"{self.venue}: FIX BusinessMessageReject of {req.msg_type}: {text}"
        exc: VenueError
        if reason == "4":
            exc = VenueUnavailableError(message, venue=self.venue, code=reason)
        elif reason == "6":
            exc = AuthError(message, venue=self.venue, code=reason)
        elif reason == "1" and req.kind != "place":
            exc = OrderNotFoundError(message, venue=self.venue, code=reason)
        elif reason == "99" and "rate" in text.lower():
            exc = RateLimitedError(message, venue=self.venue, code=reason)
        else:
            exc = FatalError(message, venue=self.venue, code=reason)
        self._fail_classified(req, exc)

    def _on_mass_cancel_report(self, msg: FixMessage) -> None:
        req = self._by_key.get(msg.get(CL_ORD_ID) or "")
        if req is None or req.kind != "mass_cancel":
            return
        if msg.get(MASS_CANCEL_RESPONSE) == "0":
            text = msg.get(TEXT) or f"reason {msg.get(MASS_CANCEL_REJECT_REASON)}"
            code = msg.get(MASS_CANCEL_REJECT_REASON)
            message = f"{self.venue}: mass cancel refused: {text}"
            self._fail(req, FatalError(message, venue=self.venue, code=code))
        else:
            self._finish(req, [])

    def _on_cancel_reject(self, msg: FixMessage) -> None:
        wire = msg.get(CL_ORD_ID) or ""
        req = self._by_key.get(wire)
        reason = msg.get(CXL_REJ_REASON)
        text = msg.get(TEXT) or f"reason {reason}"
        if wire in self._replace_of:
            # A refused replace: the order keeps its live ClOrdID.
            self._replace_of.pop(wire, None)
            self._mark("fix_replace_end", {"wire": wire})
        if req is None:
            log.info("%s: OrderCancelReject of %s (%s) after its request ended", self.venue,
                     wire, text)  # fmt: skip
            self.late += 1
            # A Pending Cancel / Replace report ended the request; the refusal must still reach
            # the manager, or the order stays PENDING_* until the next status query.
            cid = self._cid_of.get(msg.get(ORIG_CL_ORD_ID) or "") or self._cid_of.get(wire)
            if cid is not None and self._om is not None:
                late_what: Literal["cancel", "amend"] = (
                    "amend" if msg.get(CXL_REJ_RESPONSE_TO) == "2" else "cancel"
                )
                self._om.refused(cid, late_what, f"{self.venue}: refused: {text}")
            return
        what = "cancel" if msg.get(CXL_REJ_RESPONSE_TO) != "2" else "replace"
        message = f"{self.venue}: {what} refused: {text}"
        exc: VenueError
        if reason in ("0", "1"):  # too late to cancel, unknown order
            exc = OrderNotFoundError(message, venue=self.venue, code=reason)
        elif reason == "3":  # a cancel or replace already pending
            exc = RetryableError(message, venue=self.venue, code=reason)
        elif reason == "6":
            exc = DuplicateOrderError(message, venue=self.venue, code=reason)
        else:
            exc = FatalError(message, venue=self.venue, code=reason)
        self._fail(req, exc)

    def _on_execution_report(self, msg: FixMessage) -> None:
        wire = msg.get(CL_ORD_ID) or ""
        mass_id = msg.get(MASS_STATUS_REQ_ID)
        if mass_id is not None:
            req = self._by_key.get(mass_id)
            if req is not None and req.kind == "mass_status":
                self._on_mass_status_report(req, msg)
                return
        exec_type = msg.get(EXEC_TYPE)
        is_status = exec_type == "I" or msg.get(EXEC_TRANS_TYPE) == "3"
        if self._answer_query(msg, wire, exec_type, is_status=is_status):
            return
        reports = self._reports(msg, status=is_status)
        self._confirm_replace(msg, wire, exec_type)
        req = self._by_key.get(wire)
        if req is None or req.kind not in ("place", "cancel", "amend"):
            self.unsolicited += 1
            self._emit(reports)
            if exec_type in ("4", "C") and reports:
                # Canceled (or expired) under the original ClOrdID: answers our cancel too.
                pending = self._cancel_of.get(reports[0].client_order_id)
                if pending is not None:
                    self._finish(pending, [])
            return
        if exec_type == "8" or (exec_type is None and msg.get(ORD_STATUS) == "8"):
            self._fail(req, self._rejection(req, msg))
            return
        if req.kind == "cancel" and exec_type not in ("4", "6", "C"):
            self._emit(reports)  # e.g. a fill on the cancel's ClOrdID: not the answer yet
            return
        if req.kind == "amend" and exec_type not in ("5", "E", "0", "I"):
            self._emit(reports)
            return
        self._finish(req, reports)

    def _answer_query(
        self, msg: FixMessage, wire: str, exec_type: str | None, *, is_status: bool
    ) -> bool:
        """Answers a pending OrderStatusRequest with `msg` if it is the answer."""
        status_id = msg.get(ORD_STATUS_REQ_ID)
        req = None
        if status_id is not None:
            req = self._by_key.get(status_id)
        elif is_status or (
            # FIX 4.2 venues that answer H without ExecTransType 3: a non-trade report on a
            # ClOrdID with a status request and no order request pending is the answer.
            exec_type not in ("1", "2", "F")
            and self._by_key.get(wire) is None
        ):
            req = self._by_key.get(f"status:{wire}")
        if req is None or req.kind != "query":
            return False
        oid = msg.get(ORDER_ID)
        if msg.get(ORD_STATUS) == "8" and (
            msg.get(ORD_REJ_REASON) == "5" or oid in (None, "", "NONE")
        ):
            self._finish(req, [self._not_found(req.cid, msg.get(TEXT) or "unknown order")])
        else:
            self._finish(req, self._reports(msg, status=True))
        return True

    def _confirm_replace(self, msg: FixMessage, wire: str, exec_type: str | None) -> None:
        cid = self._replace_of.get(wire)
        if cid is None or exec_type in ("E", "8") or msg.get(ORD_STATUS) == "E":
            return
        del self._replace_of[wire]
        target = self._cid_of.get(wire, cid)
        self._map(wire, target, live=True)

    def _on_mass_status_report(self, req: _Request, msg: FixMessage) -> None:
        total = msg.get_int(TOT_NUM_REPORTS)
        if total is not None:
            req.expected = total
        wire = msg.get(CL_ORD_ID)
        if (wire or msg.get(ORDER_ID)) and msg.get(ORD_STATUS) is not None and total != 0:
            reports = self._reports(msg, status=True)
            if req.symbol is not None:
                reports = [r for r in reports if r.symbol in (None, req.symbol)]
            req.collected += reports
        last = msg.get(LAST_RPT_REQUESTED) == "Y"
        if last or (req.expected is not None and len(req.collected) >= req.expected):
            self._finish(req, req.collected)

    def _rejection(self, req: _Request, msg: FixMessage) -> VenueError:
        text = msg.get(TEXT) or "rejected"
        reason = msg.get(ORD_REJ_REASON)
        message = f"{self.venue}: {req.msg_type} {req.key} rejected: {text}"
        if reason == "6":
            return DuplicateOrderError(message, venue=self.venue, code=reason)
        if reason == "5" and req.kind != "place":
            return OrderNotFoundError(message, venue=self.venue, code=reason)
        if reason == "2":  # exchange closed
            return VenueUnavailableError(message, venue=self.venue, code=reason)
        return FatalError(message, venue=self.venue, code=reason)

    def _not_found(self, cid: str, reason: str) -> VenueReport:
        return VenueReport(
            venue=self.venue, client_order_id=cid, kind=ReportKind.NOT_FOUND, reason=reason
        )

    def _resolve_cid(self, msg: FixMessage) -> str:
        """Our client order id for a report.

        By ClOrdID, then OrigClOrdID; else "" (the manager maps the venue's OrderID); else the
        venue's ClOrdID (an order to adopt).
        """
        wire = msg.get(CL_ORD_ID)
        orig = msg.get(ORIG_CL_ORD_ID)
        for w in (wire, orig):
            if w:
                cid = self._cid_of.get(w)
                if cid is not None:
                    return cid
        oid = msg.get(ORDER_ID)
        om = self._om
        if oid and om is not None and any(t.venue_order_id == oid for t in om.sm.orders()):
            return ""  # the manager maps the venue's OrderID
        if wire:
            self._cid_of.setdefault(wire, wire)
            return str(wire)
        return str(orig or "")

    def _reports(self, msg: FixMessage, *, status: bool) -> list[VenueReport]:
        """The reports one ExecutionReport makes (the ExecType / OrdStatus table)."""
        exec_type = msg.get(EXEC_TYPE)
        kind = (
            ReportKind.STATUS if status else exec_report_kind(exec_type, msg.get(EXEC_TRANS_TYPE))
        )
        if exec_type in ("G", "H") or msg.get(EXEC_TRANS_TYPE) in ("1", "2"):
            log.warning(
                "%s: trade correction/cancel %s for %s: cumulative quantity applied, fills kept",
                self.venue,
                msg.get(EXEC_ID),
                msg.get(CL_ORD_ID),
            )
        if kind is None:
            return []
        cid = self._resolve_cid(msg)
        oid = msg.get(ORDER_ID)
        if oid in ("NONE", "0", ""):
            oid = None
        cum = _dec(msg.get(CUM_QTY))
        sym = msg.get(SYMBOL)
        side = _SIDE_OF.get(msg.get(SIDE) or "")
        ts_ms = 0
        tt = msg.get(TRANSACT_TIME)
        if tt:
            with contextlib.suppress(ValueError):
                ts_ms = parse_utc_timestamp(tt) // 1_000_000
        qty = _dec(msg.get(ORDER_QTY))
        price = _dec(msg.get(PRICE))
        base = VenueReport(
            venue=self.venue,
            client_order_id=cid,
            kind=kind,
            venue_order_id=oid,
            symbol=self.dialect.our_symbol(sym) if sym else None,
            side=side,
            quantity=qty if qty is not None and qty > 0 else None,
            price=price if price is not None and price > 0 else None,
            filled_qty=cum,
            reason=msg.get(TEXT),
            ts_ms=ts_ms,
        )
        if kind is ReportKind.FILL:
            last_qty = _dec(msg.get(LAST_QTY))
            last_px = _dec(msg.get(LAST_PX))
            tag = self.dialect.trade_id_tag
            trade_id = (
                (msg.get(tag) if tag is not None else None) or msg.get(EXEC_ID) or f"{oid}:{cum}"
            )
            liq = {"1": "maker", "2": "taker"}.get(msg.get(LAST_LIQUIDITY_IND) or "")
            fee = _dec(msg.get(COMMISSION))
            fill = VenueReport(
                venue=self.venue,
                client_order_id=cid,
                kind=kind,
                venue_order_id=oid,
                symbol=base.symbol,
                side=side,
                filled_qty=cum,
                trade_id=trade_id,
                last_qty=last_qty,
                last_price=last_px,
                fee=fee,
                fee_asset=msg.get(COMM_CURRENCY) if fee is not None else None,
                liquidity=liq,
                ts_ms=ts_ms,
            )
            return [fill]
        if kind is ReportKind.STATUS:
            state = ord_status_state(msg.get(ORD_STATUS), cum)
            return [_with(base, state=state)]
        if kind is ReportKind.AMENDED:
            orig_cid = self._cid_of.get(msg.get(ORIG_CL_ORD_ID) or "")
            if orig_cid is not None and cid and orig_cid != cid:
                # The manager's REPLACE mode: the old order ends, its replacement lives on.
                return [
                    VenueReport(
                        venue=self.venue,
                        client_order_id=orig_cid,
                        kind=ReportKind.CANCELED,
                        venue_order_id=oid,
                        reason="replaced",
                        ts_ms=ts_ms,
                    ),
                    _with(base, kind=ReportKind.ACK, filled_qty=None),
                ]
            return [_with(base, filled_qty=None)]
        return [base]


def _with(r: VenueReport, **changes: Any) -> VenueReport:
    return dataclasses.replace(r, **changes)


# -- a venue reached only over FIX ---------------------------------------------------------------
class NoRest:
    """The `rest` of an `OrderManager` whose venue has no REST API (FIX only).

    Every call fails with `VenueUnavailableError` (nothing sent), except the fills listing,
    which answers an empty list: over FIX the executions arrive as ExecutionReports, recovered
    by the session's resend.
    """

    sent = 0

    async def call(self, call: HttpCall) -> HttpResponse:
        """Answers a fills listing with an empty list; refuses everything else."""
        if call.op is Op.FILLS:
            return HttpResponse(200, {}, b"[]")
        raise VenueUnavailableError(f"no REST API here ({call.op}): FIX only")

    async def send(self, call: HttpCall) -> HttpResponse:
        """As `call`."""
        return await self.call(call)

    async def __call__(self, call: HttpCall) -> HttpResponse:
        """As `call`."""
        return await self.call(call)


class _NoStream(PrivateStream):
    def url(self) -> str:
        raise ConfigError("no private stream: reports arrive over FIX")

    def open_messages(self) -> list[str]:
        return []

    def on_message(self, data: str | bytes) -> Any:
        raise ConfigError("no private stream: reports arrive over FIX")


class FixOnlyAdapter(VenueAdapter):
    """The adapter of a venue reached only over FIX (a generic FIX 4.2 / 4.4 venue).

    Use with `NoRest`, `OrderManager(..., private_stream=False, order_entry=entry)` and a
    `FixOrderEntry(..., fix_only=True)`. Amends are in place (the FIX replace keeps the order's
    client order id in the manager). Subclass to name the venue: `class Lse(FixOnlyAdapter):
    venue = "lse"`.
    """

    venue: ClassVar[str] = "fix"
    amend_mode: ClassVar[AmendMode] = AmendMode.IN_PLACE
    duplicate_client_ids_rejected: ClassVar[bool] = True
    client_id_max_len: ClassVar[int] = 36
    rate_model: ClassVar[RateModel] = RateModel("fix", ())

    def __init__(self, *, endpoints: Endpoints | None = None, signer: Signer | None = None) -> None:
        super().__init__(endpoints=endpoints or Endpoints("fix:", "fix:"), signer=signer)

    uuid_client_ids: ClassVar[bool] = False
    """True: client order ids are UUIDs (Coinbase); else `vg<session>-<n>`."""

    def new_client_order_id(self, session: str, n: int) -> str:
        """Unique per (`session`, `n`), regenerated alike on recovery."""
        if self.uuid_client_ids:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"venuegate:{session}:{n}"))
        return f"vg{session}-{n}"

    def _call(self, op: Op) -> HttpCall:
        return HttpCall(op, "FIX", f"/{op.value}")

    def place(self, order: Order) -> HttpCall:
        """Refuses what FIX order entry cannot send (before the manager journals)."""
        if order.type not in _ORD_TYPES:
            raise ConfigError(f"{order.type} orders are not sent over FIX", venue=self.venue)
        return self._call(Op.PLACE)

    def cancel(self, order: Order) -> HttpCall:  # noqa: D102 - no REST
        return self._call(Op.CANCEL)

    def cancel_all(self, symbol: str | None) -> HttpCall:  # noqa: D102
        raise ConfigError("no REST cancel-all: FIX only", venue=self.venue)

    def amend(self, order: Order, amend: Amend) -> HttpCall:  # noqa: D102
        return self._call(Op.AMEND)

    def query(self, order: Order) -> HttpCall:  # noqa: D102
        return self._call(Op.QUERY)

    def open_orders(self, symbol: str | None) -> HttpCall:  # noqa: D102
        return self._call(Op.OPEN_ORDERS)

    def fills(self, symbol: str, since_ms: int) -> HttpCall:  # noqa: D102
        return self._call(Op.FILLS)

    def parse_place(self, order: Order, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def parse_cancel(self, order: Order, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def parse_cancel_all(self, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def parse_amend(  # noqa: D102
        self, order: Order, amend: Amend, resp: HttpResponse
    ) -> list[VenueReport]:
        return []

    def parse_query(self, order: Order, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def parse_open_orders(self, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def parse_fills(self, resp: HttpResponse) -> list[VenueReport]:  # noqa: D102
        return []

    def check(self, op: Op, resp: HttpResponse) -> None:  # noqa: D102
        return None

    def private_stream(self, symbols: Sequence[str]) -> PrivateStream:  # noqa: D102
        return _NoStream()
