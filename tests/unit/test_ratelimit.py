"""RateLimiter: windows, priorities, server corrections, shared budgets.

Time is virtual (no real sleeping) except in the two-process shared-budget test. Every test that
checks limits recomputes window usage from the list of grant times with `check_windows`, which
shares no code with the limiter.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import multiprocessing
import random
import time
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venuegate.errors import BannedError, ConfigError
from venuegate.net.priority import Priority, RequestCost
from venuegate.net.ratelimit import BINANCE_SPOT, RateLimiter, binance_model_from_exchange_info
from venuegate.net.ratemodel import RateModel, Window, WindowKind
from venuegate.net.shared_budget import SharedBudget

DAY = 86_400.0
# A Unix time 5 minutes before 00:00 UTC, so long runs cross minute and day boundaries.
BASE = DAY * 19_700 - 300.0


class VirtualTime:
    """A virtual clock for asyncio code: `sleep` parks until the driver advances time, which it
    does (to the earliest deadline) only once every task is idle."""

    def __init__(self, base: float = BASE) -> None:
        self.t = 0.0
        self.base = base
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.base + self.t

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._heap, (self.t + max(0.0, delay), self._seq, fut))
        await fut

    def run[T](self, main: Coroutine[Any, Any, T]) -> T:
        async def driver() -> T:
            task = asyncio.ensure_future(main)
            idle_rounds = 0
            while not task.done():
                for _ in range(12):
                    await asyncio.sleep(0)
                if task.done():
                    break
                while self._heap and self._heap[0][2].done():
                    heapq.heappop(self._heap)
                if not self._heap:
                    idle_rounds += 1
                    assert idle_rounds < 100, "deadlock: nothing scheduled and main not done"
                    continue
                idle_rounds = 0
                deadline, _, fut = heapq.heappop(self._heap)
                self.t = max(self.t, deadline)
                fut.set_result(None)
            return task.result()

        return asyncio.run(driver())


@dataclass(frozen=True)
class Grant:
    mono: float
    wall: float
    cost: RequestCost


def check_windows(model: RateModel, grants: Iterable[Grant]) -> None:
    """Recompute every window's usage from grant times; fail on any excess."""
    grants = sorted(grants, key=lambda g: (g.mono, g.wall))
    for w in model.windows:
        per_key: dict[str, list[tuple[float, float, float, Priority]]] = defaultdict(list)
        for g in grants:
            charged = g.cost.costs.get(w.name, 0)
            if charged:
                key = g.cost.key if w.per_key else ""
                per_key[key].append((g.mono, g.wall, float(charged), g.cost.priority))
        for key, items in per_key.items():
            if w.kind is WindowKind.FIXED:
                used: dict[int, float] = defaultdict(float)
                for _, wall, weight, prio in items:
                    idx = math.floor(wall / w.period_s)
                    cap = w.limit * (1 - sum(f for q, f in w.reserve.items() if q < prio))
                    assert used[idx] + weight <= cap + 1e-9, (w.name, key, idx, used[idx], weight)
                    used[idx] += weight
            elif w.kind is WindowKind.SLIDING:
                for i, (t, _, _, prio) in enumerate(items):
                    total = sum(wt for tj, _, wt, _ in items[: i + 1] if tj + w.period_s > t)
                    cap = w.limit * (1 - sum(f for q, f in w.reserve.items() if q < prio))
                    assert total <= cap + 1e-9, (w.name, key, t, total)
            else:
                level, last = 0.0, -math.inf
                for t, _, weight, prio in items:
                    if last > -math.inf:
                        level = max(0.0, level - w.decay_per_s * (t - last))
                    last = t
                    cap = w.limit * (1 - sum(f for q, f in w.reserve.items() if q < prio))
                    assert level + weight <= cap + 1e-6, (w.name, key, t, level, weight)
                    level += weight


def binance_cost(rng: random.Random) -> RequestCost:
    prio = rng.choice(list(Priority))
    if prio in (Priority.NEW, Priority.AMEND):  # order placement (cancelReplace for amends)
        costs = {"REQUEST_WEIGHT": 1, "ORDERS_10S": 1, "ORDERS_1D": 1}
    elif prio is Priority.CANCEL:
        costs = {"REQUEST_WEIGHT": 1}
    elif prio is Priority.QUERY:
        costs = {"REQUEST_WEIGHT": rng.choice([1, 2, 4, 6, 20])}
    else:
        costs = {"REQUEST_WEIGHT": rng.choice([1, 5, 10, 50])}
    return RequestCost(prio, costs)


