"""Fault injection: what can go wrong between a venue and its client, on demand.

`SimServer.inject(fault, venue=..., count=..., **params)` applies a fault to the venue's open
connections (or to one, with `conn=`), or for `HTTP_429` to its REST snapshot endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DEFAULT_MAX_FRAME", "Fault", "FaultState"]

DEFAULT_MAX_FRAME = 16 * 1024 * 1024
"""Default `OVERSIZED` payload limit (16 MiB); the injected frame is one byte larger."""


class Fault(StrEnum):
    """Faults the simulator can inject.

    Data-message faults act on the next `count` book data messages of each targeted connection
    (acks, pings and heartbeats are left alone):

    * `GAP` - drop the message (a sequence gap for venues with sequence numbers).
    * `DUPLICATE` - send the message twice.
    * `REORDER` - hold the message and send it after the following one.
    * `BAD_CHECKSUM` - the message carries a wrong checksum (OKX, Kraken, Bitfinex only).
    * `FRAGMENT` - send the message as `pieces` (default 3) WebSocket continuation frames.
    * `MALFORMED` - send a truncated, invalid JSON frame just before the message.

    Connection faults act once, in order with what is already queued:

    * `OVERSIZED` - send one frame of `size` bytes (default 16 MiB + 1).
    * `STALL` - send nothing for `seconds` (default 1.0), then carry on with the backlog.
    * `DISCONNECT` - abort the TCP connection without a close frame (immediately).
    * `ROTATE` - the venue's scheduled rotation (Binance's 24 h limit and the like): a close
      frame with the venue's code and reason.

    REST fault:

    * `HTTP_429` - the next `count` REST depth snapshots answer 429 with `Retry-After:
      retry_after` (default 1) and the venue's rate-limit body.
    """

    GAP = "gap"
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    BAD_CHECKSUM = "bad_checksum"
    FRAGMENT = "fragment"
    MALFORMED = "malformed"
    OVERSIZED = "oversized"
    STALL = "stall"
    DISCONNECT = "disconnect"
    ROTATE = "rotate"
    HTTP_429 = "http_429"


@dataclass(slots=True)
class FaultState:
    """Pending data-message faults of one connection (counts of messages still to affect)."""

    gap: int = 0
    duplicate: int = 0
    reorder: int = 0
    fragment: int = 0
    fragment_pieces: int = 3
    malformed: int = 0
