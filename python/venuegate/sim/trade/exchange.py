"""`SimExchange`: one venue's matching engine for the simulator's trading side.

Venue-agnostic: the venue API modules (`venuegate.sim.trade.<venue>`) translate the venue's
wire formats into these calls and the results back. Orders match with price-time priority
against a simulated external book (a seeded random walk of the touch with random level sizes):
a marketable order takes liquidity level by level (several fills), what is left rests (GTC/GTD),
is canceled (IOC) or the whole order expires (FOK when the book cannot fill all of it). Each
`step()` moves the market; resting orders the opposite touch crosses fill as maker, often in
part.

Every venue event is appended to the ledger (JSON lines, flushed per line) — the simulator's
independent record the chaos run compares the engine's journal with:

    {"event": "accepted", "client_order_id": "...", "venue_order_id": "...", "symbol": ..,
     "side": "buy", "qty": "0.01", "price": "43000.1", "replaces": null, "ts_ms": ...}
    {"event": "fill", ..., "trade_id": "...", "qty": "0.004", "price": "43000.1"}
    {"event": "amended" | "canceled" | "expired" | "rejected", ...}
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Literal

from venuegate.sim.md.book import Instrument
from venuegate.sim.md.market import CATALOG

__all__ = [
    "ExecEvent",
    "Ledger",
    "RejectReason",
    "SimExchange",
    "SimFill",
    "SimOrder",
    "SimReject",
]

type SideName = Literal["buy", "sell"]
type OrderKind = Literal["limit", "market"]
type Tif = Literal["gtc", "ioc", "fok", "gtd"]
type Status = Literal["new", "partially_filled", "filled", "canceled", "rejected", "expired"]
type EventName = Literal["new", "fill", "amended", "canceled", "expired", "rejected", "replaced"]

_OPEN: frozenset[str] = frozenset({"new", "partially_filled"})


class RejectReason(StrEnum):
    """Why the exchange refused a request (venue modules map these to their codes)."""

    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    UNKNOWN_SYMBOL = "unknown_symbol"
    BAD_QUANTITY = "bad_quantity"
    BAD_PRICE = "bad_price"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_CLOSED = "order_closed"
    BAD_AMEND = "bad_amend"
    MAINTENANCE = "maintenance"


class SimReject(Exception):
    """The exchange refused a request; nothing changed."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SimFill:
    """One execution of one of our orders."""

    trade_id: str
    venue_order_id: str
    client_order_id: str
    symbol: str
    side: SideName
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Literal["maker", "taker"]
    ts_ms: int


@dataclass(slots=True)
class SimOrder:
    """An order at the venue (kept after it closes, for queries)."""

    venue_order_id: str
    client_order_id: str
    account: str
    symbol: str
    side: SideName
    type: OrderKind
    tif: Tif
    post_only: bool
    price: Decimal | None
    quantity: Decimal
    created_ms: int
    updated_ms: int
    expire_at_ms: int | None = None
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: Status = "new"
    replaces: str | None = None
    fills: list[SimFill] = field(default_factory=list)
    seq: int = 0

    @property
    def remaining(self) -> Decimal:
        """Unfilled quantity."""
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        """True while it rests."""
        return self.status in _OPEN

    @property
    def average_price(self) -> Decimal | None:
        """Volume-weighted fill price."""
        return self.notional / self.filled if self.filled else None


@dataclass(frozen=True, slots=True)
class ExecEvent:
    """What a private stream reports: `order` is a snapshot taken when the event happened."""

    name: EventName
    order: SimOrder
    fill: SimFill | None = None