def make(model: RateModel, vt: VirtualTime, **kw: Any) -> RateLimiter:
    return RateLimiter(model, clock=vt.clock, wall=vt.wall, sleep=vt.sleep, **kw)


# --- the Binance model ----------------------------------------------------------------------


def test_binance_model_numbers_and_headers() -> None:
    windows = {w.name: w for w in BINANCE_SPOT.windows}
    assert (windows["REQUEST_WEIGHT"].limit, windows["REQUEST_WEIGHT"].period_s) == (6000, 60)
    assert (windows["ORDERS_10S"].limit, windows["ORDERS_10S"].period_s) == (50, 10)
    assert (windows["ORDERS_1D"].limit, windows["ORDERS_1D"].period_s) == (160_000, DAY)
    assert all(w.kind is WindowKind.FIXED for w in BINANCE_SPOT.windows)
    assert BINANCE_SPOT.used_headers["x-mbx-used-weight-1m"] == "REQUEST_WEIGHT"
    assert BINANCE_SPOT.used_headers["x-mbx-order-count-10s"] == "ORDERS_10S"
    assert BINANCE_SPOT.used_headers["x-mbx-order-count-1d"] == "ORDERS_1D"


def test_model_from_exchange_info_matches_constant() -> None:
    # The rateLimits example of Binance's spot WebSocket API docs (response format page).
    info = [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ]
    model = binance_model_from_exchange_info(info)
    got = {w.name: (w.limit, w.period_s) for w in model.windows}
    assert got == {
        "ORDERS_10S": (50, 10),
        "ORDERS_1D": (160000, DAY),
        "REQUEST_WEIGHT": (6000, 60),
        "RAW_REQUESTS_5M": (61000, 300),
    }
    assert dict(model.used_headers) == dict(BINANCE_SPOT.used_headers)
    with pytest.raises(ConfigError):
        binance_model_from_exchange_info([{"rateLimitType": "ORDERS", "interval": "WEEK"}])


# --- configuration errors -------------------------------------------------------------------


def test_unknown_window_is_config_error() -> None:
    lim = RateLimiter(BINANCE_SPOT)
    with pytest.raises(ConfigError, match="REQUEST_WIEGHT"):
        lim.try_acquire(RequestCost(Priority.NEW, {"REQUEST_WIEGHT": 1}))


def test_unfittable_weight_and_bad_models_are_config_errors() -> None:
    lim = RateLimiter(BINANCE_SPOT)
    with pytest.raises(ConfigError, match="never fit"):
        lim.try_acquire(RequestCost(Priority.QUERY, {"REQUEST_WEIGHT": 6001}))
    with pytest.raises(ConfigError):
        RateLimiter(RateModel("x", (Window("D", 10, kind=WindowKind.DECAY),)))
    with pytest.raises(ConfigError):
        RateLimiter(RateModel("x", (Window("S", 10, 0.0),)))
    with pytest.raises(ConfigError):
        RateLimiter(RateModel("x", (Window("S", 10, 1.0, reserve={Priority.CANCEL: 1.0}),)))
    with pytest.raises(ConfigError):
        RateLimiter(RateModel("x", (Window("S", 10, 1.0), Window("S", 5, 1.0))))


# --- window kinds ---------------------------------------------------------------------------


