"""What venues tell the order manager, normalised: `VenueReport`, and the alarms it raises.

Every venue adapter (REST responses, private WebSocket streams, FIX execution reports) turns the
venue's messages into `VenueReport`s; the state machine (`venuegate.oms.state`) applies them to
orders. A report never carries floats: quantities and prices are `Decimal`, parsed from the
venue's strings exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from venuegate.model import OrderState, Side

__all__ = ["Alarm", "AlarmKind", "ReportKind", "VenueReport"]


class ReportKind(StrEnum):
    """What a report says happened."""

    ACK = "ack"
    """The venue accepted the order (it rests, or is about to fill)."""
    FILL = "fill"
    """One execution (`trade_id`, `last_qty`, `last_price` set)."""
    CANCELED = "canceled"
    """The order was canceled (by us, by the venue, or the rest of an IOC)."""
    REJECTED = "rejected"
    """The venue refused the order (`reason` says why)."""
    EXPIRED = "expired"
    """The venue expired the order (GTD reached, FOK/IOC not fillable, post-only would take)."""
    AMENDED = "amended"
    """An amend took effect in place (`quantity` / `price` are the new values)."""
    STATUS = "status"
    """A query answer or a venue snapshot of the order: `state`, `quantity`, `filled_qty`."""
    NOT_FOUND = "not_found"
    """A query by client order id found no order: the venue never accepted it."""


@dataclass(frozen=True, slots=True)
class VenueReport:
    """One normalised venue statement about one order.

    Attributes:
        venue: venue name.
        client_order_id: our client order id (every adapter resolves it; venues echo it).
        kind: what happened.
        venue_order_id: the venue's order id, when known.
        symbol: the venue symbol, when the message gives it.
        side: the order side, when the message gives it.
        state: the venue's order state mapped to ours (STATUS reports; others may set it).
        quantity: the order's (current) total quantity, when given.
        price: the order's (current) limit price, when given.
        filled_qty: the venue's cumulative filled quantity, when given.
        trade_id: the venue's trade id (FILL).
        last_qty: this execution's quantity (FILL).
        last_price: this execution's price (FILL).
        fee: this execution's fee, positive = paid (FILL), when given.
        fee_asset: the fee's asset, when given.
        liquidity: "maker" or "taker", when given.
        reason: the venue's reason text for a reject, cancel or expiry.
        ts_ms: the venue's event time in ms since the epoch, when given (0 when not).
    """

    venue: str
    client_order_id: str
    kind: ReportKind
    venue_order_id: str | None = None
    symbol: str | None = None
    side: Side | None = None
    state: OrderState | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    filled_qty: Decimal | None = None
    trade_id: str | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    liquidity: str | None = None
    reason: str | None = None
    ts_ms: int = 0


class AlarmKind(StrEnum):
    """Conditions that must never pass silently."""

    OVERFILL = "overfill"
    """Fills add up to more than the order's quantity."""
    FILL_MISMATCH = "fill_mismatch"
    """The venue's cumulative filled quantity disagrees with the fills we hold."""
    UNKNOWN_ORDER = "unknown_order"
    """A report for a client order id the engine never issued (adopted, and reported)."""
    UNKNOWN_TRADE = "unknown_trade"
    """A fill whose trade id conflicts with one already held (same id, different qty/price)."""
    ILLEGAL_TRANSITION = "illegal_transition"
    """A report that no legal transition explains (kept, not applied)."""
    REJECTED_BUT_LIVE = "rejected_but_live"
    """The venue has an order held REJECTED (an ACK, a fill, a status): the venue's evidence wins
    and the order is tracked again from it (a rejection or "not sent" we concluded was wrong)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm: logged, counted, and handed to the strategy's alarm callback."""

    kind: AlarmKind
    venue: str
    client_order_id: str
    detail: str
