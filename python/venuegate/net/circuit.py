"""Circuit breakers per (venue, endpoint group), and venue maintenance tracking.

A `CircuitBreaker` is CLOSED while an endpoint group works. `failure_threshold` failures that say
the venue is unwell (retryable or unknown-outcome errors, transport errors, timeouts — not FATAL
rejects, auth errors or rate refusals) within `window_s` seconds OPEN it for `open_s` seconds;
each consecutive re-open doubles that (`growth`), up to `max_open_s`. When the open time ends the
circuit is HALF_OPEN: one new order (or amend) goes through as a probe; its success closes the
circuit, its failure re-opens it for longer.

While OPEN (and while the HALF_OPEN probe is out) `check` refuses NEW and AMEND requests with
`VenueUnavailableError`; CANCEL, QUERY and MARKET_DATA requests always pass: cancels and queries
keep trying, since reducing risk and finding out what happened never wait for the venue to look
healthy.

`force_open(until, reason)` opens a circuit until a wall-clock time regardless of failures (a
ban, a maintenance window); `Circuits` keeps the breakers of every (venue, group) plus one per
venue (group "") that `check` consults too; `MaintenanceMonitor` polls the venue's status and
forces the venue circuit open during maintenance.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from enum import StrEnum

from venuegate.errors import (
    BannedError,
    ConfigError,
    RetryClass,
    VenuegateError,
    VenueUnavailableError,
)
from venuegate.net.priority import Priority
from venuegate.venues.base import VenueStatus

__all__ = ["CircuitBreaker", "CircuitState", "Circuits", "MaintenanceMonitor", "counts_as_failure"]

log = logging.getLogger("venuegate.net.circuit")

_GUARDED = frozenset({Priority.NEW, Priority.AMEND})


class CircuitState(StrEnum):
    """A circuit's state."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def counts_as_failure(err: BaseException) -> bool:
    """True when `err` says the venue (not the request) is unwell.

    Retryable and unknown-outcome venuegate errors count, as do transport errors (`OSError`,
    `TimeoutError`) and other non-venuegate exceptions; FATAL rejects, AUTH errors and rate
    refusals do not (the venue answered on the merits; rate is the limiter's business).

    Args:
        err: the error a request ended with.

    Returns:
        Whether a circuit should count it.
    """
    if isinstance(err, VenuegateError):
        return err.retry_class in (RetryClass.RETRYABLE, RetryClass.UNKNOWN_OUTCOME)
    return isinstance(err, Exception)


