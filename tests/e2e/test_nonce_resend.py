"""Nonce venues: a "nonce too small" refusal is resent with a fresh nonce, never "cured" by a
server-time resync (their nonces come from the local clock; the resync would only spend the
venue's status budget — Bitfinex allows 30 status requests a minute — and stall every request
queued behind it, as the chaos runs showed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_oms import _inst, eventually, manager, run
from venuegate.errors import ClockSkewError
from venuegate.model import OrderState, Side
from venuegate.sim.trade import TradeSim

# The simulator's record of the last nonce per API key, and the nonce's unit per millisecond.
_NONCE_STORE = {"bitfinex": ("_nonces", 1000), "kraken": ("_last_nonce", 1)}


def _nonces(sim: TradeSim, venue: str) -> tuple[str, dict[str, int], int]:
    """The API key, the simulator's last-nonce store and the nonce's unit per millisecond."""
    attr, per_ms = _NONCE_STORE[venue]
    return sim.credentials(venue).api_key, getattr(sim.apis[venue], attr), per_ms


@pytest.mark.parametrize("venue", sorted(_NONCE_STORE))
def test_nonce_refusal_is_resent_without_a_clock_resync(venue: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with TradeSim([venue], seed=5, step_hz=0) as sim:
            ex = sim.exchange(venue)
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            key, store, per_ms = _nonces(sim, venue)
            async with manager(sim, venue, tmp_path / "j") as om:
                resyncs: list[int] = []
                clock: Any = om.clock
                real_resync = clock.resync

                async def counting_resync(samples: int | None = None) -> float:
                    resyncs.append(1)
                    return float(await real_resync(samples))

                clock.resync = counting_resync
                # Another process on the key sent nonces 150 ms ahead of this clock: the next
                # requests are "nonce too small" until this clock passes them.
                store[key] = store[key] + 150 * per_ms
                t = await om.place(symbol, Side.BUY, size, bid - tick * 30)
                await eventually(lambda: t.state is OrderState.NEW)
                assert om.stats.errors.get(ClockSkewError.__name__, 0) >= 1
                assert om.stats.resent_same_id >= 1
                assert resyncs == []
                truth = ex.find(key, client_order_id=t.client_order_id)
                assert truth is not None
                assert truth.quantity == size
                assert truth.price == bid - tick * 30

    run(main())


@pytest.mark.parametrize("venue", sorted(_NONCE_STORE))
def test_nonce_refusals_do_not_spend_a_querys_attempts(venue: str, tmp_path: Path) -> None:
    """A query refused only for its nonce never reached the order: with one attempt allowed
    (four for a query), a run of nonce refusals longer than that still ends in an answer, not
    in an order left unsettled until the next reconcile."""

    async def main() -> None:
        async with TradeSim([venue], seed=6, step_hz=0) as sim:
            ex = sim.exchange(venue)
            symbol, tick, _lot, size = _inst(venue)
            bid, _ask = ex.touch(symbol)
            key, store, per_ms = _nonces(sim, venue)
            async with manager(sim, venue, tmp_path / "j", max_attempts=1) as om:
                t = await om.place(symbol, Side.BUY, size, bid - tick * 30)
                await eventually(lambda: t.state is OrderState.NEW)
                answered: list[bool] = []
                real_query = om.query
                mine: list[asyncio.Task[None]] = []

                async def counting_query(cid: str) -> bool:
                    settled = await real_query(cid)
                    if asyncio.current_task() in mine:  # not the stream's reconcile, say
                        answered.append(settled)
                    return settled

                om.query = counting_query  # type: ignore[method-assign]
                refused = om.stats.errors.get(ClockSkewError.__name__, 0)
                # Nonces 1.5 s ahead of this clock: the backoff (50 ms doubling) passes four
                # attempts long before the clock does.
                store[key] = store[key] + 1500 * per_ms
                mine.append(asyncio.create_task(om._query_until_answered(t.client_order_id)))
                await mine[0]
                assert om.stats.errors.get(ClockSkewError.__name__, 0) - refused > 4
                assert answered == [True]

    run(main())
