"""Fidelity of the simulator's HTX API, proven by a client nobody here wrote: ccxt (async and
ccxt.pro), unchanged, pointed at the simulator. Every value is checked against the simulator's
exchange (its truth).

ccxt signs with its `hostname` ("api.huobi.pro"), as the simulator verifies; only the base URLs
are pointed at loopback.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from tests.sim.conftest import run
from venuegate.sim.trade import TradeSim

SYM = "BTC/USDT"
INST = "btcusdt"


def client(sim: TradeSim) -> Any:
    cred = sim.credentials("htx")
    ex = ccxtpro.htx(
        {
            "apiKey": cred.api_key,
            "secret": cred.secret,
            "options": {
                "fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}}
            },
        }
    )
    rest = sim.rest_url("htx")
    for name in ("status", "spot", "public", "private", "v2Public", "v2Private"):
        ex.urls["api"][name] = rest
    ex.urls["api"]["ws"]["api"]["spot"]["private"] = sim.private_ws_url("htx")
    return ex


def test_ccxt_rest_orders_and_trades() -> None:  # noqa: PLR0915 - one scenario
    async def go() -> None:  # noqa: PLR0915 - one scenario
        async with TradeSim(["htx"], seed=5, profile="none", step_hz=0) as sim:
            truth_ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key
            ex = client(sim)
            try:
                markets = await ex.load_markets()
                m = markets[SYM]
                assert m["id"] == INST
                assert m["spot"]
                inst = truth_ex.instruments[INST]
                assert Decimal(str(m["precision"]["price"])) == inst.tick
                assert Decimal(str(m["precision"]["amount"])) == inst.lot

                bid, ask = truth_ex.touch(INST)
                price = float(bid - 20 * inst.tick)
                order = await ex.create_order(SYM, "limit", "buy", 0.01, price)
                truth = truth_ex.find(acct, venue_order_id=order["id"])
                assert truth is not None
                assert truth.status == "new"
                assert (truth.quantity, truth.price) == (Decimal("0.01"), bid - 20 * inst.tick)

                fetched = await ex.fetch_order(order["id"], SYM)
                assert fetched["status"] == "open"
                assert fetched["clientOrderId"] == truth.client_order_id
                assert Decimal(str(fetched["price"])) == truth.price
                assert Decimal(str(fetched["amount"])) == truth.quantity

                # HTX has no amend: ccxt's edit_order cancels, then places a new order.
                new_price = float(bid - 30 * inst.tick)
                edited = await ex.edit_order(order["id"], SYM, "limit", "buy", 0.02, new_price)
                old = truth_ex.find(acct, venue_order_id=order["id"])
                assert old is not None
                assert old.status == "canceled"
                new = truth_ex.find(acct, venue_order_id=edited["id"])
                assert new is not None
                assert new.status == "new"
                assert (new.quantity, new.price) == (Decimal("0.02"), bid - 30 * inst.tick)

                opened = await ex.fetch_open_orders(SYM)
                assert [o["id"] for o in opened] == [edited["id"]]

                await ex.cancel_order(edited["id"], SYM)
                new = truth_ex.find(acct, venue_order_id=edited["id"])
                assert new is not None
                assert new.status == "canceled"
                assert (await ex.fetch_order(edited["id"], SYM))["status"] == "canceled"

                taker = await ex.create_order(
                    SYM, "limit", "buy", 0.01, float(ask + 5), {"timeInForce": "IOC"}
                )
                fills = truth_ex.trades(acct, INST)
                assert fills
                assert all(f.venue_order_id == taker["id"] for f in fills)
                mine = await ex.fetch_my_trades(SYM)
                assert sorted(t["id"] for t in mine) == sorted(f.trade_id for f in fills)
                for t in mine:
                    f = next(f for f in fills if f.trade_id == t["id"])
                    assert Decimal(str(t["amount"])) == f.qty
                    assert Decimal(str(t["price"])) == f.price
                    assert Decimal(str(t["fee"]["cost"])) == f.fee
                    assert t["order"] == taker["id"]
                    assert t["takerOrMaker"] == "taker"

                for _ in range(2):
                    await ex.create_order(SYM, "limit", "sell", 0.01, float(ask + 50))
                await ex.cancel_all_orders(SYM)
                assert truth_ex.open_orders(acct) == []
            finally:
                await ex.close()

    run(go(), timeout=20)


def test_ccxt_pro_watch_orders_and_my_trades() -> None:
    async def go() -> None:
        async with TradeSim(["htx"], seed=6, profile="none", step_hz=0) as sim:
            truth_ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key
            ex = client(sim)
            try:
                await ex.load_markets()
                watching = asyncio.create_task(ex.watch_orders(SYM))
                trades_task = asyncio.create_task(ex.watch_my_trades(SYM))
                await asyncio.sleep(0.2)  # auth + subscribe round trips on loopback
                _, ask = truth_ex.touch(INST)
                placed = await ex.create_order(
                    SYM, "limit", "buy", 0.01, float(ask + 5), {"timeInForce": "IOC"}
                )
                truth = truth_ex.find(acct, venue_order_id=placed["id"])
                assert truth is not None
                assert truth.fills
                seen = await asyncio.wait_for(watching, 5)
                assert seen
                assert all(o["id"] == placed["id"] for o in seen)
                trades = await asyncio.wait_for(trades_task, 5)
                ids = {f.trade_id for f in truth.fills}
                assert trades
                assert {t["id"] for t in trades} <= ids
                for t in trades:
                    f = next(f for f in truth.fills if f.trade_id == t["id"])
                    assert Decimal(str(t["amount"])) == f.qty
                    assert Decimal(str(t["price"])) == f.price
                updates = list(seen)

                def final(o: dict[str, Any]) -> bool:
                    return Decimal(str(o["filled"] or 0)) == truth.filled and o["status"] in (
                        "closed",
                        "canceled",
                    )

                for _ in range(10):
                    if final(updates[-1]):
                        break
                    updates += await asyncio.wait_for(ex.watch_orders(SYM), 5)
                last = updates[-1]
                assert Decimal(str(last["filled"])) == truth.filled
                assert last["status"] == ("closed" if truth.status == "filled" else "canceled")
            finally:
                await ex.close()

    run(go(), timeout=20)
