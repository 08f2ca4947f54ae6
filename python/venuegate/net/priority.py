"""Request priorities and costs: the vocabulary shared by venue adapters and the rate limiter.

Under rate pressure a cancel is served before an amend, an amend before a new order, and so on:
reducing risk never waits behind adding it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["Priority", "PriorityLock", "RequestCost"]


class Priority(IntEnum):
    """Request priority; lower values are served first."""

    CANCEL = 0
    AMEND = 1
    NEW = 2
    QUERY = 3
    MARKET_DATA = 4


@dataclass(frozen=True, slots=True)
class RequestCost:
    """What one request costs against a venue's rate windows.

    Attributes:
        priority: its priority class.
        costs: window name → weight (e.g. `{"REQUEST_WEIGHT": 1, "ORDERS_10S": 1}`); windows
            not named cost nothing.
        key: a sub-key for per-key windows (an OKX instrument, a Kraken pair), or "".
        endpoint: the endpoint group, for per-endpoint windows and circuit breakers.
    """

    priority: Priority
    costs: Mapping[str, int] = field(default_factory=dict)
    key: str = ""
    endpoint: str = ""


class PriorityLock:
    """An asyncio lock handed to the best waiting priority (then first come, first served).

    A nonce venue's signed requests go out one at a time (`VenueAdapter.nonce_ordered`): with a
    plain FIFO lock a cancel would wait behind every query and fills page queued before it.
    Cancellation-safe: a waiter cancelled before it gets the lock leaves the queue; one
    cancelled just as the lock was handed to it passes it on.
    """

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def locked(self) -> bool:
        """True while held."""
        return self._held

    @asynccontextmanager
    async def hold(self, priority: Priority) -> AsyncIterator[None]:
        """Holds the lock for the block, served by `priority` (lower first)."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: Priority) -> None:
        if not self._held and not self._waiters:
            self._held = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._seq), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._release()  # handed over as we were cancelled: pass it on
            raise

    def _release(self) -> None:
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)  # stays held, now by that waiter
                return
        self._held = False
