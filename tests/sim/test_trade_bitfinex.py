"""The Bitfinex adapter against the simulator's Bitfinex API: orders, queries, the authenticated
stream, auth, nonces and faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
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
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderType, Side, TimeInForce
from venuegate.net.rest import RestClient
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.venues.base import Amend, Endpoints
from venuegate.venues.bitfinex import Adapter, BitfinexPrivateStream

SYM = "tBTCUSD"
V = "bitfinex"


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@contextlib.asynccontextmanager
async def bfx(*, secret: str | None = None) -> AsyncIterator[tuple[TradeSim, Adapter, RestClient]]:
    async with TradeSim([V], seed=13, profile="none", step_hz=0) as sim:
        cred = sim.credentials(V)
        s = signer(V, api_key=cred.api_key, secret=secret or cred.secret)
        ad = Adapter(endpoints=Endpoints(sim.rest_url(V), sim.private_ws_url(V)), signer=s)
        async with RestClient(ad, ssl=False) as rest:
            yield sim, ad, rest


def order(
    ad: Adapter,
    n: int,
    side: Side,
    price: Decimal | None,
    qty: str = "0.01",
    tif: TimeInForce = TimeInForce.GTC,
    **kw: object,
) -> Order:
    return Order(
        venue=V,
        symbol=SYM,
        client_order_id=ad.new_client_order_id("test", n),
        side=side,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=Decimal(qty),
        price=price,
        time_in_force=tif,
        **kw,  # type: ignore[arg-type]
    )


def passive(sim: TradeSim, side: Side, ticks: int = 50) -> Decimal:
    bid, ask = sim.exchange(V).touch(SYM)
    return bid - ticks if side is Side.BUY else ask + ticks


async def place(ad: Adapter, rest: RestClient, o: Order) -> list[VenueReport]:
    return ad.parse_place(o, await rest.call(ad.place(o)))


def test_place_query_amend_cancel_open_orders_fills() -> None:  # noqa: PLR0915 - one scenario
    async def go() -> None:  # noqa: PLR0915
        async with bfx() as (sim, ad, rest):
            ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            o = order(ad, 1, Side.BUY, passive(sim, Side.BUY))
            (ack,) = await place(ad, rest, o)
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert ack.kind is ReportKind.ACK
            assert ack.venue_order_id == truth.venue_order_id
            assert (ack.quantity, ack.price, ack.side) == (truth.quantity, truth.price, Side.BUY)
            o = o.evolve(venue_order_id=ack.venue_order_id)

            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            assert (st.quantity, st.price) == (truth.quantity, truth.price)
            assert st.filled_qty == 0

            assert o.price is not None
            new_px = o.price - Decimal(5)
            amend = Amend(quantity=Decimal("0.03"), price=new_px)
            (am,) = ad.parse_amend(o, amend, await rest.call(ad.amend(o, amend)))
            assert am.kind is ReportKind.AMENDED
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert (truth.quantity, truth.price) == (Decimal("0.03"), new_px)
            assert (am.quantity, am.price, am.venue_order_id) == (
                Decimal("0.03"), new_px, truth.venue_order_id,
            )  # fmt: skip
            o = o.evolve(quantity=Decimal("0.03"), price=new_px)

            listed = ad.parse_open_orders(await rest.call(ad.open_orders(SYM)))
            assert [r.client_order_id for r in listed] == [o.client_order_id]
            assert listed[0].price == new_px

            assert ad.parse_cancel(o, await rest.call(ad.cancel(o)))[0].kind is ReportKind.CANCELED
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert truth.status == "canceled"
            with pytest.raises(OrderNotFoundError):
                await rest.call(ad.cancel(o))
            # a closed order: not among the active ones, found in the history
            first = await rest.call(ad.query(o))
            assert ad.parse_query(o, first) == []
            follow = ad.query_followup(o, first)
            assert follow is not None
            (st,) = ad.parse_query_followup(o, await rest.call(follow))
            assert st.kind is ReportKind.STATUS
            assert st.state is not None
            assert st.state.value == "canceled"

            missing = order(ad, 2, Side.BUY, Decimal(100))
            first = await rest.send(ad.query(missing))
            assert ad.parse_query(missing, first) == []
            follow = ad.query_followup(missing, first)
            assert follow is not None
            (nf,) = ad.parse_query_followup(missing, await rest.send(follow))
            assert nf.kind is ReportKind.NOT_FOUND
            # The active lookup never answers NOT_FOUND by itself, however often it is asked
            # (no history lookup is left pending between queries).
            live = order(ad, 9, Side.BUY, Decimal(100))
            await place(ad, rest, live)
            assert ad.parse_query(missing, await rest.send(ad.query(missing))) == []
            (st2,) = ad.parse_query(live, await rest.send(ad.query(live)))
            assert st2.kind is ReportKind.STATUS
            await rest.call(ad.cancel(live))

            # marketable: fills at once; the fills listing carries the venue's trade ids
            since = _now_ms() - 1000
            m = order(ad, 3, Side.BUY, None, qty="0.2")
            reports = await place(ad, rest, m)
            assert reports[0].kind is ReportKind.ACK
            truth = ex.find(acct, client_order_id=m.client_order_id)
            assert truth is not None
            assert truth.status == "filled"
            fills = ad.parse_fills(await rest.call(ad.fills(SYM, since)))
            assert [f.trade_id for f in fills] == [f.trade_id for f in truth.fills]
            assert [(f.last_qty, f.last_price) for f in fills] == [
                (f.qty, f.price) for f in truth.fills
            ]
            assert all(f.client_order_id == m.client_order_id for f in fills)
            assert fills[0].fee == truth.fills[0].fee
            assert fills[0].liquidity == "taker"

            # cancel-all
            a = order(ad, 4, Side.SELL, passive(sim, Side.SELL))
            b = order(ad, 5, Side.BUY, passive(sim, Side.BUY))
            await place(ad, rest, a)
            await place(ad, rest, b)
            done = ad.parse_cancel_all(await rest.call(ad.cancel_all(None)))
            assert sorted(r.client_order_id for r in done) == sorted(
                [a.client_order_id, b.client_order_id]
            )
            assert ex.open_orders(acct) == []

    run(go())


def test_tif_variants_and_rejects() -> None:
    async def go() -> None:
        async with bfx() as (sim, ad, rest):
            ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            _, ask = ex.touch(SYM)
            po = order(ad, 1, Side.BUY, ask + 10, tif=TimeInForce.POST_ONLY)
            ack, exp = await place(ad, rest, po)
            assert (ack.kind, exp.kind) == (ReportKind.ACK, ReportKind.EXPIRED)
            assert ex.find(acct, client_order_id=po.client_order_id).status == "expired"  # type: ignore[union-attr]

            fok = order(ad, 2, Side.BUY, ask, qty="1000", tif=TimeInForce.FOK)
            ack, exp = await place(ad, rest, fok)
            assert exp.kind is ReportKind.EXPIRED

            gtd = order(
                ad, 3, Side.BUY, passive(sim, Side.BUY), tif=TimeInForce.GTD,
                expire_at=datetime.now(UTC) + timedelta(hours=1),
            )  # fmt: skip
            (ack,) = await place(ad, rest, gtd)
            truth = ex.find(acct, client_order_id=gtd.client_order_id)
            assert truth is not None
            assert truth.expire_at_ms is not None

            with pytest.raises(DuplicateOrderError):
                await rest.call(ad.place(gtd))
            bad = order(ad, 4, Side.BUY, passive(sim, Side.BUY), qty="0.000000001")
            with pytest.raises(FatalError) as err:
                await rest.call(ad.place(bad))
            assert err.value.code == "10020"

    run(go())


def test_private_stream_ack_fill_cancel() -> None:
    async def go() -> None:
        async with bfx() as (sim, ad, rest):
            ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            assert ad.dead_man(30, [SYM]) is None  # arms the auth's dms: 4
            stream = ad.private_stream([SYM])
            assert isinstance(stream, BitfinexPrivateStream)
            got: list[VenueReport] = []
            async with aiohttp.ClientSession() as http, http.ws_connect(stream.url()) as ws:
                for m in stream.open_messages():
                    await ws.send_str(m)

                async def pump(until: Callable[[], bool]) -> None:
                    while not until():
                        msg = await asyncio.wait_for(ws.receive(), 5)
                        ev = stream.on_message(msg.data)
                        assert ev.error is None
                        got.extend(ev.reports)

                ready = False

                async def auth() -> None:
                    nonlocal ready
                    while not ready:
                        msg = await asyncio.wait_for(ws.receive(), 5)
                        ready = stream.on_message(msg.data).ready

                await auth()
                o = order(ad, 1, Side.BUY, passive(sim, Side.BUY, ticks=1))
                await place(ad, rest, o)
                await pump(lambda: any(r.kind is ReportKind.ACK for r in got))
                truth = ex.find(acct, client_order_id=o.client_order_id)
                for _ in range(200):
                    if truth is not None and truth.fills:
                        break
                    sim.step()
                    truth = ex.find(acct, client_order_id=o.client_order_id)
                assert truth is not None
                assert truth.fills
                await pump(lambda: any(r.kind is ReportKind.FILL for r in got))
                fill = next(r for r in got if r.kind is ReportKind.FILL)
                assert fill.trade_id == truth.fills[0].trade_id
                assert (fill.last_qty, fill.last_price) == (
                    truth.fills[0].qty,
                    truth.fills[0].price,
                )
                assert fill.client_order_id == o.client_order_id

                c = order(ad, 2, Side.SELL, passive(sim, Side.SELL))
                await place(ad, rest, c)
                await rest.call(ad.cancel(c))
                await pump(
                    lambda: any(
                        r.kind is ReportKind.CANCELED and r.client_order_id == c.client_order_id
                        for r in got
                    )
                )
                await ws.send_str(stream.keepalive())
                # dead-man: closing the authenticated socket cancels the account's orders
                d = order(ad, 3, Side.SELL, passive(sim, Side.SELL))
                await place(ad, rest, d)
            for _ in range(50):
                if not ex.open_orders(acct):
                    break
                await asyncio.sleep(0.02)
            assert ex.open_orders(acct) == []

    run(go())


def test_bad_signature_and_stale_nonce() -> None:
    async def go() -> None:
        async with bfx(secret="0" * 64) as (sim, ad, rest):
            o = order(ad, 1, Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(AuthError) as err:
                await rest.call(ad.place(o))
            assert err.value.code == "10100"
            assert not isinstance(err.value, ClockSkewError)
            # the stream's auth is refused too
            stream = ad.private_stream([SYM])
            async with aiohttp.ClientSession() as http, http.ws_connect(stream.url()) as ws:
                await ws.send_str(stream.open_messages()[0])
                error = None
                while error is None:
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    error = stream.on_message(msg.data).error
                assert isinstance(error, AuthError)
        async with bfx() as (sim, ad, rest):
            o = order(ad, 1, Side.BUY, passive(sim, Side.BUY))
            await rest.call(ad.place(o))
            # A second process on the same key whose clock is a minute behind: its nonces are
            # below the last one the venue saw ("nonce: small").
            cred = sim.credentials(V)
            behind = _now_ms() - 60_000
            # Nonce venues sign with the signer's (local) clock, not the client's venue clock.
            late = signer(V, api_key=cred.api_key, secret=cred.secret, clock_ms=lambda: behind)
            # Its own id clock, ahead of the first adapter's: two adapters of one session issuing
            # in the same millisecond would give the same cid (the flake this avoids).
            ad2 = Adapter(endpoints=ad.endpoints, signer=late, clock_ms=lambda: _now_ms() + 50)
            async with RestClient(ad2, ssl=False) as rest2:
                o2 = order(ad2, 2, Side.BUY, passive(sim, Side.BUY))
                with pytest.raises(ClockSkewError) as err2:
                    await rest2.call(ad2.place(o2))
            assert err2.value.code == "10114"
            assert sim.exchange(V).find(cred.api_key, client_order_id=o2.client_order_id) is None
            # the first process's nonces still rise, whatever time it is told
            o3 = order(ad, 3, Side.BUY, passive(sim, Side.BUY))
            await rest.call(ad.place(o3))

    run(go())


def test_faults_are_classified() -> None:
    async def go() -> None:
        async with bfx() as (sim, ad, rest):
            ex = sim.exchange(V)
            acct = sim.credentials(V).api_key
            faults = sim.contexts[V].faults

            faults.force(TradeFault.DROP_RESPONSE)
            o = order(ad, 1, Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError):
                await rest.call(ad.place(o))
            (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
            assert st.kind is ReportKind.STATUS
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert st.venue_order_id == truth.venue_order_id

            faults.force(TradeFault.REST_5XX_AFTER)
            o2 = order(ad, 2, Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(UnknownOutcomeError):
                await rest.call(ad.place(o2))
            assert ex.find(acct, client_order_id=o2.client_order_id) is not None

            faults.force(TradeFault.REST_5XX_BEFORE)
            o3 = order(ad, 3, Side.BUY, passive(sim, Side.BUY))
            with pytest.raises(VenueUnavailableError):
                await rest.call(ad.place(o3))
            assert ex.find(acct, client_order_id=o3.client_order_id) is None

            faults.force(TradeFault.MAINTENANCE)
            with pytest.raises(VenueUnavailableError) as err:
                await rest.call(ad.place(o3))
            assert err.value.code == "20060"
            st2 = ad.parse_status(await rest.call(ad.status()))
            assert not st2.trading
            (c,) = ad.parse_cancel(o2, await rest.call(ad.cancel(o2)))  # cancels still work
            assert c.kind is ReportKind.CANCELED
            sim.contexts[V].maintenance_until = 0.0
            assert ad.parse_status(await rest.call(ad.status())).trading

            faults.force(TradeFault.RATE_429)
            with pytest.raises(RateLimitedError):
                await rest.call(ad.place(o3))
            await asyncio.sleep(1.05)
            # the documented window: 90 requests a minute per endpoint, then a 60 s block
            for _ in range(90 - int(sim.apis[V].limits.used("ORDERS"))):
                await rest.call(ad.open_orders(SYM))
            with pytest.raises(RateLimitedError) as rl:
                await rest.call(ad.open_orders(SYM))
            assert rl.value.http_status == 429
            assert rl.value.retry_after is not None
            assert rl.value.retry_after > 50

    run(go())
