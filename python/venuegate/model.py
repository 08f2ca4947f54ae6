"""User-facing order types: Decimal prices and sizes, immutable records, explicit states.

The order state machine (issue: order path) moves `Order`s between `OrderState`s; here are the
types it speaks. Prices, sizes and fees are `Decimal` (never float), checked on construction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _no_float(value: object) -> object:
    # A binary float cannot carry 0.1 exactly; make the caller say what they mean.
    if isinstance(value, float):
        raise ValueError("floats are not accepted for prices and sizes: pass Decimal or str")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal")
    return value


def _positive(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError("must be a finite decimal above zero")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError("must be a finite decimal, zero or above")
    return value


FiniteDecimal = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_finite)]
"""Any finite decimal (a fee may be negative: a rebate)."""
PositiveDecimal = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_positive)]
"""A price or size: finite and above zero."""
NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_non_negative)]
"""A filled quantity: finite, zero or above."""

_STRICT_DECIMALS = ConfigDict(
    frozen=True,
    extra="forbid",
    # Strings, ints and Decimals convert exactly; floats are refused by the field types.
    allow_inf_nan=False,
)


class Side(StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells (position arithmetic)."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """Order type. Venue adapters map these to their own names or refuse what they lack."""

    LIMIT = "limit"
    MARKET = "market"
    STOP_LIMIT = "stop_limit"
    STOP_MARKET = "stop_market"


class TimeInForce(StrEnum):
    """How long an order may rest."""

    GTC = "gtc"
    """Good till canceled."""
    IOC = "ioc"
    """Immediate or cancel: fill what can be filled now, cancel the rest."""
    FOK = "fok"
    """Fill or kill: fill all now or nothing."""
    GTD = "gtd"
    """Good till a date (`Order.expire_at`)."""
    POST_ONLY = "post_only"
    """Maker only: rejected (or repriced, per venue) if it would take liquidity."""


class OrderState(StrEnum):
    """Where an order stands.

    PENDING_* states await the venue's answer; UNKNOWN is a request whose outcome was lost
    (timeout, disconnect) and is resolved by query, never by resending.
    """

    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True when nothing more can happen to the order."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """True when the order may still rest or fill at the venue (UNKNOWN counts as open)."""
        return not self.is_terminal


_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)


class Fill(BaseModel):
    """One execution, de-duplicated by (`venue`, `trade_id`)."""

    model_config = _STRICT_DECIMALS

    venue: str
    symbol: str
    client_order_id: str
    trade_id: str
    side: Side
    price: PositiveDecimal
    quantity: PositiveDecimal
    fee: FiniteDecimal = Decimal(0)
    fee_asset: str | None = None
    liquidity: str | None = Field(default=None, pattern="^(maker|taker)$")
    ts: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The de-duplication key."""
        return (self.venue, self.trade_id)

    @property
    def notional(self) -> Decimal:
        """Price * quantity, exact."""
        return self.price * self.quantity


class Order(BaseModel):
    """An order as the OMS tracks it. Immutable: a state change is a new `Order` (`evolve`)."""

    model_config = _STRICT_DECIMALS

    venue: str
    symbol: str
    client_order_id: str
    side: Side
    type: OrderType
    quantity: PositiveDecimal
    price: PositiveDecimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at: datetime | None = None
    reduce_only: bool = False
    state: OrderState = OrderState.PENDING_NEW
    venue_order_id: str | None = None
    filled_quantity: NonNegativeDecimal = Decimal(0)
    average_price: PositiveDecimal | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise ValueError(f"a {self.type} order needs a price")
        if self.time_in_force is TimeInForce.GTD and self.expire_at is None:
            raise ValueError("a GTD order needs expire_at")
        if self.filled_quantity > self.quantity:
            raise ValueError(
                f"filled quantity {self.filled_quantity} exceeds order quantity {self.quantity}"
            )
        if self.filled_quantity > 0 and self.average_price is None:
            raise ValueError("a filled quantity needs an average price")
        return self

    @property
    def remaining_quantity(self) -> Decimal:
        """Quantity not yet filled."""
        return self.quantity - self.filled_quantity

    def evolve(self, **changes: object) -> Order:
        """A copy with `changes` applied and validated (state transitions go through the OMS)."""
        return Order.model_validate({**self.model_dump(), **changes})


__all__ = [
    "Fill",
    "FiniteDecimal",
    "NonNegativeDecimal",
    "Order",
    "OrderState",
    "OrderType",
    "PositiveDecimal",
    "Side",
    "TimeInForce",
]