def test_fixed_window_is_calendar_aligned() -> None:
    vt = VirtualTime(base=1_000_000_009.5)  # 0.5 s before a 10 s boundary
    lim = make(RateModel("x", (Window("F", 3, 10.0, WindowKind.FIXED),)), vt)
    cost = RequestCost(Priority.NEW, {"F": 1})
    assert [lim.try_acquire(cost) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.try_acquire(cost)
    assert wait == pytest.approx(0.5, abs=1e-5)
    vt.t += wait
    assert lim.try_acquire(cost) == 0.0  # new interval at the boundary, not 10 s later


def test_sliding_window_is_exact() -> None:
    vt = VirtualTime()
    lim = make(RateModel("okx", (Window("S", 3, 2.0, WindowKind.SLIDING),)), vt)
    cost = RequestCost(Priority.NEW, {"S": 1})
    for dt in (0.0, 0.5, 0.5):
        vt.t += dt
        assert lim.try_acquire(cost) == 0.0
    assert lim.try_acquire(cost) == pytest.approx(1.0, abs=1e-5)  # first grant expires at 2.0
    vt.t = 2.0
    assert lim.try_acquire(cost) == 0.0
    assert lim.try_acquire(cost) == pytest.approx(0.5, abs=1e-5)
    heavy = RequestCost(Priority.NEW, {"S": 3})
    assert lim.try_acquire(heavy) == pytest.approx(2.0, abs=1e-5)  # all three must expire


def test_decay_window() -> None:
    vt = VirtualTime()
    model = RateModel("kraken", (Window("API", 20, kind=WindowKind.DECAY, decay_per_s=0.5),))
    lim = make(model, vt)
    two = RequestCost(Priority.QUERY, {"API": 2})
    for _ in range(10):
        assert lim.try_acquire(two) == 0.0
    assert lim.try_acquire(two) == pytest.approx(4.0, abs=1e-5)  # 2 units at 0.5/s
    vt.t += 1.0
    assert lim.try_acquire(two) == pytest.approx(3.0, abs=1e-5)
    vt.t += 3.0
    assert lim.try_acquire(two) == 0.0
    assert lim.stats()["use"]["API"][""] == pytest.approx(20.0)
    vt.t += 40.0
    assert lim.stats()["use"]["API"][""] == 0.0


def test_per_key_windows_are_separate() -> None:
    vt = VirtualTime()
    model = RateModel(
        "okx",
        (
            Window("ORDER", 2, 2.0, WindowKind.SLIDING, per_key=True),
            Window("UID", 3, 2.0, WindowKind.SLIDING),
        ),
    )
    lim = make(model, vt)

    def order(inst: str) -> RequestCost:
        return RequestCost(Priority.NEW, {"ORDER": 1, "UID": 1}, key=inst)

    assert lim.try_acquire(order("BTC-USDT")) == 0.0
    assert lim.try_acquire(order("BTC-USDT")) == 0.0
    assert lim.try_acquire(order("BTC-USDT")) > 0  # BTC's own window is full
    assert lim.try_acquire(order("ETH-USDT")) == 0.0  # ETH has its own
    assert lim.try_acquire(order("SOL-USDT")) > 0  # but the shared UID window is full
    use = {k: v for k, v in lim.stats()["use"]["ORDER"].items() if v}
    assert use == {"BTC-USDT": 2.0, "ETH-USDT": 1.0}


def test_all_or_nothing_charging() -> None:
    vt = VirtualTime()
    lim = make(BINANCE_SPOT, vt)
    order = RequestCost(Priority.NEW, {"REQUEST_WEIGHT": 1, "ORDERS_10S": 1, "ORDERS_1D": 1})
    for _ in range(50):
        assert lim.try_acquire(order) == 0.0
    assert lim.try_acquire(order) > 0
    use = lim.stats()["use"]
    assert use["REQUEST_WEIGHT"][""] == 50  # the refused order charged nothing
    assert use["ORDERS_1D"][""] == 50


def test_reserve_headroom() -> None:
    vt = VirtualTime()
    window = Window(
        "W", 100, 60.0, WindowKind.FIXED, reserve={Priority.CANCEL: 0.1, Priority.AMEND: 0.1}
    )
    lim = make(RateModel("x", (window,)), vt)
    new = RequestCost(Priority.NEW, {"W": 1})
    amend = RequestCost(Priority.AMEND, {"W": 1})
    cancel = RequestCost(Priority.CANCEL, {"W": 1})
    granted_new = 0
    while lim.try_acquire(new) == 0.0:
        granted_new += 1
    assert granted_new == 80  # NEW may use 100 * (1 - 0.1 - 0.1)
    granted_amend = 0
    while lim.try_acquire(amend) == 0.0:
        granted_amend += 1
    assert granted_amend == 10  # AMEND may use up to 90
    granted_cancel = 0
    while lim.try_acquire(cancel) == 0.0:
        granted_cancel += 1
    assert granted_cancel == 10  # CANCEL may use all 100


# --- server corrections ---------------------------------------------------------------------


def test_header_correction_raises_local_usage() -> None:
    vt = VirtualTime()
    lim = make(BINANCE_SPOT, vt)
    lim.try_acquire(RequestCost(Priority.QUERY, {"REQUEST_WEIGHT": 10}))
    lim.observe({"X-MBX-USED-WEIGHT-1M": "5990", "x-mbx-order-count-10s": "49", "other": "1"})
    use = lim.stats()["use"]
    assert use["REQUEST_WEIGHT"][""] == 5990
    assert use["ORDERS_10S"][""] == 49
    lim.observe({"x-mbx-used-weight-1m": "3"})  # a lower server count never lowers ours
    assert lim.stats()["use"]["REQUEST_WEIGHT"][""] == 5990
    lim.observe({"x-mbx-used-weight-1m": "garbage"})
    assert lim.try_acquire(RequestCost(Priority.QUERY, {"REQUEST_WEIGHT": 10})) == 0.0
    assert lim.try_acquire(RequestCost(Priority.QUERY, {"REQUEST_WEIGHT": 1})) > 0
    # The correction belongs to the current minute only.
    vt.t += 300.0
    assert lim.try_acquire(RequestCost(Priority.QUERY, {"REQUEST_WEIGHT": 100})) == 0.0


def test_429_with_retry_after_blocks_everything() -> None:
    vt = VirtualTime()
    lim = make(BINANCE_SPOT, vt)
    cancel = RequestCost(Priority.CANCEL, {"REQUEST_WEIGHT": 1})
    lim.on_rate_limited(7.0)
    assert lim.try_acquire(cancel) == pytest.approx(7.0)
    vt.t += 6.0
    assert lim.try_acquire(cancel) == pytest.approx(1.0)
    vt.t += 1.0
    assert lim.try_acquire(cancel) == 0.0
    assert lim.stats()["rate_limited"] == 1


def test_429_without_retry_after_waits_for_the_fullest_window() -> None:
    vt = VirtualTime(base=1_000_000_000.0 + 4.0)  # 6 s before the next 10 s boundary
    model = RateModel(
        "x",
        (Window("F10", 10, 10.0, WindowKind.FIXED), Window("F60", 1000, 60.0, WindowKind.FIXED)),
    )
    lim = make(model, vt)
    for _ in range(9):
        lim.try_acquire(RequestCost(Priority.NEW, {"F10": 1, "F60": 1}))
    lim.on_rate_limited(None)  # F10 is 90% full, F60 1%: wait for F10's interval to end
    assert lim.try_acquire(RequestCost(Priority.CANCEL, {"F60": 1})) == pytest.approx(6.0, 1e-4)


def test_ban_raises_until_it_ends() -> None:
    vt = VirtualTime()
    lim = make(BINANCE_SPOT, vt)
    cost = RequestCost(Priority.CANCEL, {"REQUEST_WEIGHT": 1})
    lim.on_ban(120.0)
    assert lim.banned_until == pytest.approx(vt.wall() + 120.0)
    with pytest.raises(BannedError) as info:
        lim.try_acquire(cost)
    assert info.value.retry_after == pytest.approx(120.0)
    vt.t += 100.0
    with pytest.raises(BannedError) as info:
        vt.run(lim.acquire(cost))
    assert info.value.retry_after == pytest.approx(20.0)
    vt.t += 20.0
    assert lim.banned_until is None
    assert lim.try_acquire(cost) == 0.0


def test_ban_fails_waiting_acquires() -> None:
    vt = VirtualTime()
    lim = make(RateModel("x", (Window("F", 1, 60.0, WindowKind.FIXED),)), vt)
    cost = RequestCost(Priority.NEW, {"F": 1})

    async def main() -> list[BaseException | float]:
        await lim.acquire(cost)
        waiting = [asyncio.ensure_future(lim.acquire(cost)) for _ in range(3)]
        await vt.sleep(1.0)
        lim.on_ban(30.0)
        return await asyncio.gather(*waiting, return_exceptions=True)

    results = vt.run(main())
    assert all(isinstance(r, BannedError) for r in results)


# --- acquire: scheduling ------------------------------------------------------------------------


def test_burst_of_10000_mixed_requests_respects_every_window() -> None:
    rng = random.Random(20240611)  # noqa: S311 - test data
    vt = VirtualTime()
    lim = make(BINANCE_SPOT, vt)
    grants: list[Grant] = []
    waits: dict[Priority, list[float]] = defaultdict(list)

    async def one(cost: RequestCost) -> None:
        waited = await lim.acquire(cost)
        grants.append(Grant(vt.clock(), vt.wall(), cost))
        waits[cost.priority].append(waited)

    async def main() -> None:
        await asyncio.gather(*(one(binance_cost(rng)) for _ in range(10_000)))

    vt.run(main())
    assert len(grants) == 10_000
    check_windows(BINANCE_SPOT, grants)
    assert vt.t > 60.0  # the burst really was throttled
    assert vt.wall() > BASE + 300.0  # and crossed a day boundary
    # Under this saturation cancels never waited behind anything of lower priority.
    assert max(waits[Priority.CANCEL]) <= min(max(waits[p]) for p in (Priority.NEW, Priority.QUERY))
    stats = lim.stats()
    assert sum(stats["granted"].values()) == 10_000
    assert stats["queued"] == 0


def test_cancels_are_served_first_under_saturation() -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    vt = VirtualTime()
    model = RateModel(
        "x",
        (Window("W", 20, 1.0, WindowKind.FIXED), Window("ORD", 10, 1.0, WindowKind.FIXED)),
    )
    lim = make(model, vt)
    records: list[tuple[Priority, float, float]] = []  # priority, arrival, grant

    async def one(at: float, cost: RequestCost) -> None:
        await vt.sleep(at)
        arrival = vt.clock()
        await lim.acquire(cost)
        records.append((cost.priority, arrival, vt.clock()))

    async def main() -> None:
        tasks = []
        for _ in range(1500):
            at = rng.uniform(0.0, 50.0)  # 30 requests/s offered against 20/s
            if rng.random() < 0.3:
                cost = RequestCost(Priority.CANCEL, {"W": 1})
            else:
                cost = RequestCost(Priority.NEW, {"W": 1, "ORD": 1})
            tasks.append(one(at, cost))
        await asyncio.gather(*tasks)

    vt.run(main())
    cancels = [(a, g) for p, a, g in records if p is Priority.CANCEL]
    news = [(a, g) for p, a, g in records if p is Priority.NEW]
    assert max(g - a for a, g in news) > 5.0  # saturated: new orders queued for seconds
    checked = 0
    for ca, cg in cancels:
        for na, ng in news:
            if na <= ca < ng:  # the new order was queued when the cancel arrived
                assert cg - ca <= ng - na
                checked += 1
    assert checked > 1000
    assert max(g - a for a, g in cancels) <= 1.0  # a cancel waits at most for the next interval


def test_acquire_cancelled_waiter_is_skipped() -> None:
    vt = VirtualTime()
    lim = make(RateModel("x", (Window("F", 1, 1.0, WindowKind.FIXED),)), vt)
    cost = RequestCost(Priority.NEW, {"F": 1})

    async def main() -> float:
        await lim.acquire(cost)
        first = asyncio.ensure_future(lim.acquire(cost))
        second = asyncio.ensure_future(lim.acquire(cost))
        await asyncio.sleep(0)
        first.cancel()
        return await second

    waited = vt.run(main())
    assert 0 < waited <= 1.0 + 1e-3


def test_try_acquire_does_not_jump_the_queue() -> None:
    vt = VirtualTime()
    lim = make(RateModel("x", (Window("F", 1, 1.0, WindowKind.FIXED),)), vt)
    new = RequestCost(Priority.NEW, {"F": 1})

    async def main() -> tuple[float, float]:
        await lim.acquire(new)
        waiter = asyncio.ensure_future(lim.acquire(new))
        await asyncio.sleep(0)
        vt.t += 0.5  # not yet the next interval
        behind = lim.try_acquire(new)
        ahead = lim.try_acquire(RequestCost(Priority.CANCEL, {}))  # no shared window
        await waiter
        return behind, ahead

    behind, ahead = vt.run(main())
    assert behind > 0
    assert ahead == 0.0


# --- property: no schedule exceeds any window ---------------------------------------------------

PROPERTY_MODEL = RateModel(
    "prop",
    (
        Window("F", 10, 2.0, WindowKind.FIXED, reserve={Priority.CANCEL: 0.2}),
        Window("S", 8, 1.5, WindowKind.SLIDING),
        Window("D", 6, kind=WindowKind.DECAY, decay_per_s=2.0),
        Window("K", 3, 1.0, WindowKind.SLIDING, per_key=True),
    ),
)

events = st.lists(
    st.tuples(
        st.floats(0.0, 1.5),  # time since the previous event
        st.sampled_from(list(Priority)),
        st.fixed_dictionaries({}, optional={n: st.integers(0, 3) for n in "FSDK"}),
        st.sampled_from(["a", "b"]),
        st.booleans(),  # when refused: wait the returned time and retry
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.floats(0.0, 10.0))
def test_property_no_schedule_exceeds_any_window(
    schedule: list[tuple[float, Priority, dict[str, int], str, bool]], phase: float
) -> None:
    vt = VirtualTime(base=1_000_000_000.0 + phase)
    lim = make(PROPERTY_MODEL, vt)
    grants: list[Grant] = []
    for dt, prio, costs, key, retry in schedule:
        vt.t += dt
        cost = RequestCost(prio, costs, key=key)
        if prio is not Priority.CANCEL and costs.get("F", 0) > 8:
            continue
        wait = lim.try_acquire(cost)
        if wait == 0.0:
            grants.append(Grant(vt.clock(), vt.wall(), cost))
        elif retry:
            vt.t += wait
            assert lim.try_acquire(cost) == 0.0, "the returned wait was not enough"
            grants.append(Grant(vt.clock(), vt.wall(), cost))
    check_windows(PROPERTY_MODEL, grants)


# --- shared budget: two processes, one budget ---------------------------------------------------

SHARED_MODEL = RateModel(
    "shared",
    (
        Window("F", 40, 0.5, WindowKind.FIXED),
        Window("S", 30, 0.4, WindowKind.SLIDING),
        Window("D", 25, kind=WindowKind.DECAY, decay_per_s=50.0),
    ),
)


def _hammer(path: str, seed: int, seconds: float) -> list[tuple[float, float, dict[str, int]]]:
    last = [0.0, 0.0]

    def clock() -> float:
        last[0] = time.monotonic()
        return last[0]

    def wall() -> float:
        last[1] = time.time()
        return last[1]

    rng = random.Random(seed)  # noqa: S311 - test data
    lim = RateLimiter(SHARED_MODEL, clock=clock, wall=wall, store=SharedBudget(path))
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        costs = {"F": rng.randint(1, 3), "S": rng.randint(1, 3), "D": rng.randint(1, 3)}
        if lim.try_acquire(RequestCost(Priority.NEW, costs)) == 0.0:
            out.append((last[0], last[1], costs))
    return out


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    path = str(tmp_path / "binance.budget")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_hammer, [(path, 1, 1.5), (path, 2, 1.5)])
    assert all(len(r) >= 5 for r in results)  # both processes got grants
    grants = [
        Grant(mono, wall, RequestCost(Priority.NEW, costs))
        for result in results
        for mono, wall, costs in result
    ]
    check_windows(SHARED_MODEL, grants)
    # The shared budget was actually the binding constraint (not one process alone).
    per_interval: dict[int, float] = defaultdict(float)
    for g in grants:
        per_interval[math.floor(g.wall / 0.5)] += g.cost.costs["F"]
    assert max(per_interval.values()) > 20


def test_shared_budget_survives_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "b"
    path.write_bytes(b"\x00not json")
    vt = VirtualTime()
    lim = make(SHARED_MODEL, vt, store=SharedBudget(path))
    assert lim.try_acquire(RequestCost(Priority.NEW, {"F": 1})) == 0.0
    other = make(SHARED_MODEL, vt, store=SharedBudget(path))
    assert other.stats()["use"]["F"][""] == 1.0  # a second limiter sees the same counters


def test_shared_budget_carries_the_429_block_and_the_ban_to_a_restarted_process(
    tmp_path: Path,
) -> None:
    """A process that saw a 429 (or a 418 ban) and died: the one that replaces it, on the same
    budget file, waits out the Retry-After instead of sending into it (which the venue counts
    towards a ban)."""
    path = tmp_path / "binance.budget"
    vt = VirtualTime()
    dead = make(SHARED_MODEL, vt, store=SharedBudget(path))
    assert dead.try_acquire(RequestCost(Priority.NEW, {"F": 1})) == 0.0
    dead.on_rate_limited(2.0)
    del dead
    restarted = make(SHARED_MODEL, vt, store=SharedBudget(path))
    wait = restarted.try_acquire(RequestCost(Priority.CANCEL, {"F": 1}))
    assert wait == pytest.approx(2.0)
    vt.t += 2.01
    assert restarted.try_acquire(RequestCost(Priority.CANCEL, {"F": 1})) == 0.0
    restarted.on_ban(30.0)
    again = make(SHARED_MODEL, vt, store=SharedBudget(path))
    with pytest.raises(BannedError):
        again.try_acquire(RequestCost(Priority.CANCEL, {"F": 1}))
    assert again.banned_until == pytest.approx(vt.wall() + 30.0, abs=0.01)
    vt.t += 30.01
    assert again.try_acquire(RequestCost(Priority.CANCEL, {"F": 1})) == 0.0
