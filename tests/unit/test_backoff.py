"""Backoff: full-jitter and decorrelated-jitter delays stay in their bounds and reset."""

from __future__ import annotations

import random

import pytest

from venuegate.errors import ConfigError
from venuegate.net.backoff import Backoff, DecorrelatedBackoff


def rng(seed: int = 1) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test data


def test_full_jitter_bounds_grow_then_cap() -> None:
    b = Backoff(0.1, 5.0, rng())
    ceilings = []
    for attempt in range(12):
        ceiling = b.ceiling()
        ceilings.append(ceiling)
        assert ceiling == min(5.0, 0.1 * 2**attempt)
        delay = b.next()
        assert 0.0 <= delay <= ceiling
    assert ceilings[-1] == 5.0
    assert b.attempts == 12


def test_full_jitter_is_spread_over_the_whole_range() -> None:
    b = Backoff(1.0, 8.0, rng(3))
    draws = []
    for _ in range(2000):
        b.reset()
        for _ in range(3):
            b.next()
        draws.append(b.next())  # fourth attempt: uniform in [0, 8]
    assert min(draws) < 0.5
    assert max(draws) > 7.5
    assert sum(draws) / len(draws) == pytest.approx(4.0, abs=0.3)


def test_reset_starts_again() -> None:
    b = Backoff(0.5, 60.0, rng())
    for _ in range(6):
        b.next()
    b.reset()
    assert b.attempts == 0
    assert b.ceiling() == 0.5
    assert b.next() <= 0.5


def test_long_outage_does_not_overflow() -> None:
    b = Backoff(0.1, 30.0, rng())
    for _ in range(5000):
        assert 0.0 <= b.next() <= 30.0


def test_decorrelated_bounds() -> None:
    b = Backoff.decorrelated(0.2, 10.0, rng(5))
    assert isinstance(b, DecorrelatedBackoff)
    previous = 0.2
    saw_cap = False
    for _ in range(200):
        delay = b.next()
        assert 0.2 <= delay <= min(10.0, previous * 3)
        saw_cap |= delay == 10.0
        previous = delay
    assert saw_cap
    b.reset()
    assert b.attempts == 0
    assert 0.2 <= b.next() <= 0.6


def test_same_seed_same_delays() -> None:
    a = [Backoff(0.1, 5.0, rng(9)).next() for _ in range(3)]
    b = [Backoff(0.1, 5.0, rng(9)).next() for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_bad_bounds(base: float, cap: float) -> None:
    with pytest.raises(ConfigError):
        Backoff(base, cap)
    with pytest.raises(ConfigError):
        DecorrelatedBackoff(base, cap)
