"""The kill switch: one call stops all new orders and cancels everything at every venue.

    kill = KillSwitch(trigger_on=limits.kill_on_alarms)
    kill.register_cancel_all("binance", lambda: oms.cancel_all("binance"))
    kill.register_alert(pager)
    risk = PreTradeRisk(limits, marks=books.touch, kill_switch=kill)
    ...
    await kill.trigger("strategy lost its mind")     # or kill.trigger_soon(...) from sync code
    kill.reset(by="ops: alice")                      # explicit, logged

Once triggered, every new order is refused (`RiskRejectedError(check="kill_switch")`) until
`reset`; cancels, queries and the dead-man switches keep working. Each venue's cancel-all is
awaited and retried with exponential backoff until it succeeds or `max_attempts` is reached (then
an alert says so: orders may still rest at that venue).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from venuegate.errors import ConfigError, RiskRejectedError
from venuegate.oms.types import Alarm, AlarmKind

__all__ = ["AlertCallback", "CancelAll", "KillReport", "KillSwitch"]

log = logging.getLogger("venuegate.risk")

type CancelAll = Callable[[], Awaitable[None]]
"""Cancels every open order at one venue; raises on failure (it is then retried)."""
type AlertCallback = Callable[[str], Awaitable[None] | None]
"""Told (sync or async) what happened: the trigger, a cancel-all that failed for good, a reset."""


@dataclass(slots=True)
class KillReport:
    """The outcome of one trigger.

    Attributes:
        reason: why it was triggered.
        canceled: venues whose cancel-all succeeded.
        failed: venues whose cancel-all failed `max_attempts` times, with the last error.
        attempts: cancel-all attempts per venue.
    """

    reason: str
    canceled: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every venue's cancel-all succeeded."""
        return not self.failed


