"""The order state machine: applies `VenueReport`s and our own requests to tracked orders.

One `OrderStateMachine` per engine, called only from the event-loop thread (single writer, no
locks). It holds `TrackedOrder`s, plain mutable slotted dataclasses: the hot path builds no
pydantic object per report; `TrackedOrder.snapshot()` gives users an immutable `Order`.

Venues deliver their messages out of order (REST answers race the private stream, streams
reconnect, queries answer late), so every rule here gives the same result whatever the order of
the reports that describe one venue history. The transition table users read is
`docs/ORDER_STATES.md`; the rules in short:

* Fills are de-duplicated by trade id (per order, so the two orders of a self-trade may share
  one), summed exactly, and never dropped: a fill after CANCELED/EXPIRED is accounted while the
  state stays terminal; a fill that completes the quantity makes the order FILLED from any state
  but REJECTED; a fill beyond the quantity raises OVERFILL and is kept.
* State only moves forward (PENDING_NEW/UNKNOWN < NEW < PARTIALLY_FILLED < terminal). The
  documented exceptions: our own requests (PENDING_CANCEL / PENDING_REPLACE and back when the
  request fails, UNKNOWN when its outcome is lost), and CANCELED/EXPIRED -> FILLED when late
  fills complete the quantity.
* Anything no legal transition explains raises an `Alarm` and is not applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Literal

from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.oms.types import Alarm, AlarmKind, ReportKind, VenueReport
from venuegate.venues.base import Amend

__all__ = [
    "AVERAGE_PRICE_PRECISION",
    "Doubt",
    "FillInfo",
    "OrderStateMachine",
    "Pending",
    "RequestKind",
    "RequestOutcome",
    "TrackedOrder",
    "Transition",
]

_log = logging.getLogger("venuegate.oms.state")

type Pending = Literal["cancel", "replace"]
"""A request of ours awaiting the venue's answer."""
type Doubt = Literal["place", "cancel", "amend"]
"""Which request's lost outcome put an order in UNKNOWN."""
type RequestKind = Literal["place", "cancel", "amend"]
"""What a failed request was."""
type RequestOutcome = Literal["rejected", "unknown", "not_sent"]
"""How a request failed: refused by the venue, outcome lost, or never left the process."""

AVERAGE_PRICE_PRECISION = 34
"""Significant digits of `TrackedOrder.average_price` (exact whenever the quotient fits)."""

# Sums and products of fills are exact: 200 digits hold any two operands of up to 100 digits.
_EXACT = Context(prec=200, rounding=ROUND_HALF_EVEN)
_AVERAGE = Context(prec=AVERAGE_PRICE_PRECISION, rounding=ROUND_HALF_EVEN)
_ZERO = Decimal(0)

_S = OrderState
_PRE_ACK = frozenset({_S.PENDING_NEW, _S.UNKNOWN})
_OPEN_AT_VENUE = frozenset(
    {_S.PENDING_NEW, _S.NEW, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.PENDING_REPLACE}
)


@dataclass(frozen=True, slots=True)
class FillInfo:
    """One execution of a tracked order.

    Attributes:
        trade_id: the venue's trade id (the de-duplication key, with the order's venue).
        qty: executed quantity.
        price: execution price.
        fee: fee paid (negative: a rebate), when the venue gave it.
        fee_asset: the fee's asset, when given.
        liquidity: "maker" or "taker", when given.
        ts_ms: the venue's execution time in ms since the epoch (0 when not given).
    """

    trade_id: str
    qty: Decimal
    price: Decimal
    fee: Decimal | None = None
    fee_asset: str | None = None
    liquidity: str | None = None
    ts_ms: int = 0

    @property
    def notional(self) -> Decimal:
        """Price * quantity, exact."""
        return _EXACT.multiply(self.qty, self.price)


