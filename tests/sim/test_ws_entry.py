"""WebSocket order entry (`WsOrderEntry`) against the simulator's Binance WebSocket API, OKX
private connection and Kraken WS v2 (`add_order` & co, token from GetWebSocketsToken): place /
amend / cancel checked against the simulator's `SimExchange`, the venues' refusals classified as
over REST, a dropped answer as an unknown outcome (the order exists at the venue), not connected
as retryable; and ccxt.pro's own `create_order_ws`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.errors import (
    AuthError,
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
from venuegate.net.ratelimit import RateLimiter
from venuegate.net.rest import RestClient
from venuegate.oms.types import ReportKind
from venuegate.oms.ws_entry import WsOrderEntry
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.sim.trade import kraken as sim_kraken
from venuegate.venues import binance, kraken, okx
from venuegate.venues.base import Amend, Endpoints, HttpCall, HttpResponse, RestCaller

VENUES = ["binance", "okx", "kraken"]
SYMBOLS = {"binance": "BTCUSDT", "okx": "BTC-USDT", "kraken": "BTC/USD"}
MODULES = {"binance": binance, "okx": okx, "kraken": kraken}
UNKNOWN_CODES = {"binance": "-1007", "okx": "50004", "kraken": "EService:Deadline elapsed"}
type Body = Callable[[TradeSim, Any, WsOrderEntry], Awaitable[None]]


def _adapter(sim: TradeSim, venue: str, secret: str | None = None) -> Any:
    cred = sim.credentials(venue)
    sig = signer(venue, api_key=cred.api_key, secret=secret or cred.secret,
                 passphrase=cred.passphrase)  # fmt: skip
    endpoints = Endpoints(sim.rest_url(venue), sim.private_ws_url(venue), sim.ws_api_url(venue))
    return MODULES[venue].Adapter(endpoints=endpoints, signer=sig)


@asynccontextmanager
async def _entry(
    sim: TradeSim,
    venue: str,
    secret: str | None = None,
    rest: RestCaller | None = None,
    **kw: Any,
) -> AsyncIterator[tuple[Any, WsOrderEntry]]:
    """A started entry; a REST client (with the entry's limiter) is given to every venue's
    entry (Kraken fetches its token with it; Binance and OKX leave it unused)."""
    adapter = _adapter(sim, venue, secret)
    async with RestClient(adapter, ssl=False, limiter=kw.get("limiter")) as client:
        entry = WsOrderEntry(adapter, ssl=False, rest=rest or client, **kw)
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


def _sim_id(venue: str, venue_order_id: str | None) -> str | None:
    """The simulator's numeric order id of a venue order id (Kraken's are txids)."""
    if venue == "kraken":
        return sim_kraken.from_txid(venue_order_id or "")
    return venue_order_id


@pytest.mark.parametrize("venue", VENUES)
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
        assert _sim_id(venue, ack.venue_order_id) == truth.venue_order_id
        assert truth.price == o.price
        assert truth.quantity == o.quantity

        # A quantity decrease: keep-priority on Binance, amend-order on OKX, amend_order on
        # Kraken (same ids).
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


@pytest.mark.parametrize("venue", VENUES)
def test_duplicate_client_id_is_classified(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        o = _limit(sim, venue, ad.new_client_order_id("dup", 1))
        await entry.place(o)
        with pytest.raises(DuplicateOrderError):
            await entry.place(o)
        assert len(sim.exchange(venue).open_orders(_acct(sim, venue))) == 1

    _go(venue, body)


@pytest.mark.parametrize("venue", VENUES)
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


@pytest.mark.parametrize("venue", VENUES)
def test_faults_are_classified(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        faults = sim.contexts[venue].faults
        ex = sim.exchange(venue)
        acct = _acct(sim, venue)

        faults.force(TradeFault.REST_5XX_AFTER)
        o = _limit(sim, venue, ad.new_client_order_id("f", 1))
        with pytest.raises(UnknownOutcomeError) as info:
            await entry.place(o)
        assert info.value.code == UNKNOWN_CODES[venue]
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


@pytest.mark.parametrize("venue", ["okx", "kraken"])
def test_answer_timeout_is_unknown(venue: str) -> None:
    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        sim.contexts[venue].faults.force(TradeFault.DELAY_ACK)  # 0.3 s late; we wait 0.15 s
        o = _limit(sim, venue, ad.new_client_order_id("late", 1))
        connects = entry.connects
        with pytest.raises(UnknownOutcomeError):
            await entry.place(o)
        assert sim.exchange(venue).find(_acct(sim, venue), client_order_id=o.client_order_id)
        await asyncio.sleep(0.4)  # the late answer arrives and is dropped
        (ack,) = await entry.place(_limit(sim, venue, ad.new_client_order_id("late", 2)))
        assert ack.kind is ReportKind.ACK
        assert entry.connects == connects  # the late answer did not cost the connection

    _go(venue, body, timeout_s=0.15)


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


def test_kraken_rate_limiter_is_charged_like_rest() -> None:
    """Kraken's per-pair trading counter is shared by REST and WS: the venue charges WS
    `add_order` / `cancel_order` as AddOrder / CancelOrder, and the client's limiter is charged
    the REST calls' costs (the API counter only for the GetWebSocketsToken call)."""

    async def main() -> None:
        async with TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim:
            limiter = RateLimiter(kraken.Adapter.rate_model)
            trading = sim.apis["kraken"].trading
            key = f"{_acct(sim, 'kraken')}:BTC/USD"
            async with _entry(sim, "kraken", limiter=limiter) as (ad, entry):
                assert await entry.wait_ready(5.0)
                api_used = limiter.stats()["use"]["API_COUNTER"][""]
                assert 0 < api_used <= 1  # GetWebSocketsToken (decaying since)
                orders = [_limit(sim, "kraken", ad.new_client_order_id("rl", i)) for i in range(3)]
                for o in orders:
                    await entry.place(o)
                ours = limiter.stats()["use"]["TRADING"]["XBTUSD"]
                venue_used = trading.used("TRADING", key)
                assert 2 < venue_used <= 3  # AddOrder: 1 each (decaying 2.34/s)
                assert ours == pytest.approx(venue_used, abs=0.3)
                # No API-counter charge for orders, at either end (as AddOrder over REST).
                assert limiter.stats()["use"]["API_COUNTER"][""] <= api_used
                assert sim.apis["kraken"].limits.used("API_COUNTER", _acct(sim, "kraken")) <= 1

                await entry.cancel(orders[0])  # a young order: 8 at both ends
                ours = limiter.stats()["use"]["TRADING"]["XBTUSD"]
                venue_used = trading.used("TRADING", key)
                assert 8.5 < venue_used <= 11
                assert ours == pytest.approx(venue_used, abs=0.3)

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


