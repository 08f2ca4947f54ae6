"""A venue's rate-limit model as data: the windows every request is charged against.

Venue adapters (`venuegate.venues.<venue>`) declare their `RateModel`; the limiter
(`venuegate.net.ratelimit.RateLimiter`) enforces it; the simulator enforces the same numbers from
its own copy, so a wrong model shows up as a 429 in the tests.

Window kinds:

* FIXED: `limit` units per `period_s`, counted in calendar-aligned intervals (Binance: "per minute"
  resets at the start of the minute; server headers report the used count).
* SLIDING: `limit` units in any `period_s` span (OKX "20 requests per 2 seconds").
* DECAY: a counter that each request raises by its cost and that falls by `decay_per_s` per
  second; a request that would raise it above `limit` waits (Kraken's call-rate and trading
  counters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from venuegate.net.priority import Priority

__all__ = ["RateModel", "Window", "WindowKind"]


class WindowKind(StrEnum):
    """How a window counts."""

    FIXED = "fixed"
    SLIDING = "sliding"
    DECAY = "decay"


@dataclass(frozen=True, slots=True)
class Window:
    """One rate window.

    Attributes:
        name: the name requests charge (`RequestCost.costs` keys).
        limit: the most units the window holds.
        period_s: the window length (FIXED / SLIDING).
        kind: how it counts.
        decay_per_s: units drained per second (DECAY).
        per_key: True when each `RequestCost.key` (instrument, pair) has its own window.
        reserve: priority → fraction of `limit` that requests of *lower* priority (higher value)
            may not use, keeping headroom for cancels under pressure; e.g. `{Priority.CANCEL:
            0.1}` keeps the last 10% for cancels.
    """

    name: str
    limit: float
    period_s: float = 0.0
    kind: WindowKind = WindowKind.SLIDING
    decay_per_s: float = 0.0
    per_key: bool = False
    reserve: Mapping[Priority, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RateModel:
    """A venue's windows and the response headers that report their use.

    Attributes:
        venue: venue name.
        windows: every window requests may be charged against.
        used_headers: lower-case response header name → window name whose used count it reports
            (Binance `x-mbx-used-weight-1m` → `REQUEST_WEIGHT`).
        ban_statuses: HTTP statuses that mean a ban (Binance 418), which opens the venue's circuit
            until `Retry-After` ends.
    """

    venue: str
    windows: tuple[Window, ...]
    used_headers: Mapping[str, str] = field(default_factory=dict)
    ban_statuses: frozenset[int] = frozenset({418})
