"""The OKX adapter against the simulator's OKX API: orders, queries, stream, auth and faults."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    DuplicateOrderError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderType, Side, TimeInForce
from venuegate.net.rest import RestClient
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.venues.base import Amend, Endpoints
from venuegate.venues.okx import Adapter

SYM = "BTC-USDT"


def test_fills_listing_during_a_venue_clock_skew_has_the_newest_fills() -> None:
    """Trades carry the matching engine's time; a skewed venue clock must not hide them (the
    listing without `end` has no upper bound)."""

    async def go() -> None:
        async with okx() as (sim, ad, rest):
            ex = sim.exchange("okx")
            ctx = sim.contexts["okx"]
            ctx.skew_ms, ctx.skew_until = -8_000, time.time() + 30  # the venue's clock is behind
            since = ex._clock_ms() - 60_000
            _, ask = ex.touch(SYM)
            await place(
                ad,
                rest,
                limit("skew1", Side.BUY, ask + Decimal(5), time_in_force=TimeInForce.IOC),
            )
            truth = ex.trades(sim.credentials("okx").api_key, SYM)
            assert truth
            got = ad.parse_fills(await rest.call(ad.fills(SYM, since)))
            assert sorted(r.trade_id or "" for r in got) == sorted(f.trade_id for f in truth)

    run(go())


@contextlib.asynccontextmanager
async def okx(
    *, secret: str | None = None, clock_skew_ms: int = 0
) -> AsyncIterator[tuple[TradeSim, Adapter, RestClient]]:
    async with TradeSim(["okx"], seed=11, profile="none", step_hz=0) as sim:
        cred = sim.credentials("okx")
        s = signer(
            "okx",
            api_key=cred.api_key,
            secret=secret or cred.secret,
            passphrase=cred.passphrase,
            clock_ms=lambda: int(datetime.now(UTC).timestamp() * 1000) + clock_skew_ms,
        )
        ad = Adapter(endpoints=Endpoints(sim.rest_url("okx"), sim.private_ws_url("okx")), signer=s)
        async with RestClient(ad, ssl=False) as rest:
            yield sim, ad, rest


def limit(cid: str, side: Side, price: Decimal, qty: str = "0.01", **kw: object) -> Order:
    return Order(
        venue="okx",
        symbol=SYM,
        client_order_id=cid,
        side=side,
        type=OrderType.LIMIT,
        quantity=Decimal(qty),
        price=price,
        **kw,  # type: ignore[arg-type]
    )


def passive(sim: TradeSim, side: Side, ticks: int = 50) -> Decimal:
    bid, ask = sim.exchange("okx").touch(SYM)
    return bid - ticks * Decimal("0.1") if side is Side.BUY else ask + ticks * Decimal("0.1")


async def place(ad: Adapter, rest: RestClient, order: Order) -> list[VenueReport]:
    return ad.parse_place(order, await rest.call(ad.place(order)))


def test_place_query_amend_cancel_open_orders() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest):
            ex = sim.exchange("okx")
            acct = sim.credentials("okx").api_key
            o = limit(ad.new_client_order_id("t1", 1), Side.BUY, passive(sim, Side.BUY))
            (ack,) = await place(ad, rest, o)
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert ack.kind is ReportKind.ACK
            assert ack.venue_order_id == truth.venue_order_id

            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            assert st.quantity == truth.quantity
            assert st.price == truth.price
            assert st.filled_qty == 0

            new_px = o.price - Decimal("0.5")  # type: ignore[operator]
            amend = Amend(quantity=Decimal("0.02"), price=new_px)
            (am,) = ad.parse_amend(o, amend, await rest.call(ad.amend(o, amend)))
            assert am.kind is ReportKind.AMENDED
            assert am.venue_order_id == truth.venue_order_id
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert (truth.quantity, truth.price) == (Decimal("0.02"), new_px)

            listed = ad.parse_open_orders(await rest.call(ad.open_orders(SYM)))
            assert [r.client_order_id for r in listed] == [o.client_order_id]
            assert listed[0].price == new_px

            (c,) = ad.parse_cancel(o, await rest.call(ad.cancel(o)))
            assert c.kind is ReportKind.CANCELED
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert truth.status == "canceled"
            assert ad.parse_open_orders(await rest.call(ad.open_orders(None))) == []

            with pytest.raises(OrderNotFoundError) as err:
                await rest.call(ad.cancel(o))
            assert err.value.code == "51401"

            missing = limit("nosuchorder1", Side.BUY, Decimal("1"))
            (nf,) = ad.parse_query(missing, await rest.send(ad.query(missing)))
            assert nf.kind is ReportKind.NOT_FOUND

    run(go())


def test_duplicate_and_rejects() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest):
            o = limit("dup1", Side.BUY, passive(sim, Side.BUY))
            await place(ad, rest, o)
            with pytest.raises(DuplicateOrderError) as err:
                await rest.call(ad.place(o))
            assert err.value.code == "51016"
            bad = limit("badlot1", Side.BUY, passive(sim, Side.BUY), qty="0.000000001")
            with pytest.raises(FatalError) as err2:
                await rest.call(ad.place(bad))
            assert err2.value.code == "51121"

    run(go())


def test_fills_cancel_all_and_dead_man() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest):
            ex = sim.exchange("okx")
            acct = sim.credentials("okx").api_key
            since = ex._clock_ms() - 1
            _, ask = ex.touch(SYM)
            taker = limit(
                "take1", Side.BUY, ask + Decimal("5"), qty="0.01", time_in_force=TimeInForce.IOC
            )
            await place(ad, rest, taker)
            truth = ex.trades(acct, SYM)
            assert truth
            got = ad.parse_fills(await rest.call(ad.fills(SYM, since)))
            assert sorted(r.trade_id for r in got) == sorted(f.trade_id for f in truth)  # type: ignore[type-var]
            for r in got:
                f = next(f for f in truth if f.trade_id == r.trade_id)
                assert (r.last_qty, r.last_price, r.fee) == (f.qty, f.price, f.fee)
                assert r.client_order_id == "take1"
                assert r.liquidity == "taker"

            for i in range(3):
                await place(ad, rest, limit(f"rest{i}", Side.SELL, passive(sim, Side.SELL)))
            reports = ad.parse_cancel_all(await rest.call(ad.cancel_all(SYM)))
            assert sorted(r.client_order_id for r in reports) == ["rest0", "rest1", "rest2"]
            assert ex.open_orders(acct) == []

            resp = await rest.call(ad.dead_man(10, [SYM]))
            assert resp.status == 200
            await asyncio.sleep(1.05)  # 1 request per second
            await rest.call(ad.dead_man(0, [SYM]))
            assert ad.parse_server_time(await rest.call(ad.server_time())) > 0
            assert ad.parse_status(await rest.call(ad.status())).trading

    run(go())


async def _stream(
    sim: TradeSim, ad: Adapter, session: aiohttp.ClientSession
) -> tuple[aiohttp.ClientWebSocketResponse, object]:
    stream = ad.private_stream([])
    ws = await session.ws_connect(stream.url())
    for m in stream.open_messages():
        await ws.send_str(m)
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        ev = stream.on_message(msg.data)
        assert ev.error is None
        for r in ev.replies:
            await ws.send_str(r)
        if ev.ready:
            return ws, stream


def test_private_stream_ack_fill_cancel() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest), aiohttp.ClientSession() as session:
            ex = sim.exchange("okx")
            acct = sim.credentials("okx").api_key
            ws, stream = await _stream(sim, ad, session)
            await ws.send_str(stream.keepalive())  # type: ignore[attr-defined]
            reports: list[VenueReport] = []

            async def until(pred: object, n: int = 50) -> None:
                for _ in range(n):
                    if pred():  # type: ignore[operator]
                        return
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    reports.extend(stream.on_message(msg.data).reports)  # type: ignore[attr-defined]
                raise AssertionError(reports)

            bid, _ = ex.touch(SYM)
            o = limit("streamed1", Side.BUY, bid - Decimal("0.3"), qty="0.01")
            await place(ad, rest, o)
            await until(lambda: any(r.kind is ReportKind.ACK for r in reports))
            for _ in range(400):
                sim.step(1)
                t = ex.find(acct, client_order_id="streamed1")
                if t is not None and t.status == "filled":
                    break
            truth = ex.find(acct, client_order_id="streamed1")
            assert truth is not None
            assert truth.fills
            await until(
                lambda: {r.trade_id for r in reports if r.kind is ReportKind.FILL}
                == {f.trade_id for f in truth.fills}
            )
            for r in (r for r in reports if r.kind is ReportKind.FILL):
                f = next(f for f in truth.fills if f.trade_id == r.trade_id)
                assert (r.last_qty, r.last_price, r.fee, r.liquidity) == (
                    f.qty,
                    f.price,
                    f.fee,
                    "maker",
                )

            c = limit("streamed2", Side.SELL, passive(sim, Side.SELL))
            await place(ad, rest, c)
            await rest.call(ad.cancel(c))
            await until(
                lambda: any(
                    r.kind is ReportKind.CANCELED and r.client_order_id == "streamed2"
                    for r in reports
                )
            )
            p = limit(
                "postonly1", Side.BUY, ex.touch(SYM)[1] + 1, time_in_force=TimeInForce.POST_ONLY
            )
            await place(ad, rest, p)
            await until(
                lambda: any(
                    r.kind is ReportKind.EXPIRED and r.client_order_id == "postonly1"
                    for r in reports
                )
            )
            await ws.close()

    run(go())


def test_bad_signature_and_stale_timestamp() -> None:
    async def go() -> None:
        async with okx(secret="0" * 64) as (_sim, ad, rest):
            with pytest.raises(AuthError) as err:
                await rest.call(ad.open_orders(None))
            assert err.value.code == "50113"
            assert not isinstance(err.value, ClockSkewError)
        async with okx(clock_skew_ms=-60_000) as (_sim, ad, rest):
            with pytest.raises(ClockSkewError) as err2:
                await rest.call(ad.open_orders(None))
            assert err2.value.code == "50102"

    run(go())


def test_bad_ws_login_is_an_auth_error() -> None:
    async def go() -> None:
        async with okx(secret="0" * 64) as (_s, ad, _r), aiohttp.ClientSession() as session:
            stream = ad.private_stream([SYM])
            ws = await session.ws_connect(stream.url())
            await ws.send_str(stream.open_messages()[0])
            msg = await asyncio.wait_for(ws.receive(), 5)
            ev = stream.on_message(msg.data)
            assert isinstance(ev.error, AuthError)
            assert ev.error.code == "60007"
            await ws.close()

    run(go())


def test_faults_are_classified() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest):
            faults = sim.contexts["okx"].faults
            ex = sim.exchange("okx")
            acct = sim.credentials("okx").api_key

            faults.force(TradeFault.DROP_RESPONSE)
            o = limit("dropped1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError):
                await rest.call(ad.place(o))
            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            assert ex.find(acct, client_order_id="dropped1")

            faults.force(TradeFault.REST_5XX_AFTER)
            o2 = limit("after5xx1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError) as e2:
                await rest.call(ad.place(o2))
            assert e2.value.code == "50004"
            assert ex.find(acct, client_order_id="after5xx1") is not None

            faults.force(TradeFault.REST_5XX_BEFORE)
            o3 = limit("before5xx1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(VenueUnavailableError) as e3:
                await rest.call(ad.place(o3))
            assert isinstance(e3.value, RetryableError)
            assert e3.value.code == "50001"
            assert ex.find(acct, client_order_id="before5xx1") is None

            faults.force(TradeFault.MAINTENANCE)
            with pytest.raises(VenueUnavailableError):
                await rest.call(ad.place(o3))
            assert not ad.parse_status(await rest.send(ad.status())).trading
            (c,) = ad.parse_cancel(o, await rest.call(ad.cancel(o)))  # cancels still work
            assert c.kind is ReportKind.CANCELED
            sim.contexts["okx"].maintenance_until = 0.0

            faults.force(TradeFault.RATE_429)
            with pytest.raises(RateLimitedError) as e4:
                await rest.call(ad.place(o3))
            assert e4.value.retry_after is not None
            assert e4.value.http_status == 429

    run(go())


def test_rate_limit_429() -> None:
    async def go() -> None:
        async with okx() as (sim, ad, rest):
            o = limit("ratelimited1", Side.BUY, Decimal(1))

            async def hammer() -> None:
                for _ in range(61):
                    ad.parse_query(o, await rest.send(ad.query(o)))

            with pytest.raises(RateLimitedError):
                await hammer()
            assert sim.apis["okx"].limits.rejections >= 1

    run(go())
