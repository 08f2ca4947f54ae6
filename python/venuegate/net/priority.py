"""Request priorities and costs: the vocabulary shared by venue adapters and the rate limiter.

Under rate pressure a cancel is served before an amend, an amend before a new order, and so on:
reducing risk never waits behind adding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["Priority", "RequestCost"]


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