class Ledger:
    """The venue's own event record, JSON lines, flushed per line (survives our crashes)."""

    def __init__(self, path: str | Path | None) -> None:
        self._fh: IO[str] | None = (
            open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - held until close()
        )
        self.events: list[dict[str, object]] = []
        self.keep = path is None

    def write(
        self,
        event: str,
        order: SimOrder,
        *,
        public_id: Callable[[str, str], str] | None = None,
        **extra: object,
    ) -> None:
        """Appends one event (`public_id` maps exchange ids to the venue's spelling)."""
        vid = order.venue_order_id
        if public_id is not None:
            vid = public_id("order", vid) if vid else vid
            if isinstance(extra.get("trade_id"), str):
                extra["trade_id"] = public_id("trade", str(extra["trade_id"]))
        rec: dict[str, object] = {
            "event": event,
            "venue": "",
            "client_order_id": order.client_order_id,
            "venue_order_id": vid,
            "symbol": order.symbol,
            "side": order.side,
            "ts_ms": order.updated_ms,
        }
        rec.update(extra)
        if self.keep:
            self.events.append(rec)
        if self._fh is not None:
            self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self._fh.flush()

    def close(self) -> None:
        """Closes the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass(slots=True)
class _Market:
    inst: Instrument
    mid_ticks: int
    half_spread_ticks: int
    sizes: list[Decimal]


class SimExchange:
    """One venue's matching engine.

    Args:
        venue: venue name (ledger records and ids).
        seed: seed of the market walk and fill sizes.
        instruments: the venue's instruments (default: `venuegate.sim.md.market.CATALOG`).
        ledger: where venue events are recorded (None: kept in memory only).
        clock_ms: the venue's clock.
        maker_fee / taker_fee: fee rates (fees are paid in the quote asset).
    """

    def __init__(
        self,
        venue: str,
        *,
        seed: int = 1,
        instruments: Iterable[Instrument] | None = None,
        ledger: Ledger | None = None,
        clock_ms: Callable[[], int] | None = None,
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.002"),
        post_only_rejects: bool = True,
    ) -> None:
        self.venue = venue
        self._rng = random.Random(seed)
        insts = tuple(instruments) if instruments is not None else CATALOG.get(venue, ())
        if not insts:
            insts = CATALOG["binance"]
        self.instruments: Mapping[str, Instrument] = {i.symbol: i for i in insts}
        self._markets = {
            i.symbol: _Market(i, int(i.start_price / i.tick), 2, self._level_sizes(i))
            for i in insts
        }
        self.ledger = ledger or Ledger(None)
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.post_only_rejects = post_only_rejects
        self._orders: dict[str, SimOrder] = {}  # venue order id → order
        self._by_client: dict[tuple[str, str], SimOrder] = {}  # (account, client id) → order
        self._open: dict[str, dict[str, SimOrder]] = {s: {} for s in self.instruments}
        self._order_ids = 10_000_000
        self._trade_ids = 50_000_000
        self._seq = 0
        self._listeners: dict[str, list[Callable[[ExecEvent], None]]] = {}
        self.maintenance = False
        self.stats: dict[str, int] = {}
        self.public_id: Callable[[str, str], str] = lambda _kind, value: value
        """How the venue spells ids on the wire ("order" / "trade", exchange id → venue id);
        set by the venue API so the ledger speaks the venue's ids (Kraken `O…`/`T…`)."""

    # -- market --------------------------------------------------------------------------
    def _level_sizes(self, inst: Instrument) -> list[Decimal]:
        return [self._size(inst) for _ in range(10)]

    def _size(self, inst: Instrument) -> Decimal:
        units = self._rng.randint(2, 20)
        return (inst.typical_size * units / 10).quantize(inst.lot, rounding=ROUND_DOWN)

    def touch(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) of the external book."""
        m = self._markets[symbol]
        t = m.inst.tick
        return (m.mid_ticks - m.half_spread_ticks) * t, (m.mid_ticks + m.half_spread_ticks) * t

    def _levels(self, symbol: str, side: SideName) -> list[tuple[Decimal, Decimal]]:
        """External liquidity an order of `side` would take: (price, size) best first."""
        m = self._markets[symbol]
        bid, ask = self.touch(symbol)
        t = m.inst.tick
        if side == "buy":
            return [(ask + i * t, s) for i, s in enumerate(m.sizes)]
        return [(bid - i * t, s) for i, s in enumerate(m.sizes)]

    def step(self) -> list[ExecEvent]:
        """Moves every market one step; crossed resting orders fill (as maker)."""
        events: list[ExecEvent] = []
        for symbol, m in self._markets.items():
            m.mid_ticks += self._rng.choice((-2, -1, -1, 0, 1, 1, 2))
            m.mid_ticks = max(m.mid_ticks, 10 * m.half_spread_ticks + 10)
            i = self._rng.randrange(len(m.sizes))
            m.sizes[i] = self._size(m.inst)
            bid, ask = self.touch(symbol)
            for order in sorted(self._open[symbol].values(), key=lambda o: o.seq):
                if order.price is None:
                    continue
                if (order.side == "buy" and ask <= order.price) or (
                    order.side == "sell" and bid >= order.price
                ):
                    avail = self._size(m.inst)
                    qty = min(order.remaining, max(avail, m.inst.lot))
                    if self._rng.random() < 0.5:
                        qty = order.remaining
                    events.extend(self._fill(order, qty, order.price, "maker"))
            events.extend(self._expire_due(symbol))
        return events

    def _expire_due(self, symbol: str) -> list[ExecEvent]:
        now = self._clock_ms()
        out: list[ExecEvent] = []
        for order in list(self._open[symbol].values()):
            if order.expire_at_ms is not None and order.expire_at_ms <= now:
                out.append(self._close(order, "expired"))
        return out

    # -- orders --------------------------------------------------------------------------
    def subscribe(self, account: str, listener: Callable[[ExecEvent], None]) -> Callable[[], None]:
        """Calls `listener` with every event of `account`'s orders; returns the unsubscriber."""
        self._listeners.setdefault(account, []).append(listener)

        def unsubscribe() -> None:
            lst = self._listeners.get(account, [])
            if listener in lst:
                lst.remove(listener)

        return unsubscribe

    def _emit(self, ev: ExecEvent, account: str) -> ExecEvent:
        for listener in list(self._listeners.get(account, ())):
            listener(ev)
        return ev

    def _snapshot(self, order: SimOrder) -> SimOrder:
        return replace(order, fills=list(order.fills))

    def _inst(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise SimReject(RejectReason.UNKNOWN_SYMBOL, symbol)
        return inst

    def _check_numbers(self, inst: Instrument, qty: Decimal, price: Decimal | None) -> None:
        if qty <= 0 or qty % inst.lot != 0:
            raise SimReject(RejectReason.BAD_QUANTITY, f"{qty} is not a multiple of {inst.lot}")
        if price is not None and (price <= 0 or price % inst.tick != 0):
            raise SimReject(RejectReason.BAD_PRICE, f"{price} is not a multiple of {inst.tick}")

    def place(
        self,
        account: str,
        *,
        symbol: str,
        side: SideName,
        type: OrderKind,
        quantity: Decimal,
        client_order_id: str,
        price: Decimal | None = None,
        tif: Tif = "gtc",
        post_only: bool = False,
        expire_at_ms: int | None = None,
        replaces: str | None = None,
    ) -> tuple[SimOrder, list[ExecEvent]]:
        """Places an order; returns its snapshot after matching and the events it produced.

        Raises:
            SimReject: refused (nothing recorded except a `rejected` ledger line for orders
                refused on their merits; a duplicate client id is not a new order and leaves
                no ledger line).
        """
        if (account, client_order_id) in self._by_client:
            raise SimReject(RejectReason.DUPLICATE_CLIENT_ID, client_order_id)
        try:
            return self._place(
                account, symbol, side, type, quantity, client_order_id, price, tif, post_only,
                expire_at_ms, replaces,
            )  # fmt: skip
        except SimReject:
            self.reject_new(account, client_order_id, symbol, side)
            raise

    def _place(
        self,
        account: str,
        symbol: str,
        side: SideName,
        type: OrderKind,
        quantity: Decimal,
        client_order_id: str,
        price: Decimal | None,
        tif: Tif,
        post_only: bool,
        expire_at_ms: int | None,
        replaces: str | None,
    ) -> tuple[SimOrder, list[ExecEvent]]:
        if self.maintenance:
            raise SimReject(RejectReason.MAINTENANCE)
        inst = self._inst(symbol)
        if type == "limit" and price is None:
            raise SimReject(RejectReason.BAD_PRICE, "a limit order needs a price")
        self._check_numbers(inst, quantity, price)
        now = self._clock_ms()
        self._order_ids += 1
        self._seq += 1
        order = SimOrder(
            venue_order_id=str(self._order_ids),
            client_order_id=client_order_id,
            account=account,
            symbol=symbol,
            side=side,
            type=type,
            tif=tif,
            post_only=post_only,
            price=price if type == "limit" else None,
            quantity=quantity,
            created_ms=now,
            updated_ms=now,
            expire_at_ms=expire_at_ms,
            replaces=replaces,
            seq=self._seq,
        )
        levels = self._levels(symbol, side)
        crosses = type == "market" or (
            price is not None
            and (
                (side == "buy" and levels[0][0] <= price)
                or (side == "sell" and levels[0][0] >= price)
            )
        )
        if post_only and crosses and self.post_only_rejects:
            raise SimReject(RejectReason.POST_ONLY_WOULD_TAKE)
        self._orders[order.venue_order_id] = order
        self._by_client[(account, client_order_id)] = order
        self.ledger.write(
            "accepted",
            order,
            public_id=self.public_id,
            venue=self.venue,
            qty=str(quantity),
            price=None if price is None else str(price),
            replaces=replaces,
        )
        self._count("accepted")
        events = [self._emit(ExecEvent("new", self._snapshot(order)), account)]
        if post_only and crosses:
            events.append(self._close(order, "expired"))
            return self._snapshot(order), events
        if crosses:
            takeable = [
                (p, s)
                for p, s in levels
                if price is None or (p <= price if side == "buy" else p >= price)
            ]
            if tif == "fok" and sum((s for _, s in takeable), Decimal(0)) < quantity:
                events.append(self._close(order, "expired"))
                return self._snapshot(order), events
            for p, s in takeable:
                if order.remaining <= 0:
                    break
                events.extend(self._fill(order, min(s, order.remaining), p, "taker"))
        if order.is_open and (type == "market" or tif in ("ioc", "fok")):
            events.append(self._close(order, "canceled" if tif != "fok" else "expired"))
        elif order.is_open:
            self._open[symbol][order.venue_order_id] = order
        return self._snapshot(order), events

    def _fill(
        self, order: SimOrder, qty: Decimal, price: Decimal, liquidity: Literal["maker", "taker"]
    ) -> list[ExecEvent]:
        if qty <= 0:
            return []
        self._trade_ids += 1
        rate = self.maker_fee if liquidity == "maker" else self.taker_fee
        fill = SimFill(
            trade_id=str(self._trade_ids),
            venue_order_id=order.venue_order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=(qty * price * rate).quantize(Decimal("0.00000001")),
            fee_asset="QUOTE",
            liquidity=liquidity,
            ts_ms=self._clock_ms(),
        )
        order.filled += qty
        order.notional += qty * price
        order.fills.append(fill)
        order.updated_ms = fill.ts_ms
        order.status = "filled" if order.remaining == 0 else "partially_filled"
        if order.status == "filled":
            self._open[order.symbol].pop(order.venue_order_id, None)
        self.ledger.write(
            "fill",
            order,
            public_id=self.public_id,
            venue=self.venue,
            trade_id=fill.trade_id,
            qty=str(qty),
            price=str(price),
            liquidity=liquidity,
        )
        self._count("fill")
        return [self._emit(ExecEvent("fill", self._snapshot(order), fill), order.account)]

    def _close(self, order: SimOrder, status: Literal["canceled", "expired"]) -> ExecEvent:
        order.status = status
        order.updated_ms = self._clock_ms()
        self._open[order.symbol].pop(order.venue_order_id, None)
        self.ledger.write(
            status, order, public_id=self.public_id, venue=self.venue, filled=str(order.filled)
        )
        self._count(status)
        return self._emit(ExecEvent(status, self._snapshot(order)), order.account)

    def reject_new(self, account: str, client_order_id: str, symbol: str, side: SideName) -> None:
        """Records a `rejected` ledger line for a new order refused on its merits."""
        now = self._clock_ms()
        order = SimOrder("", client_order_id, account, symbol, side, "limit", "gtc", False,
                         None, Decimal(0), now, now)  # fmt: skip
        self.ledger.write("rejected", order, venue=self.venue, venue_order_id=None)
        self._count("rejected")

    def _count(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    def find(
        self,
        account: str,
        *,
        client_order_id: str | None = None,
        venue_order_id: str | None = None,
    ) -> SimOrder | None:
        """An order (open or closed) by either id."""
        if venue_order_id is not None:
            o = self._orders.get(venue_order_id)
            return o if o is not None and o.account == account else None
        if client_order_id is not None:
            return self._by_client.get((account, client_order_id))
        return None

    def _open_order(
        self, account: str, client_order_id: str | None, venue_order_id: str | None
    ) -> SimOrder:
        order = self.find(account, client_order_id=client_order_id, venue_order_id=venue_order_id)
        if order is None:
            raise SimReject(RejectReason.UNKNOWN_ORDER)
        if not order.is_open:
            raise SimReject(RejectReason.ORDER_CLOSED, order.status)
        return order

    def cancel(
        self,
        account: str,
        *,
        client_order_id: str | None = None,
        venue_order_id: str | None = None,
    ) -> tuple[SimOrder, list[ExecEvent]]:
        """Cancels an open order."""
        order = self._open_order(account, client_order_id, venue_order_id)
        ev = self._close(order, "canceled")
        return self._snapshot(order), [ev]

    def cancel_all(self, account: str, symbol: str | None = None) -> list[SimOrder]:
        """Cancels every open order of `account` (on `symbol`); returns their snapshots."""
        out: list[SimOrder] = []
        for sym, book in self._open.items():
            if symbol is not None and sym != symbol:
                continue
            for order in sorted(book.values(), key=lambda o: o.seq):
                if order.account == account:
                    self._close(order, "canceled")
                    out.append(self._snapshot(order))
        return out

    def amend(
        self,
        account: str,
        *,
        client_order_id: str | None = None,
        venue_order_id: str | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> tuple[SimOrder, list[ExecEvent]]:
        """Amends a resting limit order in place.

        A price change or size increase loses time priority. A new quantity at or below the filled
        quantity is refused (BAD_AMEND).
        """
        if self.maintenance:
            raise SimReject(RejectReason.MAINTENANCE)
        order = self._open_order(account, client_order_id, venue_order_id)
        inst = self._inst(order.symbol)
        new_qty = order.quantity if quantity is None else quantity
        new_price = order.price if price is None else price
        self._check_numbers(inst, new_qty, new_price)
        if new_qty <= order.filled:
            raise SimReject(RejectReason.BAD_AMEND, "new quantity not above the filled quantity")
        if new_price is not None and order.post_only:
            level = self._levels(order.symbol, order.side)[0][0]
            if (order.side == "buy" and level <= new_price) or (
                order.side == "sell" and level >= new_price
            ):
                raise SimReject(RejectReason.POST_ONLY_WOULD_TAKE)
        if new_price != order.price or new_qty > order.quantity:
            self._seq += 1
            order.seq = self._seq
        order.quantity = new_qty
        order.price = new_price
        order.updated_ms = self._clock_ms()
        self.ledger.write(
            "amended",
            order,
            public_id=self.public_id,
            venue=self.venue,
            qty=str(new_qty),
            price=None if new_price is None else str(new_price),
        )
        self._count("amended")
        events = [self._emit(ExecEvent("amended", self._snapshot(order)), account)]
        return self._snapshot(order), events

    def cancel_replace(
        self,
        account: str,
        *,
        new_client_order_id: str,
        quantity: Decimal,
        price: Decimal | None,
        client_order_id: str | None = None,
        venue_order_id: str | None = None,
        tif: Tif = "gtc",
        post_only: bool = False,
    ) -> tuple[SimOrder, SimOrder, list[ExecEvent]]:
        """Cancels an open order and places its replacement atomically: both happen or neither.

        This is Binance cancelReplace STOP_ON_FAILURE.
        """
        if self.maintenance:
            raise SimReject(RejectReason.MAINTENANCE)
        old = self._open_order(account, client_order_id, venue_order_id)
        if (account, new_client_order_id) in self._by_client:
            raise SimReject(RejectReason.DUPLICATE_CLIENT_ID, new_client_order_id)
        self._check_numbers(self._inst(old.symbol), quantity, price)
        events = [self._close(old, "canceled")]
        new, more = self.place(
            account,
            symbol=old.symbol,
            side=old.side,
            type="limit" if price is not None else "market",
            quantity=quantity,
            price=price,
            client_order_id=new_client_order_id,
            tif=tif,
            post_only=post_only,
            replaces=old.client_order_id,
        )
        return self._snapshot(old), new, events + more

    def open_orders(self, account: str, symbol: str | None = None) -> list[SimOrder]:
        """Open orders of `account`, oldest first."""
        out = [
            self._snapshot(o)
            for sym, book in self._open.items()
            if symbol is None or sym == symbol
            for o in book.values()
            if o.account == account
        ]
        return sorted(out, key=lambda o: int(o.venue_order_id))

    def trades(self, account: str, symbol: str | None = None, since_ms: int = 0) -> list[SimFill]:
        """Executions of `account` since `since_ms`, oldest first."""
        out = [
            f
            for o in self._orders.values()
            if o.account == account and (symbol is None or o.symbol == symbol)
            for f in o.fills
            if f.ts_ms >= since_ms
        ]
        return sorted(out, key=lambda f: int(f.trade_id))

    def orders(self, account: str) -> list[SimOrder]:
        """Every order of `account`, open or closed."""
        return [self._snapshot(o) for o in self._orders.values() if o.account == account]
