"""Sans-I/O venue sessions: one per WebSocket connection.

A session turns what the client sends (`receive`), what the market does (`update`) and the
passing of time (`timer`) into frames to send (`Out`). The server only moves bytes; every venue
rule (paths, subscribe syntax, acks, ids, checksums, heartbeats, compression) lives in the
venue's session class, so the protocols can be tested without sockets.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from venuegate.sim.md.market import MarketSim, Update

__all__ = ["Out", "Session", "SessionOptions", "encode", "iso_ms", "iso_ns", "raw"]

_encoder = msgspec.json.Encoder()


def encode(obj: Any) -> bytes:
    """Compact JSON, `msgspec.Raw` values inserted verbatim (numbers as the venue writes them).

    Args:
        obj: dicts, lists, str, int, bool, None and `msgspec.Raw`.

    Returns:
        UTF-8 JSON.
    """
    return _encoder.encode(obj)


def raw(text: str) -> msgspec.Raw:
    """A JSON number token written exactly as `text`.

    Args:
        text: Valid JSON number text.

    Returns:
        A value `encode` writes verbatim.
    """
    return msgspec.Raw(text.encode())


def iso_ms(ms: int) -> str:
    """`2023-10-06T17:35:55.440000Z` (microsecond digits) from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ns(ms: int) -> str:
    """`2023-02-09T20:32:50.714000000Z` (nanosecond digits) from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


@dataclass(frozen=True, slots=True)
class Out:
    """A frame to send.

    Attributes:
        payload: Text (`str`, or `bytes` already UTF-8 JSON with `text=True`) or binary.
        data: A book data message (subject to gap / duplicate / reorder / checksum faults);
            acks, pings and heartbeats are not.
        text: Send `bytes` payloads as a text frame.
        close: Close the connection after this frame with `(code, reason)`.
    """

    payload: str | bytes
    data: bool = False
    text: bool = True
    close: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Behaviour switches shared by the sessions.

    Attributes:
        okx_checksum_zero: Send OKX `checksum: 0` (its newer docs mark the field deprecated and
            fixed to 0) instead of the CRC32.
        heartbeat_ms: Kraken / Coinbase heartbeat and Bitfinex `hb` interval.
        htx_ping_ms: HTX server `{"ping": ts}` interval; two unanswered pings close the socket.
        bitfinex_checksum_every: With checksum flag 131072, send a `cs` message after every
            `n`th book update batch.
    """

    okx_checksum_zero: bool = False
    heartbeat_ms: int = 1000
    htx_ping_ms: int = 5000
    bitfinex_checksum_every: int = 1


class Session(ABC):
    """One connection's venue protocol state.

    Args:
        sim: The market.
        path: Request path with query string, e.g. `/stream?streams=btcusdt@depth`.
        options: Behaviour switches.
        conn_id: Connection number (unique within the server).
    """

    venue: str = ""
    rotate_close: tuple[int, str] = (1001, "going away")
    """Close frame sent for `Fault.ROTATE` (the venue's periodic connection rotation)."""
    has_checksum: bool = False

    def __init__(self, sim: MarketSim, path: str, options: SessionOptions, conn_id: int) -> None:
        self.sim = sim
        self.path = path
        self.options = options
        self.conn_id = conn_id
        self.bad_checksums = 0
        """The next N messages carrying a checksum carry a wrong one (`Fault.BAD_CHECKSUM`)."""

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether this venue serves WebSocket connections on `path` (path and query)."""
        return False

    def open(self, now_ms: int) -> list[Out]:
        """Frames sent as soon as the connection opens.

        Args:
            now_ms: Wall clock, ms since the epoch.

        Returns:
            Frames.
        """
        return []

    @abstractmethod
    def receive(self, message: str | bytes, now_ms: int) -> list[Out]:
        """Handle one client message.

        Args:
            message: The client's frame.
            now_ms: Wall clock, ms since the epoch.

        Returns:
            Frames to send.
        """

    @abstractmethod
    def update(self, upd: Update) -> list[Out]:
        """Render one market update for this connection's subscriptions.

        Args:
            upd: The update.

        Returns:
            Frames to send (none if not subscribed).
        """

    def timer(self, now_ms: int) -> list[Out]:
        """Periodic hook for heartbeats and pings.

        Args:
            now_ms: Wall clock, ms since the epoch.

        Returns:
            Frames to send.
        """
        return []

    def checksum(self, value: int) -> int:
        """`value`, or a wrong value if a `BAD_CHECKSUM` fault is pending (consumes it).

        Args:
            value: The correct checksum.

        Returns:
            The checksum to send.
        """
        if self.bad_checksums > 0:
            self.bad_checksums -= 1
            return value ^ 0x5A5A5A5 if value != 0 else 0x5A5A5A5
        return value

    @staticmethod
    def parse(message: str | bytes) -> Any:
        """Decode a client JSON frame.

        Args:
            message: The frame.

        Returns:
            The decoded value, or None if it is not JSON.
        """
        try:
            return json.loads(message, parse_float=Decimal)
        except ValueError:
            return None