@dataclass(slots=True, eq=False)
class TrackedOrder:
    """An order as the state machine holds it: mutable, written only by `OrderStateMachine`.

    Attributes:
        venue: venue name.
        symbol: venue symbol.
        client_order_id: our client order id (the machine's key).
        side: order side.
        type: order type.
        quantity: current total quantity (amends change it).
        price: current limit price (amends change it).
        time_in_force: time in force.
        expire_at: GTD expiry.
        reduce_only: reduce-only flag.
        intent_id: the journal intent that created the order (None for adopted orders).
        state: where the order stands.
        pending: our cancel or replace request awaiting its answer, if any. A cancel requested
            before the venue acknowledged the order is recorded here while the state stays
            PENDING_NEW / UNKNOWN; the ACK then shows PENDING_CANCEL.
        pending_amend: the amend awaiting its answer (with `pending == "replace"`).
        doubt: which request's lost outcome made the order UNKNOWN (None otherwise).
        acked: True once the venue showed it has the order (ACK, fill, STATUS, cancel...).
        venue_order_id: the venue's order id, when known.
        filled_qty: sum of the distinct fills held (exact).
        notional: sum of price * quantity over those fills (exact).
        average_price: notional / filled_qty (`AVERAGE_PRICE_PRECISION` digits), None unfilled.
        fills: the fills held, by trade id.
        venue_filled_qty: the highest cumulative filled quantity the venue reported.
        missing_fill_qty: venue_filled_qty - filled_qty when positive: fills the reconciler
            must fetch (never invented here). Normal for a moment (a venue's status or
            cumulative count can run ahead of its fills listing); a `FILL_MISMATCH` alarm only
            when a complete fills fetch that covered the order still leaves it
            (`fill_gap_alarm`).
        fill_gap_ns: wall-clock time (ns) `missing_fill_qty` last became positive (0: none).
        replaces: the client order id this order replaces (cancel-replace chains).
        replaced_by: the client order id of this order's replacement.
        adopted: True for orders found at the venue that the journal did not know.
        reason: the last reject / cancel / expiry / failure reason.
        updated_ns: wall-clock time (ns) of the last change.
    """

    venue: str
    symbol: str
    client_order_id: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at: datetime | None = None
    reduce_only: bool = False
    intent_id: int | None = None
    state: OrderState = OrderState.PENDING_NEW
    pending: Pending | None = None
    pending_amend: Amend | None = None
    doubt: Doubt | None = None
    acked: bool = False
    venue_order_id: str | None = None
    filled_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    average_price: Decimal | None = None
    fills: dict[str, FillInfo] = field(default_factory=dict)
    venue_filled_qty: Decimal | None = None
    missing_fill_qty: Decimal = _ZERO
    fill_gap_ns: int = 0
    replaces: str | None = None
    replaced_by: str | None = None
    adopted: bool = False
    reason: str | None = None
    updated_ns: int = 0

    @property
    def remaining_qty(self) -> Decimal:
        """Quantity not yet filled (zero or below when overfilled)."""
        return self.quantity - self.filled_qty

    @property
    def is_terminal(self) -> bool:
        """True when the order is FILLED, CANCELED, REJECTED or EXPIRED."""
        return self.state.is_terminal

    def snapshot(self) -> Order:
        """An immutable `venuegate.model.Order` of the order as it stands.

        An overfilled order (an OVERFILL alarm was raised) cannot pass `Order`'s validation
        (filled above quantity): its snapshot is built unvalidated, showing the true figures.
        """
        data: dict[str, object] = {
            "venue": self.venue,
            "symbol": self.symbol,
            "client_order_id": self.client_order_id,
            "side": self.side,
            "type": self.type,
            "quantity": self.quantity,
            "price": self.price,
            "time_in_force": self.time_in_force,
            "expire_at": self.expire_at,
            "reduce_only": self.reduce_only,
            "state": self.state,
            "venue_order_id": self.venue_order_id,
            "filled_quantity": self.filled_qty,
            "average_price": self.average_price,
        }
        if self.filled_qty > self.quantity:
            return Order.model_construct(**data)  # type: ignore[arg-type]
        return Order.model_validate(data)


@dataclass(frozen=True, slots=True)
class Transition:
    """What applying one report or request did.

    Attributes:
        order: the tracked order (live object, not a copy).
        old_state: its state before.
        new_state: its state after.
        new_fill: the fill this report added, if it added one.
        changed: True when anything about the order changed (journal it); False when the report
            was refused or had no effect but raised an alarm.
    """

    order: TrackedOrder
    old_state: OrderState
    new_state: OrderState
    new_fill: FillInfo | None
    changed: bool


def _fingerprint(t: TrackedOrder) -> tuple[object, ...]:
    return (
        t.state,
        t.filled_qty,
        t.quantity,
        t.price,
        t.venue_order_id,
        t.venue_filled_qty,
        t.pending,
        t.pending_amend,
        t.doubt,
        t.acked,
        t.reason,
        t.replaced_by,
    )


def _open_state(t: TrackedOrder) -> OrderState:
    """The state of an open order from its evidence (FIX precedence: pending beats filled)."""
    if t.filled_qty > 0 or (t.venue_filled_qty is not None and t.venue_filled_qty > 0):
        base = _S.PARTIALLY_FILLED
    elif t.acked:
        base = _S.NEW
    else:
        return _S.PENDING_NEW
    if t.pending == "cancel":
        return _S.PENDING_CANCEL
    if t.pending == "replace":
        return _S.PENDING_REPLACE
    return base


