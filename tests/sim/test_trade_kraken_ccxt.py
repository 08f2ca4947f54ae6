"""Fidelity of the simulator's Kraken trading API, shown by a client nobody here wrote: ccxt
(async REST) and ccxt.pro (`watch_orders`, `watch_my_trades` over WS v2 `executions`), unchanged,
pointed at the simulator's URLs. Every value is checked against `sim.exchange("kraken")`."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from tests.sim.conftest import run
from venuegate.sim.trade import TradeSim
from venuegate.sim.trade.kraken import from_txid

SYMBOL = "BTC/USD"
TICK = Decimal("0.1")


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


async def wait_for(cond: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def test_ccxt_trades_against_the_simulator() -> None:  # noqa: PLR0915 - one scenario
    async def go() -> None:  # noqa: PLR0915
        async with TradeSim(["kraken"], seed=21, profile="none", step_hz=0) as sim:
            ex = sim.exchange("kraken")
            cred = sim.credentials("kraken")
            acct = cred.api_key
            client = ccxtpro.kraken(
                {"apiKey": cred.api_key, "secret": cred.secret, "enableRateLimit": False}
            )
            client.urls["api"]["public"] = sim.rest_url("kraken")
            client.urls["api"]["private"] = sim.rest_url("kraken")
            client.urls["api"]["ws"]["privateV2"] = sim.private_ws_url("kraken")
            try:
                await client.load_markets()
                market = client.market(SYMBOL)
                assert market["id"] == "XXBTZUSD"
                assert market["wsId"] == SYMBOL
                assert dec(market["precision"]["price"]) == TICK

                orders_seen: list[dict[str, Any]] = []
                trades_seen: list[dict[str, Any]] = []

                async def watch_orders() -> None:
                    while True:
                        for o in await client.watch_orders():
                            orders_seen.append(dict(o))

                async def watch_trades() -> None:
                    while True:
                        trades_seen.extend(await client.watch_my_trades())

                w1 = asyncio.create_task(watch_orders())
                await asyncio.sleep(0.2)  # subscribed (token + snapshot)
                w2 = asyncio.create_task(watch_trades())

                bid, _ = ex.touch(SYMBOL)
                price = bid - 30 * TICK
                placed = await client.create_order(
                    SYMBOL, "limit", "buy", 0.01, float(price), {"clientOrderId": "ccxt-1"}
                )
                truth = ex.find(acct, client_order_id="ccxt-1")
                assert truth is not None
                assert truth.is_open
                assert from_txid(placed["id"]) == truth.venue_order_id
                assert truth.price == price
                assert truth.quantity == Decimal("0.01")

                fetched = await client.fetch_order(placed["id"])
                assert fetched["status"] == "open"
                assert fetched["clientOrderId"] == "ccxt-1"
                assert dec(fetched["price"]) == truth.price
                assert dec(fetched["amount"]) == truth.quantity
                assert fetched["symbol"] == SYMBOL
                assert fetched["side"] == "buy"

                await client.edit_order(
                    placed["id"], SYMBOL, "limit", "buy", 0.02, float(price - TICK)
                )
                truth = ex.find(acct, client_order_id="ccxt-1")
                assert truth is not None
                assert truth.venue_order_id == from_txid(placed["id"])
                assert truth.quantity == Decimal("0.02")
                assert truth.price == price - TICK

                (open_o,) = await client.fetch_open_orders(SYMBOL)
                assert open_o["id"] == placed["id"]
                assert dec(open_o["amount"]) == Decimal("0.02")

                taker = await client.create_order(SYMBOL, "market", "buy", 0.03)
                filled = ex.find(acct, venue_order_id=from_txid(taker["id"]))
                assert filled is not None
                assert filled.filled == Decimal("0.03")

                mine = await client.fetch_my_trades(SYMBOL)
                truth_trades = {t.trade_id: t for t in ex.trades(acct)}
                assert {from_txid(t["id"]) for t in mine} == set(truth_trades)
                for t in mine:
                    tt = truth_trades[from_txid(t["id"]) or ""]
                    assert dec(t["price"]) == tt.price
                    assert dec(t["amount"]) == tt.qty
                    assert t["order"] == taker["id"]
                    assert t["symbol"] == SYMBOL
                    assert dec(t["fee"]["cost"]) == tt.fee

                await client.cancel_order(placed["id"], SYMBOL)
                truth = ex.find(acct, client_order_id="ccxt-1")
                assert truth is not None
                assert truth.status == "canceled"

                await wait_for(
                    lambda: any(
                        o["id"] == placed["id"] and o["status"] == "canceled" for o in orders_seen
                    )
                )
                await wait_for(lambda: len({t["id"] for t in trades_seen}) == len(truth_trades))
                statuses = [o["status"] for o in orders_seen if o["id"] == placed["id"]]
                assert statuses[0] == "open"
                assert statuses[-1] == "canceled"
                amended = [o for o in orders_seen if o["id"] == placed["id"]]
                assert any(dec(o["amount"]) == Decimal("0.02") for o in amended)
                for t in trades_seen:
                    tt = truth_trades[from_txid(t["id"]) or ""]
                    assert dec(t["price"]) == tt.price
                    assert dec(t["amount"]) == tt.qty
                    assert t["order"] == taker["id"]
                    assert t["takerOrMaker"] == "taker"
                w1.cancel()
                w2.cancel()
                await asyncio.gather(w1, w2, return_exceptions=True)
            finally:
                await client.close()

    run(go())
