"""FIX over TCP and TLS: an asyncio Protocol feeding the native framer once per read.

`FixConnection` is the byte pipe under a `FixSession`: every `data_received` chunk goes through
`FixFramer.feed` (one native call splits the chunk into messages, keeping a partial tail), and
the resulting messages (or `FixError`s for garbled ones) are handed to the owner's callbacks
synchronously. Writes go straight to the transport; `drain` waits while the transport's buffer
is above its high-water mark. Works the same under uvloop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
from collections.abc import Callable
from typing import Protocol, cast

from venuegate.fix.codec import FixError, FixFramer, FixMessage

__all__ = ["ConnectionHandler", "FixConnection", "client_ssl_context", "open_connection"]

log = logging.getLogger("venuegate.fix.transport")


class ConnectionHandler(Protocol):
    """What a `FixConnection` reports to."""

    def on_items(self, conn: FixConnection, items: list[FixMessage | FixError]) -> None:
        """Messages (and garbled-message errors) from one read, in order."""
        ...

    def on_connection_lost(self, conn: FixConnection, exc: Exception | None) -> None:
        """The connection closed (`exc` None for a clean EOF or a local close)."""
        ...


class FixConnection(asyncio.Protocol):
    """One FIX TCP/TLS connection.

    Args:
        handler: receives the messages; may be replaced (`handler` attribute) after the first
            message (acceptors pick the session from the first Logon).
        max_message_size: the framer's limit for one message.
    """

    def __init__(
        self, handler: ConnectionHandler | None = None, max_message_size: int = 1 << 20
    ) -> None:
        self.handler = handler
        self.framer = FixFramer(max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer: str = "?"
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.on_made: Callable[[FixConnection], None] | None = None

    def __repr__(self) -> str:
        return f"FixConnection(peer={self.peer!r}, open={self.is_open})"

    @property
    def is_open(self) -> bool:
        """True until the connection is closed or lost."""
        return self.transport is not None and not self.transport.is_closing()

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keeps the transport (uvloop's too) and notes the peer address."""
        # uvloop's transports are not asyncio.Transport subclasses but have the same API.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        """Feeds the framer once per read and hands the messages over."""
        self.bytes_in += len(data)
        items = self.framer.feed(data)
        if items and self.handler is not None:
            self.handler.on_items(self, items)

    def eof_received(self) -> bool | None:
        """Closes on EOF."""
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        """Wakes writers and reports the loss to the handler."""
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()
        if not self.closed.done():
            self.closed.set_result(None)
        if self.handler is not None:
            self.handler.on_connection_lost(self, exc)

    def pause_writing(self) -> None:
        """The transport buffer is above its high-water mark."""
        self._paused = True

    def resume_writing(self) -> None:
        """The transport buffer drained: wakes `drain` waiters."""
        self._paused = False
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()

    # -- writing ------------------------------------------------------------------------------
    def write(self, data: bytes) -> bool:
        """Writes `data`; False when the connection is already closing (nothing written)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        self.bytes_out += len(data)
        return True

    async def drain(self) -> None:
        """Waits while the transport's write buffer is above its high-water mark."""
        if self._paused and self.is_open:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(fut)
            await fut

    def close(self) -> None:
        """Closes after the buffered bytes are written."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Drops the connection at once (buffered bytes discarded)."""
        if self.transport is not None:
            self.transport.abort()


def client_ssl_context(verify: bool = True) -> _ssl.SSLContext:
    """A TLS client context: system CAs and hostname checks, unless `verify` is False."""
    ctx = _ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
    return ctx


async def open_connection(
    host: str,
    port: int,
    handler: ConnectionHandler,
    *,
    ssl: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout_s: float = 10.0,
) -> FixConnection:
    """Connects to `host:port` (TLS when `ssl` is given) and returns the connection.

    Raises:
        OSError: the connection was refused or failed.
        TimeoutError: not connected within `timeout_s`.
    """
    loop = asyncio.get_running_loop()
    conn = FixConnection(handler)
    async with asyncio.timeout(timeout_s):
        if ssl is None:
            await loop.create_connection(lambda: conn, host, port)
        else:
            await loop.create_connection(
                lambda: conn, host, port, ssl=ssl, server_hostname=server_hostname or host
            )
    return conn
