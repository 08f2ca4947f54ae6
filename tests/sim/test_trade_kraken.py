"""The Kraken adapter against the simulator's Kraken API, over loopback HTTP and WebSocket.

Every assertion about what happened is checked against `sim.exchange("kraken")`, the
simulator's own record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
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
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.rest import RestClient
from venuegate.oms.types import ReportKind, VenueReport
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.sim.trade.kraken import from_txid
from venuegate.venues.base import Amend, Endpoints
from venuegate.venues.kraken import Adapter, KrakenPrivateStream

SYMBOL = "BTC/USD"
TICK = Decimal("0.1")


@asynccontextmanager
async def kraken(
    seed: int = 11, secret: str | None = None
) -> AsyncIterator[tuple[TradeSim, Adapter, RestClient]]:
    async with TradeSim(["kraken"], seed=seed, profile="none", step_hz=0) as sim:
        cred = sim.credentials("kraken")
        adapter = Adapter(
            endpoints=Endpoints(sim.rest_url("kraken"), sim.private_ws_url("kraken")),
            signer=signer("kraken", api_key=cred.api_key, secret=secret or cred.secret),
        )
        async with RestClient(adapter, ssl=False) as rest:
            yield sim, adapter, rest


def order(adapter: Adapter, n: int, side: Side, price: Decimal | None, **kw: object) -> Order:
    return Order(
        venue="kraken",
        symbol=SYMBOL,
        client_order_id=adapter.new_client_order_id("sim-test", n),
        side=side,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=Decimal(str(kw.pop("qty", "0.01"))),
        price=price,
        **kw,  # type: ignore[arg-type]
    )


def resting_bid(sim: TradeSim, ticks: int = 50) -> Decimal:
    bid, _ = sim.exchange("kraken").touch(SYMBOL)
    return bid - ticks * TICK


def account(sim: TradeSim) -> str:
    return sim.credentials("kraken").api_key


async def placed(adapter: Adapter, rest: RestClient, o: Order) -> Order:
    reports = adapter.parse_place(o, await rest.call(adapter.place(o)))
    assert reports[0].kind is ReportKind.ACK
    assert reports[0].venue_order_id
    return o.evolve(venue_order_id=reports[0].venue_order_id, state=OrderState.NEW)


def test_place_query_amend_cancel_against_the_exchange() -> None:
    async def go() -> None:
        async with kraken() as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            acct = account(sim)
            price = resting_bid(sim)
            o = await placed(adapter, rest, order(adapter, 1, Side.BUY, price))
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert truth.is_open
            assert truth.price == price
            assert from_txid(o.venue_order_id or "") == truth.venue_order_id

            # Query by txid (QueryOrders) and by client id (OpenOrders filter).
            (st,) = adapter.parse_query(o, await rest.call(adapter.query(o)))
            assert st.kind is ReportKind.STATUS
            assert st.state is OrderState.NEW
            assert st.quantity == Decimal("0.01")
            assert st.price == price
            assert st.symbol == SYMBOL
            bare = o.evolve(venue_order_id=None)
            (st2,) = adapter.parse_query(bare, await rest.call(adapter.query(bare)))
            assert st2.venue_order_id == o.venue_order_id

            # Amend in place: ids kept, the exchange holds the new values.
            amend = Amend(quantity=Decimal("0.02"), price=price - TICK)
            (am,) = adapter.parse_amend(o, amend, await rest.call(adapter.amend(o, amend)))
            assert am.kind is ReportKind.AMENDED
            assert am.quantity == Decimal("0.02")
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert truth.quantity == Decimal("0.02")
            assert truth.price == price - TICK

            (opened,) = adapter.parse_open_orders(await rest.call(adapter.open_orders(None)))
            assert opened.client_order_id == o.client_order_id
            assert opened.quantity == Decimal("0.02")

            (cx,) = adapter.parse_cancel(o, await rest.call(adapter.cancel(o)))
            assert cx.kind is ReportKind.CANCELED
            truth = ex.find(acct, client_order_id=o.client_order_id)
            assert truth is not None
            assert truth.status == "canceled"
            (st3,) = adapter.parse_query(o, await rest.call(adapter.query(o)))
            assert st3.state is OrderState.CANCELED

            # Canceling again: the venue's unknown-order error.
            with pytest.raises(OrderNotFoundError):
                await rest.call(adapter.cancel(o))

            # Cancel by client id (no txid) and cancel-all.
            o2 = order(adapter, 2, Side.BUY, price)
            await placed(adapter, rest, o2)
            adapter.parse_cancel(o2, await rest.call(adapter.cancel(o2)))
            assert ex.find(acct, client_order_id=o2.client_order_id).status == "canceled"  # type: ignore[union-attr]
            for n in (3, 4):
                await placed(adapter, rest, order(adapter, n, Side.SELL, price + 100 * TICK * 20))
            assert len(ex.open_orders(acct)) == 2
            assert adapter.parse_cancel_all(await rest.call(adapter.cancel_all(None))) == []
            assert ex.open_orders(acct) == []

    run(go())


def test_fills_match_the_exchange_and_query_by_client_id() -> None:
    async def go() -> None:
        async with kraken(seed=12) as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            acct = account(sim)
            t0 = int(datetime.now(UTC).timestamp() * 1000)
            _, ask = ex.touch(SYMBOL)
            taker = await placed(adapter, rest, order(adapter, 1, Side.BUY, ask + 5 * TICK))
            truth = ex.find(acct, client_order_id=taker.client_order_id)
            assert truth is not None
            assert truth.filled > 0
            fills = adapter.parse_fills(await rest.call(adapter.fills(SYMBOL, t0)))
            want = {f.trade_id for f in ex.trades(acct)}
            got = {from_txid(r.trade_id or "") for r in fills}
            assert got == want
            assert len(fills) == len(want)
            for r in fills:
                assert r.kind is ReportKind.FILL
                assert r.client_order_id == taker.client_order_id
                assert r.symbol == SYMBOL
                assert r.side is Side.BUY
                assert r.liquidity == "taker"
            assert sum((r.last_qty or Decimal(0)) for r in fills) == truth.filled

            # A filled order is not open: query by client id → OpenOrders says nothing, the
            # closed-orders step finds it.
            bare = taker.evolve(venue_order_id=None)
            assert adapter.parse_query(bare, await rest.call(adapter.query(bare))) == []
            (st,) = adapter.parse_query(bare, await rest.call(adapter.query_closed(bare)))
            assert st.state in (OrderState.FILLED, OrderState.CANCELED)
            assert st.filled_qty == truth.filled

            # Unknown orders: NOT_FOUND, by txid and by client id.
            ghost = order(adapter, 99, Side.BUY, Decimal(100))
            assert adapter.parse_query(ghost, await rest.call(adapter.query(ghost))) == []
            (nf,) = adapter.parse_query(ghost, await rest.call(adapter.query_closed(ghost)))
            assert nf.kind is ReportKind.NOT_FOUND
            ghost2 = ghost.evolve(venue_order_id="O00000-00000-000042")
            (nf2,) = adapter.parse_query(ghost2, await rest.send(adapter.query(ghost2)))
            assert nf2.kind is ReportKind.NOT_FOUND

    run(go())


def test_refusals_are_classified() -> None:
    async def go() -> None:
        async with kraken(seed=13) as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            _, ask = ex.touch(SYMBOL)
            post = order(adapter, 1, Side.BUY, ask + TICK, time_in_force=TimeInForce.POST_ONLY)
            with pytest.raises(FatalError) as info:
                await rest.call(adapter.place(post))
            assert info.value.code == "EOrder:Post only order"
            with pytest.raises(ConfigError):
                adapter.place(order(adapter, 2, Side.BUY, ask, time_in_force=TimeInForce.FOK))
            price = resting_bid(sim)
            o = await placed(adapter, rest, order(adapter, 3, Side.BUY, price))
            with pytest.raises(DuplicateOrderError):
                await rest.call(adapter.place(o.evolve(venue_order_id=None)))
            with pytest.raises(FatalError):  # not a multiple of the tick
                await rest.call(adapter.place(order(adapter, 4, Side.BUY, price + Decimal("0.01"))))
            # IOC and GTD are accepted.
            ioc = order(adapter, 5, Side.SELL, price, time_in_force=TimeInForce.IOC)
            await placed(adapter, rest, ioc)
            gtd = order(
                adapter,
                6,
                Side.BUY,
                price,
                time_in_force=TimeInForce.GTD,
                expire_at=datetime.now(UTC) + timedelta(hours=1),
            )
            await placed(adapter, rest, gtd)
            truth = ex.find(account(sim), client_order_id=gtd.client_order_id)
            assert truth is not None
            assert truth.tif == "gtd"
            assert truth.expire_at_ms is not None

            # Time, status, dead man.
            server = adapter.parse_server_time(await rest.call(adapter.server_time()))  # type: ignore[arg-type]
            assert abs(server - int(datetime.now(UTC).timestamp() * 1000)) < 2000
            assert adapter.parse_status(await rest.call(adapter.status())).trading  # type: ignore[arg-type]
            await rest.call(adapter.dead_man(60, [SYMBOL]))  # type: ignore[arg-type]
            await rest.call(adapter.dead_man(0, [SYMBOL]))  # type: ignore[arg-type]
            await rest.call(adapter.dead_man(1, [SYMBOL]))  # type: ignore[arg-type]
            await asyncio.sleep(1.2)
            assert ex.open_orders(account(sim)) == []  # the switch fired

    run(go())


def test_bad_signature_and_stale_nonce() -> None:
    async def go() -> None:
        wrong = "c2VjcmV0" * 11
        async with kraken(seed=14, secret=wrong) as (_sim, adapter, rest):
            with pytest.raises(AuthError) as info:
                await rest.call(adapter.open_orders(None))
            assert info.value.code == "EAPI:Invalid signature"
        async with kraken(seed=15) as (sim, adapter, rest):
            await rest.call(adapter.open_orders(None))
            # A second process with a clock far behind: its own signer, so its own nonces.
            cred = sim.credentials("kraken")
            behind = Adapter(
                endpoints=adapter.endpoints,
                signer=signer(
                    "kraken", api_key=cred.api_key, secret=cred.secret, clock_ms=lambda: 1_000_000
                ),
            )
            old = RestClient(behind, ssl=False)
            async with old:
                with pytest.raises(ClockSkewError) as info2:
                    await old.call(adapter.open_orders(None))
            assert info2.value.code == "EAPI:Invalid nonce"

    run(go())


def test_faults_are_classified_and_resolved_by_query() -> None:
    async def go() -> None:
        async with kraken(seed=16) as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            acct = account(sim)
            faults = sim.contexts["kraken"].faults
            price = resting_bid(sim)

            faults.force(TradeFault.REST_5XX_BEFORE)
            o1 = order(adapter, 1, Side.BUY, price)
            with pytest.raises(VenueUnavailableError):
                await rest.call(adapter.place(o1))
            assert ex.find(acct, client_order_id=o1.client_order_id) is None

            for n, fault in ((2, TradeFault.REST_5XX_AFTER), (3, TradeFault.DROP_RESPONSE)):
                faults.force(fault)
                o = order(adapter, n, Side.BUY, price)
                with pytest.raises(UnknownOutcomeError):
                    await rest.call(adapter.place(o))
                (st,) = adapter.parse_query(o, await rest.call(adapter.query(o)))
                assert st.kind is ReportKind.STATUS
                assert st.venue_order_id
                assert ex.find(acct, client_order_id=o.client_order_id) is not None

            faults.force(TradeFault.RATE_429)
            with pytest.raises(RateLimitedError) as info:
                await rest.call(adapter.open_orders(None))
            assert info.value.retry_after == 2.0
            await asyncio.sleep(2.05)

            faults.force(TradeFault.MAINTENANCE)
            o4 = order(adapter, 4, Side.BUY, price)
            with pytest.raises(VenueUnavailableError) as info3:
                await rest.call(adapter.place(o4))
            assert info3.value.code == "EService:Market in cancel_only mode"
            assert not adapter.parse_status(await rest.call(adapter.status())).trading  # type: ignore[arg-type]
            o2 = order(adapter, 2, Side.BUY, price)
            adapter.parse_cancel(o2, await rest.call(adapter.cancel(o2)))  # cancels still work
            assert ex.find(acct, client_order_id=o2.client_order_id).status == "canceled"  # type: ignore[union-attr]
            await asyncio.sleep(0.55)

            faults.force(TradeFault.CLOCK_SKEW)  # Kraken signs a nonce, not a time: no effect
            await placed(adapter, rest, order(adapter, 5, Side.BUY, price))

            faults.force(TradeFault.REST_5XX_AFTER)
            o3 = order(adapter, 3, Side.BUY, price)
            with pytest.raises(UnknownOutcomeError):
                await rest.call(adapter.cancel(o3))
            assert ex.find(acct, client_order_id=o3.client_order_id).status == "canceled"  # type: ignore[union-attr]

    run(go())


def test_api_counter_rate_limit() -> None:
    async def go() -> None:
        async with kraken(seed=17) as (sim, adapter, rest):

            async def hammer() -> None:
                for _ in range(25):
                    await rest.call(adapter.open_orders(None))

            with pytest.raises(RateLimitedError) as info:
                await hammer()
            assert info.value.http_status == 429
            assert info.value.retry_after is not None
            assert sim.apis["kraken"].limits.rejections >= 1

    run(go())


async def _stream_reports(
    sim: TradeSim, adapter: Adapter, rest: RestClient, body: Callable[[], Awaitable[None]]
) -> list[VenueReport]:
    stream = adapter.private_stream([SYMBOL])
    await stream.prepare(rest)
    reports: list[VenueReport] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(stream.url()) as ws:
        for m in stream.open_messages():
            await ws.send_str(m)
        ready = False
        while not ready:
            ev = stream.on_message((await ws.receive(timeout=5)).data)
            assert ev.error is None
            ready = ev.ready
        ping = stream.keepalive()
        assert ping is not None
        await ws.send_str(ping)
        await body()
        await ws.send_str(ping)
        pongs = 0
        while pongs < 2:
            msg = await ws.receive(timeout=5)
            data = json.loads(msg.data)
            if data.get("method") == "pong":
                pongs += 1
                continue
            ev = stream.on_message(msg.data)
            assert ev.error is None
            reports.extend(ev.reports)
        # the second pong was answered after every event of `body` had been queued
        await asyncio.sleep(0.05)
        while True:
            try:
                msg = await ws.receive(timeout=0.2)
            except TimeoutError:
                break
            reports.extend(stream.on_message(msg.data).reports)
    return reports


def test_private_stream_ack_fill_cancel() -> None:
    async def go() -> None:
        async with kraken(seed=18) as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            acct = account(sim)
            price = resting_bid(sim, ticks=1)
            resting = order(adapter, 1, Side.BUY, price, qty="0.05")
            taker_o = order(adapter, 2, Side.SELL, price - 10 * TICK)
            parked = order(adapter, 3, Side.BUY, price - 200 * TICK)

            async def body() -> None:
                await placed(adapter, rest, resting)
                await placed(adapter, rest, taker_o)
                await placed(adapter, rest, parked)
                for _ in range(400):
                    sim.step()
                    t = ex.find(acct, client_order_id=resting.client_order_id)
                    if t is not None and t.filled > 0:
                        break
                adapter.parse_cancel(parked, await rest.call(adapter.cancel(parked)))

            reports = await _stream_reports(sim, adapter, rest, body)

            def by(cl: str, kind: ReportKind) -> list[VenueReport]:
                return [r for r in reports if r.client_order_id == cl and r.kind is kind]

            for o in (resting, taker_o, parked):
                (ack,) = by(o.client_order_id, ReportKind.ACK)
                assert ack.symbol == SYMBOL
                assert ack.venue_order_id
            assert by(parked.client_order_id, ReportKind.CANCELED)
            fills = [r for r in reports if r.kind is ReportKind.FILL]
            truth = {t.trade_id: t for t in ex.trades(acct)}
            assert {from_txid(r.trade_id or "") for r in fills} == set(truth)
            for r in fills:
                t = truth[from_txid(r.trade_id or "") or ""]
                assert (r.last_qty, r.last_price, r.fee) == (t.qty, t.price, t.fee)
                assert r.liquidity == t.liquidity
            assert by(taker_o.client_order_id, ReportKind.FILL)
            assert by(resting.client_order_id, ReportKind.FILL), "the market never crossed"
            # Trade ids de-duplicate with the REST fills listing.
            rest_fills = adapter.parse_fills(await rest.call(adapter.fills(SYMBOL, 0)))
            assert {r.trade_id for r in rest_fills} == {r.trade_id for r in fills}

    run(go())


def test_stream_refuses_a_bad_token() -> None:
    async def go() -> None:
        async with kraken(seed=19) as (_sim, adapter, _rest):
            stream = adapter.private_stream([SYMBOL])
            stream._token = "not-a-token"  # type: ignore[attr-defined]
            async with aiohttp.ClientSession() as session, session.ws_connect(stream.url()) as ws:
                for m in stream.open_messages():
                    await ws.send_str(m)
                while True:
                    ev = stream.on_message((await ws.receive(timeout=5)).data)
                    if ev.error is not None or ev.ready:
                        break
            assert ev.error is not None
            assert not ev.ready

    run(go())


def test_ws_order_entry_on_the_private_connection() -> None:  # noqa: PLR0915 - one scenario
    async def go() -> None:  # noqa: PLR0915 - one scenario
        async with kraken(seed=20) as (sim, adapter, rest):
            ex = sim.exchange("kraken")
            acct = account(sim)
            stream = adapter.private_stream([SYMBOL])
            assert isinstance(stream, KrakenPrivateStream)
            await stream.prepare(rest)
            price = resting_bid(sim, ticks=40)
            o = order(adapter, 1, Side.BUY, price)
            dup = order(adapter, 1, Side.BUY, price)
            reports: list[VenueReport] = []
            async with aiohttp.ClientSession() as session, session.ws_connect(stream.url()) as ws:
                for m in stream.open_messages():
                    await ws.send_str(m)

                async def until(cond: Callable[[], bool]) -> None:
                    while not cond():
                        ev = stream.on_message((await ws.receive(timeout=5)).data)
                        assert ev.error is None
                        reports.extend(ev.reports)

                def has(kind: ReportKind) -> bool:
                    return any(r.kind is kind for r in reports)

                await ws.send_str(stream.add_order_message(o))
                await until(lambda: has(ReportKind.ACK))
                truth = ex.find(acct, client_order_id=o.client_order_id)
                assert truth is not None
                assert truth.price == price
                ack = next(r for r in reports if r.kind is ReportKind.ACK)
                assert from_txid(ack.venue_order_id or "") == truth.venue_order_id
                await ws.send_str(stream.add_order_message(dup))  # same cl_ord_id
                await until(lambda: has(ReportKind.REJECTED))
                rej = next(r for r in reports if r.kind is ReportKind.REJECTED)
                assert rej.reason == "EOrder:Duplicate order"
                known = o.evolve(venue_order_id=ack.venue_order_id)
                await ws.send_str(stream.amend_order_message(known, Amend(price=price - TICK)))
                await until(lambda: has(ReportKind.AMENDED))
                truth = ex.find(acct, client_order_id=o.client_order_id)
                assert truth is not None
                assert truth.price == price - TICK
                # Both kinds of id in one cancel: "cannot be combined" (the docs), refused whole.
                both = {"order_id": [known.venue_order_id], "cl_ord_id": [o.client_order_id]}
                await ws.send_str(stream._request("cancel_order", both)[1])
                await until(lambda: bool(stream.failures))
                assert stream.failures == [("cancel_order", "EGeneral:Invalid arguments")]
                stream.failures.clear()
                truth = ex.find(acct, client_order_id=o.client_order_id)
                assert truth is not None
                assert truth.status == "new"
                await ws.send_str(stream.cancel_order_message(known))
                await until(lambda: has(ReportKind.CANCELED))
                truth = ex.find(acct, client_order_id=o.client_order_id)
                assert truth is not None
                assert truth.status == "canceled"
                await ws.send_str(stream.cancel_order_message(known))  # again: refused
                await until(lambda: bool(stream.failures))
                assert stream.failures == [("cancel_order", "EOrder:Unknown order")]

    run(go())
