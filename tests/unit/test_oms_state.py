"""venuegate.oms.state: every rule of the order state machine, out-of-order pairs included."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from venuegate.model import Order, OrderState, OrderType, Side
from venuegate.oms.state import FillInfo, OrderStateMachine, TrackedOrder
from venuegate.oms.types import Alarm, AlarmKind, ReportKind, VenueReport
from venuegate.venues.base import Amend

S = OrderState
K = ReportKind
D = Decimal


def _order(cid: str = "c1", qty: str = "1", price: str | None = "100", **kw: object) -> Order:
    base: dict[str, object] = {
        "venue": "binance",
        "symbol": "BTCUSDT",
        "client_order_id": cid,
        "side": Side.BUY,
        "type": OrderType.LIMIT if price is not None else OrderType.MARKET,
        "quantity": qty,
        "price": price,
    }
    return Order.model_validate(base | kw)


def _r(kind: ReportKind, cid: str = "c1", **kw: object) -> VenueReport:
    return VenueReport(venue="binance", client_order_id=cid, kind=kind, **kw)  # type: ignore[arg-type]


def _fill(tid: str, qty: str, price: str = "100", cid: str = "c1", **kw: object) -> VenueReport:
    return _r(K.FILL, cid, trade_id=tid, last_qty=D(qty), last_price=D(price), **kw)


def _status(state: OrderState | None, filled: str | None = None, cid: str = "c1") -> VenueReport:
    return _r(K.STATUS, cid, state=state, filled_qty=None if filled is None else D(filled))


@pytest.fixture
def sm() -> OrderStateMachine:
    ticks = iter(range(1, 1_000_000))
    return OrderStateMachine(clock=lambda: next(ticks))


def _tracked(sm: OrderStateMachine, cid: str = "c1", qty: str = "1", **kw: object) -> TrackedOrder:
    return sm.track(_order(cid, qty, **kw), intent_id=7)


def _kinds(sm: OrderStateMachine) -> list[AlarmKind]:
    return [a.kind for a in sm.alarms]


# -- tracking ---------------------------------------------------------------------------------
def test_track_starts_pending_new_and_refuses_duplicates(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    assert t.state is S.PENDING_NEW
    assert t.intent_id == 7
    assert t.filled_qty == 0
    assert t.average_price is None
    assert sm.get("c1") is t
    assert sm.get("nope") is None
    assert sm.orders() == [t]
    assert sm.open_orders() == [t]
    with pytest.raises(ValueError, match="already tracked"):
        _tracked(sm)
    with pytest.raises(ValueError, match="new order"):
        sm.track(_order("c2", state=S.NEW), intent_id=1)


def test_snapshot_is_a_validated_order(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK, venue_order_id="v1"))
    sm.apply(_fill("t1", "0.5", "100"))
    sm.apply(_fill("t2", "0.5", "101"))
    o = t.snapshot()
    assert isinstance(o, Order)
    assert o.state is S.PARTIALLY_FILLED
    assert o.filled_quantity == D(1)
    assert o.average_price == D("100.5")
    assert o.venue_order_id == "v1"
    assert o.remaining_quantity == D(1)


# -- ACK ---------------------------------------------------------------------------------------
def test_ack_moves_pending_new_to_new_and_duplicates_are_none(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    tr = sm.apply(_r(K.ACK, venue_order_id="v1"))
    assert tr is not None
    assert (tr.old_state, tr.new_state, tr.changed, tr.new_fill) == (
        S.PENDING_NEW,
        S.NEW,
        True,
        None,
    )
    assert t.venue_order_id == "v1"
    assert t.acked
    assert t.updated_ns > 1
    assert sm.apply(_r(K.ACK, venue_order_id="v1")) is None
    assert sm.alarms == []


# -- FILL --------------------------------------------------------------------------------------
def test_fills_accumulate_exactly_and_complete_the_order(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="0.3")
    sm.apply(_r(K.ACK))
    tr = sm.apply(_fill("t1", "0.1", "67123.45", fee=D("0.01"), fee_asset="USDT"))
    assert tr is not None
    assert tr.new_state is S.PARTIALLY_FILLED
    assert tr.new_fill == FillInfo("t1", D("0.1"), D("67123.45"), D("0.01"), "USDT", None, 0)
    tr = sm.apply(_fill("t2", "0.2", "67123.46", liquidity="maker", ts_ms=5))
    assert tr is not None
    assert tr.new_state is S.FILLED
    assert t.filled_qty == D("0.3")
    assert t.notional == D("6712.345") + D("13424.692")
    with localcontext(prec=34):
        assert t.average_price == t.notional / D("0.3")
    assert set(t.fills) == {"t1", "t2"}
    assert t.fills["t2"].liquidity == "maker"
    assert sm.alarms == []


def test_fill_arithmetic_is_exact_beyond_the_default_context(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="1")
    # 20 + 20 significant digits: the default 28-digit context would round the product.
    sm.apply(_fill("t1", "0.12345678901234567890", "98765.432109876543210"))
    with localcontext(prec=100):
        exact = D("0.12345678901234567890") * D("98765.432109876543210")
    assert len(exact.as_tuple().digits) > 28
    assert t.notional == exact
    assert t.average_price == D("98765.432109876543210")


def test_average_price_is_exact_when_it_terminates_else_34_digits(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="10")
    sm.apply(_fill("t1", "1", "1"))
    sm.apply(_fill("t2", "3", "2"))
    assert t.average_price == D("1.75")
    sm.apply(_fill("t3", "2", "1"))
    # 9 / 6 = 1.5 exactly; then 10 / 7 does not terminate.
    assert t.average_price == D("1.5")
    sm.apply(_fill("t4", "1", "1"))
    assert t.average_price is not None
    assert len(t.average_price.as_tuple().digits) == 34
    assert str(t.average_price) == "1.428571428571428571428571428571429"


def test_duplicate_fill_is_ignored_and_conflicting_trade_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_fill("t1", "0.5"))
    assert sm.apply(_fill("t1", "0.50")) is None  # same qty, written differently
    tr = sm.apply(_fill("t1", "0.6"))
    assert tr is not None
    assert not tr.changed
    assert tr.new_fill is None
    tr = sm.apply(_fill("t1", "0.5", "101"))
    assert tr is not None
    assert not tr.changed
    assert _kinds(sm) == [AlarmKind.UNKNOWN_TRADE, AlarmKind.UNKNOWN_TRADE]
    assert t.filled_qty == D("0.5")
    assert t.fills["t1"].price == D(100)


def test_fill_before_ack_goes_straight_to_partially_filled(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    tr = sm.apply(_fill("t1", "1", venue_order_id="v9"))
    assert tr is not None
    assert (tr.old_state, tr.new_state) == (S.PENDING_NEW, S.PARTIALLY_FILLED)
    assert t.venue_order_id == "v9"
    assert sm.apply(_r(K.ACK, venue_order_id="v9")) is None  # never backwards
    assert t.state is S.PARTIALLY_FILLED


def test_fill_before_ack_can_fill_completely(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_fill("t1", "1"))
    assert t.state is S.FILLED
    assert sm.apply(_r(K.ACK)) is None
    assert t.state is S.FILLED


def test_fill_resolves_unknown_place(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.request_failed("c1", "place", "unknown", "timeout")
    assert t.state is S.UNKNOWN
    assert sm.unknown_orders() == [t]
    sm.apply(_fill("t1", "1"))
    assert t.state is S.PARTIALLY_FILLED
    assert t.doubt is None


def test_overfill_alarms_and_records_the_fill(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="1")
    sm.apply(_fill("t1", "0.7"))
    tr = sm.apply(_fill("t2", "0.7"))
    assert tr is not None
    assert tr.changed
    assert t.state is S.FILLED
    assert t.filled_qty == D("1.4")
    assert _kinds(sm) == [AlarmKind.OVERFILL]
    sm.apply(_fill("t3", "0.1"))
    assert _kinds(sm) == [AlarmKind.OVERFILL, AlarmKind.OVERFILL]
    assert t.filled_qty == D("1.5")
    snap = t.snapshot()  # built unvalidated: shows the true figures
    assert snap.filled_quantity == D("1.5")
    assert sm.positions() == {("binance", "BTCUSDT"): D("1.5")}


def test_malformed_fill_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    tr = sm.apply(_r(K.FILL, trade_id="t1", last_qty=D(0), last_price=D(1)))
    assert tr is not None
    assert not tr.changed
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]
    assert t.filled_qty == 0


# -- CANCELED / EXPIRED ------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "end"), [(K.CANCELED, S.CANCELED), (K.EXPIRED, S.EXPIRED)])
def test_cancel_or_expiry_ends_an_open_order(
    sm: OrderStateMachine, kind: ReportKind, end: OrderState
) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.ACK))
    tr = sm.apply(_r(kind, reason="user"))
    assert tr is not None
    assert tr.new_state is end
    assert t.reason == "user"
    assert sm.apply(_r(kind)) is None
    assert sm.apply(_r(K.ACK)) is None  # a late ACK never moves back
    assert t.state is end
    assert sm.open_orders() == []


def test_cancel_ack_after_the_final_fill_leaves_it_filled(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.ACK))
    sm.request_cancel("c1")
    sm.apply(_fill("t1", "1"))
    assert t.state is S.FILLED
    assert t.pending is None
    assert sm.apply(_r(K.CANCELED)) is None
    assert sm.apply(_r(K.EXPIRED)) is None
    assert t.state is S.FILLED


def test_late_fill_after_cancel_is_accounted_and_state_stays(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.apply(_r(K.CANCELED, filled_qty=D("0.5")))
    assert t.state is S.CANCELED
    assert t.missing_fill_qty == D("0.5")
    tr = sm.apply(_fill("t1", "0.5"))
    assert tr is not None
    assert tr.new_fill is not None
    assert (tr.old_state, tr.new_state) == (S.CANCELED, S.CANCELED)
    assert t.filled_qty == D("0.5")
    assert t.missing_fill_qty == 0
    assert sm.alarms == []


def test_late_fills_completing_a_canceled_order_make_it_filled(sm: OrderStateMachine) -> None:
    # Order independence: FILL, FILL, CANCELED ends FILLED, so CANCELED, FILL, FILL does too.
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.CANCELED))
    sm.apply(_fill("t1", "1"))
    assert t.state is S.CANCELED
    sm.apply(_fill("t2", "1"))
    assert t.state is S.FILLED


def test_first_of_canceled_and_expired_is_kept(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.EXPIRED))
    assert sm.apply(_r(K.CANCELED)) is None
    assert t.state is S.EXPIRED


# -- REJECTED / NOT_FOUND ----------------------------------------------------------------------
def test_rejected_before_ack(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    tr = sm.apply(_r(K.REJECTED, reason="insufficient balance"))
    assert tr is not None
    assert tr.new_state is S.REJECTED
    assert t.reason == "insufficient balance"
    assert sm.apply(_r(K.REJECTED)) is None


def test_rejected_resolves_unknown(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.request_failed("c1", "place", "unknown", "disconnect")
    sm.apply(_r(K.REJECTED))
    assert t.state is S.REJECTED


@pytest.mark.parametrize("first", [_r(K.ACK), _fill("t1", "0.5")])
def test_rejected_after_ack_or_fill_alarms_and_is_not_applied(
    sm: OrderStateMachine, first: VenueReport
) -> None:
    t = _tracked(sm)
    sm.apply(first)
    held = t.state
    tr = sm.apply(_r(K.REJECTED))
    assert tr is not None
    assert not tr.changed
    assert t.state is held
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]


def test_venue_evidence_revives_an_order_held_rejected(sm: OrderStateMachine) -> None:
    """A rejection the engine concluded (a lagging "not found", a refusal it misread, a request
    it thought never left) loses to the venue's ACK, fills and status: the order is tracked
    again, with an alarm, and ends as the venue says."""
    t = _tracked(sm)
    sm.apply(_r(K.NOT_FOUND))
    assert t.state is S.REJECTED
    assert t.reason == "never reached the venue"
    sm.apply(_r(K.ACK))
    assert t.state is S.NEW
    sm.apply(_fill("t1", "0.5"))
    assert t.state is S.PARTIALLY_FILLED
    sm.apply(_r(K.CANCELED))
    assert t.state is S.CANCELED
    assert t.filled_qty == D("0.5")
    assert sm.positions() == {("binance", "BTCUSDT"): D("0.5")}
    assert _kinds(sm) == [AlarmKind.REJECTED_BUT_LIVE]


@pytest.mark.parametrize("outcome", ["rejected", "not_sent"])
def test_fill_alone_revives_a_place_we_thought_failed(sm: OrderStateMachine, outcome: str) -> None:
    t = _tracked(sm)
    sm.request_failed(t.client_order_id, "place", outcome, "misread")  # type: ignore[arg-type]
    assert t.state is S.REJECTED
    sm.apply(_fill("t1", "1"))  # the whole quantity
    assert t.state is S.FILLED
    assert _kinds(sm) == [AlarmKind.REJECTED_BUT_LIVE]


def test_not_found_for_a_known_order_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.ACK))
    tr = sm.apply(_r(K.NOT_FOUND))
    assert tr is not None
    assert not tr.changed
    assert t.state is S.NEW
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]


def test_not_found_resolves_unknown_place_to_rejected(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.request_failed("c1", "place", "unknown", "timeout")
    sm.apply(_r(K.NOT_FOUND, reason="order does not exist"))
    assert t.state is S.REJECTED
    assert t.reason == "never reached the venue: order does not exist"


# -- STATUS ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("venue_state", "filled", "expected"),
    [
        (S.NEW, "0", S.NEW),
        (S.PARTIALLY_FILLED, None, S.NEW),  # without a cumulative figure: acknowledged only
        (S.CANCELED, "0", S.CANCELED),
        (S.EXPIRED, "0", S.EXPIRED),
        (S.REJECTED, None, S.REJECTED),
        (S.FILLED, "1", S.FILLED),
        (S.PENDING_NEW, None, S.NEW),
    ],
)
def test_status_resolves_unknown(
    sm: OrderStateMachine, venue_state: OrderState, filled: str | None, expected: OrderState
) -> None:
    t = _tracked(sm)
    sm.request_failed("c1", "place", "unknown", "timeout")
    tr = sm.apply(_status(venue_state, filled))
    assert tr is not None
    assert (tr.old_state, tr.new_state) == (S.UNKNOWN, expected)
    assert t.doubt is None
    assert sm.unknown_orders() == []


def test_status_with_more_fills_than_held_flags_missing_fills(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.apply(_status(S.PARTIALLY_FILLED, "0.5"))
    assert t.state is S.PARTIALLY_FILLED  # forward, on the venue's word
    assert t.filled_qty == 0  # no trade invented
    assert t.fills == {}
    assert t.venue_filled_qty == D("0.5")
    assert t.missing_fill_qty == D("0.5")
    assert t.fill_gap_ns > 0
    assert sm.fill_gaps() == [t]
    # Normal for a moment (the status ran ahead of the fills listing): no alarm.
    assert _kinds(sm) == []
    sm.apply(_fill("t1", "0.5"))
    assert t.missing_fill_qty == 0
    assert (t.fill_gap_ns, sm.fill_gaps()) == (0, [])
    assert t.state is S.PARTIALLY_FILLED
    sm.fill_gap_alarm("c1", "gap closed")  # nothing missing any more: no alarm
    assert _kinds(sm) == []


def test_fill_gap_alarm_once_while_fills_stay_missing(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_status(S.PARTIALLY_FILLED, "0.5"))
    sm.fill_gap_alarm("c1", "not in a complete listing")
    sm.fill_gap_alarm("c1", "again")
    assert _kinds(sm) == [AlarmKind.FILL_MISMATCH]
    assert "0.5 filled" in sm.alarms[0].detail
    assert "not in a complete listing" in sm.alarms[0].detail
    assert sm.fill_gaps() == []  # alarmed: not offered again
    assert t.missing_fill_qty == D("0.5")


def test_fill_gap_age_is_its_newest_part_and_a_closed_gap_can_alarm_again(
    sm: OrderStateMachine,
) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_status(S.PARTIALLY_FILLED, "0.5"))
    opened = t.fill_gap_ns
    sm.apply(_status(S.PARTIALLY_FILLED, "1"))  # more reported: maybe not listed yet
    assert t.fill_gap_ns > opened
    sm.apply(_status(S.PARTIALLY_FILLED, "1"))  # the same count again: the age stays
    grown = t.fill_gap_ns
    sm.apply(_status(S.PARTIALLY_FILLED, "1"))
    assert t.fill_gap_ns == grown
    sm.fill_gap_alarm("c1", "first")
    sm.apply(_fill("t1", "1"))  # closed
    assert sm.fill_gaps() == []
    sm.apply(_status(S.PARTIALLY_FILLED, "1.5"))  # a new gap
    assert sm.fill_gaps() == [t]
    sm.fill_gap_alarm("c1", "second")
    assert _kinds(sm) == [AlarmKind.FILL_MISMATCH] * 2


def test_final_cancel_counting_fewer_fills_than_held_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.apply(_fill("t1", "1"))
    sm.apply(_r(K.CANCELED, filled_qty=D("0.5")))
    assert t.state is S.CANCELED
    assert _kinds(sm) == [AlarmKind.FILL_MISMATCH]


def test_restored_gap_keeps_the_age_of_its_record() -> None:
    ticks = iter(range(1_000, 1_000_000))
    sm = OrderStateMachine(clock=lambda: next(ticks))
    t = sm.restore(
        _order("r1", "2"),
        intent_id=1,
        state=S.PARTIALLY_FILLED,
        venue_order_id="v1",
        fills=[],
        replaces=None,
        venue_filled_qty=D("0.5"),
        venue_filled_ns=7,
    )
    assert (t.missing_fill_qty, t.fill_gap_ns) == (D("0.5"), 7)


def test_status_filled_with_missing_fills(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_fill("t1", "1"))
    sm.apply(_status(S.FILLED, "2"))
    assert t.state is S.FILLED
    assert t.missing_fill_qty == D(1)
    assert _kinds(sm) == []  # fills still to fetch
    sm.apply(_fill("t2", "1"))
    assert (t.state, t.filled_qty, t.missing_fill_qty) == (S.FILLED, D(2), D(0))


def test_status_below_held_fills_does_not_move_back(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.apply(_fill("t1", "1"))
    tr = sm.apply(_status(S.NEW, "0"))  # a stale snapshot (reports cross in flight)
    assert tr is not None
    assert t.state is S.PARTIALLY_FILLED
    assert t.filled_qty == D(1)
    assert _kinds(sm) == []


def test_final_status_below_held_fills_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.apply(_fill("t1", "1"))
    sm.apply(_fill("t2", "0.5"))
    sm.apply(_status(S.CANCELED, "1"))  # the venue's final count: no later report mends it
    assert (t.state, t.filled_qty) == (S.CANCELED, D("1.5"))
    assert _kinds(sm) == [AlarmKind.FILL_MISMATCH]
    assert "below the 1.5 held" in sm.alarms[0].detail


def test_stale_open_status_for_a_filled_order_is_ignored(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_fill("t1", "1"))
    sm.apply(_fill("t2", "1"))
    assert t.state is S.FILLED
    sm.apply(_status(S.PARTIALLY_FILLED, "1"))  # sent before the last fill, answered after
    sm.apply(_status(S.NEW))
    assert (t.state, t.filled_qty) == (S.FILLED, D(2))
    assert _kinds(sm) == []
    sm.apply(_status(S.PARTIALLY_FILLED, "3"))  # more filled than FILLED held: not stale
    assert t.state is S.FILLED
    assert AlarmKind.ILLEGAL_TRANSITION in _kinds(sm)


def test_status_open_for_a_terminal_order_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.CANCELED))
    tr = sm.apply(_status(S.NEW))
    assert tr is not None
    assert not tr.changed
    assert t.state is S.CANCELED
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]
    sm.apply(_status(S.FILLED))  # terminal disagreement: kept, alarmed
    assert t.state is S.CANCELED
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION] * 2
    sm.apply(_status(S.CANCELED, "0"))
    assert sm.apply(_status(S.CANCELED, "0")) is None


def test_status_takes_the_venues_terms_for_open_orders(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(quantity=D(3)))
    sm.request_failed("c1", "amend", "unknown", "timeout")
    assert t.state is S.UNKNOWN
    sm.apply(_r(K.STATUS, state=S.NEW, quantity=D(3), price=D(99), filled_qty=D(0)))
    assert (t.state, t.quantity, t.price) == (S.NEW, D(3), D(99))


def test_status_without_state_only_accounts(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.request_failed("c1", "place", "unknown", "timeout")
    sm.apply(_status(None, "0"))
    assert t.state is S.UNKNOWN


# -- our requests ------------------------------------------------------------------------------
def test_cancel_request_round_trip(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    tr = sm.request_cancel("c1")
    assert (tr.old_state, tr.new_state, tr.changed) == (S.NEW, S.PENDING_CANCEL, True)
    assert not sm.request_cancel("c1").changed
    sm.apply(_fill("t1", "1"))
    assert t.state is S.PENDING_CANCEL  # pending beats partially filled
    sm.request_failed("c1", "cancel", "rejected", "too late")
    assert t.state is S.PARTIALLY_FILLED
    assert t.pending is None
    sm.request_cancel("c1")
    sm.apply(_r(K.CANCELED))
    assert t.state is S.CANCELED
    with pytest.raises(ValueError, match="cannot cancel"):
        sm.request_cancel("c1")
    with pytest.raises(ValueError, match="not tracked"):
        sm.request_cancel("nope")


def test_cancel_before_ack_keeps_state_and_shows_after_ack(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    tr = sm.request_cancel("c1")
    assert tr.new_state is S.PENDING_NEW
    assert t.pending == "cancel"
    sm.apply(_r(K.ACK))
    assert t.state is S.PENDING_CANCEL
    sm.request_failed("c1", "cancel", "not_sent", "rate limited")
    assert t.state is S.NEW


def test_cancel_not_sent_before_ack_keeps_pending_new(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.request_cancel("c1")
    sm.request_failed("c1", "cancel", "rejected", "unknown order")
    assert (t.state, t.pending) == (S.PENDING_NEW, None)


def test_cancel_unknown_makes_an_open_order_unknown(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.request_cancel("c1")
    tr = sm.request_failed("c1", "cancel", "unknown", "timeout")
    assert tr.new_state is S.UNKNOWN
    assert t.doubt == "cancel"
    assert t.reason == "timeout"
    # Neither a late ACK nor a partial fill tells whether the cancel happened.
    assert sm.apply(_r(K.ACK)) is None
    sm.apply(_fill("t1", "1"))
    assert t.state is S.UNKNOWN
    sm.apply(_status(S.PARTIALLY_FILLED, "1"))
    assert t.state is S.PARTIALLY_FILLED


def test_cancel_unknown_resolved_by_cancel_report(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.ACK))
    sm.request_cancel("c1")
    sm.request_failed("c1", "cancel", "unknown", "timeout")
    sm.apply(_r(K.CANCELED))
    assert t.state is S.CANCELED


def test_cancel_unknown_on_a_terminal_order_changes_nothing(sm: OrderStateMachine) -> None:
    _tracked(sm)
    sm.apply(_r(K.ACK))
    sm.request_cancel("c1")
    sm.apply(_fill("t1", "1"))
    tr = sm.request_failed("c1", "cancel", "unknown", "timeout")
    assert (tr.new_state, tr.changed) == (S.FILLED, False)


@pytest.mark.parametrize(
    ("outcome", "state", "reason"),
    [
        ("rejected", S.REJECTED, "bad price"),
        ("not_sent", S.REJECTED, "not sent: bad price"),
        ("unknown", S.UNKNOWN, "bad price"),
    ],
)
def test_place_failures(
    sm: OrderStateMachine, outcome: str, state: OrderState, reason: str
) -> None:
    t = _tracked(sm)
    sm.request_failed("c1", "place", outcome, "bad price")  # type: ignore[arg-type]
    assert (t.state, t.reason) == (state, reason)


def test_place_failure_after_the_venue_spoke(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.ACK))
    assert not sm.request_failed("c1", "place", "unknown", "timeout").changed
    assert sm.alarms == []
    sm.request_failed("c1", "place", "rejected", "late 400")
    assert t.state is S.NEW
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]


# -- amends ------------------------------------------------------------------------------------
def test_in_place_amend_round_trip(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    with pytest.raises(ValueError, match="cannot amend"):
        sm.request_replace("c1", Amend(price=D(101)))
    sm.apply(_r(K.ACK))
    with pytest.raises(ValueError, match="needs a new"):
        sm.request_replace("c1", Amend())
    tr = sm.request_replace("c1", Amend(quantity=D(3), price=D(101)))
    assert tr.new_state is S.PENDING_REPLACE
    with pytest.raises(ValueError, match="cannot amend"):
        sm.request_replace("c1", Amend(price=D(102)))
    tr2 = sm.apply(_r(K.AMENDED, quantity=D(3), price=D(101)))
    assert tr2 is not None
    assert (tr2.new_state, t.quantity, t.price, t.pending) == (S.NEW, D(3), D(101), None)
    assert sm.apply(_r(K.AMENDED, quantity=D(3), price=D(101))) is None


def test_amend_rejected_goes_back(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_fill("t1", "1"))
    sm.request_replace("c1", Amend(price=D(99)))
    sm.request_failed("c1", "amend", "rejected", "no change")
    assert (t.state, t.price, t.pending_amend) == (S.PARTIALLY_FILLED, D(100), None)


def test_amend_unknown_resolved_by_amended(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(price=D(99)))
    sm.request_failed("c1", "amend", "unknown", "timeout")
    assert (t.state, t.doubt) == (S.UNKNOWN, "amend")
    sm.apply(_r(K.AMENDED, price=D(99)))
    assert (t.state, t.price) == (S.NEW, D(99))


def test_amended_to_the_filled_quantity_fills_and_below_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="2")
    sm.apply(_fill("t1", "1"))
    sm.apply(_r(K.AMENDED, quantity=D(1)))
    assert t.state is S.FILLED
    assert sm.alarms == []
    u = _tracked(sm, "c2", qty="2")
    sm.apply(_fill("t1", "1.5", cid="c2"))
    sm.apply(_r(K.AMENDED, "c2", quantity=D(1)))
    assert u.state is S.FILLED
    assert _kinds(sm) == [AlarmKind.OVERFILL]


def test_amended_for_a_terminal_order_alarms(sm: OrderStateMachine) -> None:
    t = _tracked(sm)
    sm.apply(_r(K.CANCELED))
    tr = sm.apply(_r(K.AMENDED, quantity=D(5)))
    assert tr is not None
    assert not tr.changed
    assert t.quantity == D(1)
    assert _kinds(sm) == [AlarmKind.ILLEGAL_TRANSITION]


def test_fills_during_a_raising_amend_wait_for_its_answer(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="1")
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(quantity=D(2)))
    sm.apply(_fill("t1", "1"))  # complete at the old quantity, not at the new one
    assert t.state is S.PENDING_REPLACE
    sm.apply(_fill("t2", "0.5"))  # beyond the old quantity: no alarm while the amend may apply
    assert sm.alarms == []
    sm.request_failed("c1", "amend", "rejected", "order filled")
    assert t.state is S.FILLED
    assert _kinds(sm) == [AlarmKind.OVERFILL]


def test_fills_during_a_raising_amend_that_applies(sm: OrderStateMachine) -> None:
    t = _tracked(sm, qty="1")
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(quantity=D(2)))
    sm.apply(_fill("t1", "1"))
    sm.apply(_r(K.AMENDED, quantity=D(2)))
    assert t.state is S.PARTIALLY_FILLED
    assert sm.alarms == []


def test_cancel_replace_chain(sm: OrderStateMachine) -> None:
    old = _tracked(sm, qty="2")
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(price=D(99), new_client_order_id="c2"))
    new = sm.link_replacement("c1", _order("c2", "2", "99"), 8)
    assert (new.replaces, old.replaced_by, new.intent_id) == ("c1", "c2", 8)
    with pytest.raises(ValueError, match="already replaced"):
        sm.link_replacement("c1", _order("c3"), 9)
    sm.apply(_r(K.CANCELED))
    sm.apply(_r(K.ACK, "c2"))
    assert (old.state, new.state) == (S.CANCELED, S.NEW)


def test_failed_cancel_replace_rejects_the_replacement(sm: OrderStateMachine) -> None:
    old = _tracked(sm)
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(price=D(99), new_client_order_id="c2"))
    new = sm.link_replacement("c1", _order("c2", "1", "99"), 8)
    sm.request_failed("c1", "amend", "rejected", "price out of band")
    assert (old.state, old.replaced_by) == (S.NEW, None)
    assert new.state is S.REJECTED
    assert new.reason == "replace of c1 failed: price out of band"


def test_unknown_cancel_replace_makes_both_unknown(sm: OrderStateMachine) -> None:
    old = _tracked(sm)
    sm.apply(_r(K.ACK))
    sm.request_replace("c1", Amend(price=D(99), new_client_order_id="c2"))
    new = sm.link_replacement("c1", _order("c2", "1", "99"), 8)
    sm.request_failed("c1", "amend", "unknown", "timeout")
    assert (old.state, new.state, new.doubt) == (S.UNKNOWN, S.UNKNOWN, "place")
    assert sm.unknown_orders() == [old, new]


# -- unknown orders and adoption ---------------------------------------------------------------
def test_report_for_an_untracked_order_alarms(sm: OrderStateMachine) -> None:
    assert sm.apply(_r(K.ACK, "ghost")) is None
    assert _kinds(sm) == [AlarmKind.UNKNOWN_ORDER]
    _tracked(sm)
    other_venue = VenueReport(venue="okx", client_order_id="c1", kind=K.ACK)
    assert sm.apply(other_venue) is None
    assert _kinds(sm) == [AlarmKind.UNKNOWN_ORDER] * 2
    assert "tracked on binance" in sm.alarms[-1].detail


def test_adopt_from_status(sm: OrderStateMachine) -> None:
    report = VenueReport(
        venue="binance",
        client_order_id="x1",
        kind=K.STATUS,
        venue_order_id="v7",
        symbol="ETHUSDT",
        side=Side.SELL,
        state=S.PARTIALLY_FILLED,
        quantity=D(3),
        price=D(2500),
        filled_qty=D(1),
    )
    t = sm.adopt(report)
    assert (t.adopted, t.intent_id, t.type, t.venue_order_id) == (True, None, OrderType.LIMIT, "v7")
    assert (t.state, t.missing_fill_qty) == (S.PARTIALLY_FILLED, D(1))
    assert _kinds(sm) == [AlarmKind.UNKNOWN_ORDER]  # its fills are still to fetch
    sm.apply(_fill("t1", "1", "2500", cid="x1"))
    assert sm.positions() == {("binance", "ETHUSDT"): D(-1)}
    with pytest.raises(ValueError, match="already tracked"):
        sm.adopt(report)


def test_adopt_from_a_fill_without_price_is_market(sm: OrderStateMachine) -> None:
    t = sm.adopt(_fill("t1", "1", cid="x2", symbol="BTCUSDT", side=Side.BUY, quantity=D(1)))
    assert (t.type, t.state, t.filled_qty) == (OrderType.MARKET, S.FILLED, D(1))


def test_adopt_needs_fields_and_a_describing_kind(sm: OrderStateMachine) -> None:
    with pytest.raises(ValueError, match="symbol, side and quantity"):
        sm.adopt(_r(K.ACK, "x1"))
    with pytest.raises(ValueError, match="cannot adopt"):
        sm.adopt(_r(K.CANCELED, "x1", symbol="A", side=Side.BUY, quantity=D(1)))
    assert sm.get("x1") is None


# -- restore, positions, alarms ----------------------------------------------------------------
def test_restore_rebuilds_from_state_and_fills(sm: OrderStateMachine) -> None:
    fills = [FillInfo("t1", D("0.5"), D(100)), FillInfo("t2", D("0.25"), D(103))]
    t = sm.restore(
        _order(qty="2"),
        intent_id=3,
        state=S.NEW,  # the fills were journaled after the last state record
        venue_order_id="v1",
        fills=fills,
        replaces=None,
    )
    assert (t.state, t.filled_qty, t.average_price) == (S.PARTIALLY_FILLED, D("0.75"), D(101))
    assert sm.positions() == {("binance", "BTCUSDT"): D("0.75")}
    with pytest.raises(ValueError, match="already tracked"):
        sm.restore(_order(), intent_id=3, state=S.NEW, venue_order_id=None, fills=(), replaces=None)


def test_restore_pending_and_unknown_and_terminal(sm: OrderStateMachine) -> None:
    a = sm.restore(
        _order("a"),
        intent_id=1,
        state=S.PENDING_CANCEL,
        venue_order_id="v",
        fills=(),
        replaces=None,
    )
    assert (a.state, a.pending) == (S.PENDING_CANCEL, "cancel")
    b = sm.restore(
        _order("b"), intent_id=2, state=S.UNKNOWN, venue_order_id=None, fills=(), replaces=None
    )
    assert (b.state, b.doubt) == (S.UNKNOWN, "place")
    sm.apply(_r(K.ACK, "b"))
    assert b.state is S.NEW
    c = sm.restore(
        _order("c", qty="1"),
        intent_id=3,
        state=S.CANCELED,
        venue_order_id="v",
        fills=[FillInfo("t1", D("0.4"), D(100)), FillInfo("t1", D("0.5"), D(100))],
        replaces="a",
    )
    assert (c.state, c.filled_qty, c.replaces) == (S.CANCELED, D("0.4"), "a")
    assert _kinds(sm) == [AlarmKind.UNKNOWN_TRADE]


def test_positions_are_signed_by_side(sm: OrderStateMachine) -> None:
    _tracked(sm, "b1", qty="2")
    _tracked(sm, "s1", qty="2", side=Side.SELL)
    _tracked(sm, "e1", qty="2", symbol="ETHUSDT")
    sm.apply(_fill("t1", "1.5", cid="b1"))
    sm.apply(_fill("t2", "0.25", cid="s1"))
    sm.apply(_fill("t2", "0.25", cid="s1"))
    sm.apply(_fill("t1", "2", cid="e1"))  # trade ids are per order: a self-trade shares one
    assert sm.positions() == {
        ("binance", "BTCUSDT"): D("1.25"),
        ("binance", "ETHUSDT"): D(2),
    }


def test_alarm_callback_receives_alarms_and_cannot_break_the_machine() -> None:
    seen: list[Alarm] = []

    def boom(alarm: Alarm) -> None:
        seen.append(alarm)
        raise RuntimeError("user bug")

    sm = OrderStateMachine(on_alarm=boom)
    t = sm.track(_order(), intent_id=1)
    sm.apply(_fill("t1", "2"))
    assert t.state is S.FILLED
    assert seen == sm.alarms
    assert seen[0] == Alarm(AlarmKind.OVERFILL, "binance", "c1", seen[0].detail)


def test_restore_keeps_fills_the_venue_reported_but_not_yet_fetched(
    sm: OrderStateMachine,
) -> None:
    # The venue said FILLED 0.15 (no trade ids), the process died before fetching the fills:
    # the restart must still know 0.15 is missing, so the reconciler fetches it.
    t = sm.restore(
        _order(qty="0.15"),
        intent_id=1,
        state=S.FILLED,
        venue_order_id="v1",
        fills=(),
        replaces=None,
        venue_filled_qty=D("0.15"),
    )
    assert (t.state, t.filled_qty, t.missing_fill_qty) == (S.FILLED, D(0), D("0.15"))
    sm.apply(_fill("t1", "0.15", cid="c1"))
    assert (t.filled_qty, t.missing_fill_qty) == (D("0.15"), D(0))
