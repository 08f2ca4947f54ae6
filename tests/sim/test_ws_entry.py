"""WebSocket order entry (`WsOrderEntry`) against the simulator's Binance WebSocket API and OKX
private connection: place / amend / cancel checked against the simulator's `SimExchange`, the
venues' refusals classified as over REST, a dropped answer as an unknown outcome (the order
exists at the venue), not connected as retryable; and ccxt.pro's own `create_order_ws`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    DuplicateOrderError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderType, Side
from venuegate.net.ratelimit import RateLimiter
from venuegate.oms.types import ReportKind
from venuegate.oms.ws_entry import WsOrderEntry
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.venues import binance, okx
from venuegate.venues.base import Amend, Endpoints

SYMBOLS = {"binance": "BTCUSDT", "okx": "BTC-USDT"}
type Body = Callable[[TradeSim, Any, WsOrderEntry], Awaitable[None]]


def _adapter(sim: TradeSim, venue: str, secret: str | None = None) -> Any:
    cred = sim.credentials(venue)
    sig = signer(venue, api_key=cred.api_key, secret=secret or cred.secret,
                 passphrase=cred.passphrase)  # fmt: skip
    endpoints = Endpoints(sim.rest_url(venue), sim.private_ws_url(venue), sim.ws_api_url(venue))
    module = binance if venue == "binance" else okx
    return module.Adapter(endpoints=endpoints, signer=sig)


@asynccontextmanager
async def _entry(
    sim: TradeSim, venue: str, secret: str | None = None, **kw: Any
) -> AsyncIterator[tuple[Any, WsOrderEntry]]:
    adapter = _adapter(sim, venue, secret)
    entry = WsOrderEntry(adapter, ssl=False, **kw)
    await entry.start()
    try:
        yield adapter, entry
    finally:
        await entry.close()


def _go(venue: str, body: Body, **kw: Any) -> None:
    async def main() -> None:
        async with (
            TradeSim([venue], seed=3, profile="none", step_hz=0) as sim,
            _entry(sim, venue, **kw) as (adapter, entry),
        ):
            assert await entry.wait_ready(5.0)
            await body(sim, adapter, entry)

    run(main(), timeout=30)


def _limit(sim: TradeSim, venue: str, cid: str, off: int = 5, qty: str = "0.01") -> Order:
    symbol = SYMBOLS[venue]
    bid, _ = sim.exchange(venue).touch(symbol)
    return Order(venue=venue, symbol=symbol, client_order_id=cid, side=Side.BUY,
                 type=OrderType.LIMIT, quantity=Decimal(qty), price=bid - off)  # fmt: skip


def _acct(sim: TradeSim, venue: str) -> str:
    return sim.credentials(venue).api_key


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_place_amend_cancel_over_websocket(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        ex = sim.exchange(venue)
        acct = _acct(sim, venue)
        o = _limit(sim, venue, ad.new_client_order_id("ws", 1))
        (ack,) = await entry.place(o)
        assert ack.kind is ReportKind.ACK
        truth = ex.find(acct, client_order_id=o.client_order_id)
        assert truth is not None
        assert truth.status == "new"
        assert ack.venue_order_id == truth.venue_order_id
        assert truth.price == o.price
        assert truth.quantity == o.quantity

        # A quantity decrease: keep-priority on Binance, amend-order on OKX (same ids).
        a = Amend(quantity=Decimal("0.006"))
        (am,) = await entry.amend(o, a)
        assert am.kind is ReportKind.AMENDED
        truth = ex.find(acct, client_order_id=o.client_order_id)
        assert truth is not None
        assert truth.quantity == Decimal("0.006")
        o = o.evolve(quantity=Decimal("0.006"))

        assert o.price is not None
        new_price: Decimal = o.price - 1
        if venue == "binance":
            # order.cancelReplace: the old order canceled, a new one with a new id.
            a = Amend(price=new_price, new_client_order_id=ad.new_client_order_id("ws", 2))
            reps = await entry.amend(o, a)
            assert [(r.kind, r.client_order_id) for r in reps] == [
                (ReportKind.CANCELED, o.client_order_id),
                (ReportKind.ACK, a.new_client_order_id),
            ]
            old = ex.find(acct, client_order_id=o.client_order_id)
            assert old is not None
            assert old.status == "canceled"
            assert a.new_client_order_id is not None
            o = o.evolve(client_order_id=a.new_client_order_id, price=new_price)
        else:
            (am,) = await entry.amend(o, Amend(price=new_price))
            assert am.kind is ReportKind.AMENDED
            o = o.evolve(price=new_price)
        truth = ex.find(acct, client_order_id=o.client_order_id)
        assert truth is not None
        assert truth.price == new_price
        assert truth.is_open

        (c,) = await entry.cancel(o)
        assert c.kind is ReportKind.CANCELED
        assert c.client_order_id == o.client_order_id
        truth = ex.find(acct, client_order_id=o.client_order_id)
        assert truth is not None
        assert truth.status == "canceled"

        # Canceling it again: the venue's "unknown order" class, as over REST.
        with pytest.raises(OrderNotFoundError):
            await entry.cancel(o)

    _go(venue, body)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_duplicate_client_id_is_classified(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        o = _limit(sim, venue, ad.new_client_order_id("dup", 1))
        await entry.place(o)
        with pytest.raises(DuplicateOrderError):
            await entry.place(o)
        assert len(sim.exchange(venue).open_orders(_acct(sim, venue))) == 1

    _go(venue, body)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_dropped_answer_is_unknown_and_the_order_exists(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        sim.contexts[venue].faults.force(TradeFault.DROP_RESPONSE)
        o = _limit(sim, venue, ad.new_client_order_id("drop", 1))
        with pytest.raises(UnknownOutcomeError):
            await entry.place(o)
        truth = sim.exchange(venue).find(_acct(sim, venue), client_order_id=o.client_order_id)
        assert truth is not None
        assert truth.status == "new"
        # The connection comes back by itself and takes orders again.
        assert await entry.wait_ready(5.0)
        (ack,) = await entry.place(_limit(sim, venue, ad.new_client_order_id("drop", 2)))
        assert ack.kind is ReportKind.ACK
        assert entry.connects == 2

    _go(venue, body)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_faults_are_classified(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        faults = sim.contexts[venue].faults
        ex = sim.exchange(venue)
        acct = _acct(sim, venue)

        faults.force(TradeFault.REST_5XX_AFTER)
        o = _limit(sim, venue, ad.new_client_order_id("f", 1))
        with pytest.raises(UnknownOutcomeError) as info:
            await entry.place(o)
        assert info.value.code == ("-1007" if venue == "binance" else "50004")
        assert ex.find(acct, client_order_id=o.client_order_id) is not None

        faults.force(TradeFault.REST_5XX_BEFORE)
        o = _limit(sim, venue, ad.new_client_order_id("f", 2))
        with pytest.raises(VenueUnavailableError):
            await entry.place(o)
        assert ex.find(acct, client_order_id=o.client_order_id) is None

        faults.force(TradeFault.RATE_429)
        o = _limit(sim, venue, ad.new_client_order_id("f", 3))
        with pytest.raises(RateLimitedError):
            await entry.place(o)
        assert ex.find(acct, client_order_id=o.client_order_id) is None

    _go(venue, body)


def test_answer_timeout_is_unknown() -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        sim.contexts["okx"].faults.force(TradeFault.DELAY_ACK)  # 0.3 s late; we wait 0.1 s
        o = _limit(sim, "okx", ad.new_client_order_id("late", 1))
        with pytest.raises(UnknownOutcomeError):
            await entry.place(o)
        assert sim.exchange("okx").find(_acct(sim, "okx"), client_order_id=o.client_order_id)
        await asyncio.sleep(0.4)  # the late answer arrives and is dropped
        (ack,) = await entry.place(_limit(sim, "okx", ad.new_client_order_id("late", 2)))
        assert ack.kind is ReportKind.ACK

    _go("okx", body, timeout_s=0.1)


def test_binance_bad_signature_is_auth() -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        o = _limit(sim, "binance", "badsig-1")
        with pytest.raises(AuthError) as info:
            await entry.place(o)
        assert info.value.code == "-1022"
        found = sim.exchange("binance").find(_acct(sim, "binance"), client_order_id="badsig-1")
        assert found is None

    _go("binance", body, secret="0" * 64)


def test_okx_bad_login_is_auth_and_nothing_is_sent() -> None:
    async def main() -> None:
        async with (
            TradeSim(["okx"], seed=3, profile="none", step_hz=0) as sim,
            _entry(sim, "okx", secret="0" * 64) as (_, entry),
        ):
            assert not await entry.wait_ready(0.5)
            assert isinstance(entry.last_error, AuthError)
            with pytest.raises(RetryableError) as info:
                await entry.place(_limit(sim, "okx", "vgbadlogin1"))
            assert not isinstance(info.value, UnknownOutcomeError)
            found = sim.exchange("okx").find(_acct(sim, "okx"), client_order_id="vgbadlogin1")
            assert found is None

    run(main(), timeout=20)


def test_not_connected_is_retryable() -> None:
    async def main() -> None:
        async with TradeSim(["binance"], seed=3, profile="none", step_hz=0) as sim:
            entry = WsOrderEntry(_adapter(sim, "binance"), ssl=False)
            with pytest.raises(RetryableError) as info:
                await entry.place(_limit(sim, "binance", "nc-1"))
            assert not isinstance(info.value, UnknownOutcomeError)

    run(main(), timeout=20)


def test_rate_limiter_is_charged_like_rest() -> None:
    async def main() -> None:
        async with TradeSim(["binance"], seed=3, profile="none", step_hz=0) as sim:
            ad = _adapter(sim, "binance")
            limiter = RateLimiter(ad.rate_model)
            async with _entry(sim, "binance", limiter=limiter) as (_, entry):
                assert await entry.wait_ready(5.0)
                for i in range(3):
                    await entry.place(_limit(sim, "binance", f"rl-{i}"))
            api = sim.apis["binance"]
            assert api.limits.used("ORDERS_10S") == 3
            assert api.limits.used("REQUEST_WEIGHT") == 3

    run(main(), timeout=20)


def test_ccxt_pro_create_order_ws_against_the_simulated_binance() -> None:
    async def main() -> None:
        async with TradeSim(["binance"], seed=5, profile="none", step_hz=0) as sim:
            cred = sim.credentials("binance")
            ex = ccxtpro.binance({"apiKey": cred.api_key, "secret": cred.secret, "options": {
                "defaultType": "spot", "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False, "fetchMargins": False}})  # fmt: skip
            base = sim.rest_url("binance")
            prod = "https://api.binance.com"
            api = ex.urls["api"]
            for key, url in list(api.items()):
                if isinstance(url, str) and url.startswith(prod):
                    api[key] = base + url[len(prod) :]
            api["ws"]["ws-api"]["spot"] = sim.ws_api_url("binance")
            truth = sim.exchange("binance")
            try:
                await ex.load_markets()
                bid, _ = truth.touch("BTCUSDT")
                price = bid - Decimal(5)
                o = await ex.create_order_ws("BTC/USDT", "limit", "buy", 0.01, float(price))
                sim_o = truth.find(cred.api_key, venue_order_id=o["id"])
                assert sim_o is not None
                assert sim_o.status == "new"
                assert Decimal(str(o["price"])) == sim_o.price == price
                assert Decimal(str(o["amount"])) == sim_o.quantity
                c = await ex.cancel_order_ws(o["id"], "BTC/USDT")
                assert c["status"] == "canceled"
                assert truth.find(cred.api_key, venue_order_id=o["id"]).status == "canceled"  # type: ignore[union-attr]
            finally:
                await ex.close()

    run(main(), timeout=20)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_order_manager_sends_through_ws_entry(venue: str, tmp_path: Path) -> None:
    """The order manager places, amends and cancels over the WebSocket API when given one; a
    dropped answer still resolves by query (the order exists once)."""
    from tests.e2e.test_oms import eventually, manager
    from venuegate.model import OrderState, Side
    from venuegate.oms.ws_entry import WsOrderEntry
    from venuegate.sim.md.market import CATALOG

    async def main() -> None:
        async with TradeSim([venue], seed=21, step_hz=0) as sim:
            ex = sim.exchange(venue)
            inst = CATALOG[venue][0]
            bid, _ask = ex.touch(inst.symbol)
            async with manager(sim, venue, tmp_path / "j", unknown_grace_s=0.05) as om:
                entry = WsOrderEntry(om.adapter, ssl=False, timeout_s=1.0)
                await entry.start()
                await entry.wait_ready()
                om.order_entry = entry
                try:
                    t = await om.place(
                        inst.symbol, Side.BUY, inst.typical_size, bid - inst.tick * 9
                    )
                    await eventually(lambda: t.state is OrderState.NEW)
                    sent_before = om.rest.sent
                    sim.contexts[venue].faults.force(TradeFault.DROP_RESPONSE)
                    t2 = await om.place(
                        inst.symbol, Side.BUY, inst.typical_size, bid - inst.tick * 8
                    )
                    await eventually(lambda: t2.state is OrderState.NEW)
                    assert ex.stats["accepted"] == 2
                    await om.cancel(t.client_order_id)
                    await eventually(lambda: t.state is OrderState.CANCELED)
                    assert om.rest.sent >= sent_before  # queries went over REST
                finally:
                    await entry.close()

    asyncio.run(asyncio.wait_for(main(), 30))