class CircuitBreaker:
    """One (venue, endpoint group)'s circuit.

    Args:
        venue: the venue.
        group: the endpoint group ("" for the whole venue).
        failure_threshold: failures within `window_s` that open the circuit.
        window_s: the rolling failure-counting window.
        open_s: the first open period.
        max_open_s: the longest open period.
        growth: factor by which each consecutive re-open lengthens the open period.
        clock: monotonic seconds (failure window, open periods).
        wall: Unix seconds (`force_open` deadlines).

    Raises:
        ConfigError: a non-positive threshold, window or period, or growth below 1.
    """

    def __init__(
        self,
        venue: str,
        group: str = "",
        *,
        failure_threshold: int = 5,
        window_s: float = 30.0,
        open_s: float = 5.0,
        max_open_s: float = 300.0,
        growth: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if failure_threshold < 1 or not window_s > 0 or not 0 < open_s <= max_open_s:
            raise ConfigError("bad circuit breaker settings", venue=venue)
        if not growth >= 1:
            raise ConfigError("circuit breaker growth must be >= 1", venue=venue)
        self.venue = venue
        self.group = group
        self._threshold = failure_threshold
        self._window_s = window_s
        self._open_s = open_s
        self._max_open_s = max_open_s
        self._growth = growth
        self._clock = clock
        self._wall = wall
        self._failures: deque[float] = deque()
        self._opens = 0  # consecutive opens without a success in between
        self._open_until = -math.inf  # monotonic
        self._forced_until = -math.inf  # wall
        self._probe_out = False
        self._opened = False  # OPEN or HALF_OPEN (vs CLOSED)
        self.reason = ""
        """Why the circuit last opened."""

    @property
    def state(self) -> CircuitState:
        """The current state (an expired open period reads as HALF_OPEN)."""
        if not self._opened:
            return CircuitState.CLOSED
        if self._wall() < self._forced_until or self._clock() < self._open_until:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def retry_after(self) -> float:
        """Seconds until the circuit half-opens (0.0 unless OPEN)."""
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(self._forced_until - self._wall(), self._open_until - self._clock(), 0.0)

    def check(self, priority: Priority) -> None:
        """Refuse a NEW or AMEND request while the circuit is open.

        In HALF_OPEN the first guarded request passes as the probe; others are refused until
        its outcome is recorded. CANCEL, QUERY and MARKET_DATA always pass.

        Args:
            priority: the request's priority.

        Raises:
            VenueUnavailableError: a guarded request while OPEN, or while a probe is out.
        """
        if priority not in _GUARDED:
            return
        state = self.state
        if state is CircuitState.CLOSED:
            return
        if state is CircuitState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return
        where = f"{self.venue}/{self.group}" if self.group else self.venue
        wait = self.retry_after
        raise VenueUnavailableError(
            f"{where} circuit {state}: {self.reason or 'recent failures'}"
            + (f"; retry in {wait:.1f} s" if wait else "; probe in flight"),
            venue=self.venue,
        )

    def record_success(self) -> None:
        """A request to this group succeeded: a HALF_OPEN circuit closes.

        Successes while OPEN (cancels and queries keep going) do not close it early.
        """
        state = self.state
        if state is CircuitState.OPEN:
            return
        if state is CircuitState.HALF_OPEN:
            log.info("%s/%s circuit closed after a successful probe", self.venue, self.group)
        self._close()

    def record_failure(self, err: BaseException) -> bool:
        """A request to this group failed.

        A `BannedError` forces the circuit open for its `retry_after`; errors that do not
        `counts_as_failure` are ignored; in HALF_OPEN a counted failure re-opens the circuit
        for longer; in CLOSED, `failure_threshold` of them within `window_s` open it.

        Args:
            err: the error the request ended with.

        Returns:
            True when the failure was counted.
        """
        if isinstance(err, BannedError):
            self.force_open(self._wall() + (err.retry_after or self._open_s), f"banned: {err}")
            return True
        if not counts_as_failure(err):
            return False
        now = self._clock()
        state = self.state
        if state is CircuitState.HALF_OPEN:
            self._open(now, f"probe failed: {err!r}")
            return True
        if state is CircuitState.OPEN:
            return True
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - self._window_s:
            self._failures.popleft()
        if len(self._failures) >= self._threshold:
            self._open(now, f"{len(self._failures)} failures in {self._window_s:g} s: {err!r}")
        return True

    def force_open(self, until_wall_s: float, reason: str) -> None:
        """Open the circuit until a Unix time, whatever the failure count (ban, maintenance).

        When the time passes the circuit half-opens (one probe), unless `close` came first.

        Args:
            until_wall_s: Unix seconds the forced period ends.
            reason: why (shown in the refusals).
        """
        self._forced_until = max(self._forced_until, until_wall_s)
        self._opened = True
        self._probe_out = False
        self.reason = reason
        log.warning("%s/%s circuit forced open: %s", self.venue, self.group, reason)

    def close(self) -> None:
        """Close the circuit now (the venue is back), clearing any forced period."""
        self._forced_until = -math.inf
        self._close()

    def _open(self, now: float, reason: str) -> None:
        self._opens += 1
        period = min(self._max_open_s, self._open_s * self._growth ** (self._opens - 1))
        self._open_until = now + period
        self._opened = True
        self._probe_out = False
        self._failures.clear()
        self.reason = reason
        log.warning("%s/%s circuit open for %.1f s: %s", self.venue, self.group, period, reason)

    def _close(self) -> None:
        self._opened = False
        self._opens = 0
        self._probe_out = False
        self._open_until = -math.inf
        self._failures.clear()


class Circuits:
    """The circuit breakers of every (venue, endpoint group), created on first use.

    Args:
        **settings: keyword arguments for every new `CircuitBreaker` (thresholds, clocks).
    """

    def __init__(self, **settings: object) -> None:
        self._settings = settings
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, venue: str, group: str = "") -> CircuitBreaker:
        """The breaker of (venue, group), created when new; group "" is the venue's own."""
        breaker = self._breakers.get((venue, group))
        if breaker is None:
            breaker = CircuitBreaker(venue, group, **self._settings)  # type: ignore[arg-type]
            self._breakers[(venue, group)] = breaker
        return breaker

    def check(self, venue: str, group: str, priority: Priority) -> None:
        """Check the venue-wide circuit, then the group's.

        Raises:
            VenueUnavailableError: as `CircuitBreaker.check`.
        """
        self.get(venue).check(priority)
        if group:
            self.get(venue, group).check(priority)

    def record_success(self, venue: str, group: str = "") -> None:
        """Record a success on the group's circuit and the venue's."""
        if group:
            self.get(venue, group).record_success()
        self.get(venue).record_success()

    def record_failure(self, venue: str, group: str, err: BaseException) -> bool:
        """Record a failure on the group's circuit (a ban opens the venue's circuit).

        Returns:
            True when the failure was counted.
        """
        if isinstance(err, BannedError) or not group:
            return self.get(venue).record_failure(err)
        return self.get(venue, group).record_failure(err)

    def force_open(self, venue: str, until_wall_s: float, reason: str) -> None:
        """Force the venue-wide circuit open (every group refuses new orders)."""
        self.get(venue).force_open(until_wall_s, reason)

    def close(self, venue: str) -> None:
        """Close the venue-wide circuit."""
        self.get(venue).close()

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))


