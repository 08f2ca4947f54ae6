"""Fidelity of the simulated Binance spot trading API, shown by a client nobody here wrote.

ccxt (async, unchanged; only its URLs and market-type options are pointed at the simulator)
loads markets, places, fetches, edits (cancelReplace), cancels orders and lists its trades over
REST, and ccxt.pro `watch_orders` / `watch_my_trades` receive the user data stream over the
WebSocket API (`userDataStream.subscribe.signature`). Every value is checked against the
simulator's own `SimExchange`.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from tests.sim.conftest import run
from venuegate.sim.trade import TradeSim

PROD = "https://api.binance.com"


def _client(sim: TradeSim) -> Any:
    cred = sim.credentials("binance")
    ex = ccxtpro.binance(
        {
            "apiKey": cred.api_key,
            "secret": cred.secret,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    base = sim.rest_url("binance")
    api = ex.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str) and url.startswith(PROD):
            api[key] = base + url[len(PROD) :]
    api["ws"]["ws-api"]["spot"] = sim.ws_api_url("binance")
    return ex


def test_ccxt_trades_against_the_simulated_binance() -> None:  # noqa: PLR0915
    async def main() -> None:  # noqa: PLR0915
        async with TradeSim(["binance"], seed=5, profile="none", step_hz=0) as sim:
            ex = _client(sim)
            truth = sim.exchange("binance")
            acct = sim.credentials("binance").api_key
            try:
                await ex.load_markets()
                m = ex.market("BTC/USDT")
                assert m["id"] == "BTCUSDT"
                assert Decimal(str(m["precision"]["price"])) == Decimal("0.01")
                watcher = asyncio.create_task(ex.watch_orders("BTC/USDT"))
                await asyncio.sleep(0.2)
                bid, _ask = truth.touch("BTCUSDT")
                price = bid - Decimal("5")
                o = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, float(price))
                sim_o = truth.find(acct, venue_order_id=o["id"])
                assert sim_o is not None
                assert sim_o.status == "new"
                assert Decimal(str(o["price"])) == sim_o.price
                assert Decimal(str(o["amount"])) == sim_o.quantity
                streamed = await asyncio.wait_for(watcher, 5)
                assert streamed[-1]["id"] == o["id"]
                assert streamed[-1]["status"] == "open"

                f = await ex.fetch_order(o["id"], "BTC/USDT")
                assert f["status"] == "open"
                assert f["clientOrderId"] == sim_o.client_order_id

                new_price = price - Decimal("1")
                e = await ex.edit_order(o["id"], "BTC/USDT", "limit", "buy", 0.02, float(new_price))
                old = truth.find(acct, venue_order_id=o["id"])
                new = truth.find(acct, venue_order_id=e["id"])
                assert old is not None
                assert old.status == "canceled"
                assert new is not None
                assert new.price == new_price
                assert new.quantity == Decimal("0.02")
                assert new.replaces == old.client_order_id

                opened = await ex.fetch_open_orders("BTC/USDT")
                assert [x["id"] for x in opened] == [
                    x.venue_order_id for x in truth.open_orders(acct, "BTCUSDT")
                ]

                c = await ex.cancel_order(e["id"], "BTC/USDT")
                assert c["status"] == "canceled"
                assert truth.find(acct, venue_order_id=e["id"]).status == "canceled"  # type: ignore[union-attr]

                trades_watch = asyncio.create_task(ex.watch_my_trades("BTC/USDT"))
                await asyncio.sleep(0.1)
                mkt = await ex.create_order("BTC/USDT", "market", "sell", 0.03)
                sim_m = truth.find(acct, venue_order_id=mkt["id"])
                assert sim_m is not None
                assert sim_m.status == "filled"
                streamed_trades = await asyncio.wait_for(trades_watch, 5)
                assert streamed_trades[0]["id"] in {x.trade_id for x in sim_m.fills}

                mine = await ex.fetch_my_trades("BTC/USDT")
                assert [(t["id"], Decimal(str(t["amount"])), Decimal(str(t["price"])))
                        for t in mine] == [
                    (x.trade_id, x.qty, x.price) for x in truth.trades(acct, "BTCUSDT")
                ]  # fmt: skip
                assert all(t["order"] == mkt["id"] for t in mine)
            finally:
                await ex.close()

    run(main(), timeout=20)
