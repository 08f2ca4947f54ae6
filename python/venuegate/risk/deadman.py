"""Dead-man switches: open orders are canceled when we go quiet.

Two kinds:

- `DeadManSwitch` keeps a venue-side timer armed (OKX cancel-all-after, Kraken
  CancelAllOrdersAfter, Binance futures countdownCancelAll, Bitfinex `dms`, HTX cancel-all-after;
  the venue adapter builds the call in `VenueAdapter.dead_man`). While the connection is healthy
  it re-arms the timer every `refresh_s`; when told the connection is unhealthy it stops, so the
  venue's timer runs out and the venue cancels everything. `stop()` disarms (timeout 0) on a clean
  shutdown. This covers every failure on our side, including a crashed process or a dead host.

- `EngineCancelOnDisconnect`, for venues with no such timer: on `connection_lost()` it waits
  `grace_s` for a reconnect, then cancels all through REST. It runs inside our process, so it
  cannot help if the process died, the host lost its network, or REST is down too: orders then rest
  until someone cancels them. Only a venue-side switch covers those cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from venuegate.errors import ConfigError

__all__ = ["DeadManSwitch", "EngineCancelOnDisconnect"]

log = logging.getLogger("venuegate.risk")


class DeadManSwitch:
    """Keeps a venue's cancel-all-after timer armed while the connection is healthy.

    Args:
        send: arms the venue's timer for `timeout_s` seconds (0 disarms); raises on failure.
        timeout_s: the timer the venue runs (> 0): orders are canceled this long after the last
            successful arm.
        refresh_s: how often to re-arm (> 0, below `timeout_s`; a third of it leaves room for two
            failed refreshes).
        venue: a name for the logs.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        send: Callable[[float], Awaitable[None]],
        *,
        timeout_s: float,
        refresh_s: float,
        venue: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not timeout_s > 0:
            raise ConfigError("dead-man timeout_s must be above 0")
        if not 0 < refresh_s < timeout_s:
            raise ConfigError("dead-man refresh_s must be above 0 and below timeout_s")
        self._send = send
        self.timeout_s = timeout_s
        self.refresh_s = refresh_s
        self.venue = venue
        self._clock = clock
        self._healthy = True
        self._running = False
        self._armed_until: float | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sends = 0
        """Successful arm calls so far."""
        self.failures = 0
        """Failed arm calls so far."""

    @property
    def healthy(self) -> bool:
        """True while the switch re-arms the timer."""
        return self._healthy

    @property
    def armed_until(self) -> float | None:
        """When the venue's timer fires unless re-armed (`clock` seconds), or None (disarmed)."""
        return self._armed_until

    def expired(self) -> bool:
        """True if the venue's timer has (by our clock) fired: reconcile open orders."""
        return self._armed_until is not None and self._clock() >= self._armed_until

    def set_healthy(self, healthy: bool) -> None:
        """Told the connection's health.

        Unhealthy stops re-arming (the venue's timer will fire); healthy again re-arms at once.
        """
        if healthy == self._healthy:
            return
        self._healthy = healthy
        if healthy:
            log.info("dead-man %s: connection healthy, re-arming", self.venue)
            self._wake.set()
        else:
            log.warning(
                "dead-man %s: connection unhealthy, no more re-arming (fires at %s)",
                self.venue,
                self._armed_until,
            )

    async def tick(self) -> bool:
        """Re-arms once if healthy (what the refresh loop does every `refresh_s`).

        Returns:
            True if the timer was armed; False if unhealthy or the send failed (logged).
        """
        if not self._healthy:
            return False
        async with self._lock:
            started = self._clock()
            try:
                await self._send(self.timeout_s)
            except Exception as exc:
                self.failures += 1
                log.warning("dead-man %s: arming failed: %r", self.venue, exc)
                return False
            self.sends += 1
            self._armed_until = started + self.timeout_s
            return True

    def start(self) -> None:
        """Starts re-arming every `refresh_s` on the running loop (first arm at once)."""
        if self._task is not None and not self._task.done():
            return
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._running:
            self._wake.clear()
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.refresh_s)

    async def stop(self, *, disarm: bool = True) -> None:
        """Stops re-arming.

        With `disarm` (a clean shutdown) it sends timeout 0 so the venue's timer will not cancel
        anything. Without it, the timer fires as armed.
        """
        self._running = False
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, self.refresh_s)
            except TimeoutError:
                log.warning("dead-man %s: an arm call hung; abandoned", self.venue)
        if disarm:
            async with self._lock:
                try:
                    await self._send(0.0)
                except Exception as exc:
                    log.error(
                        "dead-man %s: disarm failed (%r); the venue cancels all at %s",
                        self.venue,
                        exc,
                        self._armed_until,
                    )
                    return
                self._armed_until = None
                log.info("dead-man %s: disarmed", self.venue)


