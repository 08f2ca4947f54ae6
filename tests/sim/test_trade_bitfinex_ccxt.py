"""Fidelity of the simulator's Bitfinex API, proven by a client nobody here wrote: ccxt (async
and ccxt.pro), unchanged, pointed at the simulator. Every value is checked against the
simulator's exchange (its truth)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from tests.sim.conftest import run
from venuegate.sim.trade import TradeSim

SYM = "BTC/USD"
INST = "tBTCUSD"
V = "bitfinex"


def client(sim: TradeSim) -> Any:
    cred = sim.credentials(V)
    # ccxt paces requests at the venue's documented rate; the simulator enforces that itself.
    ex = ccxtpro.bitfinex({"apiKey": cred.api_key, "secret": cred.secret, "enableRateLimit": False})
    ex.urls["api"]["public"] = sim.rest_url(V)
    ex.urls["api"]["private"] = sim.rest_url(V)
    ex.urls["api"]["ws"] = {"public": sim.private_ws_url(V), "private": sim.private_ws_url(V)}
    return ex


def test_ccxt_rest_orders_and_trades() -> None:  # noqa: PLR0915 - one scenario
    async def go() -> None:  # noqa: PLR0915
        async with TradeSim([V], seed=5, profile="none", step_hz=0) as sim:
            truth_ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            ex = client(sim)
            try:
                markets = await ex.load_markets()
                m = markets[SYM]
                assert m["id"] == INST
                assert m["spot"]
                assert Decimal(str(m["limits"]["amount"]["min"])) == truth_ex.instruments[INST].lot
                assert (await ex.fetch_status())["status"] == "ok"

                bid, ask = truth_ex.touch(INST)
                price = bid - 50
                order = await ex.create_order(
                    SYM, "limit", "buy", 0.01, float(price), {"clientOrderId": 1234567}
                )
                truth = truth_ex.find(acct, venue_order_id=order["id"])
                assert truth is not None
                assert truth.status == "new"
                assert truth.client_order_id == "1234567" == order["clientOrderId"]
                assert (truth.price, truth.quantity) == (price, Decimal("0.01"))

                fetched = await ex.fetch_order(order["id"], SYM)
                assert fetched["status"] == "open"
                assert Decimal(str(fetched["price"])) == truth.price
                assert Decimal(str(fetched["amount"])) == truth.quantity

                new_price = bid - 60
                edited = await ex.edit_order(
                    order["id"], SYM, "limit", "buy", 0.02, float(new_price)
                )
                truth = truth_ex.find(acct, venue_order_id=order["id"])
                assert truth is not None
                assert (truth.quantity, truth.price) == (Decimal("0.02"), new_price)
                assert edited["id"] == order["id"]
                assert Decimal(str(edited["amount"])) == Decimal("0.02")

                opened = await ex.fetch_open_orders(SYM)
                assert [o["id"] for o in opened] == [order["id"]]

                canceled = await ex.cancel_order(order["id"], SYM)
                truth = truth_ex.find(acct, venue_order_id=order["id"])
                assert truth is not None
                assert truth.status == "canceled"
                assert canceled["status"] == "canceled"
                closed = await ex.fetch_closed_orders(SYM)
                assert [o["id"] for o in closed] == [order["id"]]
                assert closed[0]["status"] == "canceled"

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
                    assert t["side"] == "buy"

                a = await ex.create_order(SYM, "limit", "sell", 0.01, float(ask + 50))
                await ex.cancel_all_orders()
                truth = truth_ex.find(acct, venue_order_id=a["id"])
                assert truth is not None
                assert truth.status == "canceled"
            finally:
                await ex.close()

    run(go(), timeout=20)


def test_ccxt_pro_watch_orders_and_my_trades() -> None:
    async def go() -> None:
        async with TradeSim([V], seed=6, profile="none", step_hz=0) as sim:
            truth_ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            ex = client(sim)
            try:
                await ex.load_markets()
                watching = asyncio.create_task(ex.watch_orders(SYM))
                trades_task = asyncio.create_task(ex.watch_my_trades(SYM))
                await asyncio.sleep(0.2)  # auth round trip on loopback
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
                    assert Decimal(str(t["fee"]["cost"])) == -f.fee
                updates = list(seen)
                for _ in range(10):
                    if updates[-1]["status"] in ("closed", "canceled"):
                        break
                    updates += await asyncio.wait_for(ex.watch_orders(SYM), 5)
                last = updates[-1]
                assert Decimal(str(last["amount"])) == truth.quantity
                assert Decimal(str(last["remaining"])) == truth.remaining
                assert last["status"] == ("closed" if truth.status == "filled" else "canceled")
            finally:
                await ex.close()

    run(go(), timeout=20)
