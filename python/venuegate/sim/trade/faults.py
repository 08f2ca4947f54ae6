"""Trading-side faults: what a venue does to an order flow on a bad day, seeded and on demand.

A `FaultProfile` gives each fault a probability per opportunity (a REST request, a private
stream event); `FaultDice` rolls them with its own seeded RNG, and `force(fault, n)` makes the
next `n` opportunities fail for tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from venuegate.sim.dice import Dice

__all__ = ["PROFILES", "FaultDice", "FaultProfile", "TradeFault"]


class TradeFault(StrEnum):
    """Faults of the trading side."""

    REST_5XX_BEFORE = "rest_5xx_before"
    """A 5xx before processing (nothing happened; the venue's "service unavailable")."""
    REST_5XX_AFTER = "rest_5xx_after"
    """The request took effect, then the answer is a 5xx / the venue's unknown-status code."""
    DROP_RESPONSE = "drop_response"
    """The request took effect, then the connection closes without an answer."""
    DELAY_ACK = "delay_ack"
    """The answer comes `delay_s` late (past a client timeout, often)."""
    RATE_429 = "rate_429"
    """A spurious 429 with Retry-After (nothing happened)."""
    DUPLICATE_REPORT = "duplicate_report"
    """A private-stream event is sent twice."""
    REORDER_REPORTS = "reorder_reports"
    """A private-stream event is held and sent after the next one."""
    DROP_REPORT = "drop_report"
    """A private-stream event is lost (reconciliation must find it)."""
    DISCONNECT_PRIVATE = "disconnect_private"
    """The private stream is closed abruptly."""
    CLOCK_SKEW = "clock_skew"
    """The venue's clock jumps by `skew_ms` (signed requests are then refused until the client
    resyncs its offset)."""
    MAINTENANCE = "maintenance"
    """The venue enters maintenance for `maintenance_s`: new orders refused, status says so."""


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """Probabilities per opportunity, and the parameters of the timed faults."""

    name: str
    p: Mapping[TradeFault, float] = field(default_factory=dict)
    delay_s: float = 0.3
    skew_ms: int = 8_000
    maintenance_s: float = 0.5


PROFILES: Mapping[str, FaultProfile] = {
    "none": FaultProfile("none"),
    "light": FaultProfile(
        "light",
        {
            TradeFault.REST_5XX_BEFORE: 0.01,
            TradeFault.REST_5XX_AFTER: 0.01,
            TradeFault.DROP_RESPONSE: 0.01,
            TradeFault.DELAY_ACK: 0.01,
            TradeFault.RATE_429: 0.005,
            TradeFault.DUPLICATE_REPORT: 0.02,
            TradeFault.REORDER_REPORTS: 0.02,
            TradeFault.DROP_REPORT: 0.005,
            TradeFault.DISCONNECT_PRIVATE: 0.002,
        },
    ),
    "heavy": FaultProfile(
        "heavy",
        {
            TradeFault.REST_5XX_BEFORE: 0.03,
            TradeFault.REST_5XX_AFTER: 0.03,
            TradeFault.DROP_RESPONSE: 0.03,
            TradeFault.DELAY_ACK: 0.03,
            TradeFault.RATE_429: 0.01,
            TradeFault.DUPLICATE_REPORT: 0.05,
            TradeFault.REORDER_REPORTS: 0.05,
            TradeFault.DROP_REPORT: 0.02,
            TradeFault.DISCONNECT_PRIVATE: 0.005,
            TradeFault.CLOCK_SKEW: 0.002,
            TradeFault.MAINTENANCE: 0.001,
        },
    ),
}
"""Built-in profiles (`venuegate chaos --faults NAME`)."""


class FaultDice(Dice[TradeFault]):
    """Rolls `TradeFault`s from a `FaultProfile` (`venuegate.sim.dice.Dice`)."""

    profile: FaultProfile

    def __init__(self, profile: FaultProfile, seed: int = 1) -> None:
        super().__init__(profile, seed)
