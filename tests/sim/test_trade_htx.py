"""The HTX adapter against the simulator's HTX API: orders, queries, stream, auth and faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    ClockSkewError,
    ConfigError,
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
from venuegate.venues.htx import Adapter, HtxPrivateStream

SYM = "btcusdt"
TICK = Decimal("0.01")


@contextlib.asynccontextmanager
async def htx(
    *, secret: str | None = None, clock_skew_ms: int = 0
) -> AsyncIterator[tuple[TradeSim, Adapter, RestClient]]:
    async with TradeSim(["htx"], seed=13, profile="none", step_hz=0) as sim:
        cred = sim.credentials("htx")
        s = signer(
            "htx",
            api_key=cred.api_key,
            secret=secret or cred.secret,
            clock_ms=lambda: int(datetime.now(UTC).timestamp() * 1000) + clock_skew_ms,
        )
        ad = Adapter(endpoints=Endpoints(sim.rest_url("htx"), sim.private_ws_url("htx")), signer=s)
        async with RestClient(ad, ssl=False) as rest:
            if secret is None and clock_skew_ms == 0:
                ad.parse_accounts(await rest.call(ad.accounts()))
            else:
                ad.account_id = "10000001"
            yield sim, ad, rest


def limit(cid: str, side: Side, price: Decimal, qty: str = "0.01", **kw: object) -> Order:
    return Order(
        venue="htx",
        symbol=SYM,
        client_order_id=cid,
        side=side,
        type=OrderType.LIMIT,
        quantity=Decimal(qty),
        price=price,
        **kw,  # type: ignore[arg-type]
    )


def passive(sim: TradeSim, side: Side, ticks: int = 50) -> Decimal:
    bid, ask = sim.exchange("htx").touch(SYM)
    return bid - ticks * TICK if side is Side.BUY else ask + ticks * TICK


async def place(ad: Adapter, rest: RestClient, order: Order) -> list[VenueReport]:
    return ad.parse_place(order, await rest.call(ad.place(order)))


def test_place_query_cancel_open_orders_and_no_amend() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest):
            ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key
            assert ad.account_id == "10000001"
            o = limit("vgA-1", Side.BUY, passive(sim, Side.BUY))
            (ack,) = await place(ad, rest, o)
            truth = ex.find(acct, client_order_id="vgA-1")
            assert truth is not None
            assert ack.kind is ReportKind.ACK
            assert ack.venue_order_id == truth.venue_order_id
            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            assert (st.quantity, st.price, st.filled_qty) == (
                truth.quantity,
                truth.price,
                Decimal(0),
            )
            assert st.state is not None
            assert st.state.value == "new"
            opens = ad.parse_open_orders(await rest.call(ad.open_orders(SYM)))
            assert [r.client_order_id for r in opens] == ["vgA-1"]
            # HTX has no amend: the engine cancels then places (AmendMode.CANCEL_NEW).
            with pytest.raises(ConfigError):
                ad.amend(o, Amend(price=o.price))
            # A successful cancel answers 10 ("cancelling"): the stream confirms.
            assert ad.parse_cancel(o, await rest.call(ad.cancel(o))) == []
            truth = ex.find(acct, client_order_id="vgA-1")
            assert truth is not None
            assert truth.status == "canceled"
            # Canceling again answers the closed order's status: 7 canceled.
            (again,) = ad.parse_cancel(o, await rest.call(ad.cancel(o)))
            assert again.kind is ReportKind.CANCELED
            (st2,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st2.state is not None
            assert st2.state.value == "canceled"
            missing = limit("never-sent", Side.BUY, Decimal(1))
            (nf,) = ad.parse_query(missing, await rest.send(ad.query(missing)))
            assert nf.kind is ReportKind.NOT_FOUND
            with pytest.raises(OrderNotFoundError):
                await rest.call(ad.cancel(missing))
            assert ad.parse_open_orders(await rest.call(ad.open_orders(None))) == []
            assert (
                abs(ad.parse_server_time(await rest.call(ad.server_time())) - ex._clock_ms()) < 5000
            )
            assert ad.parse_status(await rest.call(ad.status())).trading

    run(go())


def test_duplicate_and_rejects() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest):
            o = limit("dup-1", Side.BUY, passive(sim, Side.BUY))
            await place(ad, rest, o)
            with pytest.raises(DuplicateOrderError):
                await rest.call(ad.place(o))
            with pytest.raises(FatalError):
                await rest.call(ad.place(limit("badpx-1", Side.BUY, Decimal("1.001"))))
            po = limit("po-1", Side.BUY, sim.exchange("htx").touch(SYM)[1] + TICK,
                       time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
            with pytest.raises(FatalError):
                await rest.call(ad.place(po))

    run(go())


def test_fills_cancel_all_and_dead_man() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest):
            ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key
            since = ex._clock_ms() - 1000
            _, ask = ex.touch(SYM)
            o = limit("taker-1", Side.BUY, ask + 5 * TICK, qty="0.2",
                      time_in_force=TimeInForce.IOC)  # fmt: skip
            await place(ad, rest, o)
            truth = ex.find(acct, client_order_id="taker-1")
            assert truth is not None
            assert truth.fills
            fills = ad.parse_fills(await rest.call(ad.fills(SYM, since)))
            assert {f.trade_id for f in fills} == {f.trade_id for f in truth.fills}
            for r in fills:
                f = next(f for f in truth.fills if f.trade_id == r.trade_id)
                assert r.client_order_id == "taker-1"
                assert (r.last_qty, r.last_price, r.fee, r.liquidity, r.fee_asset) == (
                    f.qty, f.price, f.fee, "taker", "usdt",
                )  # fmt: skip
            m = Order(venue="htx", symbol=SYM, client_order_id="mkt-1", side=Side.SELL,
                      type=OrderType.MARKET, quantity=Decimal("0.01"))  # fmt: skip
            await place(ad, rest, m)
            mt = ex.find(acct, client_order_id="mkt-1")
            assert mt is not None
            assert mt.status == "filled"
            for i in range(3):
                await place(ad, rest, limit(f"rest-{i}", Side.BUY, passive(sim, Side.BUY)))
            assert ad.parse_cancel_all(await rest.call(ad.cancel_all(SYM))) == []
            assert ex.open_orders(acct) == []
            # Dead man: armed for 5 s then disarmed; arming answers the trigger time.
            call = ad.dead_man(5, [SYM])
            assert ad.parse_dead_man(await rest.call(call)) > 0
            assert ad.parse_dead_man(await rest.call(ad.dead_man(0, [SYM]))) == 0
            with pytest.raises(ConfigError):
                ad.dead_man(2, [SYM])

    run(go())


async def _stream(
    ad: Adapter, session: aiohttp.ClientSession
) -> tuple[aiohttp.ClientWebSocketResponse, HtxPrivateStream]:
    stream = ad.private_stream([SYM])
    ws = await session.ws_connect(stream.url())
    for m in stream.open_messages():
        await ws.send_str(m)
    for _ in range(10):
        msg = await asyncio.wait_for(ws.receive(), 5)
        ev = stream.on_message(msg.data)
        assert ev.error is None
        for reply in ev.replies:
            await ws.send_str(reply)
        if ev.ready:
            return ws, stream
    raise AssertionError("not ready")


def test_private_stream_ack_fill_cancel() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest), aiohttp.ClientSession() as session:
            ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key
            ws, stream = await _stream(ad, session)
            await ws.send_str('{"action":"ping","data":{"ts":1}}')
            reports: list[VenueReport] = []

            async def until(pred: Callable[[], bool], n: int = 60) -> None:
                for _ in range(n):
                    if pred():
                        return
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    reports.extend(stream.on_message(msg.data).reports)
                raise AssertionError(reports)

            bid, _ = ex.touch(SYM)
            o = limit("streamed-1", Side.BUY, bid - 3 * TICK)
            await place(ad, rest, o)
            await until(lambda: any(r.kind is ReportKind.ACK for r in reports))
            for _ in range(400):
                sim.step(1)
                t = ex.find(acct, client_order_id="streamed-1")
                if t is not None and t.status == "filled":
                    break
            truth = ex.find(acct, client_order_id="streamed-1")
            assert truth is not None
            assert truth.fills
            await until(
                lambda: {r.trade_id for r in reports if r.kind is ReportKind.FILL}
                == {f.trade_id for f in truth.fills}
            )
            for r in (r for r in reports if r.kind is ReportKind.FILL):
                f = next(f for f in truth.fills if f.trade_id == r.trade_id)
                assert r.client_order_id == "streamed-1"
                assert (r.last_qty, r.last_price, r.fee, r.liquidity) == (
                    f.qty, f.price, f.fee, "maker",
                )  # fmt: skip
            c = limit("streamed-2", Side.SELL, passive(sim, Side.SELL))
            await place(ad, rest, c)
            await rest.call(ad.cancel(c))
            await until(
                lambda: any(
                    r.kind is ReportKind.CANCELED and r.client_order_id == "streamed-2"
                    for r in reports
                )
            )
            fok = limit("fok-1", Side.BUY, bid - 40 * TICK, time_in_force=TimeInForce.FOK)
            await place(ad, rest, fok)
            await until(
                lambda: any(
                    r.kind is ReportKind.EXPIRED and r.client_order_id == "fok-1" for r in reports
                )
            )
            await ws.close()

    run(go())


def test_bad_signature_and_stale_timestamp() -> None:
    async def go() -> None:
        async with htx(secret="0" * 64) as (_sim, ad, rest):
            with pytest.raises(AuthError) as err:
                await rest.call(ad.open_orders(None))
            assert err.value.code == "api-signature-not-valid"
            assert not isinstance(err.value, ClockSkewError)
        async with htx(clock_skew_ms=-600_000) as (_sim, ad, rest):
            with pytest.raises(ClockSkewError) as err2:
                await rest.call(ad.open_orders(None))
            assert err2.value.code == "api-signature-not-valid"

    run(go())


def test_bad_ws_auth_is_an_auth_error() -> None:
    async def go() -> None:
        async with htx(secret="0" * 64) as (_s, ad, _r), aiohttp.ClientSession() as session:
            stream = ad.private_stream([SYM])
            ws = await session.ws_connect(stream.url())
            await ws.send_str(stream.open_messages()[0])
            msg = await asyncio.wait_for(ws.receive(), 5)
            ev = stream.on_message(msg.data)
            assert isinstance(ev.error, AuthError)
            assert ev.error.code == "2003"
            await ws.close()

    run(go())


def test_faults_are_classified() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest):
            faults = sim.contexts["htx"].faults
            ex = sim.exchange("htx")
            acct = sim.credentials("htx").api_key

            faults.force(TradeFault.DROP_RESPONSE)
            o = limit("dropped-1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError):
                await rest.call(ad.place(o))
            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            assert ex.find(acct, client_order_id="dropped-1")

            faults.force(TradeFault.REST_5XX_AFTER)
            o2 = limit("after5xx-1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError) as e2:
                await rest.call(ad.place(o2))
            assert e2.value.code == "timeout"
            assert ex.find(acct, client_order_id="after5xx-1") is not None

            faults.force(TradeFault.REST_5XX_BEFORE)
            o3 = limit("before5xx-1", Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(VenueUnavailableError) as e3:
                await rest.call(ad.place(o3))
            assert isinstance(e3.value, RetryableError)
            assert e3.value.code == "gateway-internal-error"
            assert ex.find(acct, client_order_id="before5xx-1") is None

            faults.force(TradeFault.MAINTENANCE)
            with pytest.raises(VenueUnavailableError) as e5:
                await rest.call(ad.place(o3))
            assert e5.value.code == "system-maintenance"
            assert not ad.parse_status(await rest.call(ad.status())).trading
            await rest.call(ad.cancel(o))  # cancels still work
            t = ex.find(acct, client_order_id="dropped-1")
            assert t is not None
            assert t.status == "canceled"
            sim.contexts["htx"].maintenance_until = 0.0

            faults.force(TradeFault.RATE_429)
            with pytest.raises(RateLimitedError) as e4:
                await rest.call(ad.place(o3))
            assert e4.value.retry_after is not None
            assert e4.value.http_status == 429

    run(go())


def test_rate_limit_429() -> None:
    async def go() -> None:
        async with htx() as (sim, ad, rest):
            o = limit("ratelimited-1", Side.BUY, Decimal(1))

            async def hammer() -> None:
                for _ in range(51):
                    ad.parse_query(o, await rest.send(ad.query(o)))

            with pytest.raises(RateLimitedError):
                await hammer()
            assert sim.apis["htx"].limits.rejections >= 1

    run(go())