@pytest.mark.parametrize("venue", VENUES)
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
                entry = WsOrderEntry(om.adapter, ssl=False, timeout_s=1.0, rest=om.rest)
                await entry.start()
                await entry.wait_ready()
                sent: list[str] = []  # what went over the WebSocket

                def counted(name: str) -> Any:
                    method = getattr(entry, name)

                    async def call(*args: Any) -> Any:
                        sent.append(name)
                        return await method(*args)

                    return call

                entry.place = counted("place")  # type: ignore[method-assign]
                entry.cancel = counted("cancel")  # type: ignore[method-assign]
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
                    assert await entry.wait_ready(5.0)  # reconnected after the dropped answer
                    await om.cancel(t.client_order_id)
                    await eventually(lambda: t.state is OrderState.CANCELED)
                    truth = ex.find(
                        sim.credentials(venue).api_key, client_order_id=t.client_order_id
                    )
                    assert truth is not None
                    assert truth.status == "canceled"
                    assert sent == ["place", "place", "cancel"]
                    assert om.rest.sent >= sent_before  # queries went over REST
                finally:
                    await entry.close()

    asyncio.run(asyncio.wait_for(main(), 30))


# -- Kraken: the token, order kinds, REST equivalence ----------------------------------------------


class _Tokens(RestCaller):
    """A REST caller that counts GetWebSocketsToken calls and may rewrite their answers."""

    def __init__(self, rest: RestCaller, *, token: str | None = None, expires: int | None = None):
        self.rest = rest
        self.token = token
        self.expires = expires
        self.calls = 0
        self.fail = False  # token calls fail (a REST outage) while set
        self.seen: list[str] = []

    async def __call__(self, call: HttpCall) -> HttpResponse:
        if self.fail and call.path.endswith("/GetWebSocketsToken"):
            raise OSError("REST unreachable")
        resp = await self.rest(call)
        if call.path.endswith("/GetWebSocketsToken"):
            self.calls += 1
            body = json.loads(resp.body)
            result = body.get("result") or {}
            if self.token is not None:
                result["token"] = self.token
            if self.expires is not None:
                result["expires"] = self.expires
            self.seen.append(str(result.get("token")))
            resp = HttpResponse(resp.status, resp.headers, json.dumps(body).encode())
        return resp


