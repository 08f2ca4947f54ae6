"""Nonce venues with no nonce window (Bitfinex, Kraken by default): requests signed concurrently
on several pooled connections could overtake each other in flight and be refused for their
nonce ("nonce: small", "EAPI:Invalid nonce"). The REST client sends such a venue's signed
requests one at a time: a server that answers slowly sees at most one in flight, in nonce
order; unsigned requests are not held back."""

from __future__ import annotations

import asyncio
import importlib
import re

import pytest
from aiohttp import web

from tests.sim.conftest import run
from venuegate.auth import signer
from venuegate.net.rest import RestClient
from venuegate.venues.base import Endpoints

# venue -> (a symbol, how to read a request's nonce)
_NONCE_VENUES = {
    "bitfinex": ("tBTCUSD", "header"),
    "kraken": ("BTC/USD", "body"),
}


async def _nonce(request: web.Request, where: str) -> int:
    if where == "header":
        return int(request.headers.get("bfx-nonce", "0"))
    m = re.search(r"(?:^|&)nonce=(\d+)", await request.text())
    return int(m.group(1)) if m else 0


@pytest.mark.parametrize("venue", sorted(_NONCE_VENUES))
def test_signed_requests_go_out_one_at_a_time(venue: str) -> None:
    symbol, where = _NONCE_VENUES[venue]
    module = importlib.import_module(f"venuegate.venues.{venue}")
    assert module.Adapter.nonce_ordered

    async def go() -> None:
        inflight, peak, nonces = 0, 0, []

        async def handler(request: web.Request) -> web.Response:
            nonlocal inflight, peak
            inflight += 1
            peak = max(peak, inflight)
            nonce = await _nonce(request, where)
            if nonce:
                nonces.append(nonce)
            await asyncio.sleep(0.01)
            inflight -= 1
            return web.json_response([] if venue == "bitfinex" else {"error": [], "result": {}})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            url = f"http://127.0.0.1:{port}"
            ad = module.Adapter(
                endpoints=Endpoints(url, "ws://127.0.0.1:1"),
                signer=signer(venue, api_key="k", secret="c2VjcmV0" * 8),
            )
            async with RestClient(ad, ssl=False) as rest:
                answers = await asyncio.gather(
                    *(rest.send(ad.open_orders(symbol)) for _ in range(20))
                )
                assert [a.status for a in answers] == [200] * 20
                assert peak == 1
                assert len(nonces) == 20
                assert nonces == sorted(nonces)
                assert len(set(nonces)) == 20
                peak = 0
                await asyncio.gather(*(rest.send(ad.server_time()) for _ in range(5)))
                assert peak > 1  # unsigned calls are concurrent
        finally:
            await runner.cleanup()

    run(go())