class MaintenanceMonitor:
    """Polls a venue's status and holds its circuit open while it is in maintenance.

    Args:
        poll: returns the venue's `VenueStatus` (e.g. Binance `GET /sapi/v1/system/status`,
            Kraken `GET /0/public/SystemStatus`, OKX `GET /api/v5/system/status`).
        circuits: the registry whose venue-wide circuit is forced open.
        venue: the venue.
        interval_s: seconds between polls.
        sleep: what to await between polls.
        wall: Unix seconds.

    While `trading` is False the venue circuit is forced open until the later of the venue's
    `until_ms` and two polling intervals from now (re-extended at every poll), so it never
    half-opens between two polls that both say "maintenance". The first poll that says
    `trading` closes it.
    """

    def __init__(
        self,
        poll: Callable[[], Awaitable[VenueStatus]],
        circuits: Circuits,
        venue: str,
        interval_s: float = 30.0,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not interval_s > 0:
            raise ConfigError("maintenance poll interval must be > 0", venue=venue)
        self._poll = poll
        self._circuits = circuits
        self._venue = venue
        self._interval_s = interval_s
        self._sleep = sleep
        self._wall = wall
        self.in_maintenance = False
        """True while the last poll said the venue is not trading."""

    async def poll_once(self) -> VenueStatus:
        """Poll once and apply the answer to the venue's circuit.

        Returns:
            The venue's status.
        """
        status = await self._poll()
        if not status.trading:
            until = self._wall() + 2 * self._interval_s
            if status.until_ms is not None:
                until = max(until, status.until_ms / 1000.0)
            self._circuits.force_open(
                self._venue, until, f"maintenance: {status.reason or 'venue not trading'}"
            )
            self.in_maintenance = True
        elif self.in_maintenance:
            log.info("%s is trading again; closing its circuit", self._venue)
            self._circuits.close(self._venue)
            self.in_maintenance = False
        return status

    async def run(self) -> None:
        """Poll every `interval_s` until cancelled; failed polls are logged and skipped."""
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed status poll must not stop monitoring
                log.warning("%s status poll failed: %r", self._venue, exc)
            await self._sleep(self._interval_s)