def test_kraken_needs_a_rest_caller_for_its_token() -> None:
    async def main() -> None:
        async with TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim:
            with pytest.raises(ConfigError):
                WsOrderEntry(_adapter(sim, "kraken"), ssl=False)

    run(main(), timeout=20)


def test_kraken_token_refused_is_auth_and_nothing_is_sent() -> None:
    """Bad credentials: GetWebSocketsToken is refused (EAPI:Invalid signature), the entry never
    connects, and a request is retryable (nothing was sent)."""

    async def main() -> None:
        async with (
            TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim,
            _entry(sim, "kraken", secret="0" * 64) as (ad, entry),
        ):
            assert not await entry.wait_ready(0.5)
            assert isinstance(entry.last_error, AuthError)
            assert entry.last_error.code == "EAPI:Invalid signature"
            assert entry.connects == 0
            o = _limit(sim, "kraken", ad.new_client_order_id("badkey", 1))
            with pytest.raises(RetryableError) as info:
                await entry.place(o)
            assert not isinstance(info.value, UnknownOutcomeError)
            assert sim.exchange("kraken").open_orders(_acct(sim, "kraken")) == []

    run(main(), timeout=20)


def test_kraken_bad_token_is_auth(caplog: pytest.LogCaptureFixture) -> None:
    """A token the venue does not know (expired, revoked): `add_order` is refused with
    EAccount:Invalid token, an AuthError; nothing is placed; the token is never in the error."""
    bogus = "bogus-token-Zm9vYmFy"
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim:
            ad0 = _adapter(sim, "kraken")
            async with RestClient(ad0, ssl=False) as rest:
                tokens = _Tokens(rest, token=bogus)
                async with _entry(sim, "kraken", rest=tokens) as (ad, entry):
                    assert await entry.wait_ready(5.0)
                    assert tokens.calls == 1
                    o = _limit(sim, "kraken", ad.new_client_order_id("badtok", 1))
                    with pytest.raises(AuthError) as info:
                        await entry.place(o)
                    assert info.value.code == "EAccount:Invalid token"
                    assert bogus not in str(info.value)
                    assert bogus not in repr(info.value)
                    assert bogus not in repr(entry)
                    assert bogus not in repr(vars(ad))  # the adapter keeps it as a Secret
                    assert sim.exchange("kraken").open_orders(_acct(sim, "kraken")) == []
                    # The refused credentials drop the connection; the reconnect fetches anew.
                    deadline = asyncio.get_running_loop().time() + 5
                    while tokens.calls < 2:
                        assert asyncio.get_running_loop().time() < deadline
                        await asyncio.sleep(0.02)

    run(main(), timeout=20)
    assert bogus not in caplog.text


def test_kraken_token_is_fetched_per_connection_and_renewed() -> None:
    """A reconnect fetches a new token; a token is renewed before it expires while the
    connection stays up (here `expires` is rewritten to 1 s: renewal after 1 s)."""

    async def main() -> None:
        async with TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim:
            ad0 = _adapter(sim, "kraken")
            async with RestClient(ad0, ssl=False) as rest:
                tokens = _Tokens(rest)
                async with _entry(sim, "kraken", rest=tokens) as (ad, entry):
                    assert await entry.wait_ready(5.0)
                    assert tokens.calls == 1
                    sim.contexts["kraken"].faults.force(TradeFault.DROP_RESPONSE)
                    with pytest.raises(UnknownOutcomeError):
                        await entry.place(_limit(sim, "kraken", ad.new_client_order_id("tk", 1)))
                    assert await entry.wait_ready(5.0)
                    assert entry.connects == 2
                    assert tokens.calls == 2
                    assert tokens.seen[0] != tokens.seen[1]

                tokens.expires = 1
                async with _entry(sim, "kraken", rest=tokens) as (ad, entry):
                    assert await entry.wait_ready(5.0)
                    assert tokens.calls == 3
                    await asyncio.sleep(1.4)
                    assert tokens.calls == 4  # renewed, same connection
                    assert entry.connects == 1
                    (ack,) = await entry.place(
                        _limit(sim, "kraken", ad.new_client_order_id("tk", 2))
                    )
                    assert ack.kind is ReportKind.ACK

    run(main(), timeout=20)


