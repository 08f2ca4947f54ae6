"""The Binance adapter against the simulator's Binance spot API, through `RestClient`.

Place / query / amend / cancel / cancel-all / open orders / fills over REST, the private stream
over the WebSocket API, authentication failures, every fault kind classified, and 429 → 418.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import aiohttp
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
    BannedError,
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
from venuegate.venues.binance import Adapter

SYMBOL = "BTCUSDT"
type Body = Callable[[TradeSim, Adapter, RestClient], Awaitable[None]]


@asynccontextmanager
async def _venue(
    secret: str | None = None, clock_ms: Callable[[], int] | None = None
) -> AsyncIterator[tuple[TradeSim, Adapter, RestClient]]:
    async with TradeSim(["binance"], seed=11, profile="none", step_hz=0) as sim:
        cred = sim.credentials("binance")
        adapter = Adapter(
            endpoints=Endpoints(sim.rest_url("binance"), sim.private_ws_url("binance")),
            signer=signer("binance", api_key=cred.api_key, secret=secret or cred.secret),
        )
        async with RestClient(adapter, ssl=False, clock_ms=clock_ms) as rest:
            yield sim, adapter, rest


def _go(body: Body, **kw: object) -> None:
    async def main() -> None:
        async with _venue(**kw) as (sim, adapter, rest):  # type: ignore[arg-type]
            await body(sim, adapter, rest)

    run(main(), timeout=20)


def _limit(
    sim: TradeSim, cid: str, side: Side = Side.BUY, off: Decimal | int = 5, **kw: object
) -> Order:
    bid, ask = sim.exchange("binance").touch(SYMBOL)
    price = bid - off if side is Side.BUY else ask + off
    return Order(venue="binance", symbol=SYMBOL, client_order_id=cid, side=side,
                 type=OrderType.LIMIT, quantity=Decimal("0.01"), price=price, **kw)  # fmt: skip


def _market(cid: str, side: Side = Side.BUY) -> Order:
    return Order(venue="binance", symbol=SYMBOL, client_order_id=cid, side=side,
                 type=OrderType.MARKET, quantity=Decimal("0.02"))  # fmt: skip


def test_place_query_amend_cancel_against_the_simulator() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        ex = sim.exchange("binance")
        o = _limit(sim, ad.new_client_order_id("t1", 1))
        reps = ad.parse_place(o, await rest.call(ad.place(o)))
        assert [r.kind for r in reps] == [ReportKind.ACK]
        truth = ex.find(sim.credentials("binance").api_key, client_order_id=o.client_order_id)
        assert truth is not None
        assert reps[0].venue_order_id == truth.venue_order_id
        assert reps[0].price == truth.price
        assert reps[0].quantity == truth.quantity

        (st,) = ad.parse_query(o, await rest.call(ad.query(o)))
        assert st.kind is ReportKind.STATUS
        assert st.filled_qty == 0

        # Keep-priority amend (quantity decrease, same id).
        a = Amend(quantity=Decimal("0.006"))
        (am,) = ad.parse_amend(o, a, await rest.call(ad.amend(o, a)))
        assert am.kind is ReportKind.AMENDED
        assert am.quantity == Decimal("0.006")
        o = o.evolve(quantity=Decimal("0.006"))

        # Cancel-replace to a new price and id.
        a = Amend(price=o.price - 1, new_client_order_id="t1-r")  # type: ignore[operator]
        reps = ad.parse_amend(o, a, await rest.call(ad.amend(o, a)))
        assert [(r.kind, r.client_order_id) for r in reps] == [
            (ReportKind.CANCELED, o.client_order_id), (ReportKind.ACK, "t1-r")]  # fmt: skip
        new = ex.find(sim.credentials("binance").api_key, client_order_id="t1-r")
        assert new is not None
        assert new.price == a.price
        assert new.replaces == o.client_order_id

        # A cancel-replace of a closed order: -2022 → OrderNotFoundError.
        with pytest.raises(OrderNotFoundError):
            await rest.call(ad.amend(o, Amend(price=o.price, new_client_order_id="t1-x")))

        r2 = o.evolve(client_order_id="t1-r", price=a.price)
        (opn,) = ad.parse_open_orders(await rest.call(ad.open_orders(SYMBOL)))
        assert opn.client_order_id == "t1-r"
        (c,) = ad.parse_cancel(r2, await rest.call(ad.cancel(r2)))
        assert c.kind is ReportKind.CANCELED
        assert c.client_order_id == "t1-r"
        assert ex.find(sim.credentials("binance").api_key, client_order_id="t1-r").status == "canceled"  # type: ignore[union-attr]  # noqa: E501
        with pytest.raises(OrderNotFoundError):
            await rest.call(ad.cancel(r2))

        # Unknown order: NOT_FOUND, not an exception.
        ghost = _limit(sim, "t1-ghost")
        (nf,) = ad.parse_query(ghost, await rest.send(ad.query(ghost)))
        assert nf.kind is ReportKind.NOT_FOUND

        # Duplicate client id of an existing order.
        with pytest.raises(DuplicateOrderError):
            await rest.call(ad.place(o))

        # cancel-all
        for i in range(3):
            x = _limit(sim, f"t1-all{i}", off=10 + i)
            await rest.call(ad.place(x))
        reps = ad.parse_cancel_all(await rest.call(ad.cancel_all(SYMBOL)))
        assert sorted(r.client_order_id for r in reps) == ["t1-all0", "t1-all1", "t1-all2"]
        assert ad.parse_cancel_all(await rest.call(ad.cancel_all(SYMBOL))) == []
        assert ex.open_orders(sim.credentials("binance").api_key) == []

    _go(body)


def test_fills_rest_and_listing_agree_on_trade_ids() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        m = _market("t2-m")
        reps = ad.parse_place(m, await rest.call(ad.place(m)))
        fills = [r for r in reps if r.kind is ReportKind.FILL]
        truth = sim.exchange("binance").trades(sim.credentials("binance").api_key, SYMBOL)
        assert [f.trade_id for f in fills] == [t.trade_id for t in truth]
        assert sum(f.last_qty or 0 for f in fills) == m.quantity
        listed = ad.parse_fills(await rest.call(ad.fills(SYMBOL, 0)))
        assert [(f.trade_id, f.last_qty, f.last_price, f.client_order_id) for f in listed] == [
            (t.trade_id, t.qty, t.price, "t2-m") for t in truth]  # fmt: skip
        # post-only that would take is refused; FOK/IOC expire/cancel what cannot fill
        _bid, ask = sim.exchange("binance").touch(SYMBOL)
        po = Order(venue="binance", symbol=SYMBOL, client_order_id="t2-po", side=Side.BUY,
                   type=OrderType.LIMIT, quantity=Decimal("0.01"), price=ask,
                   time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
        with pytest.raises(FatalError) as info:
            await rest.call(ad.place(po))
        assert getattr(info.value, "code", None) == "-2010"
        ioc = _limit(sim, "t2-ioc", time_in_force=TimeInForce.IOC)
        reps = ad.parse_place(ioc, await rest.call(ad.place(ioc)))
        assert [r.kind for r in reps] == [ReportKind.ACK, ReportKind.CANCELED]

    _go(body)


async def _stream(
    sim: TradeSim, ad: Adapter, session: aiohttp.ClientSession
) -> tuple[aiohttp.ClientWebSocketResponse, Callable[[float], Awaitable[list[VenueReport]]]]:
    proto = ad.private_stream([SYMBOL])
    ws = await session.ws_connect(proto.url())
    for m in proto.open_messages():
        await ws.send_str(m)
    ev = proto.on_message((await ws.receive(timeout=5)).data)
    assert ev.ready
    assert ev.error is None

    async def drain(wait: float) -> list[VenueReport]:
        out: list[VenueReport] = []
        while True:
            try:
                msg = await ws.receive(timeout=wait)
            except TimeoutError:
                return out
            if msg.type != aiohttp.WSMsgType.TEXT:
                return out
            out.extend(proto.on_message(msg.data).reports)

    return ws, drain


def test_private_stream_reports_ack_fill_cancel() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        async with aiohttp.ClientSession() as session:
            ws, drain = await _stream(sim, ad, session)
            rest_reps = ad.parse_place(m := _market("t3-m"), await rest.call(ad.place(m)))
            o = _limit(sim, "t3-l", off=Decimal("0.01"))
            await rest.call(ad.place(o))
            got = await drain(0.2)
            kinds = [(r.client_order_id, r.kind) for r in got]
            assert ("t3-m", ReportKind.ACK) in kinds
            assert ("t3-l", ReportKind.ACK) in kinds
            stream_fills = {r.trade_id for r in got if r.kind is ReportKind.FILL}
            assert stream_fills == {r.trade_id for r in rest_reps if r.kind is ReportKind.FILL}
            # Move the market until the resting order fills (as maker).
            acct = sim.credentials("binance").api_key
            for _ in range(400):
                sim.step(1)
                if sim.exchange("binance").find(acct, client_order_id="t3-l").filled > 0:  # type: ignore[union-attr]
                    break
            truth = sim.exchange("binance").find(acct, client_order_id="t3-l")
            assert truth is not None
            assert truth.filled > 0
            got = await drain(0.2)
            maker = [r for r in got if r.kind is ReportKind.FILL and r.client_order_id == "t3-l"]
            assert [r.trade_id for r in maker] == [f.trade_id for f in truth.fills]
            assert all(r.liquidity == "maker" for r in maker)
            if truth.is_open:
                await rest.call(ad.cancel(o))
                got = await drain(0.2)
                assert ("t3-l", ReportKind.CANCELED) in [(r.client_order_id, r.kind) for r in got]
            await ws.close()

    _go(body)


def test_stream_and_rest_refuse_a_bad_signature() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        with pytest.raises(AuthError) as info:
            await rest.call(ad.place(_limit(sim, "t4")))
        assert info.value.code == "-1022"
        async with aiohttp.ClientSession() as session:
            proto = ad.private_stream([SYMBOL])
            ws = await session.ws_connect(proto.url())
            await ws.send_str(proto.open_messages()[0])
            ev = proto.on_message((await ws.receive(timeout=5)).data)
            assert not ev.ready
            assert isinstance(ev.error, AuthError)
            await ws.close()

    _go(body, secret="00" * 32)


def test_stale_timestamp_is_clock_skew() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        with pytest.raises(ClockSkewError) as info:
            await rest.call(ad.place(_limit(sim, "t5")))
        assert info.value.code == "-1021"

    import time

    _go(body, clock_ms=lambda: time.time_ns() // 1_000_000 - 60_000)


def test_faults_are_classified() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        faults = sim.contexts["binance"].faults
        acct = sim.credentials("binance").api_key
        ex = sim.exchange("binance")

        faults.force(TradeFault.DROP_RESPONSE)
        o = _limit(sim, "t6-drop")
        with pytest.raises(UnknownOutcomeError):
            await rest.call(ad.place(o))
        (st,) = ad.parse_query(o, await rest.send(ad.query(o)))
        assert st.kind is ReportKind.STATUS
        assert ex.find(acct, client_order_id="t6-drop")

        faults.force(TradeFault.REST_5XX_AFTER)
        o = _limit(sim, "t6-5xx")
        with pytest.raises(UnknownOutcomeError) as info:
            await rest.call(ad.place(o))
        assert info.value.code == "-1007"
        assert ex.find(acct, client_order_id="t6-5xx") is not None

        faults.force(TradeFault.REST_5XX_BEFORE)
        o = _limit(sim, "t6-before")
        with pytest.raises(RetryableError) as rinfo:
            await rest.call(ad.place(o))
        assert not isinstance(rinfo.value, UnknownOutcomeError)
        assert ex.find(acct, client_order_id="t6-before") is None

        faults.force(TradeFault.MAINTENANCE)
        with pytest.raises(VenueUnavailableError):
            await rest.call(ad.place(_limit(sim, "t6-maint")))
        assert not ad.parse_status(await rest.call(ad.status())).trading
        # Cancels still work during maintenance.
        await rest.call(ad.cancel(_limit(sim, "t6-5xx")))
        sim.contexts["binance"].maintenance_until = 0.0

        faults.force(TradeFault.RATE_429)
        with pytest.raises(RateLimitedError) as qinfo:
            await rest.call(ad.place(_limit(sim, "t6-429")))
        assert qinfo.value.retry_after is not None
        await asyncio.sleep(1.05)

        # The venue's clock jumps 3 s ahead: outside a 1 s recvWindow.
        faults.force(TradeFault.CLOCK_SKEW)
        ad.recv_window_ms = 1000
        with pytest.raises(ClockSkewError):
            await rest.call(ad.place(_limit(sim, "t6-skew")))

    _go(body)


def test_rate_limit_429_then_ban_418() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        headers: dict[str, str] = {}
        limited = None
        for i in range(260):
            try:
                resp = await rest.call(ad.place(_limit(sim, f"t7-{i}", off=50)))
                headers = dict(resp.headers)
            except RateLimitedError as exc:
                limited = exc
                break
        assert limited is not None
        assert not isinstance(limited, BannedError)
        assert int(headers["x-mbx-order-count-10s"]) >= 1
        assert int(headers["x-mbx-used-weight-1m"]) >= 1
        # A client that does not back off: it keeps polling into the Retry-After window.
        # (Requests arriving within 20 ms of the 429 were in flight when it was sent and do
        # not count towards the ban.)
        banned = None
        for _ in range(100):
            try:
                await rest.call(ad.query(_limit(sim, "t7-0")))
            except BannedError as exc:
                banned = exc
                break
            except RateLimitedError:
                await asyncio.sleep(0.01)
        assert banned is not None
        assert banned.http_status == 418
        assert banned.retry_after
        assert sim.bans() == 1

    _go(body)


def test_stream_message_shape_is_the_websocket_api_event() -> None:
    async def body(sim: TradeSim, ad: Adapter, rest: RestClient) -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(sim.private_ws_url("binance"))
            proto = ad.private_stream([SYMBOL])
            await ws.send_str(proto.open_messages()[0])
            first = json.loads((await ws.receive(timeout=5)).data)
            assert first["status"] == 200
            assert first["result"] == {"subscriptionId": 0}
            await rest.call(ad.place(_limit(sim, "t8")))
            ev = json.loads((await ws.receive(timeout=5)).data)
            assert ev["subscriptionId"] == 0
            assert ev["event"]["e"] == "executionReport"
            assert ev["event"]["c"] == "t8"
            await ws.close()

    _go(body)
