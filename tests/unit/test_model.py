"""venuegate.model: Decimal-only, immutable order types and their invariants."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from venuegate.model import Fill, Order, OrderState, OrderType, Side, TimeInForce


def _order(**kw: object) -> Order:
    base: dict[str, object] = {
        "venue": "binance",
        "symbol": "BTCUSDT",
        "client_order_id": "vg-1",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": "0.5",
        "price": "67123.45",
    }
    return Order.model_validate(base | kw)


def test_orders_hold_exact_decimals_and_are_immutable() -> None:
    o = _order()
    assert o.quantity == Decimal("0.5")
    assert isinstance(o.price, Decimal)
    assert o.state is OrderState.PENDING_NEW
    assert o.remaining_quantity == Decimal("0.5")
    with pytest.raises(ValidationError):
        o.quantity = Decimal(1)  # type: ignore[misc]
    filled = o.evolve(
        filled_quantity=Decimal("0.2"),
        average_price=Decimal("67123"),
        state=OrderState.PARTIALLY_FILLED,
    )
    assert filled.remaining_quantity == Decimal("0.3")
    assert o.filled_quantity == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": 0.5}, "floats are not accepted"),
        ({"price": "NaN"}, "finite"),
        ({"quantity": "-1"}, "above zero"),
        ({"price": None}, "needs a price"),
        ({"time_in_force": TimeInForce.GTD}, "needs expire_at"),
        ({"filled_quantity": "0.6", "average_price": "1"}, "exceeds order quantity"),
        ({"filled_quantity": "0.1"}, "needs an average price"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_orders_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _order(**changes)


def test_gtd_and_market_orders() -> None:
    o = _order(time_in_force=TimeInForce.GTD, expire_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert o.expire_at is not None
    m = _order(type=OrderType.MARKET, price=None)
    assert m.price is None


def test_states() -> None:
    terminal = {s for s in OrderState if s.is_terminal}
    assert terminal == {
        OrderState.FILLED,
        OrderState.CANCELED,
        OrderState.REJECTED,
        OrderState.EXPIRED,
    }
    assert OrderState.UNKNOWN.is_open
    assert OrderState.PENDING_CANCEL.is_open
    assert {"PENDING_NEW", "PENDING_CANCEL", "PENDING_REPLACE", "UNKNOWN"} <= {
        s.name for s in OrderState
    }
    assert Side.BUY.sign == 1
    assert Side.SELL.sign == -1


def test_fills() -> None:
    f = Fill(
        venue="okx",
        symbol="BTC-USDT",
        client_order_id="c1",
        trade_id="t9",
        side=Side.SELL,
        price=Decimal("100.5"),
        quantity=Decimal("0.2"),
        fee=Decimal("-0.01"),
        liquidity="maker",
    )
    assert f.key == ("okx", "t9")
    assert f.notional == Decimal("20.10")
    with pytest.raises(ValidationError, match="floats are not accepted"):
        Fill(
            venue="okx",
            symbol="s",
            client_order_id="c",
            trade_id="t",
            side=Side.BUY,
            price=1.5,  # type: ignore[arg-type]
            quantity=Decimal(1),
        )
    with pytest.raises(ValidationError):
        Fill(
            venue="okx",
            symbol="s",
            client_order_id="c",
            trade_id="t",
            side=Side.BUY,
            price=Decimal(1),
            quantity=Decimal(1),
            liquidity="both",
        )