class KillSwitch:
    """Blocks every new order and cancels all open orders at every registered venue.

    Args:
        max_attempts: cancel-all attempts per venue and trigger (>= 1).
        backoff_s: the wait after the first failed attempt; doubled after each further one.
        max_backoff_s: the longest wait between attempts.
        trigger_on: OMS alarm kinds that trigger it through `on_alarm`.
        sleep: the coroutine waiting between attempts (tests pass a fake).
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        backoff_s: float = 0.25,
        max_backoff_s: float = 5.0,
        trigger_on: Iterable[AlarmKind] = (AlarmKind.OVERFILL,),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError("KillSwitch max_attempts must be at least 1")
        if backoff_s < 0 or max_backoff_s < 0:
            raise ConfigError("KillSwitch backoff must not be negative")
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.trigger_on = frozenset(trigger_on)
        self._sleep = sleep
        self._cancel_alls: dict[str, CancelAll] = {}
        self._alerts: list[AlertCallback] = []
        self._triggered = False
        self._reason: str | None = None
        self._triggered_at: float | None = None
        self._tasks: set[asyncio.Task[KillReport]] = set()
        self._alert_tasks: set[asyncio.Future[None]] = set()

    # -- registration ----------------------------------------------------------------------
    def register_cancel_all(self, venue: str, cancel_all: CancelAll) -> None:
        """Sets `venue`'s cancel-all (one per venue; a second registration replaces it)."""
        self._cancel_alls[venue] = cancel_all

    def unregister_cancel_all(self, venue: str) -> None:
        """Forgets `venue`'s cancel-all."""
        self._cancel_alls.pop(venue, None)

    def register_alert(self, alert: AlertCallback) -> None:
        """Adds an alert callback (its failures are logged, never raised)."""
        self._alerts.append(alert)

    # -- state -----------------------------------------------------------------------------
    @property
    def triggered(self) -> bool:
        """True from a trigger until `reset`."""
        return self._triggered

    @property
    def reason(self) -> str | None:
        """The reason of the first trigger since the last reset."""
        return self._reason

    @property
    def triggered_at(self) -> float | None:
        """When it was triggered (`time.time()`), or None."""
        return self._triggered_at

    def check(self, venue: str | None = None) -> None:
        """Raises `RiskRejectedError(check="kill_switch")` while triggered.

        Raises:
            RiskRejectedError: the kill switch is engaged.
        """
        if self._triggered:
            raise RiskRejectedError(
                f"kill switch engaged: {self._reason}", check="kill_switch", venue=venue
            )

    # -- trigger / reset -------------------------------------------------------------------
    async def trigger(self, reason: str) -> KillReport:
        """Blocks new orders now, alerts, then cancels all at every venue (concurrently).

        Triggering again while triggered keeps the first reason and cancels all again.

        Returns:
            Which venues were canceled and which failed for good.
        """
        self._engage(reason)
        return await self._cancel_everything(reason)

    async def _cancel_everything(self, reason: str) -> KillReport:
        await self._alert(f"kill switch triggered: {reason}")
        venues = list(self._cancel_alls.items())
        results = await asyncio.gather(*(self._cancel_venue(v, fn) for v, fn in venues))
        report = KillReport(reason)
        for (venue, _), (attempts, error) in zip(venues, results, strict=True):
            report.attempts[venue] = attempts
            if error is None:
                report.canceled.append(venue)
            else:
                report.failed[venue] = error
        if report.failed:
            await self._alert(
                "kill switch: cancel-all FAILED at "
                + ", ".join(f"{v} ({e!r})" for v, e in report.failed.items())
                + ": orders may still rest there"
            )
        log.warning(
            "kill switch: canceled at %s; failed at %s",
            report.canceled or "-",
            list(report.failed) or "-",
        )
        return report

    def trigger_soon(self, reason: str) -> asyncio.Task[KillReport]:
        """Blocks new orders now and runs `trigger` as a task on the running loop.

        For sync callers such as alarm callbacks.
        """
        self._engage(reason)
        task = asyncio.get_running_loop().create_task(self._cancel_everything(reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def on_alarm(self, alarm: Alarm) -> asyncio.Task[KillReport] | None:
        """An OMS alarm callback: triggers (as a task) when `alarm.kind` is in `trigger_on`."""
        if alarm.kind not in self.trigger_on:
            return None
        return self.trigger_soon(
            f"alarm {alarm.kind} on {alarm.venue} {alarm.client_order_id}: {alarm.detail}"
        )

    def reset(self, *, by: str = "") -> None:
        """Allows new orders again. Explicit only: nothing resets the switch by itself."""
        if not self._triggered:
            return
        log.warning("kill switch reset%s (was: %s)", f" by {by}" if by else "", self._reason)
        message = f"kill switch reset{f' by {by}' if by else ''}"
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for alert in self._alerts:
            try:
                result = alert(message)
            except Exception:
                log.exception("kill switch alert callback failed")
                continue
            if inspect.isawaitable(result):
                if loop is None:
                    if inspect.iscoroutine(result):
                        result.close()
                    log.warning("kill switch: async alert not run (reset outside an event loop)")
                    continue
                task = asyncio.ensure_future(result)
                self._alert_tasks.add(task)
                task.add_done_callback(self._alert_done)
        self._triggered = False
        self._reason = None
        self._triggered_at = None

    # -- internals -------------------------------------------------------------------------
    def _engage(self, reason: str) -> None:
        if self._triggered:
            log.warning("kill switch triggered again: %s (first: %s)", reason, self._reason)
            return
        self._triggered = True
        self._reason = reason
        self._triggered_at = time.time()
        log.critical("KILL SWITCH TRIGGERED: %s", reason)

    async def _cancel_venue(
        self, venue: str, cancel_all: CancelAll
    ) -> tuple[int, Exception | None]:
        delay = self.backoff_s
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await cancel_all()
            except Exception as exc:
                error = exc
                log.error(
                    "kill switch: cancel-all at %s failed (attempt %d/%d): %r",
                    venue,
                    attempt,
                    self.max_attempts,
                    exc,
                )
            else:
                log.warning("kill switch: canceled all at %s (attempt %d)", venue, attempt)
                return attempt, None
            if attempt < self.max_attempts:
                await self._sleep(min(delay, self.max_backoff_s))
                delay *= 2
        return self.max_attempts, error

    def _alert_done(self, task: asyncio.Future[None]) -> None:
        self._alert_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("kill switch alert callback failed", exc_info=task.exception())

    async def _alert(self, message: str) -> None:
        for alert in self._alerts:
            try:
                result = alert(message)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("kill switch alert callback failed")
