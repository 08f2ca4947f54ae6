"""A fills fetch asked for while one is under way for the symbol runs again afterwards: the
running one may have listed the venue's fills before the new order's existed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.test_oms import _inst, eventually, manager, run
from venuegate.model import OrderState, Side
from venuegate.sim.trade import TradeSim


def test_fills_asked_during_a_fetch_are_fetched_again(tmp_path: Path) -> None:
    async def main() -> None:
        async with TradeSim(["okx"], seed=5, step_hz=0) as sim:
            symbol, tick, _lot, size = _inst("okx")
            bid, _ask = sim.exchange("okx").touch(symbol)
            async with manager(sim, "okx", tmp_path / "j") as om:
                a = await om.place(symbol, Side.BUY, size, bid - tick * 30)
                b = await om.place(symbol, Side.BUY, size, bid - tick * 31)
                await eventually(lambda: a.state is b.state is OrderState.NEW)
                calls: list[int] = []
                first_running = asyncio.Event()
                release = asyncio.Event()

                async def fake_fetch(sym: str, since_ms: int, *, for_gaps: bool = False) -> bool:
                    assert for_gaps  # a fetch for reported fills: stops once none is missing
                    calls.append(since_ms)
                    if len(calls) == 1:
                        first_running.set()
                        await release.wait()
                    return True

                om._fetch_fills_retrying = fake_fetch  # type: ignore[method-assign]
                om._schedule_fills(a)
                await asyncio.wait_for(first_running.wait(), 2)
                om._schedule_fills(b)  # while the first fetch runs
                om._schedule_fills(b)  # asked twice: still one more fetch
                assert len(calls) == 1
                release.set()
                await eventually(lambda: len(calls) == 2)
                await asyncio.sleep(0.2)
                assert len(calls) == 2
                assert calls[1] == om._since_ms(b.client_order_id)

    run(main())