def test_kraken_connection_is_dropped_when_its_token_cannot_be_renewed() -> None:
    """Renewal keeps failing (REST down): before the token's life ends the connection is
    dropped (requests go over REST instead of into refusals); it comes back with a new token."""

    async def main() -> None:
        async with TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim:
            ad0 = _adapter(sim, "kraken")
            async with RestClient(ad0, ssl=False) as rest:
                tokens = _Tokens(rest, expires=1)  # renewal due after 2/3 s, dropped at 0.93 s
                async with _entry(sim, "kraken", rest=tokens) as (_ad, entry):
                    assert await entry.wait_ready(5.0)
                    tokens.fail = True
                    loop = asyncio.get_running_loop()
                    start = loop.time()
                    while entry.ready.is_set():
                        assert loop.time() - start < 3.0
                        await asyncio.sleep(0.02)
                    assert entry.connects == 1
                    assert isinstance(entry.last_error, OSError)
                    tokens.fail = False
                    assert await entry.wait_ready(10.0)
                    assert entry.connects == 2

    run(main(), timeout=30)


def test_kraken_order_kinds_over_websocket() -> None:
    """Market IOC, post-only, GTD and by-`order_id` amend / cancel, each checked against the
    simulator; a crossing post-only order is refused as over REST."""

    async def body(sim: TradeSim, ad: Any, entry: WsOrderEntry) -> None:
        ex = sim.exchange("kraken")
        acct = _acct(sim, "kraken")
        bid, ask = ex.touch("BTC/USD")

        def order(n: int, **kw: Any) -> Order:
            base: dict[str, Any] = {"venue": "kraken", "symbol": "BTC/USD", "side": Side.BUY,
                                    "client_order_id": ad.new_client_order_id("kind", n),
                                    "quantity": Decimal("0.01"), "type": OrderType.LIMIT,
                                    "price": bid - 10}  # fmt: skip
            return Order(**(base | kw))

        mkt = order(1, type=OrderType.MARKET, price=None, time_in_force=TimeInForce.IOC)
        (ack,) = await entry.place(mkt)
        assert ack.kind is ReportKind.ACK
        truth = ex.find(acct, client_order_id=mkt.client_order_id)
        assert truth is not None
        assert (truth.type, truth.tif, truth.status) == ("market", "ioc", "filled")
        assert truth.filled == Decimal("0.01")

        post = order(2, time_in_force=TimeInForce.POST_ONLY)
        (ack,) = await entry.place(post)
        truth = ex.find(acct, client_order_id=post.client_order_id)
        assert truth is not None
        assert truth.post_only
        assert truth.is_open

        crossing = order(3, time_in_force=TimeInForce.POST_ONLY, price=ask + 10)
        with pytest.raises(FatalError) as info:
            await entry.place(crossing)
        assert info.value.code == "EOrder:Post only order"

        expire = datetime.now(UTC) + timedelta(hours=1)
        gtd = order(4, time_in_force=TimeInForce.GTD, expire_at=expire)
        (ack,) = await entry.place(gtd)
        truth = ex.find(acct, client_order_id=gtd.client_order_id)
        assert truth is not None
        assert truth.tif == "gtd"
        assert truth.expire_at_ms is not None
        assert abs(truth.expire_at_ms - int(expire.timestamp() * 1000)) < 1000

        # By order_id (the ACK's txid): amend in place, then cancel.
        known = gtd.evolve(venue_order_id=ack.venue_order_id)
        (am,) = await entry.amend(known, Amend(price=bid - 11, quantity=Decimal("0.02")))
        assert am.kind is ReportKind.AMENDED
        assert (am.venue_order_id, am.price, am.quantity) == (
            ack.venue_order_id, bid - 11, Decimal("0.02"))  # fmt: skip
        truth = ex.find(acct, client_order_id=gtd.client_order_id)
        assert truth is not None
        assert (truth.price, truth.quantity) == (bid - 11, Decimal("0.02"))
        (c,) = await entry.cancel(known)
        assert (c.kind, c.venue_order_id) == (ReportKind.CANCELED, ack.venue_order_id)
        truth = ex.find(acct, client_order_id=gtd.client_order_id)
        assert truth is not None
        assert truth.status == "canceled"

        # FOK is refused before anything is sent, as over REST.
        with pytest.raises(ConfigError):
            await entry.place(order(5, time_in_force=TimeInForce.FOK))

    _go("kraken", body)


