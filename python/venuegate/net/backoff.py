"""Retry delays: exponential backoff with jitter.

Both variants follow the AWS Architecture Blog's "Exponential Backoff And Jitter" (Marc Brooker,
2015): *full jitter* draws each delay uniformly from `[0, min(cap, base * 2**attempt)]`;
*decorrelated jitter* draws it from `[base, previous * 3]`, capped. Jitter keeps many clients
that failed together (a venue blip) from retrying together.
"""

from __future__ import annotations

import random

from venuegate.errors import ConfigError

__all__ = ["Backoff", "DecorrelatedBackoff"]

_MAX_EXPONENT = 62  # 2**62 * base exceeds any sane cap; avoids float overflow on long outages


def _check(base_s: float, cap_s: float) -> None:
    if not base_s > 0 or not cap_s >= base_s:
        raise ConfigError(f"backoff needs 0 < base_s <= cap_s (got {base_s}, {cap_s})")


class Backoff:
    """Full-jitter exponential backoff.

    Args:
        base_s: the first attempt's upper bound, in seconds.
        cap_s: the largest delay ever returned.
        rng: the random source (inject a seeded `random.Random` in tests).

    Raises:
        ConfigError: unless `0 < base_s <= cap_s`.
    """

    def __init__(
        self, base_s: float = 0.1, cap_s: float = 30.0, rng: random.Random | None = None
    ) -> None:
        _check(base_s, cap_s)
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last `reset`."""
        return self._attempt

    def ceiling(self) -> float:
        """The upper bound of the next delay: `min(cap_s, base_s * 2**attempts)`."""
        return min(self.cap_s, self.base_s * 2.0 ** min(self._attempt, _MAX_EXPONENT))

    def next(self) -> float:
        """The next delay in seconds, uniform in `[0, ceiling()]`; advances the attempt count."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the first attempt (after a success)."""
        self._attempt = 0

    @staticmethod
    def decorrelated(
        base_s: float = 0.1, cap_s: float = 30.0, rng: random.Random | None = None
    ) -> DecorrelatedBackoff:
        """A decorrelated-jitter backoff with the same bounds (see `DecorrelatedBackoff`)."""
        return DecorrelatedBackoff(base_s, cap_s, rng)


class DecorrelatedBackoff:
    """Decorrelated-jitter backoff: `delay = min(cap_s, uniform(base_s, previous * 3))`.

    Args:
        base_s: the smallest delay, and the first draw's lower bound.
        cap_s: the largest delay ever returned.
        rng: the random source.

    Raises:
        ConfigError: unless `0 < base_s <= cap_s`.
    """

    def __init__(
        self, base_s: float = 0.1, cap_s: float = 30.0, rng: random.Random | None = None
    ) -> None:
        _check(base_s, cap_s)
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._previous = base_s
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last `reset`."""
        return self._attempt

    def next(self) -> float:
        """The next delay in seconds, in `[base_s, cap_s]`."""
        delay = min(self.cap_s, self._rng.uniform(self.base_s, self._previous * 3.0))
        self._previous = delay
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from `base_s`."""
        self._previous = self.base_s
        self._attempt = 0
