"""The Coinbase Advanced Trade adapter against the simulator's Coinbase API, over loopback.

Every check compares with the simulator's truth (`sim.exchange("coinbase")`): order ids, states,
quantities, prices and the venue's trade ids.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.rest import RestClient, Timeouts
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.venues.base import Amend, Endpoints
from venuegate.venues.coinbase import Adapter, CoinbaseUserStream

SYMBOL = "BTC-USD"


@dataclass
class Env:
    sim: TradeSim
    adapter: Adapter
    rest: RestClient

    @property
    def ex(self) -> Any:
        return self.sim.exchange("coinbase")

    @property
    def account(self) -> str:
        return self.sim.credentials("coinbase").api_key


def make_adapter(sim: TradeSim, *, secret: str | None = None) -> Adapter:
    cred = sim.credentials("coinbase")
    return Adapter(
        endpoints=Endpoints(sim.rest_url("coinbase"), sim.private_ws_url("coinbase")),
        signer=signer("coinbase", api_key=cred.api_key, secret=secret or cred.secret),
    )


@asynccontextmanager
async def env(seed: int = 11) -> AsyncIterator[Env]:
    async with TradeSim(["coinbase"], seed=seed, profile="none", step_hz=0) as sim:
        adapter = make_adapter(sim)
        async with RestClient(adapter, ssl=False) as rest:
            yield Env(sim, adapter, rest)


def drive(test: Callable[[Env], Coroutine[Any, Any, None]]) -> None:
    async def body() -> None:
        async with env() as e:
            await test(e)

    run(body(), timeout=20)


_N = iter(range(1, 1_000_000))


def limit(e: Env, side: Side, offset: int, qty: str = "0.01", **kw: Any) -> Order:
    bid, ask = e.ex.touch(SYMBOL)
    price = (bid - offset * Decimal("0.01")) if side is Side.BUY else ask + offset * Decimal("0.01")
    return Order(
        venue="coinbase",
        symbol=SYMBOL,
        client_order_id=e.adapter.new_client_order_id("t", next(_N)),
        side=side,
        type=OrderType.LIMIT,
        quantity=Decimal(qty),
        price=price,
        **kw,
    )


def market(e: Env, side: Side, qty: str) -> Order:
    return Order(
        venue="coinbase",
        symbol=SYMBOL,
        client_order_id=e.adapter.new_client_order_id("t", next(_N)),
        side=side,
        type=OrderType.MARKET,
        quantity=Decimal(qty),
    )


def px(order: Order) -> Decimal:
    assert order.price is not None
    return order.price


async def place(e: Env, order: Order) -> Order:
    (ack,) = e.adapter.parse_place(order, await e.rest.call(e.adapter.place(order)))
    assert ack.kind is ReportKind.ACK
    return order.evolve(venue_order_id=ack.venue_order_id)


def test_place_query_amend_cancel_against_the_venue_truth() -> None:
    async def t(e: Env) -> None:
        order = await place(e, limit(e, Side.BUY, 500))
        truth = e.ex.find(e.account, client_order_id=order.client_order_id)
        assert truth is not None
        assert truth.venue_order_id == order.venue_order_id
        assert (truth.price, truth.quantity, truth.status) == (order.price, order.quantity, "new")

        (st,) = e.adapter.parse_query(order, await e.rest.send(e.adapter.query(order)))
        assert (st.kind, st.state, st.quantity, st.price) == (
            ReportKind.STATUS,
            OrderState.NEW,
            truth.quantity,
            truth.price,
        )
        # By client order id alone (no venue id yet): found in the recent-orders listing.
        bare = order.evolve(venue_order_id=None)
        (st2,) = e.adapter.parse_query(bare, await e.rest.send(e.adapter.query(bare)))
        assert st2.kind is ReportKind.STATUS
        assert st2.venue_order_id == truth.venue_order_id

        new_price = px(order) - Decimal("1.00")
        amend = Amend(price=new_price, quantity=Decimal("0.02"))
        (am,) = e.adapter.parse_amend(
            order, amend, await e.rest.call(e.adapter.amend(order, amend))
        )
        assert am.kind is ReportKind.AMENDED
        assert (truth.price, truth.quantity) == (new_price, Decimal("0.02"))
        assert truth.venue_order_id == order.venue_order_id  # IN_PLACE keeps the ids

        (opened,) = e.adapter.parse_open_orders(await e.rest.call(e.adapter.open_orders(SYMBOL)))
        assert opened.client_order_id == order.client_order_id
        assert opened.price == new_price

        (cx,) = e.adapter.parse_cancel(order, await e.rest.call(e.adapter.cancel(order)))
        assert cx.kind is ReportKind.CANCELED
        assert truth.status == "canceled"
        assert e.adapter.parse_open_orders(await e.rest.call(e.adapter.open_orders(None))) == []
        with pytest.raises(FatalError):
            await e.rest.call(e.adapter.cancel(order))  # no longer open

    drive(t)


def test_unknown_order_query_is_not_found_and_unknown_client_id_too() -> None:
    async def t(e: Env) -> None:
        ghost = limit(e, Side.BUY, 100).evolve(venue_order_id="999999")
        (nf,) = e.adapter.parse_query(ghost, await e.rest.send(e.adapter.query(ghost)))
        assert nf.kind is ReportKind.NOT_FOUND
        bare = limit(e, Side.BUY, 100)
        (nf2,) = e.adapter.parse_query(bare, await e.rest.send(e.adapter.query(bare)))
        assert nf2.kind is ReportKind.NOT_FOUND
        with pytest.raises(OrderNotFoundError):
            await e.rest.call(e.adapter.query(ghost))
        with pytest.raises(OrderNotFoundError):
            await e.rest.call(e.adapter.cancel(ghost))
        with pytest.raises(OrderNotFoundError):
            await e.rest.call(e.adapter.amend(ghost, Amend(price=Decimal("1000.00"))))

    drive(t)


def test_marketable_order_fills_and_the_fills_listing_carries_venue_trade_ids() -> None:
    async def t(e: Env) -> None:
        since = e.sim.contexts["coinbase"].now_ms() - 1000
        order = await place(e, market(e, Side.SELL, "0.5"))
        truth = e.ex.find(e.account, client_order_id=order.client_order_id)
        assert truth.status == "filled"
        assert truth.filled == Decimal("0.5")
        fills = e.adapter.parse_fills(await e.rest.call(e.adapter.fills(SYMBOL, since)))
        assert {f.trade_id for f in fills} == {f.trade_id for f in truth.fills}
        for f in fills:
            sim_fill = next(x for x in truth.fills if x.trade_id == f.trade_id)
            assert f.client_order_id == order.client_order_id
            assert (f.last_qty, f.last_price, f.fee) == (sim_fill.qty, sim_fill.price, sim_fill.fee)
            assert f.liquidity == "taker"
            assert f.fee_asset == "USD"
        assert sum(f.last_qty for f in fills if f.last_qty) == Decimal("0.5")

    drive(t)


def test_post_only_that_would_take_is_refused_and_a_repeated_client_id_is_idempotent() -> None:
    async def t(e: Env) -> None:
        crossing = limit(e, Side.BUY, -300, time_in_force=TimeInForce.POST_ONLY)
        with pytest.raises(FatalError) as info:
            await e.rest.call(e.adapter.place(crossing))
        assert info.value.code == "INVALID_LIMIT_PRICE_POST_ONLY"
        order = limit(e, Side.BUY, 300)
        first = await place(e, order)
        again = await place(e, order)  # the venue answers with the existing order
        assert again.venue_order_id == first.venue_order_id
        assert (
            len([o for o in e.ex.orders(e.account) if o.client_order_id == order.client_order_id])
            == 1
        )

    drive(t)


def test_cancel_all_cancels_every_known_open_order() -> None:
    async def t(e: Env) -> None:
        orders = [await place(e, limit(e, Side.BUY, 200 + i)) for i in range(3)]
        reports = e.adapter.parse_cancel_all(await e.rest.call(e.adapter.cancel_all(SYMBOL)))
        assert {r.client_order_id for r in reports} == {o.client_order_id for o in orders}
        assert e.ex.open_orders(e.account) == []

    drive(t)


def test_server_time_and_status_follow_maintenance() -> None:
    async def t(e: Env) -> None:
        ctx = e.sim.contexts["coinbase"]
        ms = e.adapter.parse_server_time(await e.rest.call(e.adapter.server_time()))
        assert abs(ms - ctx.now_ms()) < 2000
        assert e.adapter.parse_status(await e.rest.call(e.adapter.status())).trading
        resting = await place(e, limit(e, Side.BUY, 400))
        ctx.faults.force(TradeFault.MAINTENANCE)
        status = e.adapter.parse_status(await e.rest.call(e.adapter.status()))
        assert not status.trading
        assert "cancel_only" in status.reason
        with pytest.raises(VenueUnavailableError):
            await e.rest.call(e.adapter.place(limit(e, Side.BUY, 400)))
        with pytest.raises(VenueUnavailableError):
            await e.rest.call(e.adapter.amend(resting, Amend(price=px(resting) - 1)))
        e.adapter.parse_cancel(
            resting, await e.rest.call(e.adapter.cancel(resting))
        )  # cancels work

    drive(t)


def test_faults_are_classified() -> None:
    async def t(e: Env) -> None:
        faults = e.sim.contexts["coinbase"].faults
        # 503 before processing: nothing happened, retryable.
        faults.force(TradeFault.REST_5XX_BEFORE)
        before = limit(e, Side.BUY, 600)
        with pytest.raises(RetryableError) as r1:
            await e.rest.call(e.adapter.place(before))
        assert not isinstance(r1.value, UnknownOutcomeError)
        assert e.ex.find(e.account, client_order_id=before.client_order_id) is None
        # 500 after the order took effect: unknown outcome, then the query finds it.
        faults.force(TradeFault.REST_5XX_AFTER)
        after = limit(e, Side.BUY, 600)
        with pytest.raises(UnknownOutcomeError):
            await e.rest.call(e.adapter.place(after))
        (found,) = e.adapter.parse_query(after, await e.rest.send(e.adapter.query(after)))
        assert found.kind is ReportKind.STATUS
        assert found.state is OrderState.NEW
        # Dropped answer: unknown outcome, resolved by query; resend with the same id is safe.
        faults.force(TradeFault.DROP_RESPONSE)
        dropped = limit(e, Side.BUY, 600)
        with pytest.raises(UnknownOutcomeError):
            await e.rest.call(e.adapter.place(dropped))
        (found2,) = e.adapter.parse_query(dropped, await e.rest.send(e.adapter.query(dropped)))
        assert found2.kind is ReportKind.STATUS
        resent = await place(e, dropped)
        assert resent.venue_order_id == found2.venue_order_id
        # Spurious 429: rate limited with Retry-After.
        faults.force(TradeFault.RATE_429)
        with pytest.raises(RateLimitedError) as rl:
            await e.rest.call(e.adapter.place(limit(e, Side.BUY, 600)))
        assert rl.value.retry_after is not None
        assert rl.value.retry_after >= 1
        # A 500 after a cancel took effect: unknown outcome; the venue did cancel.
        await asyncio.sleep(1.05)  # the forced 429 refuses everything for one second
        faults.force(TradeFault.REST_5XX_AFTER)
        found_order = resent
        with pytest.raises(UnknownOutcomeError):
            await e.rest.call(e.adapter.cancel(found_order))
        assert (
            e.ex.find(e.account, client_order_id=found_order.client_order_id).status == "canceled"
        )

    drive(t)


def test_rate_limit_exhaustion_gives_429() -> None:
    async def t(e: Env) -> None:
        ghost = limit(e, Side.BUY, 1).evolve(venue_order_id="1")
        calls = [e.rest.send(e.adapter.query(ghost)) for _ in range(45)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        limited = [r for r in results if isinstance(r, RateLimitedError)]
        assert limited
        assert all(r.http_status == 429 for r in limited)
        assert e.sim.apis["coinbase"].limits.rejections >= len(limited)
        assert len(results) - len(limited) <= 30

    drive(t)


def test_bad_signature_and_stale_timestamp() -> None:
    async def t(e: Env) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        other = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        wrong = make_adapter(e.sim, secret=other)
        async with RestClient(wrong, ssl=False) as rest:
            with pytest.raises(AuthError) as bad:
                await rest.call(wrong.open_orders(None))
            assert not isinstance(bad.value, ClockSkewError)
        late = int(time.time() * 1000) - 600_000
        async with RestClient(e.adapter, ssl=False, clock_ms=lambda: late) as rest:
            with pytest.raises(ClockSkewError) as stale:
                await rest.call(e.adapter.place(limit(e, Side.BUY, 50)))
            assert stale.value.retryable
        assert e.ex.orders(e.account) == []

    drive(t)


async def next_reports(
    ws: aiohttp.ClientWebSocketResponse, stream: CoinbaseUserStream, want: int = 1
) -> list[VenueReport]:
    out: list[VenueReport] = []
    while len(out) < want:
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        out.extend(stream.on_message(msg.data).reports)
    return out


def test_private_stream_reports_ack_fill_amend_cancel() -> None:
    async def t(e: Env) -> None:
        stream = e.adapter.private_stream([SYMBOL])
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stream.url())
            for m in stream.open_messages():
                await ws.send_str(m)
            ready = False
            while not ready:
                msg = await ws.receive(timeout=5)
                ev = stream.on_message(msg.data)
                assert ev.error is None
                ready = ev.ready
            # ACK, AMENDED, CANCELED of a resting order.
            order = await place(e, limit(e, Side.BUY, 800))
            (ack,) = await next_reports(ws, stream)
            assert (ack.kind, ack.venue_order_id) == (ReportKind.ACK, order.venue_order_id)
            new_price = px(order) - 1
            await e.rest.call(e.adapter.amend(order, Amend(price=new_price)))
            (am,) = await next_reports(ws, stream)
            assert (am.kind, am.price) == (ReportKind.AMENDED, new_price)
            await e.rest.call(e.adapter.cancel(order))
            (cx,) = await next_reports(ws, stream)
            assert cx.kind is ReportKind.CANCELED
            # A resting order the market walks into fills as maker (STATUS with filled_qty).
            bid, _ = e.ex.touch(SYMBOL)
            maker = await place(e, limit(e, Side.SELL, -3, qty="0.05"))  # one tick above the bid
            (ack2,) = await next_reports(ws, stream)
            assert ack2.kind is ReportKind.ACK
            truth = e.ex.find(e.account, client_order_id=maker.client_order_id)
            for _ in range(5000):
                if truth.status == "filled":
                    break
                e.sim.step(1)
            assert truth.status == "filled"
            seen: list[VenueReport] = []
            while not seen or seen[-1].state is not OrderState.FILLED:
                seen.extend(await next_reports(ws, stream))
            assert all(r.kind is ReportKind.STATUS for r in seen)
            assert seen[-1].filled_qty == truth.filled == Decimal("0.05")
            # The fills listing gives the FILLs with the venue's trade ids.
            fills = e.adapter.parse_fills(await e.rest.call(e.adapter.fills(SYMBOL, 0)))
            mine = [f for f in fills if f.client_order_id == maker.client_order_id]
            assert {f.trade_id for f in mine} == {f.trade_id for f in truth.fills}
            assert all(f.liquidity == "maker" for f in mine)
            # A marketable order: ACK then its fill statuses.
            taker = await place(e, market(e, Side.BUY, "0.1"))
            reports = await next_reports(ws, stream, 2)
            assert reports[0].kind is ReportKind.ACK
            assert reports[0].client_order_id == taker.client_order_id
            await ws.close()
            assert bid > 0

    drive(t)


def test_private_stream_refuses_a_bad_jwt() -> None:
    async def t(e: Env) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        other = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        stream = make_adapter(e.sim, secret=other).private_stream([SYMBOL])
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stream.url())
            await ws.send_str(stream.open_messages()[1])
            msg = await ws.receive(timeout=5)
            ev = stream.on_message(msg.data)
            assert isinstance(ev.error, AuthError)
            assert not ev.ready
            await ws.close()

    drive(t)


def test_delayed_ack_past_the_client_timeout_is_an_unknown_outcome() -> None:
    async def t(e: Env) -> None:
        e.sim.contexts["coinbase"].faults.force(TradeFault.DELAY_ACK)
        order = limit(e, Side.BUY, 700)
        quick = Timeouts(connect=1.0, read=0.1, total=0.15)
        async with RestClient(e.adapter, ssl=False, timeouts=quick) as rest:
            with pytest.raises(UnknownOutcomeError):
                await rest.call(e.adapter.place(order))
        (found,) = e.adapter.parse_query(order, await e.rest.send(e.adapter.query(order)))
        assert found.kind is ReportKind.STATUS
        assert e.ex.find(e.account, client_order_id=order.client_order_id) is not None

    drive(t)


def test_clock_skew_within_the_jwt_window_is_tolerated() -> None:
    async def t(e: Env) -> None:
        ctx = e.sim.contexts["coinbase"]
        ctx.faults.force(TradeFault.CLOCK_SKEW)
        await place(e, limit(e, Side.BUY, 700))  # the venue's clock jumps; JWTs live 120 s
        assert ctx.skew_ms == ctx.faults.profile.skew_ms
        assert 0 < ctx.skew_ms < 60_000
        assert ctx.now_ms() - int(time.time() * 1000) >= ctx.skew_ms - 1_000

    drive(t)


def test_private_stream_duplicates_and_disconnects() -> None:
    async def t(e: Env) -> None:
        faults = e.sim.contexts["coinbase"].faults
        stream = e.adapter.private_stream([SYMBOL])
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(stream.url())
            for m in stream.open_messages():
                await ws.send_str(m)
            while not stream.on_message((await ws.receive(timeout=5)).data).ready:
                pass
            faults.force(TradeFault.DUPLICATE_REPORT)
            order = await place(e, limit(e, Side.BUY, 900))
            first, second = await next_reports(ws, stream, 2)
            assert first.kind is ReportKind.ACK
            assert second.kind is ReportKind.STATUS  # the repeat is not a second ACK
            assert second.venue_order_id == order.venue_order_id
            faults.force(TradeFault.DISCONNECT_PRIVATE)
            await e.rest.call(e.adapter.cancel(order))
            (cx,) = await next_reports(ws, stream)
            assert cx.kind is ReportKind.CANCELED
            closed = await ws.receive(timeout=5)
            assert closed.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            await ws.close()

    drive(t)
