"""Circuit breakers: opening on venue failures, growth, half-open probes, forced opens,
cancels and queries passing, and the maintenance monitor."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from venuegate.errors import (
    AuthError,
    BannedError,
    FatalError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueUnavailableError,
)
from venuegate.net.circuit import (
    CircuitBreaker,
    Circuits,
    CircuitState,
    MaintenanceMonitor,
    counts_as_failure,
)
from venuegate.net.priority import Priority
from venuegate.venues.base import VenueStatus


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.base = 1_700_000_000.0

    def mono(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.base + self.t


def breaker(clock: Clock, **kw: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {"failure_threshold": 3, "window_s": 10.0, "open_s": 2.0}
    settings.update(kw)
    return CircuitBreaker("binance", "orders", clock=clock.mono, wall=clock.wall, **settings)


def fail() -> RetryableError:
    return RetryableError("503 Service Unavailable", venue="binance", http_status=503)


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_failure_classes() -> None:
    assert counts_as_failure(fail())
    assert counts_as_failure(UnknownOutcomeError("timeout after send"))
    assert counts_as_failure(TimeoutError())
    assert counts_as_failure(OSError("reset"))
    assert not counts_as_failure(FatalError("insufficient balance"))
    assert not counts_as_failure(AuthError("bad signature"))
    assert not counts_as_failure(RateLimitedError("429"))


def test_opens_after_n_failures_in_window_and_refuses_new_orders_only() -> None:
    clock = Clock()
    cb = breaker(clock)
    cb.record_failure(fail())
    cb.record_failure(fail())
    assert cb.state is CircuitState.CLOSED
    assert cb.record_failure(FatalError("bad price")) is False  # rejects do not count
    cb.record_failure(fail())
    assert cb.state is CircuitState.OPEN
    for prio in (Priority.NEW, Priority.AMEND):
        with pytest.raises(VenueUnavailableError) as info:
            cb.check(prio)
        assert info.value.venue == "binance"
        assert info.value.retryable
    for prio in (Priority.CANCEL, Priority.QUERY, Priority.MARKET_DATA):
        cb.check(prio)  # cancels and queries keep trying
    assert cb.retry_after == pytest.approx(2.0)


def test_failures_outside_the_window_do_not_open() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(5):
        cb.record_failure(fail())
        clock.t += 6.0  # at most two failures in any 10 s
    assert cb.state is CircuitState.CLOSED


def test_half_open_probe_success_closes() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure(fail())
    clock.t += 2.0
    assert cb.state is CircuitState.HALF_OPEN
    cb.check(Priority.NEW)  # the probe
    with pytest.raises(VenueUnavailableError, match="probe"):
        cb.check(Priority.NEW)  # only one probe at a time
    cb.check(Priority.CANCEL)
    cb.record_success()
    assert cb.state is CircuitState.CLOSED
    cb.check(Priority.NEW)


def test_open_period_grows_exponentially_and_is_capped() -> None:
    clock = Clock()
    cb = breaker(clock, max_open_s=10.0)
    for _ in range(3):
        cb.record_failure(fail())
    periods = []
    for _ in range(5):
        periods.append(cb.retry_after)
        clock.t += cb.retry_after
        assert cb.state is CircuitState.HALF_OPEN
        cb.check(Priority.NEW)
        cb.record_failure(fail())  # the probe failed
        assert cb.state is CircuitState.OPEN
    assert periods == pytest.approx([2.0, 4.0, 8.0, 10.0, 10.0])
    clock.t += cb.retry_after
    cb.check(Priority.NEW)
    cb.record_success()
    for _ in range(3):
        cb.record_failure(fail())
    assert cb.retry_after == pytest.approx(2.0)  # growth resets after a success


def test_success_while_open_does_not_close() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure(fail())
    cb.record_success()  # a cancel got through
    assert cb.state is CircuitState.OPEN


def test_force_open_for_a_ban_then_half_open() -> None:
    clock = Clock()
    cb = breaker(clock)
    cb.record_failure(BannedError("418", retry_after=120.0, venue="binance"))
    assert cb.state is CircuitState.OPEN
    assert cb.retry_after == pytest.approx(120.0)
    with pytest.raises(VenueUnavailableError, match="banned"):
        cb.check(Priority.NEW)
    cb.check(Priority.CANCEL)
    cb.record_success()
    assert cb.state is CircuitState.OPEN  # forced: successes do not end it
    clock.t += 120.0
    assert cb.state is CircuitState.HALF_OPEN


def test_force_open_until_wall_time_and_close() -> None:
    clock = Clock()
    cb = breaker(clock)
    cb.force_open(clock.wall() + 3600, "maintenance: upgrade")
    with pytest.raises(VenueUnavailableError, match="maintenance"):
        cb.check(Priority.AMEND)
    cb.close()
    assert cb.state is CircuitState.CLOSED
    cb.check(Priority.NEW)


def test_registry_venue_circuit_covers_every_group() -> None:
    clock = Clock()
    circuits = Circuits(failure_threshold=2, clock=clock.mono, wall=clock.wall)
    assert circuits.get("okx", "orders") is circuits.get("okx", "orders")
    circuits.record_failure("okx", "orders", fail())
    circuits.record_failure("okx", "orders", fail())
    with pytest.raises(VenueUnavailableError):
        circuits.check("okx", "orders", Priority.NEW)
    circuits.check("okx", "account", Priority.NEW)  # another group is fine
    circuits.check("kraken", "orders", Priority.NEW)  # another venue too
    circuits.force_open("okx", clock.wall() + 60, "maintenance")
    with pytest.raises(VenueUnavailableError):
        circuits.check("okx", "account", Priority.NEW)
    circuits.check("okx", "account", Priority.QUERY)
    circuits.record_failure("kraken", "orders", BannedError("ban", retry_after=30.0))
    with pytest.raises(VenueUnavailableError):
        circuits.check("kraken", "anything", Priority.NEW)
    assert {(c.venue, c.group) for c in circuits} >= {("okx", ""), ("okx", "orders")}


def test_maintenance_monitor_opens_and_closes() -> None:
    clock = Clock()
    circuits = Circuits(clock=clock.mono, wall=clock.wall)
    statuses = [
        VenueStatus(True),
        VenueStatus(False, "system upgrade", until_ms=int((clock.wall() + 600) * 1000)),
        VenueStatus(False, "system upgrade"),
        VenueStatus(True),
    ]
    seen: list[CircuitState] = []

    async def poll() -> VenueStatus:
        return statuses.pop(0)

    async def sleep(seconds: float) -> None:
        seen.append(circuits.get("binance").state)
        clock.t += seconds
        if not statuses:
            raise asyncio.CancelledError

    monitor = MaintenanceMonitor(poll, circuits, "binance", 30.0, sleep=sleep, wall=clock.wall)
    with pytest.raises(asyncio.CancelledError):
        run(monitor.run())
    assert seen == [
        CircuitState.CLOSED,
        CircuitState.OPEN,
        CircuitState.OPEN,
        CircuitState.CLOSED,
    ]
    assert not monitor.in_maintenance


def test_maintenance_without_end_time_stays_open_between_polls() -> None:
    clock = Clock()
    circuits = Circuits(clock=clock.mono, wall=clock.wall)

    async def poll() -> VenueStatus:
        return VenueStatus(False, "unplanned outage")

    monitor = MaintenanceMonitor(poll, circuits, "htx", 30.0, wall=clock.wall)
    run(monitor.poll_once())
    clock.t += 59.0  # a late next poll: still open
    with pytest.raises(VenueUnavailableError, match="unplanned outage"):
        circuits.check("htx", "orders", Priority.NEW)


def test_monitor_survives_poll_errors() -> None:
    clock = Clock()
    circuits = Circuits(clock=clock.mono, wall=clock.wall)
    calls = 0

    async def poll() -> VenueStatus:
        nonlocal calls
        calls += 1
        raise OSError("status endpoint down")

    async def sleep(seconds: float) -> None:
        if calls >= 3:
            raise asyncio.CancelledError

    monitor = MaintenanceMonitor(poll, circuits, "kraken", 10.0, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        run(monitor.run())
    assert calls == 3
    assert circuits.get("kraken").state is CircuitState.CLOSED
