"""Weighted, multi-window, priority-aware rate limiting (`RateLimiter`).

A request's `RequestCost` names the windows of the venue's `RateModel` it is charged against and
its weight in each. A request is granted only when *every* window it names has room for it, and
then all of them are charged together (all or none).

Window kinds (see `venuegate.net.ratemodel`):

* FIXED: calendar-aligned to multiples of `period_s` since the Unix epoch, on the wall clock
  (Binance's 1-minute weight, 10-second and 1-day order counters reset at :00, :10, ... and at
  00:00 UTC). Usage is what was granted in the current interval.
* SLIDING: exact; the grant times and weights of the last `period_s` seconds are kept (monotonic
  clock). A grant at `t` counts while `t + period_s > now`.
* DECAY: a counter raised by each grant's weight and falling by `decay_per_s` per second, never
  below zero (Kraken). A request waits until `counter + weight <= limit`.

Priority headroom (`Window.reserve`): a request of priority `p` may fill a window only up to::

    cap(p) = limit * (1 - sum(fraction for q, fraction in reserve.items() if q < p))

i.e. every class *more urgent* than `p` (smaller value) keeps its reserved fraction out of `p`'s
reach. With `reserve={CANCEL: 0.1}` cancels may use 100% of the window and everything else 90%;
with `{CANCEL: 0.1, AMEND: 0.05}` cancels get 100%, amends 90%, new orders and the rest 85%.

Waiters (`acquire`) are served strictly by (priority, arrival order) among requests that share a
window: a waiter that does not fit blocks every later-ordered waiter charging any of the same
window instances (name and key), so a waiting cancel is granted before any waiting new order,
however long the order has been waiting. Waiters on disjoint windows (another OKX instrument) do
not block each other. One scheduler task per limiter sleeps exactly until the earliest moment the
head of the queue can fit (or until a new waiter arrives) — no polling.

Server corrections: `observe(headers)` raises local usage to the server's count (`max`);
`on_rate_limited` stops all grants until Retry-After (or until the fullest window empties);
`on_ban` makes `acquire` / `try_acquire` raise `BannedError` until the ban ends.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from venuegate.errors import BannedError, ConfigError
from venuegate.net.priority import Priority, RequestCost
from venuegate.net.ratemodel import RateModel, Window, WindowKind
from venuegate.net.shared_budget import SLIDING_BUCKETS, SharedBudget

__all__ = ["BINANCE_SPOT", "RateLimiter", "binance_model_from_exchange_info"]

log = logging.getLogger("venuegate.net.ratelimit")

# Binance spot's published limits. REQUEST_WEIGHT is per IP, ORDERS are the per-account unfilled
# order counts; all three are calendar-aligned FIXED intervals ("a 1 MINUTE interval starts every
# minute ... 10 SECOND interval resets at 00, 10, 20... seconds of each minute", "1 DAY rate limit
# resets at 00:00 UTC"). Numbers: 6,000 weight per minute, 50 orders per 10 s and 160,000 orders
# per 24 h — Binance FAQ "What are the limits?" (updated 15 Nov 2024,
# https://www.binance.com/en/support/announcement/frequently-asked-questions-on-api-360004492232)
# and the `rateLimits` example of the spot WebSocket API docs
# (https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/rate-limits).
# Binance says the current values are those of `GET /api/v3/exchangeInfo` `rateLimits`; build the
# model from it at start-up where possible (`binance_model_from_exchange_info`).
# Headers: X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter) / X-MBX-ORDER-COUNT-(...)
# (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits).
BINANCE_SPOT = RateModel(
    "binance",
    windows=(
        Window("REQUEST_WEIGHT", 6000, 60.0, WindowKind.FIXED),
        Window("ORDERS_10S", 50, 10.0, WindowKind.FIXED),
        Window("ORDERS_1D", 160_000, 86_400.0, WindowKind.FIXED),
    ),
    used_headers={
        "x-mbx-used-weight-1m": "REQUEST_WEIGHT",
        "x-mbx-order-count-10s": "ORDERS_10S",
        "x-mbx-order-count-1d": "ORDERS_1D",
    },
)
"""Binance spot REST: request weight per IP per minute, unfilled orders per 10 s and per day."""

_INTERVAL_S = {"SECOND": 1.0, "MINUTE": 60.0, "HOUR": 3600.0, "DAY": 86_400.0}
_EPS = 1e-6
"""Added to every positive wait so that waking exactly at a boundary is past it."""
_QUEUED_RETRY_S = 1e-3
"""`try_acquire`'s hint when the windows have room but earlier waiters come first."""