def test_kraken_websocket_answers_map_like_rest() -> None:
    """The same requests over REST and over WS v2 give the same reports (but the REST ACK's
    `descr` text, which the WS answer does not carry) and the same error classes and codes."""

    def same(a: Any, b: Any) -> None:
        fields = ("kind", "symbol", "side", "state", "quantity", "price")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        assert (a.venue_order_id is None) == (b.venue_order_id is None)

    async def main() -> None:
        async with (
            TradeSim(["kraken"], seed=3, profile="none", step_hz=0) as sim,
            _entry(sim, "kraken") as (ad, entry),
        ):
            assert await entry.wait_ready(5.0)
            async with RestClient(ad, ssl=False) as rest:
                o_rest = _limit(sim, "kraken", ad.new_client_order_id("eq", 1))
                o_ws = _limit(sim, "kraken", ad.new_client_order_id("eq", 2))
                (r_ack,) = ad.parse_place(o_rest, await rest(ad.place(o_rest)))
                (w_ack,) = await entry.place(o_ws)
                same(r_ack, w_ack)
                assert r_ack.reason is not None  # AddOrder's `descr.order`
                assert w_ack.reason is None
                a = Amend(price=(o_ws.price or Decimal(0)) - 1)
                (r_am,) = ad.parse_amend(o_rest, a, await rest(ad.amend(o_rest, a)))
                (w_am,) = await entry.amend(o_ws, a)
                same(r_am, w_am)
                (r_c,) = ad.parse_cancel(o_rest, await rest(ad.cancel(o_rest)))
                (w_c,) = await entry.cancel(o_ws)
                same(r_c, w_c)

                for o in (o_rest, o_ws):  # refusals: duplicate id, unknown order
                    with pytest.raises(DuplicateOrderError) as r_dup:
                        ad.parse_place(o, await rest(ad.place(o)))
                    with pytest.raises(DuplicateOrderError) as w_dup:
                        await entry.place(o)
                    assert r_dup.value.code == w_dup.value.code == "EOrder:Duplicate order"
                    with pytest.raises(OrderNotFoundError) as r_nf:
                        ad.parse_cancel(o, await rest(ad.cancel(o)))
                    with pytest.raises(OrderNotFoundError) as w_nf:
                        await entry.cancel(o)
                    assert r_nf.value.code == w_nf.value.code == "EOrder:Unknown order"

    run(main(), timeout=20)


def test_ccxt_pro_create_order_ws_against_the_simulated_kraken() -> None:
    """ccxt.pro's kraken `create_order_ws` / `edit_order_ws` / `cancel_order_ws`, unchanged,
    pointed at the simulator's REST (token) and WS v2 URLs."""

    async def main() -> None:
        async with TradeSim(["kraken"], seed=5, profile="none", step_hz=0) as sim:
            cred = sim.credentials("kraken")
            ex = ccxtpro.kraken(
                {"apiKey": cred.api_key, "secret": cred.secret, "enableRateLimit": False}
            )
            ex.urls["api"]["public"] = sim.rest_url("kraken")
            ex.urls["api"]["private"] = sim.rest_url("kraken")
            ex.urls["api"]["ws"]["privateV2"] = sim.private_ws_url("kraken")
            truth = sim.exchange("kraken")
            try:
                await ex.load_markets()
                bid, _ = truth.touch("BTC/USD")
                price = bid - Decimal(5)
                o = await ex.create_order_ws(
                    "BTC/USD", "limit", "buy", 0.01, float(price), {"clientOrderId": "ccxtws-1"}
                )
                sim_o = truth.find(cred.api_key, venue_order_id=sim_kraken.from_txid(o["id"]))
                assert sim_o is not None
                assert sim_o.client_order_id == "ccxtws-1"
                assert (sim_o.status, sim_o.price, sim_o.quantity) == (
                    "new", price, Decimal("0.01"))  # fmt: skip
                e = await ex.edit_order_ws(o["id"], "BTC/USD", "limit", "buy", 0.005, float(price))
                assert e["id"] == o["id"]
                assert truth.find(cred.api_key, client_order_id="ccxtws-1").quantity == Decimal(  # type: ignore[union-attr]
                    "0.005"
                )
                c = await ex.cancel_order_ws(o["id"])
                assert c["success"] is True
                assert truth.find(cred.api_key, client_order_id="ccxtws-1").status == "canceled"  # type: ignore[union-attr]
                with pytest.raises(ccxt.OrderNotFound):
                    await ex.cancel_order_ws(o["id"])
            finally:
                await ex.close()

    run(main(), timeout=20)
