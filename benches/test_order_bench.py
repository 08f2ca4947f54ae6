"""The order submit path, venuegate's `OrderManager.place` against ccxt's `create_order`, the same
resting Binance limit order (1 % under the bid, 0.001 BTC), CI's short version of
`benches/order_path.py` (which has the percentiles and the per-step split):

- `order-submit-sim`: the whole call against the Binance-format simulator (its own process,
  loopback keep-alive, rate limits raised to 10^12 for the benchmark only), to the parsed ACK:
  venuegate's pre-trade risk (every limit on), journal ("none" fsync), client id, rate limiter,
  signing, HTTP round trip, parsing and the NEW transition; ccxt's market lookup, precision,
  signing, round trip and parsing (markets loaded beforehand, `enableRateLimit: False`).
- `order-submit-nonet`: the same calls with the transport answering at once with a recorded
  simulator ACK: everything but the network (pre-send + parsing + state transition).

Each timed round is one `loop.run_until_complete(...)` on a uvloop loop that places 10 orders
one after the other, so the figures are per 10 orders (divide by 10): entering uvloop costs about
20 µs, which per order would swamp the no-network figures. The orders are canceled in untimed
batches of 50 (pytest-benchmark's `pedantic` setup), so open-order counts stay small; every ACK
is checked after the run.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from benches import order_path as op
from venuegate.model import OrderState, Side
from venuegate.oms.types import ReportKind, VenueReport

PER_ROUND = 10  # orders per timed round: figures are per 10 orders (divide by 10)
SIM_ROUNDS = 60
NONET_ROUNDS = 100
WARMUP = 5
BATCH = 50  # orders canceled together, between rounds


class _Bench:
    """One simulator, one event loop, and both clients (live and stubbed) on it."""

    def __init__(self) -> None:
        self.proc, self.info = op.start_sim()
        try:
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop is a dev dependency
            self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        bid = Decimal(self.info["bid"])
        self.bid, self.ask = bid, Decimal(self.info["ask"])
        self.price = (bid * Decimal("0.99")).quantize(Decimal("0.01"))
        self.tmp = Path(tempfile.mkdtemp(prefix="order-bench-"))
        self.loop.run_until_complete(self._open())

    def _adapter(self) -> Any:
        from venuegate.auth import signer
        from venuegate.venues import binance
        from venuegate.venues.base import Endpoints

        i = self.info
        return binance.Adapter(
            endpoints=Endpoints(i["rest_url"], i["private_ws_url"], i["ws_api_url"]),
            signer=signer("binance", api_key=i["api_key"], secret=i["secret"]),
        )

    async def _open(self) -> None:
        from venuegate.net.rest import Timeouts
        from venuegate.oms.engine import OrderManager

        timed_rest, stub_rest = op._rest_classes()

        def rest_for(cls: type, ad: Any) -> Any:
            return cls(
                ad,
                limiter=op._limiter(),
                timeouts=Timeouts(connect=1.0, read=2.0, total=5.0),
                ssl=False,
            )

        ad, ad_stub = self._adapter(), self._adapter()
        self.rest = await self.stack.enter_async_context(rest_for(timed_rest, ad))
        stub = await self.stack.enter_async_context(rest_for(stub_rest, ad_stub))
        stub.canned = await op.record_ack(self.rest, ad, self.price)
        self.om = await self.stack.enter_async_context(
            OrderManager.open(
                ad,
                self.rest,
                journal_path=self.tmp / "submit.journal",
                symbols=[op.SYMBOL],
                risk=op._risk(self.bid, self.ask),
                private_stream=False,
                ssl=False,
            )
        )
        self.om_stub = await self.stack.enter_async_context(
            OrderManager.open(
                ad_stub,
                stub,
                journal_path=self.tmp / "stub.journal",
                symbols=[op.SYMBOL],
                risk=op._risk(self.bid, self.ask),
                private_stream=False,
                reconcile=False,
                ssl=False,
            )
        )
        self.ex = op._ccxt(self.info)
        self.ex_stub = op._ccxt(self.info)
        await self.ex.load_markets()
        await self.ex_stub.load_markets()
        op._TimedFetch(self.ex_stub, stub.canned.body)

    def close(self) -> None:
        async def shut() -> None:
            await self.stack.aclose()
            await self.ex.close()
            await self.ex_stub.close()

        try:
            self.loop.run_until_complete(shut())
            self.loop.close()
        finally:
            op.stop_sim(self.proc)


@pytest.fixture(scope="module")
def bench_env() -> Iterator[_Bench]:
    env = _Bench()
    try:
        yield env
    finally:
        env.close()


def _run_vg(benchmark: Any, env: _Bench, om: Any, rounds: int, live: bool) -> None:
    run = env.loop.run_until_complete
    placed: list[Any] = []
    states: list[OrderState] = []

    def cancel_batch() -> None:  # untimed
        if not placed or len(placed) % BATCH:
            return
        if live:
            run(om.cancel_all(op.SYMBOL))
            return
        om.apply_reports(
            [
                VenueReport(
                    venue="binance",
                    client_order_id=t.client_order_id,
                    kind=ReportKind.CANCELED,
                    venue_order_id=t.venue_order_id,
                    state=OrderState.CANCELED,
                )
                for t in placed[-BATCH:]
            ]
        )

    async def place_n() -> None:
        for _ in range(PER_ROUND):
            t = await om.place(op.SYMBOL, Side.BUY, op.QTY, env.price)
            placed.append(t)
            states.append(t.state)

    benchmark.pedantic(
        lambda: run(place_n()), setup=cancel_batch, rounds=rounds, warmup_rounds=WARMUP
    )
    # Every call returned with the venue's ACK parsed and applied.
    assert states
    assert set(states) == {OrderState.NEW}
    assert all(t.venue_order_id is not None for t in placed)
    if live:
        run(om.cancel_all(op.SYMBOL))


def _run_ccxt(benchmark: Any, env: _Bench, ex: Any, rounds: int, live: bool) -> None:
    run = env.loop.run_until_complete
    amount, px = float(op.QTY), float(env.price)
    statuses: list[str] = []

    def cancel_batch() -> None:  # untimed
        if live and statuses and len(statuses) % BATCH == 0:
            run(ex.cancel_all_orders(op.CCXT_SYMBOL))

    async def place_n() -> None:
        for _ in range(PER_ROUND):
            o = await ex.create_order(op.CCXT_SYMBOL, "limit", "buy", amount, px)
            statuses.append(o["status"])

    benchmark.pedantic(
        lambda: run(place_n()), setup=cancel_batch, rounds=rounds, warmup_rounds=WARMUP
    )
    assert statuses
    assert set(statuses) == {"open"}
    if live:
        run(ex.cancel_all_orders(op.CCXT_SYMBOL))


@pytest.mark.benchmark(group="order-submit-sim")
def test_venuegate_sim_10_orders(benchmark: Any, bench_env: _Bench) -> None:
    _run_vg(benchmark, bench_env, bench_env.om, SIM_ROUNDS, live=True)
    assert bench_env.om.stats.unknown == 0


@pytest.mark.benchmark(group="order-submit-sim")
def test_ccxt_sim_10_orders(benchmark: Any, bench_env: _Bench) -> None:
    _run_ccxt(benchmark, bench_env, bench_env.ex, SIM_ROUNDS, live=True)


@pytest.mark.benchmark(group="order-submit-nonet")
def test_venuegate_nonet_10_orders(benchmark: Any, bench_env: _Bench) -> None:
    _run_vg(benchmark, bench_env, bench_env.om_stub, NONET_ROUNDS, live=False)
    assert bench_env.om_stub.stats.unknown == 0


@pytest.mark.benchmark(group="order-submit-nonet")
def test_ccxt_nonet_10_orders(benchmark: Any, bench_env: _Bench) -> None:
    _run_ccxt(benchmark, bench_env, bench_env.ex_stub, NONET_ROUNDS, live=False)