def binance_model_from_exchange_info(rate_limits: Sequence[Mapping[str, Any]]) -> RateModel:
    """Build a Binance `RateModel` from `exchangeInfo`'s `rateLimits` array.

    REQUEST_WEIGHT and ORDERS entries become FIXED windows named like `BINANCE_SPOT`'s
    (`REQUEST_WEIGHT` for the 1-minute weight, `ORDERS_10S`, `ORDERS_1D`; other intervals are
    named `<TYPE>_<num><letter>`); RAW_REQUESTS entries become `RAW_REQUESTS_<num><letter>`.

    Args:
        rate_limits: the `rateLimits` array as decoded JSON.

    Returns:
        The model, with the matching `x-mbx-*` used-count headers.

    Raises:
        ConfigError: an entry with an unknown interval or a non-positive limit.
    """
    windows: list[Window] = []
    headers: dict[str, str] = {}
    for entry in rate_limits:
        kind = str(entry.get("rateLimitType", ""))
        interval = str(entry.get("interval", ""))
        num = int(entry.get("intervalNum", 1))
        limit = float(entry.get("limit", 0))
        if interval not in _INTERVAL_S or limit <= 0 or num <= 0:
            raise ConfigError(f"unusable Binance rate limit: {dict(entry)!r}", venue="binance")
        suffix = f"{num}{interval[0].lower()}"
        if kind == "REQUEST_WEIGHT":
            name = "REQUEST_WEIGHT" if suffix == "1m" else f"REQUEST_WEIGHT_{suffix.upper()}"
            headers[f"x-mbx-used-weight-{suffix}"] = name
        elif kind == "ORDERS":
            name = f"ORDERS_{suffix.upper()}"
            headers[f"x-mbx-order-count-{suffix}"] = name
        else:
            name = f"{kind}_{suffix.upper()}"
        windows.append(Window(name, limit, num * _INTERVAL_S[interval], WindowKind.FIXED))
    return RateModel("binance", windows=tuple(windows), used_headers=headers)


@dataclass(frozen=True, slots=True)
class _Now:
    mono: float
    wall: float


class _State(Protocol):
    def usage(self, now: _Now) -> float: ...
    def wait(self, amount: float, cap: float, now: _Now) -> float: ...
    def charge(self, amount: float, now: _Now) -> None: ...
    def raise_to(self, used: float, now: _Now) -> None: ...
    def drain_s(self, now: _Now) -> float: ...
    def dump(self) -> Any: ...


class _FixedState:
    __slots__ = ("idx", "period", "used")

    def __init__(self, period: float, raw: Any = None) -> None:
        self.period = period
        self.idx, self.used = (int(raw[0]), float(raw[1])) if raw else (-1, 0.0)

    def _interval(self, now: _Now) -> int:
        return math.floor(now.wall / self.period)

    def usage(self, now: _Now) -> float:
        # An interval before the stored one (a clock read before another process's grant, or a
        # wall-clock step back) is counted as the stored one: over-counting is the safe side.
        return self.used if self._interval(now) <= self.idx else 0.0

    def wait(self, amount: float, cap: float, now: _Now) -> float:
        if self.usage(now) + amount <= cap:
            return 0.0
        return (max(self._interval(now), self.idx) + 1) * self.period - now.wall + _EPS

    def charge(self, amount: float, now: _Now) -> None:
        idx = self._interval(now)
        if idx > self.idx:
            self.idx, self.used = idx, 0.0
        self.used += amount

    def raise_to(self, used: float, now: _Now) -> None:
        idx = self._interval(now)
        if idx > self.idx:
            self.idx, self.used = idx, 0.0
        self.used = max(self.used, used)

    def drain_s(self, now: _Now) -> float:
        return (self._interval(now) + 1) * self.period - now.wall + _EPS

    def dump(self) -> Any:
        return [self.idx, self.used]


