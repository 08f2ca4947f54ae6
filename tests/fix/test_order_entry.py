"""FIX order entry (`FixOrderEntry`) under an `OrderManager`, against a tiny matching venue run
on our own FIX acceptor (loopback): place → ack → partial fills → fill, cancel, replace chains
(ClOrdID / OrigClOrdID), OrderCancelReject, business and session rejects, timeouts resolved by
OrderStatusRequest, a disconnect mid-order recovered by mass status after the re-logon, fills
de-duplicated by ExecID across a resend, cancel-all by OrderMassCancelRequest, and a journal
restart that keeps the ClOrdID chain."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from venuegate.errors import RetryableError
from venuegate.fix.codec import FixMessage, encode_message, parse
from venuegate.fix.order_entry import (
    GENERIC_42,
    GENERIC_44,
    FixOnlyAdapter,
    FixOrderEntry,
    NoRest,
    OrderDialect,
    exec_report_kind,
    ord_status_state,
)
from venuegate.fix.session import (
    Application,
    BusinessReject,
    FixAcceptor,
    FixInitiator,
    FixSession,
    SessionReject,
    SessionSettings,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.oms.engine import OrderManager
from venuegate.oms.journal import MarkerRecord
from venuegate.oms.types import ReportKind

SYMBOL = "BTC-USD"
TIMEOUT = 20.0


# -- a tiny matching venue ------------------------------------------------------------------------
@dataclass
class VOrder:
    oid: str
    cl: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal | None
    cum: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: str = "0"
    chain: list[str] = field(default_factory=list)

    @property
    def leaves(self) -> Decimal:
        return Decimal(0) if self.status in ("2", "4", "8", "C") else self.qty - self.cum

    @property
    def avg(self) -> Decimal:
        return self.notional / self.cum if self.cum else Decimal(0)


class Venue(Application):
    """Acks orders, fills on demand, cancels, replaces, answers status and mass status.

    Controls: `silent` message types answered by nothing (the order is still booked for D),
    `drop` message types not acted on at all, `cancel_reject` (CxlRejReason), `business_reject`
    message types answered by BusinessMessageReject, `drop_after` message types after which the
    connection is dropped.
    """

    def __init__(self) -> None:
        self.session: FixSession | None = None
        self.orders: dict[str, VOrder] = {}
        self.by_cl: dict[str, VOrder] = {}
        self.received: list[FixMessage] = []
        self.silent: set[str] = set()
        self.drop: set[str] = set()
        self.drop_after: set[str] = set()
        self.business_reject: set[str] = set()
        self.business_reject_by_session: set[str] = set()
        self.session_reject: set[str] = set()
        self.cancel_reject: str | None = None
        self.reject_new = False
        self.cancel_keeps_clordid = False
        self.pending_then_refuse = False  # answer F with 150=6, then refuse it with 35=9
        self._oids = itertools.count(1000)
        self._execs = itertools.count(1)
        self._out: asyncio.Queue[tuple[str, list[tuple[int, Any]]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.logons = 0

    # sending, in order, from one task
    def on_logon(self, session: FixSession) -> None:
        self.session = session
        self.logons += 1
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        while True:
            msg_type, fields = await self._out.get()
            while True:
                session = self.session
                if session is not None and session.logged_on.is_set():
                    try:
                        await session.send(msg_type, fields)
                        break
                    except Exception:  # noqa: S110 - logged off meanwhile: wait for the next logon
                        pass
                await asyncio.sleep(0.01)
            self._out.task_done()

    def out(self, msg_type: str, fields: list[tuple[int, Any]]) -> None:
        self._out.put_nowait((msg_type, fields))

    async def flush(self) -> None:
        await self._out.join()

    def book(self, cl: str, symbol: str, side: str, qty: Decimal, price: Decimal | None) -> VOrder:
        o = VOrder(str(next(self._oids)), cl, symbol, side, qty, price, chain=[cl])
        self.orders[o.oid] = o
        self.by_cl[cl] = o
        return o

    def report(
        self,
        o: VOrder,
        exec_type: str,
        *,
        orig: str | None = None,
        last: tuple[Decimal, Decimal] | None = None,
        exec_id: str | None = None,
        extra: list[tuple[int, Any]] | None = None,
    ) -> None:
        fields: list[tuple[int, Any]] = [(37, o.oid), (11, o.cl)]
        if orig is not None:
            fields.append((41, orig))
        fields += [
            (17, exec_id or f"E{next(self._execs)}"),
            (150, exec_type),
            (39, o.status),
            (55, o.symbol),
            (54, o.side),
            (38, o.qty),
        ]
        if o.price is not None:
            fields.append((44, o.price))
        if last is not None:
            fields += [(32, last[0]), (31, last[1])]
        fields += [(151, o.leaves), (14, o.cum), (6, o.avg)]
        fields += extra or []
        self.out("8", fields)

    def fill(self, cl_or_oid: str, qty: Decimal, price: Decimal, exec_id: str | None = None) -> str:
        o = self.by_cl.get(cl_or_oid) or self.orders[cl_or_oid]
        o.cum += qty
        o.notional += qty * price
        o.status = "2" if o.cum >= o.qty else "1"
        eid = exec_id or f"T{next(self._execs)}"
        self.report(o, "F", last=(qty, price), exec_id=eid)
        return eid

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        self.received.append(msg)
        t = msg.msg_type
        if t in self.drop:
            self.drop.discard(t)
            return
        if t in self.session_reject:
            self.session_reject.discard(t)
            raise SessionReject(5, "value is incorrect", 44)  # answered with 35=3 by the session
        if t in self.business_reject_by_session:
            self.business_reject_by_session.discard(t)
            raise BusinessReject(4, "application not available")  # 35=j, no 379
        if t in self.business_reject:
            self.business_reject.discard(t)
            self.out("j", [(45, msg.seq_num), (372, t), (379, msg.get(11) or ""), (380, "0"),
                           (58, "not accepted")])  # fmt: skip
            return
        handler = {"D": self._new, "F": self._cancel, "G": self._replace, "H": self._status,
                   "AF": self._mass_status, "q": self._mass_cancel}.get(t)  # fmt: skip
        if handler is not None:
            handler(msg)
        if t in self.drop_after:
            self.drop_after.discard(t)
            asyncio.get_running_loop().call_soon(session.drop_connection)

    def _answer(self, msg: FixMessage) -> bool:
        if msg.msg_type in self.silent:
            self.silent.discard(msg.msg_type)
            return False
        return True

    def _new(self, msg: FixMessage) -> None:
        price = msg.get(44)
        o = self.book(msg.get(11) or "", msg.get(55) or "", msg.get(54) or "",
                      Decimal(msg.get(38) or "0"), Decimal(price) if price else None)  # fmt: skip
        if not self._answer(msg):
            return
        if self.reject_new:
            self.reject_new = False
            o.status = "8"
            self.report(o, "8", extra=[(103, "99"), (58, "bad price")])
            return
        self.report(o, "0")

    def _cancel(self, msg: FixMessage) -> None:
        orig = msg.get(41) or ""
        o = self.by_cl.get(orig)
        if self.pending_then_refuse and o is not None:
            self.pending_then_refuse = False
            eid = f"E{next(self._execs)}"
            self.out("8", [(37, o.oid), (11, msg.get(11)), (41, orig), (17, eid),
                           (150, "6"), (39, "6"), (55, SYMBOL), (54, "2"), (38, "1"),
                           (14, "0"), (151, "1"), (6, "0")])  # fmt: skip
            self.out("9", [(11, msg.get(11)), (41, orig), (37, o.oid), (39, o.status),
                           (434, "1"), (102, "0"), (58, "too late to cancel")])  # fmt: skip
            return
        if self.cancel_reject is not None or o is None or o.status in ("2", "4", "8"):
            reason = self.cancel_reject or "1"
            self.cancel_reject = None
            self.out("9", [(11, msg.get(11)), (41, orig), (37, o.oid if o else "NONE"),
                           (39, o.status if o else "8"), (434, "1"), (102, reason),
                           (58, "cancel refused")])  # fmt: skip
            return
        o.status = "4"
        if self.cancel_keeps_clordid:  # confirmed under the order's own ClOrdID
            if self._answer(msg):
                self.report(o, "4")
            return
        o.cl = msg.get(11) or ""
        o.chain.append(o.cl)
        self.by_cl[o.cl] = o
        if self._answer(msg):
            self.report(o, "4", orig=orig)

    def _replace(self, msg: FixMessage) -> None:
        orig = msg.get(41) or ""
        o = self.by_cl.get(orig)
        if o is None or o.status in ("2", "4", "8"):
            self.out("9", [(11, msg.get(11)), (41, orig), (37, "NONE"), (39, "8"), (434, "2"),
                           (102, "1")])  # fmt: skip
            return
        o.cl = msg.get(11) or ""
        o.chain.append(o.cl)
        self.by_cl[o.cl] = o
        o.qty = Decimal(msg.get(38) or "0")
        o.price = Decimal(msg.get(44) or "0")
        if self._answer(msg):
            self.report(o, "5", orig=orig)

    def _status(self, msg: FixMessage) -> None:
        o = self.by_cl.get(msg.get(11) or "")
        if o is None and msg.get(37):
            o = self.orders.get(msg.get(37) or "")
        extra = [(790, msg.get(790))] if msg.get(790) else []
        if o is None:
            self.out("8", [(37, "NONE"), (11, msg.get(11)), (17, f"S{next(self._execs)}"),
                           (150, "I"), (39, "8"), (103, "5"), (55, msg.get(55)),
                           (54, msg.get(54)), (151, 0), (14, 0), (6, 0), (58, "unknown order"),
                           *extra])  # fmt: skip
            return
        self.report(o, "I", extra=extra)

    def _mass_status(self, msg: FixMessage) -> None:
        req = msg.get(584)
        live = [o for o in self.orders.values() if o.status in ("0", "1")]
        if not live:
            self.out("8", [(584, req), (37, "NONE"), (17, f"S{next(self._execs)}"), (150, "I"),
                           (39, "0"), (55, "NA"), (54, "1"), (151, 0), (14, 0), (6, 0),
                           (911, 0), (912, "Y")])  # fmt: skip
            return
        for i, o in enumerate(live):
            last = "Y" if i == len(live) - 1 else "N"
            self.report(o, "I", extra=[(584, req), (911, len(live)), (912, last)])

    def _mass_cancel(self, msg: FixMessage) -> None:
        self.out("r", [(11, msg.get(11)), (530, msg.get(530)), (531, msg.get(530))])
        for o in list(self.orders.values()):
            if o.status in ("0", "1"):
                o.status = "4"
                self.report(o, "4")


# -- harness -----------------------------------------------------------------------------------
class Adapter(FixOnlyAdapter):
    venue = "fixsim"


def _settings(port: int, store: Path | None = None) -> SessionSettings:
    return SessionSettings(
        begin_string="FIX.4.4",
        sender_comp_id="CLIENT",
        target_comp_id="VENUE",
        host="127.0.0.1",
        port=port,
        store_path=str(store) if store is not None else None,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        logon_timeout_s=5.0,
    )


@dataclass
class Rig:
    venue: Venue
    acceptor: FixAcceptor
    entry: FixOrderEntry
    initiator: FixInitiator
    om: OrderManager


@asynccontextmanager
async def _venue() -> AsyncIterator[tuple[Venue, FixAcceptor]]:
    venue = Venue()
    acceptor = FixAcceptor(
        [SessionSettings(begin_string="FIX.4.4", sender_comp_id="VENUE", target_comp_id="CLIENT")],
        venue,
    )
    await acceptor.start()
    try:
        yield venue, acceptor
    finally:
        await acceptor.stop()


@asynccontextmanager
async def _rig(
    tmp: Path,
    venue: Venue,
    acceptor: FixAcceptor,
    *,
    dialect: OrderDialect = GENERIC_44,
    timeout_s: float = 5.0,
    journal: str = "orders.journal",
) -> AsyncIterator[Rig]:
    entry = FixOrderEntry(Adapter.venue, dialect, timeout_s=timeout_s, fix_only=True)
    initiator = FixInitiator(_settings(acceptor.port, tmp / f"{journal}.fixstore"), entry)
    async with OrderManager.open(
        Adapter(),
        NoRest(),
        journal_path=tmp / journal,
        symbols=[SYMBOL],
        private_stream=False,
        reconcile=False,
        unknown_grace_s=0.05,
    ) as om:
        entry.attach(om)
        await initiator.start()
        try:
            assert await entry.wait_ready(10.0)
            await eventually(lambda: not entry._tasks)  # the logon reconcile
            yield Rig(venue, acceptor, entry, initiator, om)
        finally:
            await initiator.stop()
            await entry.close()


def go(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), TIMEOUT))


async def eventually(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.01)


def _sent(venue: Venue, msg_type: str) -> list[FixMessage]:
    return [m for m in venue.received if m.msg_type == msg_type]


# -- tests -------------------------------------------------------------------------------------
def test_place_ack_partial_fills_fill(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            t = await rig.om.place(SYMBOL, Side.BUY, Decimal("1.5"), Decimal("100.25"))
            assert t.state is OrderState.NEW
            (d,) = _sent(venue, "D")
            assert (d.get(11), d.get(55), d.get(54), d.get(38), d.get(40), d.get(44), d.get(59)) \
                == (t.client_order_id, SYMBOL, "1", "1.5", "2", "100.25", "1")  # fmt: skip
            assert d.has(60)
            o = venue.by_cl[t.client_order_id]
            assert t.venue_order_id == o.oid
            venue.fill(o.oid, Decimal("0.5"), Decimal("100.25"))
            await eventually(lambda: t.state is OrderState.PARTIALLY_FILLED)
            venue.fill(o.oid, Decimal("1.0"), Decimal("100.1"))
            await eventually(lambda: t.state is OrderState.FILLED)
            assert t.filled_qty == Decimal("1.5")
            assert t.notional == Decimal("0.5") * Decimal("100.25") + Decimal("100.1")
            assert len(t.fills) == 2
            assert rig.om.sm.alarms == []

    go(body)


def test_post_only_gtd_and_ioc_fields(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            await rig.om.place(SYMBOL, Side.SELL, Decimal("2"), Decimal("10"),
                               time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
            exp = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
            await rig.om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("9"),
                               time_in_force=TimeInForce.GTD, expire_at=exp)  # fmt: skip
            await rig.om.place(SYMBOL, Side.BUY, Decimal("1"), type=OrderType.MARKET,
                               time_in_force=TimeInForce.IOC)  # fmt: skip
            post, gtd, ioc = _sent(venue, "D")
            assert (post.get(18), post.get(59), post.get(54)) == ("6", "1", "2")
            assert (gtd.get(59), gtd.get(126)) == ("6", "20300102-03:04:05.000")
            assert (ioc.get(40), ioc.get(59), ioc.has(44)) == ("1", "3", False)

    go(body)


def test_cancel(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            t = await rig.om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            await rig.om.cancel(t.client_order_id)
            assert t.state is OrderState.CANCELED
            (f,) = _sent(venue, "F")
            assert f.get(41) == t.client_order_id
            assert f.get(11) != t.client_order_id
            assert f.get(37) == t.venue_order_id
            assert rig.entry.client_order_id(f.get(11) or "") == t.client_order_id
            # A venue confirming under the order's own ClOrdID answers the cancel too.
            venue.cancel_keeps_clordid = True
            t2 = await rig.om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("99"))
            await rig.om.cancel(t2.client_order_id)
            assert t2.state is OrderState.CANCELED
            assert rig.om.stats.unknown == 0

    go(body)


def test_replace_chain_and_fills_after_replace(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            om, entry = rig.om, rig.entry
            t = await om.place(SYMBOL, Side.BUY, Decimal("2"), Decimal("100"))
            cid = t.client_order_id
            await om.amend(cid, price=Decimal("99.5"))
            assert (t.state, t.price) == (OrderState.NEW, Decimal("99.5"))
            g1 = _sent(venue, "G")[0]
            w1 = g1.get(11) or ""
            assert g1.get(41) == cid
            assert w1 != cid
            assert (g1.get(38), g1.get(44)) == ("2", "99.5")
            assert entry.cl_ord_id(cid) == w1
            assert entry.client_order_id(w1) == cid
            await om.amend(cid, quantity=Decimal("3"))
            g2 = _sent(venue, "G")[1]
            w2 = g2.get(11) or ""
            assert g2.get(41) == w1
            assert (g2.get(38), g2.get(44)) == ("3", "99.5")
            assert entry.cl_ord_id(cid) == w2
            assert t.quantity == Decimal("3")
            # Fills after the replace carry the new ClOrdID: they land on the same order.
            venue.fill(w2, Decimal("1"), Decimal("99.5"))
            await eventually(lambda: t.state is OrderState.PARTIALLY_FILLED)
            await om.cancel(cid)
            assert t.state is OrderState.CANCELED
            (f,) = _sent(venue, "F")
            assert f.get(41) == w2
            assert t.filled_qty == Decimal("1")
            assert om.sm.get(w1) is None
            assert om.sm.get(w2) is None

    go(body)


def test_replace_rejected_keeps_the_live_clordid(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            om = rig.om
            t = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            cid = t.client_order_id
            o = venue.by_cl[cid]
            o.status, o.cum, o.notional = "2", Decimal("1"), Decimal("100")  # filled, unreported
            await om.amend(cid, price=Decimal("99"))
            (g,) = _sent(venue, "G")
            assert rig.entry.cl_ord_id(cid) == cid  # OrderCancelReject: no new live ClOrdID
            assert rig.entry.client_order_id(g.get(11) or "") == cid
            # Refused, so back, then resolved by OrderStatusRequest: the venue says filled.
            await eventually(lambda: bool(_sent(venue, "H")))
            await eventually(lambda: t.venue_filled_qty == Decimal("1"))
            await eventually(lambda: t.state is OrderState.FILLED)
            assert t.price == Decimal("100")

    go(body)


def test_cancel_reject_resolved_by_status(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            t = await rig.om.place(SYMBOL, Side.SELL, Decimal("1"), Decimal("100"))
            venue.cancel_reject = "0"  # too late to cancel (but it is still open here)
            await rig.om.cancel(t.client_order_id)
            assert _sent(venue, "F")
            await eventually(lambda: bool(_sent(venue, "H")))
            await eventually(lambda: t.pending is None and t.state is OrderState.NEW)
            assert rig.om.stats.errors.get("OrderNotFoundError") == 1

    go(body)


def test_execution_report_reject_and_business_reject(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            om = rig.om
            venue.business_reject.add("D")
            t = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t.state is OrderState.REJECTED
            assert "not accepted" in (t.reason or "")
            venue.reject_new = True  # ExecutionReport 150=8 from the venue's own checks
            t2 = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t2.state is OrderState.REJECTED
            assert "bad price" in (t2.reason or "")
            # A session-level Reject (35=3, matched by RefSeqNum) of the NewOrderSingle.
            venue.session_reject.add("D")
            t3 = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t3.state is OrderState.REJECTED
            assert "value is incorrect" in (t3.reason or "")
            assert om.stats.rejected == 3
            # "Application not available" (380=4): nothing happened, not sent.
            venue.business_reject_by_session.add("D")
            t4 = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t4.state is OrderState.REJECTED
            assert (t4.reason or "").startswith("not sent")
            assert om.stats.errors["VenueUnavailableError"] == 1
            # The next order goes through.
            t5 = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t5.state is OrderState.NEW

    go(body)


def test_timeout_unknown_resolved_by_status_request(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc, timeout_s=0.3) as rig:
            om = rig.om
            venue.silent.add("D")  # booked at the venue, never answered
            t = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("100"))
            assert t.state is OrderState.UNKNOWN
            await eventually(lambda: t.state is OrderState.NEW)
            (h,) = _sent(venue, "H")[:1]
            assert h.get(11) == t.client_order_id
            assert h.has(790)
            assert len(_sent(venue, "D")) == 1  # never resent
            # Lost entirely: the status request says unknown order → REJECTED (never reached).
            venue.drop.add("D")
            t2 = await om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal("101"))
            assert t2.state is OrderState.UNKNOWN
            await eventually(lambda: t2.state is OrderState.REJECTED)
            assert "never reached the venue" in (t2.reason or "")
            assert len(_sent(venue, "D")) == 2

    go(body)


def test_disconnect_mid_order_then_mass_status_reconcile(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            om, entry = rig.om, rig.entry
            venue.silent.add("D")
            venue.drop_after.add("D")
            t = await om.place(SYMBOL, Side.BUY, Decimal("2"), Decimal("100"))
            assert t.state is OrderState.UNKNOWN
            assert "dropped" in (t.reason or "")
            # While we are away the venue fills part of it, and another client's order exists.
            o = venue.by_cl[t.client_order_id]
            venue.fill(o.oid, Decimal("0.5"), Decimal("100"))
            venue.book("FOREIGN-1", SYMBOL, "2", Decimal("3"), Decimal("105"))
            await eventually(lambda: entry.logons >= 2)
            await eventually(lambda: t.state is OrderState.PARTIALLY_FILLED)
            await eventually(lambda: om.sm.get("FOREIGN-1") is not None)
            assert _sent(venue, "AF")
            foreign = om.sm.get("FOREIGN-1")
            assert foreign is not None
            assert foreign.adopted
            assert foreign.side is Side.SELL
            await eventually(lambda: t.filled_qty == Decimal("0.5"))
            assert len(_sent(venue, "D")) == 1

    go(body)


def test_fills_deduplicated_by_exec_id_across_resend(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            t = await rig.om.place(SYMBOL, Side.BUY, Decimal("3"), Decimal("100"))
            o = venue.by_cl[t.client_order_id]
            eid = venue.fill(o.oid, Decimal("1"), Decimal("100"))
            await eventually(lambda: t.filled_qty == Decimal("1"))
            # The venue sends the same execution again (a PossResend replay after its restart).
            venue.report(o, "F", last=(Decimal("1"), Decimal("100")), exec_id=eid,
                         extra=[(97, "Y")])  # fmt: skip
            # And a gap: the session asks for a resend and gets the fills replayed (PossDup).
            session = next(iter(acc.sessions.values()))
            dropped: list[int] = []

            def drop_once(seq: int, raw: bytes) -> bytes | None:
                if not dropped and b"\x0135=8\x01" in raw:
                    dropped.append(seq)
                    return None
                return raw

            session.outbound_filter = drop_once
            venue.fill(o.oid, Decimal("1"), Decimal("100"))
            venue.fill(o.oid, Decimal("1"), Decimal("100"))
            await eventually(lambda: t.state is OrderState.FILLED)
            session.outbound_filter = None
            assert dropped
            assert session.stats.messages_replayed >= 1  # the dropped fill came by resend
            assert rig.entry.unsolicited >= 4
            assert t.filled_qty == Decimal("3")
            assert len(t.fills) == 3
            assert rig.om.sm.alarms == []

    go(body)


def test_cancel_all_by_mass_cancel(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            ts = [await rig.om.place(SYMBOL, Side.BUY, Decimal("1"), Decimal(100 - i))
                  for i in range(3)]  # fmt: skip
            await rig.om.cancel_all(SYMBOL)
            await eventually(lambda: all(t.state is OrderState.CANCELED for t in ts))
            (q,) = _sent(venue, "q")
            assert (q.get(530), q.get(55)) == ("1", SYMBOL)
            assert not _sent(venue, "F")

    go(body)


def test_journal_restart_keeps_the_clordid_chain(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (venue, acc):
            async with _rig(tmp_path, venue, acc) as rig:
                t = await rig.om.place(SYMBOL, Side.BUY, Decimal("2"), Decimal("100"))
                cid = t.client_order_id
                await rig.om.amend(cid, price=Decimal("98"))
                w1 = rig.entry.cl_ord_id(cid)
                assert w1 != cid
                venue.fill(w1, Decimal("0.5"), Decimal("98"))
                await eventually(lambda: t.filled_qty == Decimal("0.5"))
            # While we are down: another fill.
            venue.fill(w1, Decimal("0.5"), Decimal("98"))
            async with _rig(tmp_path, venue, acc) as rig2:
                t2 = rig2.om.sm.get(cid)
                assert t2 is not None
                assert rig2.entry.cl_ord_id(cid) == w1
                assert rig2.om.recovery.orders == 1
                # The missed fill comes by the session's resend (same store), the state by AF.
                await eventually(lambda: t2.filled_qty == Decimal("1"))
                assert t2.price == Decimal("98")
                assert len(t2.fills) == 2
                await rig2.om.cancel(cid)
                assert t2.state is OrderState.CANCELED
                (f,) = _sent(venue, "F")
                assert f.get(41) == w1

    go(body)


def test_not_logged_on_is_retryable_and_nothing_is_sent() -> None:
    async def body() -> None:
        entry = FixOrderEntry("fixsim")
        order = Order(venue="fixsim", symbol=SYMBOL, client_order_id="c1", side=Side.BUY,
                      type=OrderType.LIMIT, quantity=Decimal(1), price=Decimal(1))  # fmt: skip
        with pytest.raises(RetryableError):
            await entry.place(order)
        with pytest.raises(RetryableError):
            await entry.query(order)
        assert entry.client_order_id("c1") is None

    go(body)


def test_unattached_entry_returns_the_answer(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue() as (_venue_app, acc):
            entry = FixOrderEntry("fixsim", timeout_s=2.0)
            initiator = FixInitiator(_settings(acc.port), entry)
            await initiator.start()
            try:
                assert await entry.wait_ready(10.0)
                order = Order(venue="fixsim", symbol=SYMBOL, client_order_id="solo-1",
                              side=Side.SELL, type=OrderType.LIMIT, quantity=Decimal("0.25"),
                              price=Decimal("7.5"))  # fmt: skip
                (ack,) = await entry.place(order)
                assert (ack.kind, ack.client_order_id, ack.side) == (
                    ReportKind.ACK, "solo-1", Side.SELL)  # fmt: skip
                (st,) = await entry.query(order)
                assert (st.kind, st.state, st.quantity) == (
                    ReportKind.STATUS, OrderState.NEW, Decimal("0.25"))  # fmt: skip
                listed = await entry.open_orders(SYMBOL)
                assert [r.client_order_id for r in listed] == ["solo-1"]
            finally:
                await initiator.stop()
                await entry.close()

    go(body)


# -- the ExecType / OrdStatus table on encoded messages ------------------------------------------
def _er(begin: str, fields: list[tuple[int, Any]]) -> FixMessage:
    head: list[tuple[int, Any]] = [(35, "8"), (49, "V"), (56, "C"), (34, 2),
                                   (52, "20260101-00:00:00.000")]  # fmt: skip
    return parse(encode_message(begin, head + fields))


@pytest.mark.parametrize(
    ("exec_type", "trans", "kind"),
    [
        ("0", None, ReportKind.ACK),
        ("1", None, ReportKind.FILL),
        ("2", None, ReportKind.FILL),
        ("F", None, ReportKind.FILL),
        ("4", None, ReportKind.CANCELED),
        ("5", None, ReportKind.AMENDED),
        ("6", None, ReportKind.ACK),
        ("E", None, ReportKind.ACK),
        ("8", None, ReportKind.REJECTED),
        ("C", None, ReportKind.EXPIRED),
        ("A", None, None),
        ("I", None, ReportKind.STATUS),
        ("3", None, ReportKind.STATUS),
        ("D", None, ReportKind.STATUS),
        ("H", None, ReportKind.STATUS),
        ("2", "3", ReportKind.STATUS),
        ("1", "1", ReportKind.STATUS),
        ("Z", None, None),
    ],
)
def test_exec_type_table(exec_type: str, trans: str | None, kind: ReportKind | None) -> None:
    assert exec_report_kind(exec_type, trans) is kind


@pytest.mark.parametrize(
    ("status", "cum", "state"),
    [
        ("0", "0", OrderState.NEW),
        ("1", "1", OrderState.PARTIALLY_FILLED),
        ("2", "5", OrderState.FILLED),
        ("4", "0", OrderState.CANCELED),
        ("8", "0", OrderState.REJECTED),
        ("C", "1", OrderState.EXPIRED),
        ("6", "1", OrderState.PARTIALLY_FILLED),
        ("E", "0", OrderState.NEW),
        ("A", "0", None),
        ("X", "0", None),
    ],
)
def test_ord_status_table(status: str, cum: str, state: OrderState | None) -> None:
    assert ord_status_state(status, Decimal(cum)) is state


def test_fix42_fill_and_fix44_trade_reports_are_exact() -> None:
    entry = FixOrderEntry("v", GENERIC_42)
    entry._cid_of["W2"] = "c1"
    common: list[tuple[int, Any]] = [(37, "O1"), (11, "W2"), (41, "c1"), (39, "1"), (55, "X"),
                                     (54, "2"), (38, "3"), (44, "0.30000000000000004"),
                                     (151, "1.9"), (14, "1.1"), (6, "0.3")]  # fmt: skip
    m42 = _er("FIX.4.2", [(17, "T9"), (20, "0"), (150, "1"), *common, (32, "1.1"),
                          (31, "0.30000000000000004"), (12, "0.001"), (479, "USD")])  # fmt: skip
    (r,) = entry._reports(m42, status=False)
    assert (r.kind, r.client_order_id, r.trade_id, r.side) == (ReportKind.FILL, "c1", "T9",
                                                               Side.SELL)  # fmt: skip
    assert (r.last_qty, r.last_price, r.filled_qty) == (
        Decimal("1.1"), Decimal("0.30000000000000004"), Decimal("1.1"))  # fmt: skip
    assert (r.fee, r.fee_asset) == (Decimal("0.001"), "USD")
    m44 = _er("FIX.4.4", [(17, "T10"), (150, "F"), *common, (32, "1.1"), (31, "0.3"),
                          (851, "1")])  # fmt: skip
    (r44,) = entry._reports(m44, status=False)
    assert (r44.kind, r44.trade_id, r44.liquidity) == (ReportKind.FILL, "T10", "maker")
    # 4.2 trade bust / correction: a STATUS (cumulative), never a second fill.
    bust = _er("FIX.4.2", [(17, "T11"), (20, "1"), (150, "1"), *common])
    (rb,) = entry._reports(bust, status=False)
    assert (rb.kind, rb.state) == (ReportKind.STATUS, OrderState.PARTIALLY_FILLED)
    assert entry.can("query")
    assert not FixOrderEntry("v", OrderDialect(supports_status=False)).can("query")


def test_restart_restores_replace_chains_and_doubtful_seqs() -> None:
    """What a restarted engine needs of the ClOrdID bookkeeping comes back from the journal:
    a replace in flight at the crash (its confirmation moves the live ClOrdID), a refused one
    (the live ClOrdID stays), and the order messages whose outcome was unknown (gap-filled,
    never replayed, when the venue asks for a resend)."""
    records = [
        MarkerRecord(1, "fix_replace", {"wire": "W1", "cid": "C1", "target": "C1"}),
        MarkerRecord(2, "fix_replace", {"wire": "W2", "cid": "C2", "target": "C2"}),
        MarkerRecord(3, "fix_replace_end", {"wire": "W2"}),
        MarkerRecord(4, "fix_doubtful", {"seq": "7"}),
    ]
    entry = FixOrderEntry("fix")
    assert entry.restore(enumerate(records)) == 2
    assert entry.may_resend(7, "D") is False
    assert entry.may_resend(7, "q") is False
    assert entry.may_resend(8, "D") is True
    report = encode_message(
        "FIX.4.4",
        [
            (35, "8"), (49, "VENUE"), (56, "US"), (34, 9), (52, "20260101-00:00:00.000"),
            (37, "O1"), (11, "W1"), (41, "C1"), (17, "E1"), (150, "5"), (39, "0"),
            (55, "X"), (54, "1"), (38, "2"), (44, "10"), (14, "0"), (151, "2"), (6, "0"),
        ],
    )  # fmt: skip
    entry.from_app(None, parse(report))  # type: ignore[arg-type]
    assert entry.cl_ord_id("C1") == "W1"
    assert entry.cl_ord_id("C2") == "C2"


def test_cancel_refused_after_its_pending_cancel_report(tmp_path: Path) -> None:
    """A venue answers the cancel with Pending Cancel (150=6), then refuses it (35=9): the late
    refusal still reaches the manager, so the order does not stay PENDING_CANCEL."""

    async def body() -> None:
        async with _venue() as (venue, acc), _rig(tmp_path, venue, acc) as rig:
            t = await rig.om.place(SYMBOL, Side.SELL, Decimal("1"), Decimal("100"))
            venue.pending_then_refuse = True
            await rig.om.cancel(t.client_order_id)
            await eventually(lambda: t.pending is None and t.state is OrderState.NEW)
            assert rig.entry.late == 1

    go(body)