class EngineCancelOnDisconnect:
    """Cancels all through REST when a connection stays lost for `grace_s`.

    For venues with no dead-man timer.

    It runs in our process: it cannot act if the process died, the host is cut off, or REST is
    down as well. Prefer a venue's own dead-man switch where there is one.

    Args:
        cancel_all: cancels every open order at the venue (REST); raises on failure.
        grace_s: how long to wait for a reconnect before canceling (>= 0).
        max_attempts: cancel-all attempts before giving up (logged as an error).
        backoff_s: the wait after the first failed attempt; doubled after each further one.
        venue: a name for the logs.
    """

    def __init__(
        self,
        cancel_all: Callable[[], Awaitable[None]],
        grace_s: float,
        *,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        venue: str = "",
    ) -> None:
        if grace_s < 0:
            raise ConfigError("grace_s must not be negative")
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        self._cancel_all = cancel_all
        self.grace_s = grace_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.venue = venue
        self._pending: asyncio.Task[bool] | None = None
        self._canceling = False
        self.fired = 0
        """How many times the grace ran out and a cancel-all succeeded."""

    @property
    def pending(self) -> bool:
        """True while waiting out the grace period (or canceling)."""
        return self._pending is not None and not self._pending.done()

    def connection_lost(self) -> asyncio.Task[bool]:
        """Starts the grace period (idempotent while one runs).

        Returns:
            The task: True once a cancel-all succeeded, False if a reconnect came first or every
            attempt failed.
        """
        if self._pending is not None and not self._pending.done():
            return self._pending
        log.warning(
            "cancel-on-disconnect %s: connection lost; canceling all in %ss",
            self.venue,
            self.grace_s,
        )
        self._pending = asyncio.get_running_loop().create_task(self._after_grace())
        return self._pending

    def connection_restored(self) -> None:
        """A reconnect: drops the pending cancel-all if the grace has not run out.

        A cancel-all already under way is left to finish.
        """
        if self._canceling:
            log.info(
                "cancel-on-disconnect %s: reconnected; cancel-all already under way", self.venue
            )
            return
        task, self._pending = self._pending, None
        if task is not None and not task.done():
            log.info("cancel-on-disconnect %s: reconnected within the grace period", self.venue)
            task.cancel()

    async def close(self) -> None:
        """Drops any pending cancel-all."""
        task, self._pending = self._pending, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _after_grace(self) -> bool:
        await asyncio.sleep(self.grace_s)
        self._canceling = True
        try:
            return await self._cancel_with_retries()
        finally:
            self._canceling = False

    async def _cancel_with_retries(self) -> bool:
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._cancel_all()
            except Exception as exc:
                log.error(
                    "cancel-on-disconnect %s: cancel-all failed (attempt %d/%d): %r",
                    self.venue,
                    attempt,
                    self.max_attempts,
                    exc,
                )
            else:
                self.fired += 1
                log.warning("cancel-on-disconnect %s: canceled all", self.venue)
                return True
            if attempt < self.max_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return False