class _SlidingState:
    __slots__ = ("entries", "period", "quantum", "total")

    def __init__(self, period: float, raw: Any = None, *, quantum: float = 0.0) -> None:
        self.period = period
        self.quantum = quantum
        self.entries: deque[tuple[float, float]] = deque(
            (float(t), float(w)) for t, w in (raw or ())
        )
        self.total = sum(w for _, w in self.entries)

    def _prune(self, now: _Now) -> None:
        entries = self.entries
        while entries and entries[0][0] + self.period <= now.mono:
            self.total -= entries.popleft()[1]
        if not entries:
            self.total = 0.0

    def usage(self, now: _Now) -> float:
        self._prune(now)
        return self.total

    def wait(self, amount: float, cap: float, now: _Now) -> float:
        need = self.usage(now) + amount - cap
        if need <= 0:
            return 0.0
        freed = 0.0
        for t, w in self.entries:
            freed += w
            if freed >= need:
                return t + self.period - now.mono + _EPS
        return self.period  # unreachable while amount <= cap

    def charge(self, amount: float, now: _Now) -> None:
        self._prune(now)
        t = now.mono
        if self.quantum > 0:  # shared store: round up to the bucket end (over-counts, never under)
            t = math.ceil(t / self.quantum) * self.quantum
        if self.entries and self.entries[-1][0] >= t:
            last_t, last_w = self.entries.pop()
            self.entries.append((last_t, last_w + amount))
        else:
            self.entries.append((t, amount))
        self.total += amount

    def raise_to(self, used: float, now: _Now) -> None:
        extra = used - self.usage(now)
        if extra > 0:
            self.charge(extra, now)

    def drain_s(self, now: _Now) -> float:
        self._prune(now)
        if not self.entries:
            return 0.0
        return self.entries[-1][0] + self.period - now.mono + _EPS

    def dump(self) -> Any:
        return [list(e) for e in self.entries]


class _DecayState:
    __slots__ = ("at", "level", "rate")

    def __init__(self, rate: float, raw: Any = None) -> None:
        self.rate = rate
        self.level, self.at = (float(raw[0]), float(raw[1])) if raw else (0.0, 0.0)

    def usage(self, now: _Now) -> float:
        return max(0.0, self.level - self.rate * max(0.0, now.mono - self.at))

    def wait(self, amount: float, cap: float, now: _Now) -> float:
        need = self.usage(now) + amount - cap
        return 0.0 if need <= 0 else need / self.rate + _EPS

    def charge(self, amount: float, now: _Now) -> None:
        self.level, self.at = self.usage(now) + amount, now.mono

    def raise_to(self, used: float, now: _Now) -> None:
        self.level, self.at = max(self.usage(now), used), now.mono

    def drain_s(self, now: _Now) -> float:
        return self.usage(now) / self.rate + (_EPS if self.level else 0.0)

    def dump(self) -> Any:
        return [self.level, self.at]


def _new_state(window: Window, raw: Any = None, *, shared: bool = False) -> _State:
    if window.kind is WindowKind.FIXED:
        return _FixedState(window.period_s, raw)
    if window.kind is WindowKind.DECAY:
        return _DecayState(window.decay_per_s, raw)
    quantum = window.period_s / SLIDING_BUCKETS if shared else 0.0
    return _SlidingState(window.period_s, raw, quantum=quantum)