def _fill_target(t: TrackedOrder) -> Decimal:
    """The filled quantity that completes the order.

    An amend in flight that raises the quantity defers completion until its answer.
    """
    a = t.pending_amend
    if t.pending == "replace" and a is not None and a.quantity is not None:
        return max(t.quantity, a.quantity)
    return t.quantity


def _from_order(
    order: Order, *, intent_id: int | None, replaces: str | None, now: int
) -> TrackedOrder:
    return TrackedOrder(
        venue=order.venue,
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        quantity=order.quantity,
        price=order.price,
        time_in_force=order.time_in_force,
        expire_at=order.expire_at,
        reduce_only=order.reduce_only,
        intent_id=intent_id,
        replaces=replaces,
        updated_ns=now,
    )


class OrderStateMachine:
    """Every tracked order and the rules that move it.

    Args:
        on_alarm: called with every alarm raised (also appended to `alarms`); an exception it
            raises is logged, never propagated into the state machine.
        clock: the wall clock for `TrackedOrder.updated_ns` (tests inject one).
    """

    def __init__(
        self,
        *,
        on_alarm: Callable[[Alarm], None] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._orders: dict[str, TrackedOrder] = {}
        self._positions: dict[tuple[str, str], Decimal] = {}
        self._on_alarm = on_alarm
        self._clock = clock
        self.alarms: list[Alarm] = []
        self._gaps: set[str] = set()  # orders with fills still to fetch
        self._gaps_alarmed: set[str] = set()

    # -- lookup ---------------------------------------------------------------------------
    def get(self, client_order_id: str) -> TrackedOrder | None:
        """The tracked order with this client order id, or None."""
        return self._orders.get(client_order_id)

    def orders(self) -> list[TrackedOrder]:
        """Every tracked order, in tracking order."""
        return list(self._orders.values())

    def fill_gaps(self) -> list[TrackedOrder]:
        """Orders the venue reports more filled than the fills held, not yet alarmed."""
        gaps = [
            self._orders[c] for c in self._gaps if c not in self._gaps_alarmed and c in self._orders
        ]
        return sorted(gaps, key=lambda t: t.fill_gap_ns)

    def has_fill_gaps(self, symbol: str | None = None) -> bool:
        """True while some order (on `symbol`, or any) misses fills the venue reported."""
        return any(
            symbol is None or (c in self._orders and self._orders[c].symbol == symbol)
            for c in self._gaps
        )

    def fill_gap_alarm(self, client_order_id: str, detail: str) -> None:
        """Raises `FILL_MISMATCH` for missing fills a complete fills fetch did not find.

        Once per order; nothing when no fill is missing any more.
        """
        t = self._require(client_order_id)
        if client_order_id in self._gaps_alarmed or t.missing_fill_qty <= 0:
            return
        self._gaps_alarmed.add(client_order_id)
        self._alarm(
            AlarmKind.FILL_MISMATCH,
            t.venue,
            client_order_id,
            f"venue reports {t.venue_filled_qty} filled, fills held add up to {t.filled_qty}"
            f" ({detail})",
        )

    def open_orders(self) -> list[TrackedOrder]:
        """Orders that may still rest or fill at the venue (non-terminal, UNKNOWN included)."""
        return [t for t in self._orders.values() if not t.state.is_terminal]

    def unknown_orders(self) -> list[TrackedOrder]:
        """Orders in UNKNOWN: the reconciler queries them (never resends)."""
        return [t for t in self._orders.values() if t.state is _S.UNKNOWN]

    def positions(self) -> dict[tuple[str, str], Decimal]:
        """Net filled quantity by (venue, symbol), signed by side, from every recorded fill.

        Fills of CANCELED, REJECTED and overfilled orders count: a fill is never dropped.
        """
        return dict(self._positions)

    # -- our requests ---------------------------------------------------------------------
    def track(
        self, order: Order, *, intent_id: int | None, replaces: str | None = None
    ) -> TrackedOrder:
        """Tracks a new intent in PENDING_NEW, before its request is sent.

        Raises:
            ValueError: the client order id is already tracked, or `order` is not a new order
                (use `restore` for orders with history).
        """
        cid = order.client_order_id
        if cid in self._orders:
            raise ValueError(f"client order id {cid!r} is already tracked")
        if order.state is not _S.PENDING_NEW or order.filled_quantity != 0:
            raise ValueError(f"track() takes a new order; {cid!r} is {order.state}: use restore()")
        t = _from_order(order, intent_id=intent_id, replaces=replaces, now=self._clock())
        self._orders[cid] = t
        return t

    def link_replacement(
        self, old_client_order_id: str, new_order: Order, intent_id: int | None
    ) -> TrackedOrder:
        """Tracks the order replacing `old_client_order_id` on a cancel-replace venue.

        The new order starts PENDING_NEW with `replaces` set; the old one gets `replaced_by`
        and ends when the venue reports it CANCELED. If the replace request then fails
        (`request_failed(old, "amend", ...)`), the replacement follows: rejected / not sent
        -> REJECTED, unknown -> UNKNOWN.

        Raises:
            ValueError: the old order is unknown, terminal or already replaced, or the new
                client order id is taken.
        """
        old = self._require(old_client_order_id)
        if old.replaced_by is not None:
            raise ValueError(f"{old_client_order_id!r} is already replaced by {old.replaced_by!r}")
        if old.state.is_terminal:
            raise ValueError(f"cannot replace {old_client_order_id!r}: it is {old.state}")
        new = self.track(new_order, intent_id=intent_id, replaces=old_client_order_id)
        old.replaced_by = new.client_order_id
        old.updated_ns = new.updated_ns
        return new

    def request_cancel(self, client_order_id: str) -> Transition:
        """Records that a cancel is being sent.

        NEW / PARTIALLY_FILLED / PENDING_REPLACE -> PENDING_CANCEL. From PENDING_NEW or UNKNOWN
        the flag is recorded and the state kept (the ACK then shows PENDING_CANCEL).

        Raises:
            ValueError: unknown client order id, or the order is terminal.
        """
        t = self._require(client_order_id)
        if t.state.is_terminal:
            raise ValueError(f"cannot cancel {client_order_id!r}: it is {t.state}")
        old, before = t.state, _fingerprint(t)
        t.pending = "cancel"
        self._settle(t, resolve=False)
        return self._request_done(t, old, before)

    def request_replace(self, client_order_id: str, amend: Amend) -> Transition:
        """Records that an amend (in place or cancel-replace) is being sent: -> PENDING_REPLACE.

        Raises:
            ValueError: unknown client order id; the order is not NEW / PARTIALLY_FILLED (not
                yet acknowledged, terminal, UNKNOWN, or a cancel or amend already in flight);
                or the amend changes nothing.
        """
        t = self._require(client_order_id)
        if t.state not in (_S.NEW, _S.PARTIALLY_FILLED):
            raise ValueError(f"cannot amend {client_order_id!r} in state {t.state}")
        if amend.quantity is None and amend.price is None:
            raise ValueError("an amend needs a new quantity or a new price")
        old, before = t.state, _fingerprint(t)
        t.pending = "replace"
        t.pending_amend = amend
        self._settle(t, resolve=False)
        return self._request_done(t, old, before)

    def request_failed(
        self,
        client_order_id: str,
        what: RequestKind,
        outcome: RequestOutcome,
        reason: str,
    ) -> Transition:
        """Records that a request of ours failed.

        * place: rejected or not sent -> REJECTED; unknown -> UNKNOWN (the reconciler queries).
          If the venue already reported the order (ACK, fill...), an unknown outcome changes
          nothing and a rejection raises ILLEGAL_TRANSITION, not applied.
        * cancel / amend, rejected or not sent: the pending flag is cleared and the order goes
          back to its underlying state (NEW, PARTIALLY_FILLED, or FILLED when fills completed
          it meanwhile).
        * cancel / amend, unknown: the request may have canceled or changed the order, so a
          non-terminal order goes UNKNOWN (resolved by STATUS, or by the venue's CANCELED /
          AMENDED / completing fills); a terminal order stays as it is (nothing to change).

        Raises:
            ValueError: unknown client order id.
        """
        t = self._require(client_order_id)
        old, before = t.state, _fingerprint(t)
        if what == "place":
            self._place_failed(t, outcome, reason)
        else:
            if t.pending == ("cancel" if what == "cancel" else "replace"):
                t.pending = None
            if what == "amend":
                t.pending_amend = None
                self._replacement_follows(t, outcome, reason)
            if outcome == "unknown" and not t.state.is_terminal:
                t.state = _S.UNKNOWN
                t.doubt = what
                t.reason = reason
            else:
                self._settle(t, resolve=False)
            if what == "amend":
                self._check_overfill(t)  # an amend in flight may have deferred the alarm
        return self._request_done(t, old, before)

    # -- restore and adopt ----------------------------------------------------------------
    def restore(
        self,
        order: Order,
        *,
        intent_id: int | None,
        state: OrderState,
        venue_order_id: str | None,
        fills: Iterable[FillInfo],
        replaces: str | None,
        replaced_by: str | None = None,
        adopted: bool = False,
        reason: str | None = None,
        venue_filled_qty: Decimal | None = None,
        venue_filled_ns: int | None = None,
    ) -> TrackedOrder:
        """Rebuilds a tracked order from the journal: its last recorded state and its fills.

        `order` gives the terms (its `state` / `filled_quantity` are ignored: `state` and
        `fills` are the record). Fills are re-added with the usual rules, so a fill journaled
        after the last state record still moves the state forward (and duplicates, conflicts
        and overfills still alarm). A restored PENDING_CANCEL / PENDING_REPLACE keeps its
        pending flag (the amend's terms are not known: the reconciler queries); a restored
        UNKNOWN doubts the place when no venue order id or fill is known, else the amend.
        `venue_filled_qty` (the journal's `venue_filled`) restores the venue's reported
        cumulative fill, so fills still to fetch stay `missing_fill_qty` across a restart;
        `venue_filled_ns` (the record's time, when the gap already existed) keeps its age.

        Raises:
            ValueError: the client order id is already tracked.
        """
        cid = order.client_order_id
        if cid in self._orders:
            raise ValueError(f"client order id {cid!r} is already tracked")
        t = _from_order(order, intent_id=intent_id, replaces=replaces, now=self._clock())
        t.state = state
        t.venue_order_id = venue_order_id
        t.replaced_by = replaced_by
        t.adopted = adopted
        t.reason = reason
        t.acked = state not in _PRE_ACK or venue_order_id is not None
        if state is _S.PENDING_CANCEL:
            t.pending = "cancel"
        elif state is _S.PENDING_REPLACE:
            t.pending = "replace"
        self._orders[cid] = t
        for f in fills:
            self._add_fill(t, f)
        if venue_filled_qty is not None:  # fills the venue reported that are still to fetch
            self._venue_filled(t, venue_filled_qty)
            if t.fill_gap_ns and venue_filled_ns:
                t.fill_gap_ns = min(t.fill_gap_ns, venue_filled_ns)
        if t.fills and state is not _S.REJECTED:
            t.acked = True
        if state is _S.UNKNOWN:
            t.doubt = "amend" if t.acked else "place"
        self._settle(t, resolve=False)
        self._check_overfill(t)
        return t

    def adopt(self, report: VenueReport) -> TrackedOrder:
        """Tracks an order found at the venue that the journal does not know.

        Then applies `report` to it, and raises one UNKNOWN_ORDER alarm ("adopted").
        The report (STATUS, ACK or FILL) must give symbol, side and the order's quantity; the
        type is LIMIT when it gives a price, else MARKET. The order gets `intent_id=None` and
        `adopted=True`.

        Raises:
            ValueError: the id is already tracked, the report kind cannot describe an order,
                or fields are missing.
        """
        cid = report.client_order_id
        if cid in self._orders:
            raise ValueError(f"client order id {cid!r} is already tracked")
        if report.kind not in (ReportKind.STATUS, ReportKind.ACK, ReportKind.FILL):
            raise ValueError(f"cannot adopt an order from a {report.kind} report")
        if report.symbol is None or report.side is None or report.quantity is None:
            raise ValueError("adopting needs the report's symbol, side and quantity")
        order = Order(
            venue=report.venue,
            symbol=report.symbol,
            client_order_id=cid,
            side=report.side,
            type=OrderType.LIMIT if report.price is not None else OrderType.MARKET,
            quantity=report.quantity,
            price=report.price,
        )
        t = _from_order(order, intent_id=None, replaces=None, now=self._clock())
        t.adopted = True
        self._orders[cid] = t
        self._alarm(
            AlarmKind.UNKNOWN_ORDER, t.venue, cid, f"adopted from a venue {report.kind} report"
        )
        self.apply(report)
        return t

    # -- venue reports --------------------------------------------------------------------
    def apply(self, report: VenueReport) -> Transition | None:
        """Applies one venue report.

        Returns:
            The transition; None when the report changed nothing and raised no alarm (a pure
            duplicate, a late ACK, a cancel ack after the final fill), or when the client order
            id is not tracked (an UNKNOWN_ORDER alarm is raised: `adopt` it instead).
        """
        t = self._orders.get(report.client_order_id)
        if t is None or t.venue != report.venue:
            held = "" if t is None else f" (tracked on {t.venue})"
            self._alarm(
                AlarmKind.UNKNOWN_ORDER,
                report.venue,
                report.client_order_id,
                f"{report.kind} report for an order not tracked{held}",
            )
            return None
        old, before, n_alarms = t.state, _fingerprint(t), len(self.alarms)
        if report.venue_order_id is not None and t.venue_order_id is None:
            t.venue_order_id = report.venue_order_id
        new_fill: FillInfo | None = None
        kind = report.kind
        if kind is ReportKind.FILL:
            new_fill = self._on_fill(t, report)
        elif kind is ReportKind.ACK:
            self._on_ack(t)
        elif kind is ReportKind.CANCELED:
            self._on_end(t, report, _S.CANCELED)
        elif kind is ReportKind.EXPIRED:
            self._on_end(t, report, _S.EXPIRED)
        elif kind is ReportKind.STATUS:
            self._on_status(t, report)
        elif kind is ReportKind.REJECTED:
            self._on_rejected(t, report.reason or "rejected by the venue")
        elif kind is ReportKind.NOT_FOUND:
            self._on_not_found(t, report)
        else:  # AMENDED
            self._on_amended(t, report)
        changed = new_fill is not None or _fingerprint(t) != before
        if not changed and len(self.alarms) == n_alarms:
            return None
        if changed:
            t.updated_ns = self._clock()
        return Transition(t, old, t.state, new_fill, changed)

    # -- rules ----------------------------------------------------------------------------
    def _on_fill(self, t: TrackedOrder, r: VenueReport) -> FillInfo | None:
        if (
            r.trade_id is None
            or r.last_qty is None
            or r.last_price is None
            or not r.last_qty.is_finite()
            or not r.last_price.is_finite()
            or r.last_qty <= 0
            or r.last_price <= 0
        ):
            self._alarm(
                AlarmKind.ILLEGAL_TRANSITION,
                t.venue,
                t.client_order_id,
                f"malformed fill (trade {r.trade_id}, qty {r.last_qty}, price {r.last_price})",
            )
            return None
        fill = FillInfo(
            trade_id=r.trade_id,
            qty=r.last_qty,
            price=r.last_price,
            fee=r.fee,
            fee_asset=r.fee_asset,
            liquidity=r.liquidity,
            ts_ms=r.ts_ms,
        )
        if not self._add_fill(t, fill):
            return None
        if r.filled_qty is not None:
            self._venue_filled(t, r.filled_qty)
        if t.state is _S.REJECTED:
            self._revive(t, f"fill {fill.trade_id}")
        t.acked = True
        self._settle(t, resolve=t.doubt == "place")
        self._check_overfill(t)
        return fill

    def _on_ack(self, t: TrackedOrder) -> None:
        if t.state is _S.REJECTED:
            self._revive(t, "ACK")
        if t.state.is_terminal:
            return
        t.acked = True
        self._settle(t, resolve=t.doubt == "place")

    def _on_end(self, t: TrackedOrder, r: VenueReport, end: OrderState) -> None:
        if r.filled_qty is not None:
            self._final_count_check(t, r.filled_qty, end)
            self._venue_filled(t, r.filled_qty)
        if t.state is _S.REJECTED:
            self._revive(t, str(end))
        if t.state.is_terminal:
            return  # FILLED stays FILLED; the first of CANCELED / EXPIRED is kept
        self._end(t, end, r.reason)

    def _on_rejected(self, t: TrackedOrder, reason: str) -> None:
        if t.state is _S.REJECTED:
            return
        if t.acked or t.state.is_terminal:
            self._alarm(
                AlarmKind.ILLEGAL_TRANSITION,
                t.venue,
                t.client_order_id,
                f"REJECTED ({reason}) for an order held {t.state} (not applied)",
            )
            return
        self._end(t, _S.REJECTED, reason)

    def _on_not_found(self, t: TrackedOrder, r: VenueReport) -> None:
        if t.state is _S.REJECTED:
            return
        if t.acked or t.state.is_terminal:
            self._alarm(
                AlarmKind.ILLEGAL_TRANSITION,
                t.venue,
                t.client_order_id,
                f"venue has no order held {t.state} (not applied)",
            )
            return
        reason = "never reached the venue"
        self._end(t, _S.REJECTED, f"{reason}: {r.reason}" if r.reason else reason)

    def _on_amended(self, t: TrackedOrder, r: VenueReport) -> None:
        quantity = t.quantity if r.quantity is None else r.quantity
        price = t.price if r.price is None else r.price
        if t.state.is_terminal:
            if quantity != t.quantity or price != t.price:
                self._alarm(
                    AlarmKind.ILLEGAL_TRANSITION,
                    t.venue,
                    t.client_order_id,
                    f"AMENDED (qty {quantity}, price {price}) for an order held {t.state}"
                    " (not applied)",
                )
            return
        resolve = t.doubt == "amend"
        t.quantity = quantity
        t.price = price
        t.acked = True
        if t.pending == "replace":
            t.pending = None
        t.pending_amend = None
        if t.filled_qty > quantity:
            self._alarm(
                AlarmKind.OVERFILL,
                t.venue,
                t.client_order_id,
                f"amended quantity {quantity} is below the filled {t.filled_qty}",
            )
        self._settle(t, resolve=resolve)

    def _on_status(self, t: TrackedOrder, r: VenueReport) -> None:
        quantity = t.quantity
        counted = max(t.filled_qty, t.venue_filled_qty or _ZERO)  # before this report
        if not t.state.is_terminal:
            if r.quantity is not None and r.quantity > 0:
                t.quantity = r.quantity
            if r.price is not None and r.price > 0:
                t.price = r.price
        s = r.state
        if r.filled_qty is not None:
            # Above the fills held: fills still to fetch (`missing_fill_qty`; alarmed only if a
            # fetch cannot find them). Below, on a live order: a report older than fills held
            # (reports can cross in flight). Below in a terminal report: the venue's final
            # count disagrees with fills held, which no later report can mend.
            if s is not None and s.is_terminal:
                self._final_count_check(t, r.filled_qty, s)
            self._venue_filled(t, r.filled_qty)
        if t.state is _S.REJECTED and s is not None and s not in (_S.UNKNOWN, _S.REJECTED):
            self._revive(t, f"status {s}")
        if s is None or s is _S.UNKNOWN:
            self._settle(t, resolve=False)
        elif s.is_terminal:
            self._status_terminal(t, s, r.reason)
        elif t.state is _S.FILLED and (r.filled_qty is None or r.filled_qty <= counted):
            # Older than what is held (a query answer crossing the stream's fill, a report
            # delivered late): FILLED is final and the report counts no fill beyond it.
            _log.debug(
                "stale %s report for %s order %s held FILLED (ignored)", s, t.venue,
                t.client_order_id,
            )  # fmt: skip
        elif t.state.is_terminal:
            self._alarm(
                AlarmKind.ILLEGAL_TRANSITION,
                t.venue,
                t.client_order_id,
                f"venue says {s}, held {t.state} (not applied)",
            )
        else:
            t.acked = True
            self._settle(t, resolve=True)
        if t.quantity != quantity:
            self._check_overfill(t)

    def _status_terminal(self, t: TrackedOrder, s: OrderState, reason: str | None) -> None:
        if t.state.is_terminal:
            if s is not t.state:
                self._alarm(
                    AlarmKind.ILLEGAL_TRANSITION,
                    t.venue,
                    t.client_order_id,
                    f"venue says {s}, held {t.state} (kept)",
                )
        elif s is _S.REJECTED:
            self._on_rejected(t, reason or "rejected by the venue")
        else:
            self._end(t, s, reason)

    # -- helpers --------------------------------------------------------------------------
    def _revive(self, t: TrackedOrder, evidence: str) -> None:
        """An order held REJECTED turns out to exist at the venue: track it again.

        REJECTED is terminal only as long as nothing contradicts it: a rejection or a "not sent"
        the engine concluded (a refusal it misread, a request it thought never left) can be
        wrong, and then the venue's ACK, fill or status is the truth. The order goes back to
        the open state its fills give (the caller then applies the report), with an alarm.
        """
        self._alarm(
            AlarmKind.REJECTED_BUT_LIVE,
            t.venue,
            t.client_order_id,
            f"{evidence} for an order held REJECTED ({t.reason}): tracked again from the venue",
        )
        t.state = _S.PARTIALLY_FILLED if t.filled_qty > 0 else _S.NEW
        t.acked = True
        t.doubt = None

    def _place_failed(self, t: TrackedOrder, outcome: RequestOutcome, reason: str) -> None:
        if t.acked or t.state not in _PRE_ACK:
            if outcome != "unknown" and t.state is not _S.REJECTED:
                self._alarm(
                    AlarmKind.ILLEGAL_TRANSITION,
                    t.venue,
                    t.client_order_id,
                    f"place {outcome} ({reason}) for an order held {t.state} (not applied)",
                )
            return
        if outcome == "unknown":
            t.state = _S.UNKNOWN
            t.doubt = "place"
            t.reason = reason
        else:
            self._end(t, _S.REJECTED, reason if outcome == "rejected" else f"not sent: {reason}")

    def _replacement_follows(self, t: TrackedOrder, outcome: RequestOutcome, reason: str) -> None:
        new = None if t.replaced_by is None else self._orders.get(t.replaced_by)
        if new is None or new.acked or new.state not in _PRE_ACK:
            return
        before = _fingerprint(new)
        self._place_failed(new, outcome, f"replace of {t.client_order_id} failed: {reason}")
        if outcome != "unknown":
            t.replaced_by = None
        if _fingerprint(new) != before:
            new.updated_ns = self._clock()

    def _end(self, t: TrackedOrder, end: OrderState, reason: str | None) -> None:
        t.state = end
        t.pending = None
        t.pending_amend = None
        t.doubt = None
        if end is not _S.REJECTED:
            t.acked = True
        if reason is not None:
            t.reason = reason

    def _settle(self, t: TrackedOrder, *, resolve: bool) -> None:
        """Recomputes the state from the evidence.

        FILLED when the fills complete the quantity (from any state but REJECTED), else the
        open state; terminal states stay, and UNKNOWN stays unless `resolve`.
        """
        if t.state is not _S.REJECTED and t.filled_qty >= _fill_target(t):
            t.state = _S.FILLED
            t.pending = None
            t.pending_amend = None
            t.doubt = None
            return
        if t.state.is_terminal or (t.state is _S.UNKNOWN and not resolve):
            return
        t.doubt = None
        t.state = _open_state(t)

    def _add_fill(self, t: TrackedOrder, fill: FillInfo) -> bool:
        held = t.fills.get(fill.trade_id)
        if held is not None:
            if held.qty != fill.qty or held.price != fill.price:
                self._alarm(
                    AlarmKind.UNKNOWN_TRADE,
                    t.venue,
                    t.client_order_id,
                    f"trade {fill.trade_id} again with qty {fill.qty} @ {fill.price}, held "
                    f"{held.qty} @ {held.price} (first kept)",
                )
            return False
        t.fills[fill.trade_id] = fill
        t.filled_qty = _EXACT.add(t.filled_qty, fill.qty)
        t.notional = _EXACT.add(t.notional, _EXACT.multiply(fill.qty, fill.price))
        t.average_price = _AVERAGE.divide(t.notional, t.filled_qty)
        if t.venue_filled_qty is not None:
            self._missing(t)
        key = (t.venue, t.symbol)
        signed = fill.qty if t.side is Side.BUY else -fill.qty
        self._positions[key] = _EXACT.add(self._positions.get(key, _ZERO), signed)
        return True

    def _final_count_check(self, t: TrackedOrder, cumulative: Decimal, end: OrderState) -> None:
        """A final report counting fewer fills than held: no later report can mend it."""
        if cumulative < t.filled_qty:
            self._alarm(
                AlarmKind.FILL_MISMATCH,
                t.venue,
                t.client_order_id,
                f"venue reports {cumulative} filled in its final {end} report, below the"
                f" {t.filled_qty} held",
            )

    def _venue_filled(self, t: TrackedOrder, cumulative: Decimal) -> None:
        grew = t.venue_filled_qty is None or cumulative > t.venue_filled_qty
        if grew:
            t.venue_filled_qty = cumulative
        self._missing(t)
        if grew and t.missing_fill_qty > 0:
            # The gap's age is that of its newest part: fills reported just now may not be
            # in the venue's listing yet, whatever the age of the older part.
            t.fill_gap_ns = self._clock()

    def _missing(self, t: TrackedOrder) -> None:
        venue = t.venue_filled_qty if t.venue_filled_qty is not None else t.filled_qty
        t.missing_fill_qty = max(_ZERO, venue - t.filled_qty)
        cid = t.client_order_id
        if t.missing_fill_qty > 0:
            if cid not in self._gaps:
                self._gaps.add(cid)
                t.fill_gap_ns = self._clock()
        elif cid in self._gaps:
            self._gaps.discard(cid)
            self._gaps_alarmed.discard(cid)  # a later gap is a new one
            t.fill_gap_ns = 0

    def _check_overfill(self, t: TrackedOrder) -> None:
        if t.filled_qty > _fill_target(t):
            self._alarm(
                AlarmKind.OVERFILL,
                t.venue,
                t.client_order_id,
                f"filled {t.filled_qty} exceeds the quantity {t.quantity}",
            )

    def _require(self, client_order_id: str) -> TrackedOrder:
        t = self._orders.get(client_order_id)
        if t is None:
            raise ValueError(f"client order id {client_order_id!r} is not tracked")
        return t

    def _request_done(
        self, t: TrackedOrder, old: OrderState, before: tuple[object, ...]
    ) -> Transition:
        changed = _fingerprint(t) != before
        if changed:
            t.updated_ns = self._clock()
        return Transition(t, old, t.state, None, changed)

    def _alarm(self, kind: AlarmKind, venue: str, client_order_id: str, detail: str) -> None:
        alarm = Alarm(kind, venue, client_order_id, detail)
        self.alarms.append(alarm)
        _log.warning("alarm %s on %s %s: %s", kind, venue, client_order_id, detail)
        if self._on_alarm is not None:
            try:
                self._on_alarm(alarm)
            except Exception:
                _log.exception("on_alarm callback raised on %s", alarm)
