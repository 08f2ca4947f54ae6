"""`FixGateway`: one venue's FIX acceptor over a `SimExchange` — the base every dialect extends.

The gateway owns a `FixAcceptor`. Each Logon is routed to a session whose settings mirror the
client's comp ids; `verify_logon` (per venue) checks the signed Logon as the venue does and
refuses it with the venue's text. Application messages are translated into `SimExchange` calls;
the exchange's events (acks, fills, cancels, expiries — including fills from `step()` and orders
placed by the REST simulator on a shared exchange) become ExecutionReports sent at once, in
order, to every logged-on session of the account; the outbound fault dice are rolled around
each send, the inbound ones after each application message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from venuegate.fix.codec import (
    FixError,
    FixMessage,
    encode_message,
    parse,
    parse_utc_timestamp,
    utc_timestamp,
)
from venuegate.fix.messages import (
    BusinessRejectReason,
    SessionRejectReason,
    resend_request_fields,
)
from venuegate.fix.session import (
    Application,
    BusinessReject,
    FixAcceptor,
    FixSession,
    NotLoggedOnError,
    SessionReject,
    SessionSettings,
)
from venuegate.sim.fix.credentials import FixCredentials
from venuegate.sim.fix.faults import FixFault, FixFaultDice
from venuegate.sim.trade.exchange import (
    ExecEvent,
    RejectReason,
    SimExchange,
    SimFill,
    SimOrder,
    SimReject,
    Tif,
)

__all__ = ["FixGateway", "GatewayApp", "LogonInfo", "Report"]

log = logging.getLogger("venuegate.sim.fix")

type Fields = list[tuple[int, Any]]
type CodMode = Literal["all", "session"] | None

_ZERO = Decimal(0)
_AVG_QUANTUM = Decimal("0.00000001")
_SIDES = {"1": "buy", "2": "sell"}
_SIDE_CODES = {"buy": "1", "sell": "2"}
_TIFS: dict[str, Tif] = {"0": "gtc", "1": "gtc", "3": "ioc", "4": "fok", "6": "gtd"}
_TIF_CODES = {"gtc": "1", "ioc": "3", "fok": "4", "gtd": "6"}
_ORD_STATUS = {
    "new": "0",
    "partially_filled": "1",
    "filled": "2",
    "canceled": "4",
    "rejected": "8",
    "expired": "C",
}
_EXEC_TYPES = {"new": "0", "fill": "F", "canceled": "4", "expired": "C"}
_ORD_REJ_REASON = {
    RejectReason.UNKNOWN_SYMBOL: 1,
    RejectReason.MAINTENANCE: 2,
    RejectReason.DUPLICATE_CLIENT_ID: 6,
    RejectReason.BAD_QUANTITY: 13,
}
_CXL_REJ_REASON = {
    RejectReason.ORDER_CLOSED: 0,
    RejectReason.UNKNOWN_ORDER: 1,
    RejectReason.DUPLICATE_CLIENT_ID: 6,
}


def _n(value: Decimal) -> Decimal:
    """`value` without trailing zeros (the encoder writes plain notation)."""
    return value.normalize() if value else _ZERO


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class LogonInfo:
    """What a verified Logon established for its session."""

    account: str
    cancel_on_disconnect: CodMode = None
    drop_copy: bool = False
    only_acks: bool = False
    options: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """One ExecutionReport, venue-neutral (rendered per session by `FixGateway.render`)."""

    exec_type: str
    order: SimOrder
    cl_ord_id: str
    exec_id: str
    cum_qty: Decimal
    order_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    orig_cl_ord_id: str | None = None
    fill: SimFill | None = None
    rej_reason: int | None = None
    text: str | None = None
    extra: tuple[tuple[int, Any], ...] = ()
    reject: RejectReason | None = None


def required(msg: FixMessage, tag: int) -> str:
    """The value of `tag`, or a session Reject (RequiredTagMissing)."""
    value = msg.get(tag)
    if value is None or value == "":
        raise SessionReject(SessionRejectReason.REQUIRED_TAG_MISSING, "Required tag missing", tag)
    return value


def decimal_field(msg: FixMessage, tag: int, *, needed: bool = True) -> Decimal | None:
    """`tag` as a Decimal (IncorrectDataFormat reject when it is not a number)."""
    value = required(msg, tag) if needed else msg.get(tag)
    if value is None:
        return None
    try:
        out = Decimal(value)
    except InvalidOperation:
        raise SessionReject(
            SessionRejectReason.INCORRECT_DATA_FORMAT, "Incorrect data format for value", tag
        ) from None
    if not out.is_finite():
        raise SessionReject(
            SessionRejectReason.INCORRECT_DATA_FORMAT, "Incorrect data format for value", tag
        )
    return out


def garble(raw: bytes) -> bytes:
    """`raw` with a wrong CheckSum (what a corrupted frame looks like to the peer)."""
    head, sep, tail = raw.rpartition(b"\x0110=")
    if not sep or len(tail) < 4 or not tail[:3].isdigit():
        return raw + b"garbage"
    wrong = (int(tail[:3]) + 1) % 256
    return head + sep + f"{wrong:03d}".encode() + tail[3:]


def poss_dup_copy(raw: bytes) -> bytes:
    """`raw` re-encoded with PossDupFlag=Y and OrigSendingTime (a retransmitted copy)."""
    msg = parse(raw)
    fields: list[tuple[int, str | bytes]] = []
    sending_time = msg.get(52) or utc_timestamp()
    for tag, value in msg.fields():
        if tag in (8, 9, 10, 43, 122):
            continue
        fields.append((tag, value))
        if tag == 34:
            fields.extend([(43, "Y"), (122, sending_time)])
    return encode_message(msg.begin_string, fields)


class GatewayApp(Application):
    """The gateway's `Application` for one session: logon check, orders, reports, faults."""

    def __init__(self, gateway: FixGateway) -> None:
        self.gw = gateway
        self.info: LogonInfo | None = None
        self.session: FixSession | None = None
        self.session_orders: set[str] = set()

    # -- session callbacks ----------------------------------------------------------------
    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        """Verifies the first Logon of the connection (raises RejectLogon to refuse it)."""
        if msg.msg_type == "A" and self.info is None:
            self.info = self.gw.verify_logon(msg)

    def to_admin(
        self,
        session: FixSession,
        msg_type: str,
        seq_num: int,
        sending_time: str,
        fields: list[tuple[int, Any]],
    ) -> None:
        """Adds the venue's fields to our Logon answer."""
        if msg_type == "A":
            fields.extend(self.gw.logon_response_fields())

    def on_logon(self, session: FixSession) -> None:
        """Starts streaming the account's reports to this session."""
        self.session = session
        if self.info is not None:
            self.gw.attach(self)

    def on_logout(self, session: FixSession, reason: str) -> None:
        """Stops the reports and applies cancel-on-disconnect."""
        info = self.info
        if not self.gw.keeps_reports:
            self.gw.detach(self)
        if info is not None:
            self.gw.cancel_on_disconnect(self, info)
        self.info = None
        self.session_orders.clear()

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        """Serves one application message (may raise SessionReject / BusinessReject)."""
        self.session = session
        try:
            self.gw.handle(self, msg)
        finally:
            self.gw.inbound_faults(session, msg)

    # -- outbound ---------------------------------------------------------------------------
    def push(self, msg_type: str, fields: Fields) -> None:
        """Sends one message on this session now.

        While the session is down, a venue that keeps reports (`FixGateway.keeps_reports`)
        stores it under the next sequence number, so the client gets it by ResendRequest after
        it logs on again; the others lose it.
        """
        session = self.session
        if session is None:
            return
        try:
            if session.is_logged_on and session.connected:
                self.gw.send_with_faults(session, msg_type, fields)
            elif self.gw.keeps_reports:
                self.gw.store_offline(session, msg_type, fields)
            else:
                self.gw.count("reports_lost")
        except NotLoggedOnError:
            self.gw.count("reports_lost")
        except FixError as exc:  # a value the encoder refuses (echoed from a bad request)
            self.gw.count("encode_errors")
            log.warning("fix gateway: cannot encode %s: %s", msg_type, exc.reason)

    def push_report(self, report: Report) -> None:
        """Sends an ExecutionReport rendered for this session."""
        info = self.info
        if info is not None and info.only_acks and report.cl_ord_id not in self.session_orders:
            return
        session = self.session
        begin = session.settings.begin_string if session is not None else "FIX.4.4"
        self.push("8", self.gw.render(report, begin))


