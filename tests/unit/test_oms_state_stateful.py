"""venuegate.oms.state against a reference venue: reports delivered in any order, duplicated,
dropped and recovered by STATUS; the machine must agree with the venue once everything is in."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from venuegate.model import Order, OrderState, OrderType, Side
from venuegate.oms.state import OrderStateMachine, TrackedOrder
from venuegate.oms.types import AlarmKind, ReportKind, VenueReport

S = OrderState
K = ReportKind
D = Decimal
QTY = D(2)
CID = "c1"
VENUE = "binance"
OPEN = (S.NEW, S.PARTIALLY_FILLED)
_SIZES = st.sampled_from([D("0.25"), D("0.5"), D(1), D("1.5")])
_PRICES = st.sampled_from([D(100), D("100.5"), D("101.25")])
_PICK = st.integers(min_value=0, max_value=10_000)


def _rank(t: TrackedOrder) -> int:
    """Progress order: pre-ack < acknowledged < partially filled < terminal (a pending request
    ranks as the state beneath it)."""
    if t.state.is_terminal:
        return 3
    if t.state in (S.PENDING_NEW, S.UNKNOWN):
        return 0
    if t.state is S.PARTIALLY_FILLED:
        return 2
    if t.state in (S.PENDING_CANCEL, S.PENDING_REPLACE):
        has_fills = t.filled_qty > 0 or (t.venue_filled_qty or 0) > 0
        return 2 if has_fills else 1
    return 1


def _r(kind: ReportKind, **kw: object) -> VenueReport:
    return VenueReport(venue=VENUE, client_order_id=CID, kind=kind, **kw)  # type: ignore[arg-type]


class VenueRace(RuleBasedStateMachine):
    """One order; the venue's truth (`v_*`) and the reports in flight (`outbox`)."""

    def __init__(self) -> None:
        super().__init__()
        self.sm = OrderStateMachine()
        self.t = self.sm.track(
            Order(
                venue=VENUE,
                symbol="BTCUSDT",
                client_order_id=CID,
                side=Side.BUY,
                type=OrderType.LIMIT,
                quantity=QTY,
                price=D(100),
            ),
            intent_id=1,
        )
        self.v_state: OrderState | None = None  # None: the place has not reached the venue
        self.v_lost = False  # the place never reaches the venue
        self.v_fills: dict[str, tuple[Decimal, Decimal]] = {}
        self.overfilled = False
        self.outbox: list[VenueReport] = []
        self.delivered: list[VenueReport] = []
        self.cancel_out = False
        self.place_answered = False
        self.conflicts = 0

    # -- helpers ----------------------------------------------------------------------------
    @property
    def v_filled(self) -> Decimal:
        return sum((q for q, _ in self.v_fills.values()), D(0))

    def _status(self) -> VenueReport:
        if self.v_state is None:
            return _r(K.NOT_FOUND)
        return _r(K.STATUS, state=self.v_state, quantity=QTY, filled_qty=self.v_filled)

    def _apply(self, report: VenueReport) -> None:
        t = self.t
        old_state, old_rank, old_filled = t.state, _rank(t), t.filled_qty
        self.sm.apply(report)
        assert t.filled_qty >= old_filled
        if old_state.is_terminal:
            late_fill = old_state in (S.CANCELED, S.EXPIRED) and t.state is S.FILLED
            assert t.state is old_state or late_fill, f"{old_state} -> {t.state} on {report}"
        else:
            assert _rank(t) >= old_rank, f"{old_state} -> {t.state} on {report}"

    # -- the venue --------------------------------------------------------------------------
    @initialize(start=st.sampled_from(["accepted"] * 6 + ["rejected", "in_flight", "in_flight"]))
    def place(self, start: str) -> None:
        if start != "in_flight":
            self.venue_receives_place(accept=start == "accepted")

    @precondition(lambda self: self.v_state is None and not self.v_lost)
    @rule(accept=st.booleans())
    def venue_receives_place(self, accept: bool) -> None:
        self.v_state = S.NEW if accept else S.REJECTED
        self.outbox.append(_r(K.ACK, venue_order_id="v1") if accept else _r(K.REJECTED))

    @precondition(lambda self: self.v_state is None and not self.place_answered)
    @rule()
    def place_times_out(self) -> None:
        self.v_lost = True
        self.place_answered = True
        self.sm.request_failed(CID, "place", "unknown", "timeout")

    @precondition(lambda self: self.v_state is not None and not self.place_answered)
    @rule()
    def place_answer_lost(self) -> None:
        self.place_answered = True
        self.sm.request_failed(CID, "place", "unknown", "disconnect")

    @precondition(lambda self: self.v_state in OPEN)
    @rule(size=_SIZES, price=_PRICES, cumulative=st.booleans())
    def venue_fills(self, size: Decimal, price: Decimal, cumulative: bool) -> None:
        qty = min(size, QTY - self.v_filled)
        tid = f"t{len(self.v_fills)}"
        self.v_fills[tid] = (qty, price)
        self.v_state = S.FILLED if self.v_filled == QTY else S.PARTIALLY_FILLED
        self.outbox.append(
            _r(
                K.FILL,
                trade_id=tid,
                last_qty=qty,
                last_price=price,
                filled_qty=self.v_filled if cumulative else None,
            )
        )

    @precondition(lambda self: self.v_state in OPEN)
    @rule(price=_PRICES)
    def venue_fills_the_rest(self, price: Decimal) -> None:
        self.venue_fills(QTY, price, cumulative=True)

    @precondition(lambda self: self.v_state is S.FILLED and not self.overfilled)
    @rule(size=_SIZES)
    def venue_overfills(self, size: Decimal) -> None:
        self.overfilled = True  # a venue bug: one more execution than the quantity
        tid = f"t{len(self.v_fills)}"
        self.v_fills[tid] = (size, D(100))
        self.outbox.append(_r(K.FILL, trade_id=tid, last_qty=size, last_price=D(100)))

    @precondition(lambda self: self.v_state in OPEN)
    @rule(expire=st.booleans())
    def venue_ends_order(self, expire: bool) -> None:
        self.v_state = S.EXPIRED if expire else S.CANCELED
        self.outbox.append(_r(K.EXPIRED if expire else K.CANCELED))

    @precondition(lambda self: self.v_state is not None or self.v_lost)
    @rule()
    def venue_answers_query(self) -> None:
        self.outbox.append(self._status())  # may be delivered late: a stale snapshot

    # -- our cancel -------------------------------------------------------------------------
    @precondition(lambda self: not self.cancel_out and not self.t.state.is_terminal)
    @rule()
    def we_cancel(self) -> None:
        self.cancel_out = True
        self.sm.request_cancel(CID)

    @precondition(lambda self: self.cancel_out)
    @rule(answer=st.sampled_from(["accepted", "rejected", "unknown"]), took=st.booleans())
    def cancel_answered(self, answer: str, took: bool) -> None:
        self.cancel_out = False
        if answer == "unknown":
            if took and self.v_state in OPEN:
                self.v_state = S.CANCELED
                self.outbox.append(_r(K.CANCELED))
            self.sm.request_failed(CID, "cancel", "unknown", "timeout")
        elif answer == "accepted" and self.v_state in OPEN:
            self.v_state = S.CANCELED
            self.outbox.append(_r(K.CANCELED))
        else:
            self.sm.request_failed(CID, "cancel", "rejected", "refused")

    # -- the network ------------------------------------------------------------------------
    @precondition(lambda self: self.outbox)
    @rule(i=_PICK)
    def deliver(self, i: int) -> None:
        report = self.outbox.pop(i % len(self.outbox))
        self.delivered.append(report)
        self._apply(report)

    @precondition(lambda self: self.delivered)
    @rule(i=_PICK)
    def redeliver(self, i: int) -> None:
        self._apply(self.delivered[i % len(self.delivered)])

    @precondition(lambda self: self.outbox)
    @rule(i=_PICK)
    def drop(self, i: int) -> None:
        self.outbox.pop(i % len(self.outbox))

    @precondition(lambda self: self.t.fills)
    @rule(i=_PICK, extra=_SIZES)
    def conflicting_trade(self, i: int, extra: Decimal) -> None:
        tids = sorted(self.t.fills)
        tid = tids[i % len(tids)]
        qty, price = self.v_fills[tid]
        n = len(self.sm.alarms)
        self._apply(_r(K.FILL, trade_id=tid, last_qty=qty + extra, last_price=price))
        self.conflicts += 1
        assert [a.kind for a in self.sm.alarms[n:]] == [AlarmKind.UNKNOWN_TRADE]

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def fills_are_the_venues_counted_once(self) -> None:
        t = self.t
        assert set(t.fills) <= set(self.v_fills)
        for tid, f in t.fills.items():
            assert (f.qty, f.price) == self.v_fills[tid]
        assert t.filled_qty == sum((f.qty for f in t.fills.values()), D(0))
        assert t.notional == sum((f.qty * f.price for f in t.fills.values()), D(0))
        assert self.sm.positions().get((VENUE, "BTCUSDT"), D(0)) == t.filled_qty

    @invariant()
    def alarms_are_raised_exactly_when_due(self) -> None:
        kinds = [a.kind for a in self.sm.alarms]
        assert (AlarmKind.OVERFILL in kinds) == (self.t.filled_qty > QTY)
        assert kinds.count(AlarmKind.UNKNOWN_TRADE) == self.conflicts
        assert AlarmKind.UNKNOWN_ORDER not in kinds

    def teardown(self) -> None:
        # Let every request finish, fetch every fill (as the reconciler does), then query.
        if self.v_state is None and not self.v_lost:
            self.venue_receives_place(accept=True)
        if self.cancel_out:
            self.cancel_answered("accepted", took=True)
        for tid, (qty, price) in self.v_fills.items():
            self._apply(_r(K.FILL, trade_id=tid, last_qty=qty, last_price=price))
        self._apply(self._status())
        t = self.t
        expected = S.REJECTED if self.v_lost else self.v_state
        assert t.state is expected, f"held {t.state}, venue {expected}"
        assert t.filled_qty == self.v_filled
        assert t.missing_fill_qty == 0
        assert t.pending is None
        assert t.doubt is None


VenueRace.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
TestVenueRace = VenueRace.TestCase
