"""Pre-trade risk: every new order (and amend) is checked in O(1) before it is sent.

    risk = PreTradeRisk(limits, marks=lambda venue, symbol: books[venue, symbol].touch())
    risk.check(order)            # raises RiskRejectedError(check=...) or returns None
    risk.on_order_open(order)    # the OMS, right after a passing check, before any await
    risk.on_fill(venue, symbol, side, qty, price)
    risk.on_order_closed(order, remaining_qty)

Nothing scans orders: the per-(venue, symbol) limits are resolved once, and running counters
hold positions, open buy/sell quantity, open-order counts, each symbol's worst-case exposure and
the gross, and a ring of order timestamps per venue for the rolling order rate.

Worst case: open orders count as if filled. A buy passes `max_position` when `position + open
buys + qty <= max`, a sell when `position - open sells - qty >= -max`. Gross exposure is the sum
over symbols of `max(|position + open buys|, |position - open sells|) * mark`, the mark being the
live mid (else the touch present, else the order price); a symbol's mark is refreshed whenever
that symbol is checked, filled or its orders change (`revalue()` refreshes every symbol, O(n)).
An order that does not increase its symbol's worst-case exposure is never refused for gross
exposure, so reducing orders pass even over the limit.

Every limit is inclusive: a value equal to the limit passes, anything beyond is refused.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from venuegate.errors import ConfigError, RiskRejectedError
from venuegate.model import Order, OrderType, Side
from venuegate.risk.killswitch import KillSwitch
from venuegate.risk.limits import RiskLimits, SymbolLimits

__all__ = ["Marks", "PreTradeRisk"]

log = logging.getLogger("venuegate.risk")

type Marks = Callable[[str, str], tuple[Decimal | None, Decimal | None]]
"""(venue, symbol) → (best bid, best ask) of the live book; None for a missing side or book."""

_ZERO = Decimal(0)
_TWO = Decimal(2)
_BPS = Decimal(10000)
_WINDOW_S = 1.0


class _Symbol:
    """Limits and running counters of one (venue, symbol)."""

    __slots__ = (
        "band",
        "exposure",
        "mark",
        "max_notional",
        "max_position",
        "max_qty",
        "open_buy",
        "open_count",
        "open_sell",
        "position",
    )

    def __init__(self, limits: SymbolLimits) -> None:
        self.max_qty = limits.max_order_qty
        self.max_notional = limits.max_order_notional
        self.max_position = limits.max_position
        self.band = None if limits.price_band_bps is None else limits.price_band_bps / _BPS
        self.position = _ZERO
        self.open_buy = _ZERO
        self.open_sell = _ZERO
        self.open_count = 0
        self.mark: Decimal | None = None
        self.exposure = _ZERO

    def worst(self) -> Decimal:
        return max(abs(self.position + self.open_buy), abs(self.position - self.open_sell))


class PreTradeRisk:
    """Checks orders against `RiskLimits` with running counters the OMS keeps current.

    Args:
        limits: the limits.
        marks: the live touch per (venue, symbol); needed for price bands, market-order notional
            and gross exposure (a `ConfigError` is raised if a price band is set without it).
        kill_switch: refuses every order while engaged (checked even when limits are disabled).
        clock: monotonic seconds, for the order-rate window (tests pass a fake).
    """

    def __init__(
        self,
        limits: RiskLimits,
        *,
        marks: Marks | None = None,
        kill_switch: KillSwitch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if marks is None and _uses_bands(limits):
            raise ConfigError("price_band_bps is set but PreTradeRisk has no marks (live book)")
        self.limits = limits
        self._marks = marks
        self._kill = kill_switch
        self._clock = clock
        self._enabled = limits.enabled
        self._max_gross = limits.max_gross_exposure
        self._max_open = limits.max_open_orders
        self._max_open_symbol = limits.max_open_orders_per_symbol
        self._symbols: dict[tuple[str, str], _Symbol] = {}
        self._rates: dict[str, tuple[int | None, deque[float]]] = {}
        self._open_total = 0
        self._gross = _ZERO

    # -- reading ---------------------------------------------------------------------------
    @property
    def gross_exposure(self) -> Decimal:
        """The current gross worst-case exposure (marks as last refreshed)."""
        return self._gross

    @property
    def open_orders(self) -> int:
        """Open orders counted in total."""
        return self._open_total

    def position(self, venue: str, symbol: str) -> Decimal:
        """The position counted for (`venue`, `symbol`) (base units, signed)."""
        st = self._symbols.get((venue, symbol))
        return _ZERO if st is None else st.position

    def open_quantity(self, venue: str, symbol: str) -> tuple[Decimal, Decimal]:
        """(open buy quantity, open sell quantity) counted for (`venue`, `symbol`)."""
        st = self._symbols.get((venue, symbol))
        return (_ZERO, _ZERO) if st is None else (st.open_buy, st.open_sell)

    # -- checks ----------------------------------------------------------------------------
    def check(self, order: Order) -> None:
        """Checks a new order; counts it in the venue's order rate when it passes.

        Raises:
            RiskRejectedError: `check` is one of kill_switch, max_order_qty, max_order_notional,
                no_market_data, price_band, max_position, max_open_orders,
                max_open_orders_per_symbol, max_gross_exposure, max_orders_per_second.
        """
        self._check(
            order.venue,
            order.symbol,
            order.side,
            order.type,
            order.quantity,
            order.price,
            order.quantity,
            new=True,
        )

    def check_amend(
        self, order: Order, *, quantity: Decimal | None = None, price: Decimal | None = None
    ) -> None:
        """Checks amending open `order` to total `quantity` and/or `price`.

        The new quantity and price are checked like a new order's; only the added quantity (if
        any) counts towards position and exposure; the amend counts in the order rate.

        Raises:
            RiskRejectedError: as `check` (never for the open-order counts).
        """
        qty = order.quantity if quantity is None else quantity
        if _is_float(qty) or _is_float(price):
            raise TypeError("floats are not accepted for prices and sizes: pass Decimal")
        added = max(qty - order.quantity, _ZERO)
        self._check(
            order.venue,
            order.symbol,
            order.side,
            order.type,
            qty,
            order.price if price is None else price,
            added,
            new=False,
        )

    def _check(
        self,
        venue: str,
        symbol: str,
        side: Side,
        type_: OrderType,
        qty: Decimal,
        price: Decimal | None,
        added: Decimal,
        *,
        new: bool,
    ) -> None:
        kill = self._kill
        if kill is not None and kill.triggered:
            kill.check(venue)
        if not self._enabled:
            return
        st = self._symbols.get((venue, symbol))
        if st is None:
            st = self._symbol(venue, symbol)

        if st.max_qty is not None and qty > st.max_qty:
            _reject("max_order_qty", venue, f"quantity {qty} > max {st.max_qty} for {symbol}")

        bid: Decimal | None = None
        ask: Decimal | None = None
        if self._marks is not None:
            bid, ask = self._marks(venue, symbol)
        buy = side is Side.BUY
        market = type_ is OrderType.MARKET or type_ is OrderType.STOP_MARKET
        exec_price = (ask if buy else bid) if market else price

        if st.max_notional is not None:
            if exec_price is None:
                _reject("no_market_data", venue, f"no {symbol} touch to value a market order")
            notional = qty * exec_price
            if notional > st.max_notional:
                _reject(
                    "max_order_notional",
                    venue,
                    f"notional {notional} > max {st.max_notional} for {symbol}",
                )

        if st.band is not None and (type_ is OrderType.LIMIT or type_ is OrderType.MARKET):
            self._check_band(st.band, venue, symbol, buy, market, price, bid, ask)

        if st.max_position is not None and added:
            _check_position(st, st.max_position, venue, symbol, buy, added)
        if new:
            self._check_open(st, venue, symbol)
        if self._max_gross is not None and added:
            self._check_gross(self._max_gross, st, venue, symbol, buy, added, bid, ask, exec_price)
        self._check_rate(venue)

    def _check_open(self, st: _Symbol, venue: str, symbol: str) -> None:
        if self._max_open is not None and self._open_total >= self._max_open:
            _reject("max_open_orders", venue, f"{self._open_total} orders open (max)")
        if self._max_open_symbol is not None and st.open_count >= self._max_open_symbol:
            _reject(
                "max_open_orders_per_symbol", venue, f"{st.open_count} {symbol} orders open (max)"
            )

    def _check_gross(
        self,
        max_gross: Decimal,
        st: _Symbol,
        venue: str,
        symbol: str,
        buy: bool,
        added: Decimal,
        bid: Decimal | None,
        ask: Decimal | None,
        exec_price: Decimal | None,
    ) -> None:
        mark = _mid(bid, ask)
        if mark is None:
            mark = exec_price if st.mark is None else st.mark
        if mark is None:
            _reject("no_market_data", venue, f"no {symbol} mark to value exposure")
        self._revalue(st, mark)
        if buy:
            after = max(abs(st.position + st.open_buy + added), abs(st.position - st.open_sell))
        else:
            after = max(abs(st.position + st.open_buy), abs(st.position - st.open_sell - added))
        new_exposure = after * mark
        gross = self._gross - st.exposure + new_exposure
        if gross > max_gross and new_exposure > st.exposure:
            _reject("max_gross_exposure", venue, f"gross exposure {gross} > max {max_gross}")

    def _check_rate(self, venue: str) -> None:
        rate = self._rates.get(venue)
        if rate is None:
            rate = self._rates[venue] = (self.limits.orders_per_second(venue), deque())
        limit, stamps = rate
        if limit is None:
            return
        now = self._clock()
        while stamps and now - stamps[0] >= _WINDOW_S:
            stamps.popleft()
        if len(stamps) >= limit:
            _reject("max_orders_per_second", venue, f"{limit} orders in the last second on {venue}")
        stamps.append(now)

    @staticmethod
    def _check_band(
        band: Decimal,
        venue: str,
        symbol: str,
        buy: bool,
        market: bool,
        price: Decimal | None,
        bid: Decimal | None,
        ask: Decimal | None,
    ) -> None:
        mid = _mid(bid, ask)
        if market:
            touch = ask if buy else bid
            if touch is None:
                _reject("price_band", venue, f"no live {symbol} touch for a market order")
            if mid is not None and abs(touch - mid) > band * mid:
                _reject("price_band", venue, f"{symbol} touch {touch} outside the band of {mid}")
            return
        ref = mid  # the mid, or the one touch present
        if ref is None:
            _reject("price_band", venue, f"no live {symbol} book to check the price against")
        if price is not None and abs(price - ref) > band * ref:
            _reject("price_band", venue, f"price {price} outside the band of {ref} for {symbol}")

    # -- counters the OMS keeps current ----------------------------------------------------
    def on_order_open(self, order: Order) -> None:
        """Counts `order` (its remaining quantity) as open.

        Call it right after a passing `check`, before any await, so the next check sees it.
        """
        st = self._symbol(order.venue, order.symbol)
        rem = order.remaining_quantity
        if order.side is Side.BUY:
            st.open_buy += rem
        else:
            st.open_sell += rem
        st.open_count += 1
        self._open_total += 1
        self._refresh(order.venue, order.symbol, st, order.price)

    def on_order_closed(self, order: Order, remaining_qty: Decimal) -> None:
        """Stops counting `order` (canceled, expired, rejected or filled).

        `remaining_qty` is the open quantity it still had (0 when fully filled).
        """
        st = self._symbol(order.venue, order.symbol)
        if order.side is Side.BUY:
            st.open_buy = self._less(st.open_buy, remaining_qty, order, "open buy")
        else:
            st.open_sell = self._less(st.open_sell, remaining_qty, order, "open sell")
        if st.open_count == 0 or self._open_total == 0:
            log.error("risk: %s closed with no open order counted", order.client_order_id)
        else:
            st.open_count -= 1
            self._open_total -= 1
        self._refresh(order.venue, order.symbol, st, None)

    def on_fill(
        self,
        venue: str,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        *,
        open_order: bool = True,
    ) -> None:
        """Applies one execution: the position moves by `qty`.

        With `open_order` (the fill is of an order counted open) the open quantity on that side
        shrinks by `qty` too.
        """
        st = self._symbol(venue, symbol)
        if side is Side.BUY:
            st.position += qty
            if open_order:
                st.open_buy = self._less(st.open_buy, qty, symbol, "open buy")
        else:
            st.position -= qty
            if open_order:
                st.open_sell = self._less(st.open_sell, qty, symbol, "open sell")
        self._refresh(venue, symbol, st, price)

    def on_amend(self, order: Order, new_quantity: Decimal) -> None:
        """Applies an in-place amend of open `order` (before the amend) to total `new_quantity`."""
        st = self._symbol(order.venue, order.symbol)
        delta = new_quantity - order.quantity
        if order.side is Side.BUY:
            st.open_buy = self._less(st.open_buy, -delta, order, "open buy")
        else:
            st.open_sell = self._less(st.open_sell, -delta, order, "open sell")
        self._refresh(order.venue, order.symbol, st, None)

    def set_position(
        self, venue: str, symbol: str, position: Decimal, mark: Decimal | None = None
    ) -> None:
        """Sets a position outright (start-up, reconciliation against the venue's balances)."""
        st = self._symbol(venue, symbol)
        st.position = position
        self._refresh(venue, symbol, st, mark)

    def revalue(self) -> Decimal:
        """Re-marks every symbol from the live book (O(symbols); call it periodically).

        Returns:
            The gross exposure.
        """
        for (venue, symbol), st in self._symbols.items():
            self._refresh(venue, symbol, st, None)
        return self._gross

    def reset_rate(self) -> None:
        """Forgets the order-rate windows."""
        self._rates.clear()

    # -- internals -------------------------------------------------------------------------
    def _symbol(self, venue: str, symbol: str) -> _Symbol:
        st = self._symbols.get((venue, symbol))
        if st is None:
            st = self._symbols[venue, symbol] = _Symbol(self.limits.for_symbol(venue, symbol))
        return st

    def _refresh(self, venue: str, symbol: str, st: _Symbol, fallback: Decimal | None) -> None:
        mark: Decimal | None = None
        if self._marks is not None:
            mark = _mid(*self._marks(venue, symbol))
        if mark is None:
            mark = st.mark if st.mark is not None else fallback
        if mark is not None:
            self._revalue(st, mark)

    def _revalue(self, st: _Symbol, mark: Decimal) -> None:
        st.mark = mark
        exposure = st.worst() * mark
        self._gross += exposure - st.exposure
        st.exposure = exposure

    @staticmethod
    def _less(value: Decimal, qty: Decimal, what: object, name: str) -> Decimal:
        out = value - qty
        if out < 0:
            label = what.client_order_id if isinstance(what, Order) else what
            log.error("risk: %s quantity would go negative (%s) for %s", name, out, label)
            return _ZERO
        return out


def _check_position(
    st: _Symbol, max_position: Decimal, venue: str, symbol: str, buy: bool, added: Decimal
) -> None:
    if buy:
        worst = st.position + st.open_buy + added
        if worst > max_position:
            _reject("max_position", venue, f"worst-case {symbol} position {worst} > {max_position}")
    else:
        worst = st.position - st.open_sell - added
        if -worst > max_position:
            _reject(
                "max_position", venue, f"worst-case {symbol} position {worst} < -{max_position}"
            )


def _is_float(value: object) -> bool:
    return isinstance(value, float)


def _mid(bid: Decimal | None, ask: Decimal | None) -> Decimal | None:
    if bid is not None and ask is not None:
        return (bid + ask) / _TWO
    if bid is not None:
        return bid
    return ask


def _reject(check: str, venue: str, message: str) -> NoReturn:
    raise RiskRejectedError(f"{check}: {message}", check=check, venue=venue)


def _uses_bands(limits: RiskLimits) -> bool:
    if limits.default.price_band_bps is not None:
        return True
    return any(
        lim.price_band_bps is not None for per in limits.symbols.values() for lim in per.values()
    )
