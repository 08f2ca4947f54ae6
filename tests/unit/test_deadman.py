"""venuegate.risk.deadman: venue-side timer refresh/disarm/stop, and engine cancel-on-disconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from venuegate.errors import ConfigError
from venuegate.risk import DeadManSwitch, EngineCancelOnDisconnect


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class FakeSend:
    """Records every timeout sent; fails the calls whose index is in `fail`."""

    def __init__(self, fail: set[int] | None = None) -> None:
        self.sent: list[float] = []
        self.fail = fail or set()
        self.calls = 0
        self.event = asyncio.Event()

    async def __call__(self, timeout_s: float) -> None:
        self.calls += 1
        if self.calls in self.fail:
            raise ConnectionError("venue down")
        self.sent.append(timeout_s)
        self.event.set()

    async def wait(self, n: int) -> None:
        while len(self.sent) < n:
            self.event.clear()
            await self.event.wait()


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_config_errors() -> None:
    send = FakeSend()
    with pytest.raises(ConfigError):
        DeadManSwitch(send, timeout_s=0, refresh_s=1)
    with pytest.raises(ConfigError):
        DeadManSwitch(send, timeout_s=10, refresh_s=10)
    with pytest.raises(ConfigError):
        DeadManSwitch(send, timeout_s=10, refresh_s=0)
    with pytest.raises(ConfigError):
        EngineCancelOnDisconnect(lambda: asyncio.sleep(0), -1)


def test_tick_arms_while_healthy_and_stops_when_unhealthy() -> None:
    async def main() -> None:
        send, clock = FakeSend(fail={3}), FakeClock()
        dms = DeadManSwitch(send, timeout_s=60, refresh_s=20, venue="okx", clock=clock)
        assert dms.armed_until is None
        assert await dms.tick()
        assert dms.armed_until == 110.0
        clock.now = 70.0
        assert await dms.tick()
        assert dms.armed_until == 130.0
        clock.now = 90.0
        assert not await dms.tick()  # the venue failed: logged, the earlier arm still stands
        assert (dms.sends, dms.failures) == (2, 1)
        assert dms.armed_until == 130.0
        dms.set_healthy(False)
        clock.now = 110.0
        assert not await dms.tick()  # no refresh: the venue's timer runs out
        assert send.sent == [60, 60]
        assert not dms.expired()
        clock.now = 130.0
        assert dms.expired()
        dms.set_healthy(True)
        assert await dms.tick()
        assert not dms.expired()

    run(main())


def test_refresh_loop_disarms_on_clean_stop() -> None:
    async def main() -> None:
        send = FakeSend()
        dms = DeadManSwitch(send, timeout_s=30, refresh_s=0.01, venue="kraken")
        dms.start()
        dms.start()  # idempotent
        await send.wait(3)
        await dms.stop()
        assert send.sent[-1] == 0
        assert all(t == 30 for t in send.sent[:-1])
        assert dms.armed_until is None
        n = len(send.sent)
        await asyncio.sleep(0.05)
        assert len(send.sent) == n  # nothing after stop

    run(main())


def test_unhealthy_stops_the_loop_refreshing_and_healthy_rearms_at_once() -> None:
    async def main() -> None:
        send = FakeSend()
        # A long refresh: every arm after the first comes from a health change, not the timer.
        dms = DeadManSwitch(send, timeout_s=600, refresh_s=300, venue="bitfinex")
        dms.start()
        await send.wait(1)
        dms.set_healthy(False)
        assert not dms.healthy
        dms.set_healthy(True)
        await send.wait(2)
        await dms.stop(disarm=False)  # the venue's timer is left armed
        assert send.sent == [600, 600]
        assert dms.armed_until is not None

    run(main())


def test_stop_while_unhealthy_still_disarms_and_reports_failure() -> None:
    async def main() -> None:
        send = FakeSend(fail={2})
        dms = DeadManSwitch(send, timeout_s=6, refresh_s=2)
        assert await dms.tick()
        dms.set_healthy(False)
        await dms.stop()  # the disarm fails: logged; the timer stays armed
        assert send.sent == [6]
        assert dms.armed_until is not None

    run(main())


def test_engine_cancel_after_grace() -> None:
    async def main() -> None:
        calls: list[int] = []

        async def cancel_all() -> None:
            calls.append(1)
            if len(calls) == 1:
                raise ConnectionError("REST down")

        cod = EngineCancelOnDisconnect(cancel_all, 0, backoff_s=0, venue="coinbase")
        task = cod.connection_lost()
        assert cod.connection_lost() is task  # one at a time
        assert cod.pending
        assert await task
        assert len(calls) == 2  # retried once
        assert cod.fired == 1
        assert not cod.pending

    run(main())


def test_engine_cancel_skipped_on_reconnect() -> None:
    async def main() -> None:
        calls: list[int] = []

        async def cancel_all() -> None:
            calls.append(1)

        cod = EngineCancelOnDisconnect(cancel_all, 3600)
        task = cod.connection_lost()
        await asyncio.sleep(0)
        cod.connection_restored()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert calls == []
        assert cod.fired == 0
        cod.connection_lost()
        await cod.close()
        assert not cod.pending
        assert calls == []

    run(main())


def test_engine_cancel_gives_up_after_max_attempts() -> None:
    async def main() -> None:
        async def cancel_all() -> None:
            raise ConnectionError("REST down")

        cod = EngineCancelOnDisconnect(cancel_all, 0, max_attempts=2, backoff_s=0)
        assert not await cod.connection_lost()
        assert cod.fired == 0

    run(main())


def test_reconnect_during_cancel_lets_it_finish() -> None:
    async def main() -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def cancel_all() -> None:
            started.set()
            await release.wait()

        cod = EngineCancelOnDisconnect(cancel_all, 0)
        task = cod.connection_lost()
        await started.wait()
        cod.connection_restored()
        release.set()
        assert await task
        assert cod.fired == 1

    run(main())