class FixGateway:
    """One venue's FIX gateway over a `SimExchange` (subclassed per venue).

    Args:
        exchange: the matching engine (shared with the REST simulator when given to both).
        credentials: the keys the gateway accepts.
        faults: the fault dice.
        host / port: where to listen (port 0: ephemeral).
        clock_ms: the venue's clock (staleness checks, timestamps).
        account: the `SimExchange` account every accepted key trades on (default: the API key
            itself) — the REST simulator's account name, to share its orders.
    """

    venue: ClassVar[str] = "generic"
    comp_id: str = "VENUE"
    """Our CompID (the clients' TargetCompID)."""
    begin_strings: ClassVar[frozenset[str]] = frozenset({"FIX.4.4"})
    supported: ClassVar[frozenset[str]] = frozenset({"D", "F", "G", "H", "q", "AF"})
    unsupported_as_session_reject: ClassVar[bool] = False
    timestamp_precision: ClassVar[Literal["ms", "us"]] = "ms"
    max_latency_s: ClassVar[float] = 120.0
    keeps_reports: ClassVar[bool] = True
    """Reports for a disconnected session are stored for resend (False: venues that reset
    sequence numbers at every Logon, whose missed reports are recovered by status requests)."""

    def __init__(
        self,
        exchange: SimExchange,
        credentials: Sequence[FixCredentials],
        faults: FixFaultDice,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_ms: Callable[[], int] = _wall_ms,
        account: str | None = None,
    ) -> None:
        self.exchange = exchange
        self.account = account
        self.credentials: dict[str, FixCredentials] = {c.api_key: c for c in credentials}
        self.faults = faults
        self.clock_ms = clock_ms
        self.acceptor = FixAcceptor(self.session_settings, self._new_app, host=host, port=port)
        self.stats: dict[str, int] = {}
        self.last_nonce: dict[str, int] = {}
        """Per key, the last Logon nonce accepted (venues whose Logon carries one)."""
        self._exec_ids = itertools.count(1)
        self._apps: dict[str, list[GatewayApp]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._replacing: dict[tuple[str, str], str] = {}
        self._replaced: set[tuple[str, str]] = set()
        self._cancel_req: dict[tuple[str, str], str] = {}
        self._carry: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The listening port."""
        return self.acceptor.port

    @property
    def sessions(self) -> dict[str, FixSession]:
        """Live sessions by session id."""
        return self.acceptor.sessions

    async def start(self) -> None:
        """Starts listening."""
        await self.acceptor.start()

    async def stop(self) -> None:
        """Stops the acceptor, the pumps and the exchange subscriptions."""
        await self.acceptor.stop()
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()

    def count(self, key: str) -> None:
        """Counts an event for the summary."""
        self.stats[key] = self.stats.get(key, 0) + 1

    def _new_app(self) -> Application:
        return GatewayApp(self)

    def session_settings(self, logon: FixMessage) -> SessionSettings | None:
        """The acceptor session for a Logon: our comp id must be its TargetCompID."""
        sender = logon.get(49)
        if logon.begin_string not in self.begin_strings or logon.get(56) != self.comp_id:
            self.count("logon_wrong_comp_id")
            return None
        if not sender:
            return None
        return SessionSettings(
            begin_string=logon.begin_string,  # type: ignore[arg-type]
            sender_comp_id=self.comp_id,
            target_comp_id=sender,
            default_appl_ver_id="9" if logon.begin_string == "FIXT.1.1" else None,
            check_latency=False,  # the venue's own window is checked by the gateway
            **self.session_options(logon),
        )

    def session_options(self, logon: FixMessage) -> dict[str, Any]:
        """Extra acceptor `SessionSettings` fields for this venue (default none)."""
        return {}

    def account_for(self, api_key: str) -> str:
        """The exchange account of an accepted key."""
        return self.account or api_key

    # -- venue hooks --------------------------------------------------------------------------
    def verify_logon(self, msg: FixMessage) -> LogonInfo:
        """Checks the Logon's credentials; raises `RejectLogon` with the venue's text."""
        raise NotImplementedError

    def logon_response_fields(self) -> Fields:
        """Venue-specific fields of our Logon (default none)."""
        return []

    def report_extra(self, report: Report) -> Fields:
        """Venue-specific ExecutionReport fields (default none)."""
        return []

    def cancel_reject_extra(self, reason: RejectReason | None) -> Fields:
        """Venue-specific OrderCancelReject fields (default none)."""
        return []

    def reject_text(self, reason: RejectReason, detail: str) -> str:
        """The Text (58) of a rejected request."""
        return f"{reason}: {detail}" if detail else str(reason)

    def check_sending_time(self, msg: FixMessage) -> None:
        """Refuses an application message whose SendingTime is outside the venue's window."""
        try:
            sent_ms = parse_utc_timestamp(msg.get(52) or "") // 1_000_000
        except FixError:
            raise SessionReject(
                SessionRejectReason.INCORRECT_DATA_FORMAT, "Invalid SendingTime", 52
            ) from None
        if abs(self.clock_ms() - sent_ms) > self.max_latency_s * 1000:
            raise SessionReject(
                SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM,
                "SendingTime accuracy problem",
                52,
            )

    def unsupported(self, msg: FixMessage) -> None:
        """Refuses a message type the venue does not serve."""
        if self.unsupported_as_session_reject:
            raise SessionReject(
                SessionRejectReason.INVALID_MSG_TYPE, "Unsupported message type", 35
            )
        raise BusinessReject(
            BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, "Unsupported Message Type", None
        )

    # -- accounts -----------------------------------------------------------------------------
    def attach(self, app: GatewayApp) -> None:
        """Routes the account's reports to `app`."""
        assert app.info is not None  # noqa: S101 - on_logon checks
        account = app.info.account
        apps = self._apps.setdefault(account, [])
        if app not in apps:
            apps.append(app)
        if account not in self._unsubscribe:
            self._unsubscribe[account] = self.exchange.subscribe(
                account, lambda ev: self._on_event(account, ev)
            )

    def detach(self, app: GatewayApp) -> None:
        """Stops routing reports to `app`."""
        for apps in self._apps.values():
            if app in apps:
                apps.remove(app)

    def _broadcast(self, account: str, report: Report) -> None:
        for app in list(self._apps.get(account, ())):
            if not app.info or not app.info.drop_copy or report.exec_type != "8":
                app.push_report(report)

    def _on_event(self, account: str, ev: ExecEvent) -> None:
        # Called inside SimExchange calls (the REST simulator's too): never raise into them.
        try:
            report = self._translate(account, ev)
            if report is not None:
                self._broadcast(account, report)
        except Exception:
            self.count("report_errors")
            log.exception("fix gateway: report of a %s event failed", ev.name)

    def _translate(self, account: str, ev: ExecEvent) -> Report | None:
        order = ev.order
        key = (account, order.client_order_id)
        if ev.name not in _EXEC_TYPES:
            return None
        if ev.name == "canceled" and key in self._replaced:
            self._replaced.discard(key)
            return None
        exec_type = _EXEC_TYPES[ev.name]
        cl_ord_id, orig = order.client_order_id, None
        if ev.name == "new" and key in self._replacing:
            exec_type, orig = "5", self._replacing.pop(key)
        elif ev.name == "canceled" and key in self._cancel_req:
            cl_ord_id, orig = self._cancel_req.pop(key), order.client_order_id
        return self.report(account, order, exec_type, cl_ord_id, orig, fill=ev.fill)

    def report(
        self,
        account: str,
        order: SimOrder,
        exec_type: str,
        cl_ord_id: str,
        orig_cl_ord_id: str | None = None,
        *,
        fill: SimFill | None = None,
        text: str | None = None,
        extra: Sequence[tuple[int, Any]] = (),
    ) -> Report:
        """A report on `order` (cumulative quantities include what replaced orders filled)."""
        carry_qty, carry_notional = self._carry.get((account, order.client_order_id), (_ZERO,) * 2)
        cum = carry_qty + order.filled
        notional = carry_notional + order.notional
        avg = (notional / cum).quantize(_AVG_QUANTUM) if cum else _ZERO
        leaves = order.remaining if order.is_open else _ZERO
        return Report(
            exec_type=exec_type,
            order=order,
            cl_ord_id=cl_ord_id,
            exec_id=str(next(self._exec_ids)),
            cum_qty=cum,
            order_qty=carry_qty + order.quantity,
            leaves_qty=leaves,
            avg_px=avg,
            orig_cl_ord_id=orig_cl_ord_id,
            fill=fill,
            text=text,
            extra=tuple(extra),
        )

    # -- rendering ----------------------------------------------------------------------------
    def timestamp(self, ts_ms: int | None = None) -> str:
        """A UTCTimestamp in the venue's precision."""
        ms = self.clock_ms() if ts_ms is None else ts_ms
        return utc_timestamp(ms * 1_000_000, self.timestamp_precision)

    def render(self, r: Report, begin_string: str) -> Fields:
        """The ExecutionReport (8) body of `r` for a session speaking `begin_string`."""
        o = r.order
        fix42 = begin_string == "FIX.4.2"
        status = "8" if r.exec_type == "8" else _ORD_STATUS.get(o.status, "0")
        if status == "0" and r.cum_qty > 0:  # a replacement of a partly filled order
            status = "1"
        exec_type = r.exec_type
        if fix42 and exec_type == "F":
            exec_type = "2" if o.status == "filled" else "1"
        elif fix42 and exec_type == "I":
            exec_type = status
        fields: Fields = [(37, o.venue_order_id or "NONE"), (11, r.cl_ord_id)]
        if r.orig_cl_ord_id is not None:
            fields.append((41, r.orig_cl_ord_id))
        fields.append((17, r.exec_id))
        if fix42:
            fields.append((20, "0"))
        fields += [
            (150, exec_type),
            (39, status),
            (55, o.symbol),
            (54, _SIDE_CODES[o.side]),
            (38, _n(r.order_qty)),
            (40, "1" if o.type == "market" else "2"),
        ]
        if o.price is not None:
            fields.append((44, _n(o.price)))
        fields.append((59, _TIF_CODES.get(o.tif, "1")))
        if r.fill is not None:
            fields += [(31, _n(r.fill.price)), (32, _n(r.fill.qty))]
        else:
            fields.append((32, _ZERO))
        fields += [(14, _n(r.cum_qty)), (151, _n(r.leaves_qty)), (6, _n(r.avg_px))]
        fields.append((60, self.timestamp(r.fill.ts_ms if r.fill is not None else None)))
        if r.rej_reason is not None:
            fields.append((103, r.rej_reason))
        if r.text:
            fields.append((58, r.text))
        fields += list(r.extra)
        fields += self.report_extra(r)
        return fields

    def reject_report(
        self,
        app: GatewayApp,
        msg: FixMessage,
        reason: RejectReason,
        detail: str,
        *,
        side: str = "buy",
        quantity: Decimal = _ZERO,
        price: Decimal | None = None,
    ) -> Report:
        """An ExecutionReport with ExecType=Rejected for a refused NewOrderSingle."""
        now = self.clock_ms()
        order = SimOrder(
            venue_order_id="",
            client_order_id=msg.get(11) or "NONE",
            account=app.info.account if app.info else "",
            symbol=msg.get(55) or "NONE",
            side="sell" if side == "sell" else "buy",
            type="market" if msg.get(40) == "1" else "limit",
            tif=_TIFS.get(msg.get(59) or "1", "gtc"),
            post_only=False,
            price=price,
            quantity=quantity,
            created_ms=now,
            updated_ms=now,
            status="rejected",
        )
        r = self.report(
            "", order, "8", order.client_order_id, text=self.reject_text(reason, detail)
        )
        return Report(
            exec_type=r.exec_type,
            order=order,
            cl_ord_id=r.cl_ord_id,
            exec_id=r.exec_id,
            cum_qty=_ZERO,
            order_qty=quantity,
            leaves_qty=_ZERO,
            avg_px=_ZERO,
            rej_reason=_ORD_REJ_REASON.get(reason, 99),
            text=r.text,
            reject=reason,
        )

    def cancel_reject(
        self,
        msg: FixMessage,
        order: SimOrder | None,
        response_to: str,
        reason: RejectReason | None,
        text: str,
    ) -> Fields:
        """The OrderCancelReject (9) body answering `msg` (F: response_to "1", G: "2")."""
        fields: Fields = [
            (37, order.venue_order_id if order is not None else "NONE"),
            (11, msg.get(11) or "NONE"),
            (41, msg.get(41) or (order.client_order_id if order is not None else "NONE")),
            (39, _ORD_STATUS.get(order.status, "8") if order is not None else "8"),
        ]
        symbol = msg.get(55) or (order.symbol if order is not None else None)
        if symbol:
            fields.append((55, symbol))
        fields += [
            (434, response_to),
            (102, _CXL_REJ_REASON.get(reason, 99) if reason is not None else 99),
            (58, text),
        ]
        fields += self.cancel_reject_extra(reason)
        return fields

    # -- application messages -------------------------------------------------------------------
    def handle(self, app: GatewayApp, msg: FixMessage) -> None:
        """Dispatches one application message."""
        info = app.info
        if info is None:  # pragma: no cover - the session only delivers after Logon
            raise BusinessReject(BusinessRejectReason.APPLICATION_NOT_AVAILABLE, "Not logged on")
        mt = msg.msg_type
        self.count(f"in_{mt}")
        self.check_sending_time(msg)
        if mt not in self.supported:
            self.unsupported(msg)
            return
        if info.drop_copy:
            raise BusinessReject(
                BusinessRejectReason.NOT_AUTHORIZED, "Drop copy sessions cannot send orders"
            )
        handler = {
            "D": self.on_new_order,
            "F": self.on_cancel,
            "G": self.on_replace,
            "H": self.on_status,
            "q": self.on_mass_cancel,
            "AF": self.on_mass_status,
            "XCN": self.on_cancel_new,
        }.get(mt)
        if handler is None:
            self.unsupported(msg)
            return
        handler(app, info, msg)

    def on_new_order(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """NewOrderSingle (D): place; the exchange's events become the reports."""
        cl_ord_id = required(msg, 11)
        symbol = required(msg, 55)
        side = _SIDES.get(required(msg, 54))
        if side is None:
            raise SessionReject(SessionRejectReason.VALUE_IS_INCORRECT, "Invalid Side", 54)
        ord_type = required(msg, 40)
        quantity = decimal_field(msg, 38)
        assert quantity is not None  # noqa: S101 - needed=True
        price = decimal_field(msg, 44, needed=ord_type == "2")
        if ord_type not in ("1", "2"):
            r = self.reject_report(
                app, msg, RejectReason.BAD_PRICE, "unsupported order type",
                side=side, quantity=quantity,
            )  # fmt: skip
            app.push_report(r)
            return
        tif = _TIFS.get(msg.get(59) or "1")
        if tif is None:
            raise SessionReject(SessionRejectReason.VALUE_IS_INCORRECT, "Invalid TimeInForce", 59)
        post_only = "6" in (msg.get(18) or "").split()
        app.session_orders.add(cl_ord_id)
        try:
            self.exchange.place(
                info.account,
                symbol=symbol,
                side="buy" if side == "buy" else "sell",
                type="market" if ord_type == "1" else "limit",
                quantity=quantity,
                price=price if ord_type == "2" else None,
                client_order_id=cl_ord_id,
                tif=tif,
                post_only=post_only,
            )
        except SimReject as exc:
            r = self.reject_report(
                app, msg, exc.reason, exc.detail, side=side, quantity=quantity, price=price
            )
            app.push_report(r)

    def _find(self, info: LogonInfo, msg: FixMessage) -> SimOrder | None:
        orig = msg.get(41)
        order_id = msg.get(37)
        if orig:
            found = self.exchange.find(info.account, client_order_id=orig)
            if found is not None:
                return found
        if order_id and order_id != "NONE":
            return self.exchange.find(info.account, venue_order_id=order_id)
        return None

    def on_cancel(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderCancelRequest (F)."""
        cl_ord_id = required(msg, 11)
        order = self._find(info, msg)
        if order is None:
            reason = RejectReason.UNKNOWN_ORDER
            app.push("9", self.cancel_reject(msg, None, "1", reason, self.reject_text(reason, "")))
            return
        key = (info.account, order.client_order_id)
        self._cancel_req[key] = cl_ord_id
        try:
            self.exchange.cancel(info.account, client_order_id=order.client_order_id)
        except SimReject as exc:
            self._cancel_req.pop(key, None)
            text = self.reject_text(exc.reason, exc.detail)
            app.push("9", self.cancel_reject(msg, order, "1", exc.reason, text))

    def on_replace(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderCancelReplaceRequest (G): cancel + new with the cumulative quantity carried."""
        cl_ord_id = required(msg, 11)
        quantity = decimal_field(msg, 38)
        assert quantity is not None  # noqa: S101 - needed=True
        price = decimal_field(msg, 44, needed=False)
        order = self._find(info, msg)
        if order is None or not order.is_open:
            reason = RejectReason.UNKNOWN_ORDER if order is None else RejectReason.ORDER_CLOSED
            text = self.reject_text(reason, "")
            app.push("9", self.cancel_reject(msg, order, "2", reason, text))
            return
        acct = info.account
        old_key = (acct, order.client_order_id)
        new_key = (acct, cl_ord_id)
        carry_qty, carry_notional = self._carry.get(old_key, (_ZERO, _ZERO))
        cum = carry_qty + order.filled
        remaining = quantity - cum
        if remaining <= 0:
            reason = RejectReason.BAD_AMEND
            text = self.reject_text(reason, "new quantity not above the filled quantity")
            app.push("9", self.cancel_reject(msg, order, "2", reason, text))
            return
        tif = _TIFS.get(msg.get(59) or "", order.tif)
        post_only = "6" in (msg.get(18) or "").split() or order.post_only
        self._replacing[new_key] = order.client_order_id
        self._replaced.add(old_key)
        self._carry[new_key] = (cum, carry_notional + order.notional)
        app.session_orders.add(cl_ord_id)
        try:
            self.exchange.cancel_replace(
                acct,
                new_client_order_id=cl_ord_id,
                quantity=remaining,
                price=price if price is not None else order.price,
                client_order_id=order.client_order_id,
                tif=tif,
                post_only=post_only,
            )
        except SimReject as exc:
            self._replacing.pop(new_key, None)
            self._carry.pop(new_key, None)
            if old_key in self._replaced:
                self._replaced.discard(old_key)
            else:  # the old order was canceled before the replacement failed
                old = self.exchange.find(acct, client_order_id=order.client_order_id)
                if old is not None:
                    self._broadcast(acct, self.report(acct, old, "4", old.client_order_id))
            text = self.reject_text(exc.reason, exc.detail)
            app.push("9", self.cancel_reject(msg, order, "2", exc.reason, text))

    def on_cancel_new(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """Binance OrderCancelRequestAndNewOrderSingle (XCN): cancel, then a new order.

        OrderCancelRequestAndNewOrderSingleMode (25033): 1 STOP_ON_FAILURE (no new order when
        the cancel fails), 2 ALLOW_FAILURE. The cancel is reported with ClOrdID =
        CancelClOrdID (25034) when given.
        """
        mode = required(msg, 25033)
        if mode not in ("1", "2"):
            raise SessionReject(SessionRejectReason.VALUE_IS_INCORRECT, "Invalid mode", 25033)
        for tag in (11, 55, 54, 40, 38):
            required(msg, tag)
        order = self._find(info, msg)
        cancel_id = msg.get(25034) or f"{required(msg, 11)}-cxl"
        failed: RejectReason | None = None
        if order is None:
            failed = RejectReason.UNKNOWN_ORDER
        else:
            key = (info.account, order.client_order_id)
            self._cancel_req[key] = cancel_id
            try:
                self.exchange.cancel(info.account, client_order_id=order.client_order_id)
            except SimReject as exc:
                self._cancel_req.pop(key, None)
                failed = exc.reason
        if failed is not None:
            text = self.reject_text(failed, "")
            app.push("9", self.cancel_reject(msg, order, "1", failed, text))
            if mode == "1":
                r = self.reject_report(app, msg, failed, "cancel failed: new order not placed")
                app.push_report(r)
                return
        self.on_new_order(app, info, msg)

    def on_status(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderStatusRequest (H): an ExecutionReport with ExecType=I (OrderStatus)."""
        extra: Fields = []
        req_id = msg.get(790)
        if req_id is not None:
            extra.append((790, req_id))
        cl_ord_id = msg.get(11)
        order = None
        if cl_ord_id:
            order = self.exchange.find(info.account, client_order_id=cl_ord_id)
        if order is None and msg.get(37):
            order = self.exchange.find(info.account, venue_order_id=msg.get(37))
        if order is None:
            r = self.reject_report(app, msg, RejectReason.UNKNOWN_ORDER, "")
            app.push_report(
                Report(
                    exec_type="I", order=r.order, cl_ord_id=r.cl_ord_id, exec_id=r.exec_id,
                    cum_qty=_ZERO, order_qty=_ZERO, leaves_qty=_ZERO, avg_px=_ZERO,
                    rej_reason=None, text=r.text, extra=tuple(extra),
                )
            )  # fmt: skip
            return
        app.push_report(self.report(info.account, order, "I", order.client_order_id, extra=extra))

    def on_mass_cancel(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderMassCancelRequest (q): 530=1 (by Symbol) or 7 (all); answers with a report (r)."""
        cl_ord_id = required(msg, 11)
        kind = required(msg, 530)
        symbol = msg.get(55)
        if kind not in ("1", "7") or (kind == "1" and not symbol):
            app.push("r", self.mass_cancel_report(cl_ord_id, kind, symbol, None))
            return
        canceled = self.exchange.cancel_all(info.account, symbol if kind == "1" else None)
        app.push("r", self.mass_cancel_report(cl_ord_id, kind, symbol, len(canceled)))

    def mass_cancel_report(
        self, cl_ord_id: str, kind: str, symbol: str | None, affected: int | None
    ) -> Fields:
        """OrderMassCancelReport (r) body (`affected` None: the request was rejected)."""
        fields: Fields = [(37, "NONE"), (11, cl_ord_id), (530, kind)]
        if affected is None:
            fields += [(531, "0"), (532, 99)]
        else:
            fields += [(531, kind), (533, affected)]
        if symbol:
            fields.append((55, symbol))
        return fields

    def on_mass_status(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderMassStatusRequest (AF): one ExecType=I report per open order (911/912 set)."""
        req_id = required(msg, 584)
        kind = msg.get(585) or "7"
        symbol = msg.get(55) if kind == "1" else None
        orders = self.exchange.open_orders(info.account, symbol)
        total = len(orders)
        if not orders:
            r = self.reject_report(app, msg, RejectReason.UNKNOWN_ORDER, "no open orders")
            app.push_report(
                Report(
                    exec_type="I", order=r.order, cl_ord_id="NONE", exec_id=r.exec_id,
                    cum_qty=_ZERO, order_qty=_ZERO, leaves_qty=_ZERO, avg_px=_ZERO,
                    text="no open orders", extra=((584, req_id), (911, 0), (912, "Y")),
                )
            )  # fmt: skip
            return
        for i, order in enumerate(orders, 1):
            extra: Fields = [(584, req_id), (911, total)]
            if i == total:
                extra.append((912, "Y"))
            app.push_report(
                self.report(info.account, order, "I", order.client_order_id, extra=extra)
            )

    # -- cancel on disconnect -------------------------------------------------------------------
    def cancel_on_disconnect(self, app: GatewayApp, info: LogonInfo) -> None:
        """Applies the session's cancel-on-disconnect mode after it ended."""
        if info.cancel_on_disconnect == "all":
            n = len(self.exchange.cancel_all(info.account))
        elif info.cancel_on_disconnect == "session":
            n = 0
            for cid in sorted(app.session_orders):
                order = self.exchange.find(info.account, client_order_id=cid)
                if order is not None and order.is_open:
                    self.exchange.cancel(info.account, client_order_id=cid)
                    n += 1
        else:
            return
        self.count("cod_cancels")
        log.debug("cancel on disconnect: %d orders", n)

    # -- faults ---------------------------------------------------------------------------------
    def send_with_faults(self, session: FixSession, msg_type: str, fields: Fields) -> None:
        """Sends one message, rolling the outbound faults around it."""
        dice = self.faults
        if dice.roll(FixFault.SEQ_GAP):
            session.skip_seq(dice.profile.gap_size)
        mode: str | None = None
        if dice.roll(FixFault.GARBLED):
            mode = "garble"
        elif dice.roll(FixFault.DUPLICATE):
            mode = "dup"
        if mode is not None:
            target = session.next_sender_seq
            previous = session.outbound_filter

            def one_shot(seq: int, raw: bytes) -> bytes | list[bytes] | None:
                if seq != target:
                    return raw if previous is None else previous(seq, raw)
                session.outbound_filter = previous
                if mode == "garble":
                    return garble(raw)
                try:
                    return [raw, poss_dup_copy(raw)]
                except FixError:
                    return raw

            session.outbound_filter = one_shot
        session.send_nowait(msg_type, fields)
        if dice.roll(FixFault.DROP_CONNECTION):
            session.drop_connection()

    def store_offline(self, session: FixSession, msg_type: str, fields: Fields) -> None:
        """Stores a message for a disconnected session under its next sequence number."""
        seq = session.next_sender_seq
        sending_time = utc_timestamp()
        raw = session.encoder.encode(msg_type, seq, fields, sending_time=sending_time)
        session.store.store_sent(seq, sending_time, raw)
        self.count("reports_stored_offline")

    def inbound_faults(self, session: FixSession, msg: FixMessage) -> None:
        """Rolls the faults that follow an inbound application message."""
        if not (session.is_logged_on and session.connected):
            return
        dice = self.faults
        loop = asyncio.get_running_loop()
        if dice.roll(FixFault.STALE_HEARTBEAT):
            session.pause_heartbeats(True)
            loop.call_later(dice.profile.stale_s, session.pause_heartbeats, False)
        if dice.roll(FixFault.RESEND_STORM):
            self.resend_storm(session, msg.seq_num, dice.profile.storm_size)
        if dice.roll(FixFault.SEQ_RESET):
            task = loop.create_task(self._reset_seq_nums(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _reset_seq_nums(session: FixSession) -> None:
        with contextlib.suppress(NotLoggedOnError):  # the session dropped meanwhile
            await session.reset_seq_nums()

    def resend_storm(self, session: FixSession, seq: int, n: int) -> None:
        """Sends the same ResendRequest (for message `seq`, already processed) `n` times."""
        self.count("resend_storm")
        with contextlib.suppress(NotLoggedOnError):
            for _ in range(n):
                session.send_nowait("2", resend_request_fields(seq, seq))