type _Resource = tuple[str, str]


@dataclass(slots=True)
class _Waiter:
    order: tuple[int, int]
    cost: RequestCost
    resources: frozenset[_Resource]
    future: asyncio.Future[float]
    since: float


@dataclass(slots=True)
class _Stats:
    granted: dict[Priority, int] = field(default_factory=lambda: dict.fromkeys(Priority, 0))
    waited: int = 0
    wait_total_s: float = 0.0
    wait_max_s: float = 0.0
    rate_limited: int = 0
    bans: int = 0


_SHARED_BLOCKS = "~blocks"  # a shared budget's entry for the 429 block and the ban (no window)


class RateLimiter:
    """Enforces a `RateModel` locally, before requests reach the venue.

    Args:
        model: the venue's windows and used-count headers.
        clock: monotonic seconds (SLIDING and DECAY windows, waits, Retry-After).
        wall: Unix seconds (calendar-aligned FIXED windows, bans).
        store: a `SharedBudget` to share the counters, the 429 block and the ban with other
            processes (and with the process that replaces this one after a crash); None keeps
            them in memory.
        sleep: what the scheduler awaits to let time pass (`asyncio.sleep`; tests inject a
            virtual clock's sleep).

    Raises:
        ConfigError: a window with a non-positive limit, period (FIXED, SLIDING) or decay rate
            (DECAY), reserves outside [0, 1), or two windows with one name.
    """

    def __init__(
        self,
        model: RateModel,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        store: SharedBudget | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._model = model
        self._windows: dict[str, Window] = {}
        for w in model.windows:
            _validate_window(model.venue, w)
            if w.name in self._windows:
                raise ConfigError(f"duplicate rate window {w.name!r}", venue=model.venue)
            self._windows[w.name] = w
        self._clock = clock
        self._wall = wall
        self._store = store
        self._sleep = sleep
        self._states: dict[_Resource, _State] = {}
        self._blocked_until = -math.inf  # monotonic
        self._banned_until: float | None = None  # wall
        self._waiters: list[_Waiter] = []
        self._seq = 0
        self._scheduler: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._stats = _Stats()

    # -- public API ---------------------------------------------------------------------------

    @property
    def model(self) -> RateModel:
        """The enforced model."""
        return self._model

    @property
    def banned_until(self) -> float | None:
        """Unix time the current ban ends, or None when not banned."""
        if self._banned_until is not None and self._wall() >= self._banned_until:
            self._banned_until = None
        return self._banned_until

    def try_acquire(self, cost: RequestCost) -> float:
        """Grant `cost` now if every window it names has room, charging them all.

        Args:
            cost: the request's priority, window weights and key.

        Returns:
            0.0 when granted (and charged); otherwise the seconds to wait before it can fit
            (nothing is charged). When the windows have room but queued `acquire` callers of
            equal or higher priority share them, a short retry hint is returned instead.

        Raises:
            BannedError: while banned.
            ConfigError: `cost` names a window the model does not have, or weighs more than the
                window can ever hold for its priority.
        """
        resources = self._resources(cost)
        self._check_ban()
        with self._state_view() as states:
            now = self._now()  # read under the lock: shared grants stay in time order
            wait = self._wait_for(cost, now, states)
            if wait <= 0 and self._queued_ahead(cost.priority, resources):
                return _QUEUED_RETRY_S
            if wait > 0:
                return wait
            self._charge(cost, now, states)
        self._stats.granted[cost.priority] += 1
        return 0.0

    async def acquire(self, cost: RequestCost) -> float:
        """Wait until `cost` is granted (served by priority, then arrival), then charge it.

        Args:
            cost: the request's priority, window weights and key.

        Returns:
            The seconds spent waiting (0.0 when granted at once).

        Raises:
            BannedError: when banned, now or while waiting.
            ConfigError: as for `try_acquire`.
        """
        resources = self._resources(cost)
        self._check_ban()
        if not self._queued_ahead(cost.priority, resources):
            with self._state_view() as states:
                now = self._now()
                if self._wait_for(cost, now, states) <= 0:
                    self._charge(cost, now, states)
                    self._stats.granted[cost.priority] += 1
                    return 0.0
        loop = asyncio.get_running_loop()
        self._seq += 1
        waiter = _Waiter(
            (int(cost.priority), self._seq), cost, resources, loop.create_future(), self._clock()
        )
        bisect.insort(self._waiters, waiter, key=lambda w: w.order)
        self._kick()
        return await waiter.future

    def observe(self, headers: Mapping[str, str], *, key: str = "") -> None:
        """Correct local usage from a response's used-count headers (`model.used_headers`).

        For each header present, the window's usage in the current interval becomes
        `max(local, server)`: the server may count requests this process never saw (other
        processes, other clients on the IP), never fewer than it knows of (it may lag, or
        decrement for fills — trusting the larger number stays safe).

        Args:
            headers: response headers (any case).
            key: the key of per-key windows the response concerns.
        """
        if not self._model.used_headers:
            return
        lower = {k.lower(): v for k, v in headers.items()}
        with self._state_view() as states:
            now = self._now()
            for header, name in self._model.used_headers.items():
                raw = lower.get(header)
                window = self._windows.get(name)
                if raw is None or window is None:
                    continue
                try:
                    used = float(raw)
                except ValueError:
                    log.warning("unparsable %s header %r=%r", self._model.venue, header, raw)
                    continue
                if math.isfinite(used) and used >= 0:
                    self._state(states, window, key).raise_to(used, now)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The venue refused a request for rate (HTTP 429): grant nothing for a while.

        Args:
            retry_after: the venue's Retry-After in seconds; None blocks until the fullest
                window (highest usage / limit) has emptied: the end of its FIXED interval, the
                expiry of its newest SLIDING grant, or the DECAY counter reaching zero.
        """
        self._stats.rate_limited += 1
        now = self._now()
        if retry_after is None:
            retry_after = 0.0
            fullest = -1.0
            with self._state_view() as states:
                for (name, _key), state in states.items():
                    window = self._windows.get(name)
                    if window is None:
                        continue
                    share = state.usage(now) / window.limit
                    if share > fullest:
                        fullest, retry_after = share, state.drain_s(now)
        self._blocked_until = max(self._blocked_until, now.mono + max(0.0, retry_after))
        self._share_blocks()
        self._kick()

    def on_ban(self, retry_after: float) -> None:
        """The venue banned this IP or key (HTTP 418): raise `BannedError` until it ends.

        Every waiting `acquire` fails with `BannedError` at once.

        Args:
            retry_after: seconds until the ban ends (the venue's Retry-After).
        """
        self._stats.bans += 1
        until = self._wall() + max(0.0, retry_after)
        self._banned_until = max(self._banned_until or until, until)
        self._share_blocks()
        self._fail_waiters()

    def stats(self) -> dict[str, Any]:
        """Counters for monitoring.

        Returns:
            `granted` (priority name → count), `waited` (acquires that queued),
            `wait_total_s`, `wait_max_s`, `queued`, `rate_limited` (429s seen), `bans`,
            `blocked_s` (seconds until 429 block ends), `banned_until` and `use`
            (window name → key → current usage).
        """
        use: dict[str, dict[str, float]] = {}
        with self._state_view() as states:
            now = self._now()
            for (name, key), state in states.items():
                if name in self._windows:
                    use.setdefault(name, {})[key] = state.usage(now)
        s = self._stats
        return {
            "granted": {p.name: n for p, n in s.granted.items()},
            "waited": s.waited,
            "wait_total_s": s.wait_total_s,
            "wait_max_s": s.wait_max_s,
            "queued": sum(1 for w in self._waiters if not w.future.done()),
            "rate_limited": s.rate_limited,
            "bans": s.bans,
            "blocked_s": max(0.0, self._blocked_until - now.mono),
            "banned_until": self.banned_until,
            "use": use,
        }

    # -- internals ----------------------------------------------------------------------------

    def _now(self) -> _Now:
        return _Now(self._clock(), self._wall())

    def _check_ban(self) -> None:
        if self._store is not None:
            with self._store.transaction() as doc:
                self._adopt_blocks(doc.get(self._model.venue, {}).get(_SHARED_BLOCKS))
        until = self.banned_until
        if until is not None:
            raise BannedError(
                f"{self._model.venue} ban: nothing may be sent for {until - self._wall():.3f} s",
                retry_after=until - self._wall(),
                venue=self._model.venue,
            )

    def _cap(self, window: Window, priority: Priority) -> float:
        kept = sum(f for q, f in window.reserve.items() if q < priority)
        return window.limit * (1.0 - kept)

    def _resources(self, cost: RequestCost) -> frozenset[_Resource]:
        out: set[_Resource] = set()
        for name, weight in cost.costs.items():
            window = self._windows.get(name)
            if window is None:
                raise ConfigError(
                    f"{self._model.venue} has no rate window {name!r} (has "
                    f"{sorted(self._windows)})",
                    venue=self._model.venue,
                )
            if weight < 0:
                raise ConfigError(f"negative weight {weight} for {name!r}", venue=self._model.venue)
            if weight > self._cap(window, cost.priority):
                raise ConfigError(
                    f"weight {weight} can never fit {name!r} (cap "
                    f"{self._cap(window, cost.priority)} for {cost.priority.name})",
                    venue=self._model.venue,
                )
            if weight:
                out.add((name, cost.key if window.per_key else ""))
        return frozenset(out)

    def _share_blocks(self) -> None:
        """Writes the 429 block and the ban to the shared budget (no-op without one).

        Every process sharing the budget then honours them, and so does a process restarted
        after a crash: a Retry-After seen by the process that died is not violated by the one
        that replaces it (which the venue would count towards a ban).
        """
        if self._store is None:
            return
        with self._store.transaction() as doc:
            lim = doc.setdefault(self._model.venue, {}).setdefault(_SHARED_BLOCKS, {})
            if math.isfinite(self._blocked_until):
                lim["blocked_mono"] = max(float(lim.get("blocked_mono", 0.0)), self._blocked_until)
            if self._banned_until is not None:
                lim["banned_wall"] = max(float(lim.get("banned_wall", 0.0)), self._banned_until)

    def _adopt_blocks(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        blocked = raw.get("blocked_mono")
        if isinstance(blocked, int | float) and blocked > self._blocked_until:
            self._blocked_until = float(blocked)
        banned = raw.get("banned_wall")
        if isinstance(banned, int | float) and banned > self._wall():
            self._banned_until = max(self._banned_until or 0.0, float(banned))

    @contextmanager
    def _state_view(self) -> Iterator[dict[_Resource, _State]]:
        if self._store is None:
            yield self._states
            return
        with self._store.transaction() as doc:
            raw_states = doc.setdefault(self._model.venue, {})
            self._adopt_blocks(raw_states.get(_SHARED_BLOCKS))
            states: dict[_Resource, _State] = {}
            for skey, raw in raw_states.items():
                name, _, key = skey.partition("|")
                window = self._windows.get(name)
                if window is not None:
                    states[(name, key)] = _new_state(window, raw, shared=True)
            yield states
            for (name, key), state in states.items():
                raw_states[f"{name}|{key}"] = state.dump()

    def _state(self, states: dict[_Resource, _State], window: Window, key: str) -> _State:
        res = (window.name, key if window.per_key else "")
        state = states.get(res)
        if state is None:
            state = states[res] = _new_state(window, shared=self._store is not None)
        return state

    def _wait_for(self, cost: RequestCost, now: _Now, states: dict[_Resource, _State]) -> float:
        wait = max(0.0, self._blocked_until - now.mono)
        for name, weight in cost.costs.items():
            if weight:
                window = self._windows[name]
                state = self._state(states, window, cost.key)
                wait = max(wait, state.wait(weight, self._cap(window, cost.priority), now))
        return wait

    def _charge(self, cost: RequestCost, now: _Now, states: dict[_Resource, _State]) -> None:
        for name, weight in cost.costs.items():
            if weight:
                self._state(states, self._windows[name], cost.key).charge(weight, now)

    def _queued_ahead(self, priority: Priority, resources: frozenset[_Resource]) -> bool:
        return any(
            w.order[0] <= priority and not w.future.done() and not w.resources.isdisjoint(resources)
            for w in self._waiters
        )

    def _fail_waiters(self) -> None:
        until = self._banned_until
        for w in self._waiters:
            if not w.future.done():
                left = (until - self._wall()) if until is not None else 0.0
                w.future.set_exception(
                    BannedError(
                        f"{self._model.venue} ban while waiting",
                        retry_after=left,
                        venue=self._model.venue,
                    )
                )
        self._waiters = []

    def _kick(self) -> None:
        if not self._waiters:
            return
        if self._scheduler is None or self._scheduler.done():
            self._wakeup = asyncio.Event()
            self._scheduler = asyncio.get_running_loop().create_task(self._run())
        elif self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None  # noqa: S101 - set by _kick before the task starts
        while self._waiters:
            wait = self._pump()
            if not self._waiters:
                break
            wakeup.clear()
            sleeper = asyncio.ensure_future(self._sleep(wait if math.isfinite(wait) else 3600.0))
            woken = asyncio.ensure_future(wakeup.wait())
            try:
                await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                woken.cancel()

    def _pump(self) -> float:
        """Grant every waiter that fits, in order; return the seconds until the next try."""
        if self.banned_until is not None:
            self._fail_waiters()
            return math.inf
        blocked: set[_Resource] = set()
        next_wait = math.inf
        remaining: list[_Waiter] = []
        with self._state_view() as states:
            now = self._now()
            for w in self._waiters:
                if w.future.done():
                    continue  # cancelled by its caller
                if not blocked.isdisjoint(w.resources):
                    remaining.append(w)
                    continue
                wait = self._wait_for(w.cost, now, states)
                if wait > 0:
                    blocked |= w.resources
                    next_wait = min(next_wait, wait)
                    remaining.append(w)
                    continue
                self._charge(w.cost, now, states)
                waited = max(0.0, now.mono - w.since)
                s = self._stats
                s.granted[w.cost.priority] += 1
                s.waited += 1
                s.wait_total_s += waited
                s.wait_max_s = max(s.wait_max_s, waited)
                w.future.set_result(waited)
        self._waiters = remaining
        return next_wait


def _validate_window(venue: str, w: Window) -> None:
    if not w.limit > 0:
        raise ConfigError(f"rate window {w.name!r}: limit must be > 0", venue=venue)
    if w.kind is WindowKind.DECAY:
        if not w.decay_per_s > 0:
            raise ConfigError(f"DECAY window {w.name!r}: decay_per_s must be > 0", venue=venue)
    elif not w.period_s > 0:
        raise ConfigError(f"{w.kind} window {w.name!r}: period_s must be > 0", venue=venue)
    if "|" in w.name:
        raise ConfigError(f"rate window name {w.name!r} may not contain '|'", venue=venue)
    total = sum(w.reserve.values())
    if any(f < 0 for f in w.reserve.values()) or total >= 1:
        raise ConfigError(
            f"rate window {w.name!r}: reserves must be >= 0 and sum below 1", venue=venue
        )
