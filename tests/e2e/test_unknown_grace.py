"""An UNKNOWN order's NOT_FOUND counts as final only `unknown_grace_s` after its request's
outcome was lost, not after the intent: a request that first waited in the rate limiter (or
behind a nonce venue's earlier request) reaches the venue late, and a query sent the moment it
timed out could overtake it and conclude "never reached the venue" for an order the venue then
acknowledges (the Bitfinex chaos run did, five times)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.e2e.test_oms import _inst, eventually, manager, run
from venuegate.errors import UnknownOutcomeError
from venuegate.model import OrderState, Side
from venuegate.oms.types import AlarmKind
from venuegate.sim.trade import TradeSim
from venuegate.venues.base import Op


def test_not_found_waits_the_grace_after_the_outcome_was_lost(tmp_path: Path) -> None:
    venue = "binance"

    async def main() -> None:
        async with TradeSim([venue], seed=7, step_hz=0) as sim:
            ex = sim.exchange(venue)
            account = sim.credentials(venue).api_key
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j", unknown_grace_s=0.5) as om:
                real_send = om.rest.send
                late: list[asyncio.Task[Any]] = []

                async def queued_then_late(call: Any) -> Any:
                    if call.op is not Op.PLACE:
                        return await real_send(call)
                    await asyncio.sleep(0.6)  # waited in a local queue past the grace

                    # In flight inside the venue when the client gives up: it lands 0.3 s
                    # after the timeout.
                    async def land() -> None:
                        await asyncio.sleep(0.3)
                        await real_send(call)

                    late.append(asyncio.create_task(land()))
                    raise UnknownOutcomeError("binance: place timed out", venue=venue)

                om.rest.send = queued_then_late  # type: ignore[method-assign]
                t = await om.place(symbol, Side.BUY, size, bid - tick * 20)
                assert t.state is OrderState.UNKNOWN
                await eventually(lambda: t.state is OrderState.NEW)
                assert ex.find(account, client_order_id=t.client_order_id) is not None
                # Resolved by query after the request landed: never concluded REJECTED.
                assert AlarmKind.REJECTED_BUT_LIVE not in [a.kind for a in om.sm.alarms]
                await asyncio.gather(*late)

    run(main())


def test_a_pending_cancel_that_never_left_is_sent_again(tmp_path: Path) -> None:
    """A cancel journaled but never sent (a crash in between): the venue keeps showing the order
    live, so after a few answers the cancel counts as not sent and goes out again, instead of a
    query loop every two seconds for ever."""
    venue = "binance"

    async def main() -> None:
        async with TradeSim([venue], seed=8, step_hz=0) as sim:
            ex = sim.exchange(venue)
            account = sim.credentials(venue).api_key
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            async with manager(sim, venue, tmp_path / "j") as om:
                t = await om.place(symbol, Side.BUY, size, bid - tick * 20)
                await eventually(lambda: t.state is OrderState.NEW)
                om._journal_transition(om.sm.request_cancel(t.client_order_id))  # never sent
                assert t.state is OrderState.PENDING_CANCEL
                om._schedule_resolve(t.client_order_id)
                await eventually(lambda: t.state is OrderState.CANCELED, timeout=10)
                truth = ex.find(account, client_order_id=t.client_order_id)
                assert truth is not None
                assert truth.status == "canceled"

    run(main())
