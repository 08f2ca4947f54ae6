"""The simulator's own enforcement of a venue's rate limits.

It keeps its own copy of the documented numbers, independent of the engine's limiter, and
includes Binance-style escalation to a ban.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["SimLimits", "SimWindow", "Verdict"]


@dataclass(frozen=True, slots=True)
class SimWindow:
    """`limit` units per `period_s`.

    FIXED windows align to the epoch, SLIDING windows do not, DECAY windows drain
    `limit / period_s` per second (Kraken's counters).
    """

    name: str
    limit: float
    period_s: float
    kind: str = "fixed"
    per_key: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of charging a request."""

    ok: bool
    retry_after: float = 0.0
    banned: bool = False
    window: str = ""
    used: Mapping[str, float] | None = None


class SimLimits:
    """Charges requests against windows.

    With `ban_after` set, a client that keeps sending while limited that many times is banned for
    `ban_s` (HTTP 418 at Binance). Requests arriving within `in_flight_s` of the refusal that
    started the limited period do not count: they were already on their way when it was sent,
    and no client can recall them (Binance bans for "failing to back off after receiving 429s";
    it publishes no threshold, so the simulator's is a choice, documented here).
    """

    def __init__(
        self,
        windows: Sequence[SimWindow],
        *,
        ban_after: int | None = None,
        ban_s: float = 120.0,
        in_flight_s: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.windows = {w.name: w for w in windows}
        self._clock = clock
        self._fixed: dict[tuple[str, str], tuple[int, float]] = {}
        self._sliding: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self._decay: dict[tuple[str, str], tuple[float, float]] = {}
        self.ban_after = ban_after
        self.ban_s = ban_s
        self.in_flight_s = in_flight_s
        self._limited_until = 0.0
        self._limited_since = 0.0
        self._violations = 0
        self.banned_until = 0.0
        self.bans = 0
        self.rejections = 0

    def used(self, name: str, key: str = "") -> float:
        """Units used now in window `name` (for usage headers)."""
        w = self.windows[name]
        now = self._clock()
        k = (name, key if w.per_key else "")
        if w.kind == "fixed":
            idx, used = self._fixed.get(k, (-1, 0.0))
            return used if idx == int(now // w.period_s) else 0.0
        if w.kind == "sliding":
            dq = self._sliding.get(k, deque())
            return sum(c for t, c in dq if t > now - w.period_s)
        level, at = self._decay.get(k, (0.0, now))
        return max(0.0, level - (now - at) * w.limit / w.period_s)

    def charge(self, costs: Mapping[str, float], key: str = "") -> Verdict:
        """Charges `costs` (all windows or none)."""
        now = self._clock()
        if now < self.banned_until:
            self.rejections += 1
            return Verdict(False, self.banned_until - now, banned=True)
        if now < self._limited_until:
            if now - self._limited_since > self.in_flight_s:
                self._violations += 1
            self.rejections += 1
            if self.ban_after is not None and self._violations >= self.ban_after:
                self.banned_until = now + self.ban_s
                self.bans += 1
                return Verdict(False, self.ban_s, banned=True)
            return Verdict(False, self._limited_until - now)
        for name, cost in costs.items():
            w = self.windows[name]
            used = self.used(name, key)
            if used + cost > w.limit:
                retry = self._retry_after(w, key, now)
                self._limited_until = now + retry
                self._limited_since = now
                self._violations = 1
                self.rejections += 1
                return Verdict(False, retry, window=name)
        self._violations = 0
        for name, cost in costs.items():
            w = self.windows[name]
            k = (name, key if w.per_key else "")
            if w.kind == "fixed":
                idx = int(now // w.period_s)
                old_idx, used = self._fixed.get(k, (idx, 0.0))
                self._fixed[k] = (idx, (used if old_idx == idx else 0.0) + cost)
            elif w.kind == "sliding":
                dq = self._sliding.setdefault(k, deque())
                while dq and dq[0][0] <= now - w.period_s:
                    dq.popleft()
                dq.append((now, cost))
            else:
                self._decay[k] = (self.used(name, key) + cost, now)
        return Verdict(True, used={n: self.used(n, key) for n in costs})

    def _retry_after(self, w: SimWindow, key: str, now: float) -> float:
        if w.kind == "fixed":
            return math.floor(now / w.period_s) * w.period_s + w.period_s - now
        if w.kind == "sliding":
            dq = self._sliding.get((w.name, key if w.per_key else ""), deque())
            return max(0.001, dq[0][0] + w.period_s - now) if dq else 0.001
        return w.period_s / w.limit

    def limit_for(self, seconds: float) -> None:
        """Refuses everything for `seconds` (a fault-injected 429)."""
        now = self._clock()
        if now >= self._limited_until:
            self._limited_since = now
        self._limited_until = max(self._limited_until, now + seconds)
