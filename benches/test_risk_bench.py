"""One pre-trade check of a limit order with 1,000 open orders over 50 symbols, two ways:

- venuegate: `PreTradeRisk.check` (every limit on: qty, notional, price band, worst-case position,
  open-order counts, gross exposure, order rate), O(1) on running counters;
- naive: the same limits computed the way a hand-written check often does it, by scanning the open
  orders and positions for the symbol's open quantity, the open-order counts and the gross.

Both accept the order; the ratio shows what the running counters save.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from venuegate.model import Order, OrderType, Side
from venuegate.risk import PreTradeRisk, RiskLimits

D = Decimal
VENUE = "binance"
SYMBOLS = [f"SYM{i}USDT" for i in range(50)]
LIMITS = RiskLimits.model_validate(
    {
        "default": {
            "max_order_qty": "10",
            "max_order_notional": "100000",
            "max_position": "1000",
            "price_band_bps": "500",
        },
        "max_gross_exposure": "100000000",
        "max_open_orders": 5000,
        "max_open_orders_per_symbol": 500,
        "max_orders_per_second": 1_000_000_000,
    }
)
TOUCH = (D("100.00"), D("100.10"))


def marks(venue: str, symbol: str) -> tuple[Decimal | None, Decimal | None]:
    return TOUCH


def _order(i: int, symbol: str, side: Side) -> Order:
    return Order(
        venue=VENUE,
        symbol=symbol,
        client_order_id=f"o{i}",
        side=side,
        type=OrderType.LIMIT,
        quantity=D("0.5"),
        price=D("99.5") if side is Side.BUY else D("100.5"),
    )


OPEN = [_order(i, SYMBOLS[i % 50], Side.BUY if i % 2 else Side.SELL) for i in range(1000)]
NEW = _order(10_000, SYMBOLS[7], Side.BUY)


@pytest.mark.benchmark(group="pre-trade-check")
def test_venuegate(benchmark: Any) -> None:
    risk = PreTradeRisk(LIMITS, marks=marks)
    for o in OPEN:
        risk.on_order_open(o)
    for s in SYMBOLS:
        risk.set_position(VENUE, s, D(3))
    assert benchmark(risk.check, NEW) is None


@pytest.mark.benchmark(group="pre-trade-check")
def test_naive_scan(benchmark: Any) -> None:
    positions = {(VENUE, s): D(3) for s in SYMBOLS}
    lim = LIMITS.default
    max_qty, max_notional = lim.max_order_qty, lim.max_order_notional
    max_position, band_bps = lim.max_position, lim.price_band_bps
    max_gross = LIMITS.max_gross_exposure
    assert max_qty is not None
    assert max_notional is not None
    assert max_position is not None
    assert band_bps is not None
    assert max_gross is not None

    def check(order: Order) -> None:
        assert order.price is not None
        bid, ask = marks(order.venue, order.symbol)
        assert bid is not None
        assert ask is not None
        mid = (bid + ask) / 2
        if order.quantity > max_qty:
            raise ValueError("max_order_qty")
        if order.quantity * order.price > max_notional:
            raise ValueError("max_order_notional")
        if abs(order.price - mid) * 10000 > band_bps * mid:
            raise ValueError("price_band")
        # One pass over the open orders: open quantity per symbol and side, counts.
        buys: dict[str, Decimal] = {}
        sells: dict[str, Decimal] = {}
        count = 0
        for o in OPEN:
            side = buys if o.side is Side.BUY else sells
            side[o.symbol] = side.get(o.symbol, D(0)) + o.remaining_quantity
            count += o.symbol == order.symbol
        pos = positions[order.venue, order.symbol]
        if pos + buys.get(order.symbol, D(0)) + order.quantity > max_position:
            raise ValueError("max_position")
        if count >= 500 or len(OPEN) >= 5000:
            raise ValueError("max_open_orders")
        gross = D(0)
        for (_, symbol), p in positions.items():
            b = buys.get(symbol, D(0)) + (order.quantity if symbol == order.symbol else 0)
            gross += max(abs(p + b), abs(p - sells.get(symbol, D(0)))) * mid
        if gross > max_gross:
            raise ValueError("max_gross_exposure")

    assert benchmark(check, NEW) is None
