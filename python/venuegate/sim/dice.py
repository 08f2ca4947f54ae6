"""Seeded fault dice shared by the simulator's REST/WebSocket venues and its FIX gateways."""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from typing import Protocol

__all__ = ["Dice", "Profile"]


class Profile[F: Hashable](Protocol):
    """What the dice read of a fault profile: a probability per fault and opportunity."""

    @property
    def p(self) -> Mapping[F, float]:
        """Fault -> probability of hitting at each opportunity."""
        ...


class Dice[F: Hashable]:
    """Rolls faults from a profile; `force` overrides for tests; `counts` what hit.

    Args:
        profile: the probabilities (`p`), read at every roll (it may be swapped).
        seed: seeds the dice, so a run's faults repeat with its seed.
    """

    def __init__(self, profile: Profile[F], seed: int = 1) -> None:
        self.profile = profile
        self._rng = random.Random(seed)
        self._forced: dict[F, int] = {}
        self.counts: dict[F, int] = {}

    def force(self, fault: F, n: int = 1) -> None:
        """The next `n` rolls of `fault` hit."""
        self._forced[fault] = self._forced.get(fault, 0) + n

    def roll_sign(self) -> bool:
        """A fair coin from the same seeded source."""
        return self._rng.random() < 0.5

    def roll(self, fault: F) -> bool:
        """True when `fault` happens now."""
        if self._forced.get(fault, 0) > 0:
            self._forced[fault] -= 1
            hit = True
        else:
            p = self.profile.p.get(fault, 0.0)
            hit = p > 0 and self._rng.random() < p
        if hit:
            self.counts[fault] = self.counts.get(fault, 0) + 1
        return hit
