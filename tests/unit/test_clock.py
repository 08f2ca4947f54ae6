"""ClockSync against a fake venue clock with skew, network jitter and outliers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import pytest

from venuegate.errors import ConfigError
from venuegate.net.clock import ClockSync, recv_window_ms


class FakeVenue:
    """A local clock (ns) and a venue clock `skew_ms` ahead; each probe takes a random
    one-way delay each way; a fraction of answers come from a lagging node (outliers)."""

    def __init__(
        self,
        skew_ms: float,
        *,
        seed: int = 1,
        jitter_ms: tuple[float, float] = (2.0, 40.0),
        outliers: float = 0.0,
        outlier_ms: float = 3000.0,
    ) -> None:
        self.local = 1_700_000_000_000_000_000
        self.skew_ms = skew_ms
        self.rng = random.Random(seed)  # noqa: S311 - test data
        self.jitter_ms = jitter_ms
        self.outliers = outliers
        self.outlier_ms = outlier_ms

    def local_ns(self) -> int:
        return self.local

    def _delay(self) -> None:
        self.local += int(self.rng.uniform(*self.jitter_ms) * 1e6)

    async def fetch(self) -> int:
        self._delay()
        server = self.local / 1e6 + self.skew_ms
        if self.rng.random() < self.outliers:
            server -= self.outlier_ms
        self._delay()
        return int(server)

    def true_venue_ms(self) -> float:
        return self.local / 1e6 + self.skew_ms


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_offset_within_uncertainty_with_skew_and_jitter() -> None:
    venue = FakeVenue(1234.0)
    sync = ClockSync(venue.fetch, local_ns=venue.local_ns, drift_alarm_ms=5000)
    assert not sync.synced
    assert sync.uncertainty_ms == float("inf")
    run(sync.resync())
    assert sync.synced
    assert len(sync.samples) == 8
    assert abs(sync.offset_ms - 1234.0) <= sync.uncertainty_ms + 1.0
    assert sync.uncertainty_ms <= 40.0
    # The estimate comes from the fastest sample.
    assert sync.uncertainty_ms == min(s.rtt_ms for s in sync.samples) / 2
    assert abs(sync.now_ms() - venue.true_venue_ms()) <= sync.uncertainty_ms + 1.0


def test_negative_skew() -> None:
    venue = FakeVenue(-777.0, seed=4)
    sync = ClockSync(venue.fetch, local_ns=venue.local_ns, drift_alarm_ms=5000)
    run(sync.resync(12))
    assert abs(sync.offset_ms + 777.0) <= sync.uncertainty_ms + 1.0


def test_outliers_are_rejected_even_with_the_lowest_rtt() -> None:
    venue = FakeVenue(500.0, seed=2, outliers=0.25)
    sync = ClockSync(venue.fetch, local_ns=venue.local_ns, samples=16, drift_alarm_ms=10_000)

    async def main() -> None:
        await sync.resync()
        # One more sample: a lagging node answering over a very fast path.
        venue.jitter_ms = (0.1, 0.2)
        venue.outliers = 1.0
        await sync.sample()

    run(main())
    assert any(abs(s.offset_ms - (500.0 - 3000.0)) < 100 for s in sync.samples)
    assert abs(sync.offset_ms - 500.0) <= 41.0  # the fast outlier was not chosen


def test_drift_alarm_on_jump_and_on_large_offset() -> None:
    messages: list[str] = []
    venue = FakeVenue(10.0, seed=3, jitter_ms=(1.0, 3.0))
    sync = ClockSync(
        venue.fetch,
        local_ns=venue.local_ns,
        samples=3,
        drift_alarm_ms=250,
        on_alarm=messages.append,
    )

    async def main() -> None:
        await sync.resync()
        assert messages == []
        venue.skew_ms = 400.0  # the local clock stepped back 390 ms (NTP)
        await sync.resync()

    run(main())
    assert sync.offset_ms == pytest.approx(400.0, abs=3.0)
    assert any("moved" in m for m in messages)
    messages.clear()
    for _ in range(5):  # steadily off: the one alarm above stands, the log is not flooded
        run(sync.sample())
    assert messages == []
    venue.skew_ms = 10.0  # back under half the threshold: re-armed
    run(sync.resync())
    messages.clear()
    venue.skew_ms = 300.0
    run(sync.resync())
    assert any("exceeds" in m or "moved" in m for m in messages)
    messages.clear()
    run(sync.sample())
    assert messages == []
    assert sync.alarms >= 3


def test_large_offset_from_the_start_alarms_once() -> None:
    messages: list[str] = []
    venue = FakeVenue(600.0, seed=4, jitter_ms=(1.0, 3.0))
    sync = ClockSync(
        venue.fetch,
        local_ns=venue.local_ns,
        samples=3,
        drift_alarm_ms=250,
        on_alarm=messages.append,
    )
    run(sync.resync())
    for _ in range(4):
        run(sync.sample())
    assert [m for m in messages if "exceeds" in m] == [messages[0]]
    assert len(messages) == 1


def test_run_loop_survives_failed_probes() -> None:
    venue = FakeVenue(50.0, seed=5, jitter_ms=(1.0, 2.0))
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls % 2 == 0:
            raise OSError("connection reset")
        return await venue.fetch()

    sync = ClockSync(flaky, local_ns=venue.local_ns)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 6:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        run(sync.run(30.0, sleep=sleep))
    assert sleeps == [30.0] * 6
    assert len(sync.samples) == 3
    assert abs(sync.offset_ms - 50.0) <= sync.uncertainty_ms + 1.0


def test_recv_window_suggestion_is_bounded() -> None:
    assert recv_window_ms(0.0) == 5000
    assert recv_window_ms(5.0) == 5000
    assert recv_window_ms(2000.0) == 9000
    assert recv_window_ms(1e9) == 60000
    assert recv_window_ms(float("inf")) == 60000
    venue = FakeVenue(0.0)
    sync = ClockSync(venue.fetch, local_ns=venue.local_ns)
    assert sync.recv_window_ms() == 60000  # unknown before the first sample
    run(sync.sample())
    assert sync.recv_window_ms() == 5000


def test_bad_settings() -> None:
    venue = FakeVenue(0.0)
    with pytest.raises(ConfigError):
        ClockSync(venue.fetch, samples=0)
    with pytest.raises(ConfigError):
        ClockSync(venue.fetch, drift_alarm_ms=0)
