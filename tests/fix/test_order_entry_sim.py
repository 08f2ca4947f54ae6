"""`OrderManager` + `FixOrderEntry` against the simulator's FIX gateways (`venuegate.sim.fix`),
each with its signed Logon, checked against the simulated exchange: place, replace (where the
venue has G), fill, status query (H), reconcile (AF, or H per order), cancel and cancel-all (q),
on Coinbase (FIXT.1.1), Kraken and Binance (FIX 4.4) and the generic FIX 4.4 venue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from venuegate.fix.order_entry import (
    BINANCE,
    COINBASE,
    GENERIC_42,
    GENERIC_44,
    KRAKEN,
    FixOnlyAdapter,
    FixOrderEntry,
    NoRest,
    OrderDialect,
)
from venuegate.fix.session import FixInitiator
from venuegate.model import OrderState, Side, TimeInForce
from venuegate.oms.engine import OrderManager
from venuegate.sim.fix import FixGatewayHandle, start_fix_gateway
from venuegate.sim.md.book import Instrument
from venuegate.sim.md.market import CATALOG
from venuegate.sim.trade.exchange import SimOrder

DIALECTS: dict[str, OrderDialect] = {
    "generic": GENERIC_44,
    "generic42": GENERIC_42,
    "coinbase": COINBASE,
    "kraken": KRAKEN,
    "binance": BINANCE,
}


async def eventually(cond: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.01)


@dataclass
class Rig:
    handle: FixGatewayHandle
    entry: FixOrderEntry
    initiator: FixInitiator
    om: OrderManager
    inst: Instrument

    def truth(self, cl_ord_id: str) -> SimOrder | None:
        return self.handle.exchange.find(self.handle.credentials.api_key, client_order_id=cl_ord_id)


def _adapter(venue: str) -> FixOnlyAdapter:
    class Adapter(FixOnlyAdapter):
        uuid_client_ids: ClassVar[bool] = True

    Adapter.venue = venue
    return Adapter()


@asynccontextmanager
async def _rig(venue: str, tmp: Path) -> AsyncIterator[Rig]:
    dialect = DIALECTS[venue]
    begin = {"begin_string": "FIX.4.2"} if venue == "generic42" else {}
    venue = venue.removesuffix("42")
    handle = await start_fix_gateway(venue, seed=7)
    inst = CATALOG.get(venue, CATALOG["binance"])[0]
    # Binance has neither H nor AF: no reconciliation over FIX (and no REST here).
    fix_reconciles = dialect.supports_status or dialect.supports_mass_status
    entry = FixOrderEntry(
        venue, dialect, timeout_s=5.0, fix_only=True, reconcile_on_logon=fix_reconciles
    )
    initiator = handle.initiator(
        entry, dialect_options=begin, reconnect_min_s=0.05, reconnect_max_s=0.2
    )
    try:
        async with OrderManager.open(
            _adapter(venue),
            NoRest(),
            journal_path=tmp / "orders.journal",
            symbols=[inst.symbol],
            private_stream=False,
            reconcile=False,
            unknown_grace_s=0.05,
        ) as om:
            entry.attach(om)
            await initiator.start()
            try:
                assert await entry.wait_ready(10.0)
                await eventually(lambda: not entry._tasks)
                yield Rig(handle, entry, initiator, om, inst)
            finally:
                await initiator.stop()
                await entry.close()
    finally:
        await handle.stop()


def go(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 30.0))


@pytest.mark.parametrize("venue", ["generic", "generic42", "coinbase", "kraken", "binance"])
def test_place_replace_fill_cancel_against_the_gateway(venue: str, tmp_path: Path) -> None:
    async def body() -> None:
        async with _rig(venue, tmp_path) as rig:
            om, entry, inst = rig.om, rig.entry, rig.inst
            bid, ask = rig.handle.exchange.touch(inst.symbol)
            size = inst.typical_size / 10
            t = await om.place(inst.symbol, Side.BUY, size, bid - inst.tick * 20)
            assert t.state is OrderState.NEW
            truth = rig.truth(t.client_order_id)
            assert truth is not None
            assert truth.status == "new"
            assert t.venue_order_id == truth.venue_order_id
            cid = t.client_order_id
            if entry.dialect.supports_replace:
                new_price = bid - inst.tick * 25
                await om.amend(cid, price=new_price)
                assert (t.state, t.price) == (OrderState.NEW, new_price)
                wire = entry.cl_ord_id(cid)
                assert wire != cid
                live = rig.truth(wire)
                assert live is not None
                assert (live.status, live.price) == ("new", new_price)
            if entry.dialect.supports_status:
                assert await om.query(cid)
                assert t.state is OrderState.NEW
            await om.cancel(cid)
            assert t.state is OrderState.CANCELED
            gone = rig.truth(entry.cl_ord_id(cid))
            assert gone is not None
            assert gone.status == "canceled"

            # A marketable IOC order: fills (exact) as the exchange recorded them.
            t2 = await om.place(inst.symbol, Side.BUY, size, ask + inst.tick * 50,
                                time_in_force=TimeInForce.IOC)  # fmt: skip
            await eventually(lambda: t2.is_terminal and t2.filled_qty > 0)
            truth2 = rig.truth(t2.client_order_id)
            assert truth2 is not None
            assert t2.filled_qty == truth2.filled
            assert t2.notional == truth2.notional
            assert sorted(f.qty for f in t2.fills.values()) == sorted(f.qty for f in truth2.fills)
            assert om.sm.alarms == []

    go(body())


@pytest.mark.parametrize("venue", ["generic", "kraken", "binance"])
def test_cancel_all_by_mass_cancel_against_the_gateway(venue: str, tmp_path: Path) -> None:
    async def body() -> None:
        async with _rig(venue, tmp_path) as rig:
            om, inst = rig.om, rig.inst
            bid, _ = rig.handle.exchange.touch(inst.symbol)
            size = inst.typical_size / 10
            ts = [await om.place(inst.symbol, Side.BUY, size, bid - inst.tick * (20 + i))
                  for i in range(3)]  # fmt: skip
            if rig.entry.dialect.supports_mass_status or rig.entry.dialect.supports_status:
                await om.cancel_all(inst.symbol)
            else:
                # Binance: no FIX reconciliation, so the manager's cancel_all (which reconciles
                # first) needs REST; the mass cancel itself goes over FIX.
                await rig.entry.cancel_all(inst.symbol)
            await eventually(lambda: all(t.state is OrderState.CANCELED for t in ts))
            for t in ts:
                truth = rig.truth(t.client_order_id)
                assert truth is not None
                assert truth.status == "canceled"

    go(body())


@pytest.mark.parametrize("venue", ["generic", "coinbase"])
def test_reconnect_reconciles_and_adopts(venue: str, tmp_path: Path) -> None:
    """A drop with an order unanswered: UNKNOWN, then after the re-logon the reconcile (AF on
    the generic venue, H per order on Coinbase) settles it; on the generic venue an order the
    journal does not know (placed by another process on the same account) is adopted."""

    async def body() -> None:
        async with _rig(venue, tmp_path) as rig:
            om, inst, handle = rig.om, rig.inst, rig.handle
            bid, _ = handle.exchange.touch(inst.symbol)
            t = await om.place(inst.symbol, Side.SELL, inst.typical_size / 10,
                               bid + inst.tick * 500)  # fmt: skip
            assert t.state is OrderState.NEW
            if venue == "generic":
                handle.exchange.place(handle.credentials.api_key, symbol=inst.symbol,
                                      side="buy", type="limit", quantity=inst.typical_size / 10,
                                      price=bid - inst.tick * 30, client_order_id="OTHER-1",
                                      tif="gtc", post_only=False)  # fmt: skip
            logons = rig.entry.logons
            session = next(iter(handle.gateway.sessions.values()))
            session.drop_connection()
            await eventually(lambda: rig.entry.logons > logons)
            await eventually(lambda: not rig.entry._tasks)
            assert t.state is OrderState.NEW
            if venue == "generic":
                other = om.sm.get("OTHER-1")
                assert other is not None
                assert other.adopted
                assert other.state is OrderState.NEW
            assert om.stats.reconciles >= 1

    go(body())
