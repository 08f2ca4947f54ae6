"""The order manager end to end against the simulator: placement, fills, cancels, amends,
unknown outcomes resolved by query (never a resend), restart from the journal, adoption."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from venuegate.auth import signer
from venuegate.model import OrderState, Side
from venuegate.net.clock import ClockSync
from venuegate.net.ratelimit import RateLimiter
from venuegate.net.rest import RestClient, Timeouts
from venuegate.oms.engine import OrderManager
from venuegate.oms.journal import export_orders
from venuegate.sim.md.market import CATALOG
from venuegate.sim.trade import TradeFault, TradeSim
from venuegate.venues.base import Endpoints

VENUES = ["binance", "okx", "kraken", "coinbase", "bitfinex", "htx"]


def run[T](coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


@asynccontextmanager
async def manager(
    sim: TradeSim, venue: str, journal: Path, **kwargs: Any
) -> AsyncIterator[OrderManager]:
    cred = sim.credentials(venue)
    module = importlib.import_module(f"venuegate.venues.{venue}")
    adapter = module.Adapter(
        endpoints=Endpoints(sim.rest_url(venue), sim.private_ws_url(venue), sim.ws_api_url(venue)),
        # The venue's default host: the simulator verifies as the venue does, for its real host.
        signer=signer(venue, api_key=cred.api_key, secret=cred.secret, passphrase=cred.passphrase),
    )
    box: list[RestClient] = []

    async def server_ms() -> int:
        call = adapter.server_time()
        assert call is not None
        return int(adapter.parse_server_time(await box[0].call(call)))

    clock = ClockSync(server_ms, samples=2)
    rest = RestClient(
        adapter,
        limiter=RateLimiter(adapter.rate_model),
        clock_ms=clock.now_ms,
        timeouts=Timeouts(connect=1.0, read=0.2, total=1.0),
        ssl=False,
    )
    box.append(rest)
    symbol = CATALOG[venue][0].symbol
    async with rest:
        await clock.resync()
        async with OrderManager.open(
            adapter, rest, journal_path=journal, symbols=[symbol], clock=clock, ssl=False, **kwargs
        ) as om:
            await asyncio.wait_for(om.stream_up.wait(), 5)
            yield om


async def eventually(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


pytestmark = pytest.mark.parametrize(
    "venue",
    VENUES,
)


def _inst(venue: str) -> tuple[str, Decimal, Decimal, Decimal]:
    i = CATALOG[venue][0]
    return i.symbol, i.tick, i.lot, i.typical_size


def test_place_fill_cancel_and_journal(venue: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with TradeSim([venue], seed=3, step_hz=0) as sim:
            ex = sim.exchange(venue)
            symbol, tick, _lot, size = _inst(venue)
            bid, ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j") as om:
                # A marketable buy fills at once (taker), maybe across levels.
                t1 = await om.place(symbol, Side.BUY, size, ask + tick * 2)
                # (Venues whose stream carries no trade ids report FILLED first; the fills follow
                # from the fills listing.)
                await eventually(lambda: t1.state is OrderState.FILLED and t1.filled_qty == size)
                venue_order = ex.find(
                    sim.credentials(venue).api_key, client_order_id=t1.client_order_id
                )
                assert venue_order is not None
                assert t1.filled_qty == venue_order.filled == size
                assert sorted(t1.fills) == sorted(
                    ex.public_id("trade", f.trade_id) for f in venue_order.fills
                )
                # A resting sell, canceled.
                t2 = await om.place(symbol, Side.SELL, size, ask + tick * 50)
                await eventually(lambda: t2.state is OrderState.NEW)
                await om.cancel(t2.client_order_id)
                await eventually(lambda: t2.state is OrderState.CANCELED)
                # A resting buy amended.
                t3 = await om.place(symbol, Side.BUY, size, bid - tick * 50)
                await eventually(lambda: t3.state is OrderState.NEW)
                t3b = await om.amend(t3.client_order_id, price=bid - tick * 40)
                await eventually(
                    lambda: t3b.state is OrderState.NEW and t3b.price == bid - tick * 40
                )
        out = tmp_path / "export.jsonl"
        export_orders(tmp_path / "j", out)
        assert out.read_text().count("\n") >= 3

    run(main())


def test_dropped_answer_becomes_unknown_then_resolved_without_resend(
    venue: str, tmp_path: Path
) -> None:
    async def main() -> None:
        async with TradeSim([venue], seed=4, step_hz=0) as sim:
            ex = sim.exchange(venue)
            account = sim.credentials(venue).api_key
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j", unknown_grace_s=0.05) as om:
                sim.contexts[venue].faults.force(TradeFault.DROP_RESPONSE)
                t = await om.place(symbol, Side.BUY, size, bid - tick * 20)
                # The venue has it; we only know after asking.
                await eventually(lambda: t.state is OrderState.NEW)
                assert ex.find(account, client_order_id=t.client_order_id) is not None
                assert om.stats.unknown >= 1
                assert ex.stats["accepted"] == 1  # never sent twice
                sim.contexts[venue].faults.force(TradeFault.REST_5XX_AFTER)
                await om.cancel(t.client_order_id)
                await eventually(lambda: t.state is OrderState.CANCELED)

    run(main())


def test_restart_resumes_from_journal_and_reconciles(venue: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with TradeSim([venue], seed=5, step_hz=0) as sim:
            ex = sim.exchange(venue)
            account = sim.credentials(venue).api_key
            symbol, tick, _lot, size = _inst(venue)
            bid, ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j") as om:
                resting = await om.place(symbol, Side.BUY, size, bid - tick * 5)
                await eventually(lambda: resting.state is OrderState.NEW)
                cid = resting.client_order_id
                om._stream and await om._stream.stop()
            # While we are down the market fills it.
            venue_order = ex.find(account, client_order_id=cid)
            assert venue_order is not None
            for _ in range(400):
                sim.step()
                if not venue_order.is_open:
                    break
            assert venue_order.filled > 0
            async with manager(sim, venue, tmp_path / "j") as om2:
                assert om2.recovery.orders == 1
                t = om2.sm.get(cid)
                assert t is not None
                await eventually(lambda: t.filled_qty == venue_order.filled, timeout=5)
                assert sorted(t.fills) == sorted(
                    ex.public_id("trade", f.trade_id) for f in venue_order.fills
                )
                await om2.place(symbol, Side.SELL, size, ask + tick * 50)
                assert om2.intents == 2  # intent numbering continues

    run(main())


def test_secrets_never_reach_journal_logs_or_exports(
    venue: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")

    async def main() -> list[str]:
        async with TradeSim([venue], seed=6, step_hz=0) as sim:
            cred = sim.credentials(venue)
            ex = sim.exchange(venue)
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j", unknown_grace_s=0.05) as om:
                sim.contexts[venue].faults.force(TradeFault.DROP_RESPONSE)
                t = await om.place(symbol, Side.BUY, size, bid - tick * 10)
                await eventually(lambda: t.state is OrderState.NEW)
                sim.contexts[venue].faults.force(TradeFault.REST_5XX_BEFORE)
                await om.cancel(t.client_order_id)
                await eventually(lambda: t.state is OrderState.CANCELED)
                texts = [repr(om), repr(om.adapter), repr(om.rest), repr(om.adapter.signer)]
            secrets = [cred.secret]
            if cred.passphrase:
                secrets.append(cred.passphrase)
            return [*secrets, "|", *texts]

    values = run(main())
    cut = values.index("|")
    secrets, texts = values[:cut], values[cut + 1 :]
    out = tmp_path / "export.jsonl"
    export_orders(tmp_path / "j", out)
    haystacks = {
        "journal": (tmp_path / "j").read_bytes().decode("latin-1"),
        "export": out.read_text(),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "reprs": "\n".join(texts),
    }
    for secret in secrets:
        # The whole secret, and any 12-character piece of it (a PEM's body lines too).
        body = "".join(line for line in secret.splitlines() if "-----" not in line)
        pieces = {body[i : i + 12] for i in range(0, max(1, len(body) - 12), 7)}
        for where, text in haystacks.items():
            assert secret not in text, where
            leaked = [p for p in pieces if len(p) == 12 and p in text]
            assert not leaked, (where, leaked[:2])
