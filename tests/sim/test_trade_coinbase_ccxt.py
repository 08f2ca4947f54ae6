"""Fidelity of the simulator's Coinbase Advanced Trade API, proven by a client nobody here
wrote: ccxt (async) and ccxt.pro, unchanged, pointed at the simulator's URLs.

ccxt loads markets (`/api/v3/brokerage/market/products`, `/v2/currencies`, ...), signs its own
JWTs (legacy `coinbase-cloud` claims), places, fetches, edits and cancels orders, lists fills,
and `watch_orders` receives the `user` channel. Every value is checked against the simulator's
matching engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from tests.sim.conftest import run
from venuegate.sim.trade import TradeSim

SYMBOL = "BTC/USD"
ID = "BTC-USD"


def client(sim: TradeSim) -> Any:
    cred = sim.credentials("coinbase")
    ex = ccxtpro.coinbase({"apiKey": cred.api_key, "secret": cred.secret})
    ex.urls["api"] = {"rest": sim.rest_url("coinbase"), "ws": sim.private_ws_url("coinbase")}
    return ex


def drive(test: Callable[[TradeSim, Any], Coroutine[Any, Any, None]]) -> None:
    async def body() -> None:
        async with TradeSim(["coinbase"], seed=21, profile="none", step_hz=0) as sim:
            ex = client(sim)
            try:
                await ex.load_markets()
                await test(sim, ex)
            finally:
                await ex.close()

    run(body(), timeout=20)


def test_ccxt_trades_against_the_simulator() -> None:
    async def t(sim: TradeSim, ex: Any) -> None:
        venue = sim.exchange("coinbase")
        account = sim.credentials("coinbase").api_key
        market = ex.market(SYMBOL)
        assert market["id"] == ID
        inst = venue.instruments[ID]
        assert Decimal(str(market["precision"]["price"])) == inst.tick
        assert Decimal(str(market["precision"]["amount"])) == inst.lot

        bid, ask = venue.touch(ID)
        price = bid - 5
        created = await ex.create_order(SYMBOL, "limit", "buy", 0.01, float(price))
        truth = venue.find(account, venue_order_id=created["id"])
        assert truth is not None
        assert truth.client_order_id == created["clientOrderId"]
        assert (truth.price, truth.quantity, truth.side) == (price, Decimal("0.01"), "buy")

        fetched = await ex.fetch_order(created["id"], SYMBOL)
        assert fetched["status"] == "open"
        assert fetched["timeInForce"] == "GTC"
        assert Decimal(str(fetched["price"])) == truth.price
        assert Decimal(str(fetched["amount"])) == truth.quantity
        opened = await ex.fetch_open_orders(SYMBOL)
        assert [o["id"] for o in opened] == [o.venue_order_id for o in venue.open_orders(account)]

        new_price = price - 1
        await ex.edit_order(created["id"], SYMBOL, "limit", "buy", 0.02, float(new_price))
        assert (truth.price, truth.quantity) == (new_price, Decimal("0.02"))
        refetched = await ex.fetch_order(created["id"], SYMBOL)
        assert Decimal(str(refetched["price"])) == new_price
        assert Decimal(str(refetched["amount"])) == Decimal("0.02")

        await ex.cancel_order(created["id"], SYMBOL)
        assert truth.status == "canceled"
        assert (await ex.fetch_order(created["id"], SYMBOL))["status"] == "canceled"
        assert await ex.fetch_open_orders(SYMBOL) == []

        sold = await ex.create_order(SYMBOL, "market", "sell", 0.4)
        taker = venue.find(account, venue_order_id=sold["id"])
        assert taker is not None
        assert taker.status == "filled"
        trades = await ex.fetch_my_trades(SYMBOL)
        assert sorted(t["id"] for t in trades) == sorted(f.trade_id for f in taker.fills)
        for trade in trades:
            fill = next(f for f in taker.fills if f.trade_id == trade["id"])
            assert trade["order"] == sold["id"]
            assert trade["side"] == "sell"
            assert Decimal(str(trade["price"])) == fill.price
            assert Decimal(str(trade["amount"])) == fill.qty
            assert Decimal(str(trade["fee"]["cost"])) == fill.fee
            assert trade["takerOrMaker"] == "taker"
        assert ask > bid

    drive(t)


def test_ccxt_pro_watch_orders_sees_the_user_channel() -> None:
    async def t(sim: TradeSim, ex: Any) -> None:
        venue = sim.exchange("coinbase")
        account = sim.credentials("coinbase").api_key
        # Subscribe first (an empty snapshot resolves nothing for a symbol), then trade.
        pending = asyncio.ensure_future(ex.watch_orders(SYMBOL))
        while not any(c.connected.done() for c in ex.clients.values()):
            await asyncio.sleep(0.01)
        bid, _ = venue.touch(ID)
        created = await ex.create_order(SYMBOL, "limit", "buy", 0.01, float(bid - 3))
        seen: dict[str, Any] = {o["id"]: o for o in await asyncio.wait_for(pending, 5)}

        async def until(status: str) -> dict[str, Any]:
            while True:
                got = seen.get(created["id"])
                if got is not None and got["status"] == status:
                    return dict(got)
                for o in await asyncio.wait_for(ex.watch_orders(SYMBOL), 5):
                    seen[o["id"]] = o

        got = await until("open")
        truth = venue.find(account, venue_order_id=created["id"])
        assert truth is not None
        assert got["clientOrderId"] == truth.client_order_id
        assert Decimal(str(got["price"])) == truth.price
        assert Decimal(str(got["remaining"])) == truth.remaining
        await ex.cancel_order(created["id"], SYMBOL)
        got = await until("canceled")
        assert truth.status == "canceled"
        assert Decimal(str(got["filled"])) == truth.filled == 0

    drive(t)
