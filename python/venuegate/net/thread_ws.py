"""WebSocket client transport on a native reader thread: no event loop in the per-message path.

A native thread owns the socket: blocking reads, TLS (rustls, verifying against Mozilla's roots
plus `WsOptions.ca_pem`), the frame codec, ping answers, and — when a `VenueBookFeed` is given —
the feed's apply, under the feed's own mutex, without the GIL. The event loop hears only about
events (open, a message for Python, a feed that needs a resync or became synced, close, error),
through a file descriptor it watches with `loop.add_reader`.

    client = await ThreadClient.connect(url, on_message, feed=feed, on_status=on_status)
    client.send_text('{"method":"SUBSCRIBE",...}')   # written from the calling thread
    client.take_applied()                             # messages the thread applied since last call
    await client.close()

With `fused=False` a feed's connection starts like one without a feed (every message goes to
`on_message`) until `enable_fused()`: a connection being rotated in holds its messages in Python
until it has bridged the sequence, then hands the feed to its thread. `disable_fused()` does the
reverse (a retired connection stops touching the feed).

Without a feed every data message is queued for `on_message` on the loop (same semantics as
`WsClient`, one wake-up per batch of events). `per_message=` adds a callback the reader thread
calls for every data message with the GIL held (off by default: it costs the GIL per message,
and it runs off the event loop's thread, so it must not touch the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from venuegate._native import Reader
from venuegate.errors import ProtocolError
from venuegate.feeds import FeedStatus, VenueBookFeed
from venuegate.net.ws import OnClose, OnMessage, WsOptions
from venuegate.ws import CloseCode

log = logging.getLogger("venuegate.net.ws")

type OnStatus = Callable[[FeedStatus, int], None]
"""`on_status(status, recv_ns)`: the feed needs a resync (GAP, CHECKSUM_MISMATCH, CROSSED,
MALFORMED) or became synced (APPLIED)."""
type PerMessage = Callable[[bytes, int, int, int | None], object]
"""`per_message(payload, opcode, recv_ns, feed_status_or_None)`, on the reader thread."""

_STATUS = tuple(FeedStatus)


class ThreadHandshakeError(ProtocolError):
    """The connection could not be opened (TCP, TLS verification or the WebSocket handshake)."""


def _ca_pem(url: str, options: WsOptions) -> bytes | None:
    if not url.startswith("wss://"):
        return None
    if options.ssl is False:
        raise ValueError("wss:// needs TLS but ssl=False was given")
    if options.ssl not in (None, True):
        raise ValueError(
            "the thread transport verifies with rustls, not an ssl.SSLContext: "
            "pass extra trusted certificates as WsOptions(ca_pem=...)"
        )
    return options.ca_pem


class ThreadClient:
    """One WebSocket connection read by a native thread (see module docs)."""

    __slots__ = (
        "_applied_seen",
        "_closed",
        "_error",
        "_fd",
        "_feed",
        "_loop",
        "_on_close",
        "_on_message",
        "_on_status",
        "_opened",
        "_options",
        "_reader",
        "url",
    )

    def __init__(
        self,
        url: str,
        reader: Reader,
        options: WsOptions,
        on_message: OnMessage,
        on_close: OnClose | None,
        on_status: OnStatus | None,
        feed: VenueBookFeed | None,
    ) -> None:
        self.url = url
        self._reader = reader
        self._options = options
        self._on_message = on_message
        self._on_close = on_close
        self._on_status = on_status
        self._feed = feed
        self._loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[tuple[int, str]] = self._loop.create_future()
        self._error: str | None = None
        self._applied_seen = 0
        self._fd = reader.fileno()

    @classmethod
    async def connect(
        cls,
        url: str,
        on_message: OnMessage,
        *,
        on_close: OnClose | None = None,
        options: WsOptions | None = None,
        feed: VenueBookFeed | None = None,
        on_status: OnStatus | None = None,
        per_message: PerMessage | None = None,
        coalesce: float = 0.0,
        fused: bool = True,
    ) -> ThreadClient:
        """Starts the reader thread and waits for the opening handshake.

        Args:
            url: ws:// or wss:// URL.
            on_message: data messages the thread does not apply (all of them without `feed`).
            on_close: called once when the connection ends.
            options: connection options (`ca_pem` adds trusted certificates).
            feed: apply every data message to this feed on the thread (one instrument per
                connection, a venue whose messages need no Python answer: `VenueSpec.fusable`).
            on_status: the feed's resync-needed / synced events.
            per_message: an explicit per-message callback on the reader thread (GIL per
                message).
            coalesce: seconds; read at most once per interval, so messages arriving meanwhile
                share one wake-up (less CPU per message, up to that much added latency). 0, the
                default, reads each message as it arrives.
            fused: with `feed`: apply on the thread from the start. False hands every message to
                `on_message` (and skips `per_message`) until `enable_fused()`.

        Raises:
            ThreadHandshakeError: TCP, TLS or the WebSocket handshake failed.
            TimeoutError: not open within `open_timeout`.
            ValueError: a bad URL, or an `ssl.SSLContext` (use `ca_pem`).
        """
        opts = options or WsOptions()
        ca_pem = _ca_pem(url, opts)
        reader = Reader(
            url,
            feed=feed.native if feed is not None else None,
            on_message=per_message,
            headers=list(opts.headers.items()),
            ca_pem=ca_pem,
            max_message=opts.max_message,
            permessage_deflate=opts.permessage_deflate,
            open_timeout=opts.open_timeout,
            clock_ns=time.monotonic_ns(),
            coalesce=coalesce,
            fused=fused,
        )
        client = cls(url, reader, opts, on_message, on_close, on_status, feed)
        client._loop.add_reader(client._fd, client._drain)
        client._drain()
        try:
            await asyncio.wait_for(asyncio.shield(client._opened), opts.open_timeout + 1.0)
        except BaseException:
            client.abort()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(client._closed), 5.0)
            raise
        return client

    # events -------------------------------------------------------------------------------------
    def _drain(self) -> None:
        for event in self._reader.events():
            match event:
                case ("message", opcode, payload, recv_ns):
                    self._on_message(payload, opcode, recv_ns)
                case ("status", code, recv_ns):
                    status = _STATUS[code]
                    if self._feed is not None and status.needs_resync:
                        self._feed.log_failure(status)
                    if self._on_status is not None:
                        self._on_status(status, recv_ns)
                case ("open",):
                    if not self._opened.done():
                        self._opened.set_result(None)
                case ("error", text):
                    self._error = text
                    if self._opened.done():
                        log.warning("websocket %s: %s", self.url, text)
                    else:
                        self._opened.set_exception(ThreadHandshakeError(text))
                case ("closed", code, reason):  # the last event
                    self._finish(code, reason)

    def _finish(self, code: int, reason: str) -> None:
        if self._closed.done():
            return
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._fd)
        # The thread has queued its last event and is ending: this join is immediate.
        self._reader.join()
        if not self._opened.done():
            self._opened.set_exception(ThreadHandshakeError(self._error or reason))
        self._closed.set_result((code, reason))
        if self._on_close is not None:
            self._on_close(code, reason)

    # Connection protocol ------------------------------------------------------------------------
    @property
    def open(self) -> bool:
        """True until a close starts or the connection drops."""
        return self._reader.is_open and not self._closed.done()

    def send_text(self, data: str | bytes) -> None:
        """Sends a text message (written from this thread)."""
        self._reader.send_text(data)

    def ping(self, payload: bytes = b"") -> None:
        """Sends a ping (the thread consumes the pong)."""
        self._reader.ping(payload)

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> tuple[int, str]:
        """Starts the close handshake and waits for it (or `close_timeout`), then drops TCP."""
        if not self._closed.done():
            with contextlib.suppress(ConnectionError, OSError, ProtocolError):
                self._reader.close(code, reason)
            try:
                await asyncio.wait_for(asyncio.shield(self._closed), self._options.close_timeout)
            except TimeoutError:
                self._reader.abort()
        return await self._closed

    def abort(self) -> None:
        """Drops the connection at once, without a close handshake."""
        self._reader.abort()

    async def wait_closed(self) -> tuple[int, str]:
        """Waits for the connection to end; returns (close code, reason)."""
        return await self._closed

    # fusing ---------------------------------------------------------------------------------------
    def enable_fused(self) -> int:
        """Hands the feed to the thread (a connection opened with `fused=False`).

        Applies, in order, the data messages the thread queued that `on_message` has not seen
        yet, then lets the thread apply every later one; atomic with respect to the thread. Call
        it on the loop once every message `on_message` received has been handled (no drain can
        happen in between then). The statuses those applies produce reach `on_status` as usual.

        Returns:
            the messages applied by this call (0 without a feed, or when already fused).
        """
        return self._reader.enable_fused()

    def disable_fused(self) -> bool:
        """Takes the feed back: later data messages go to `on_message`. True if it was fused."""
        return self._reader.disable_fused()

    @property
    def fused(self) -> bool:
        """True while the thread applies data messages to the feed."""
        return self._reader.fused

    # native counters ----------------------------------------------------------------------------
    def take_applied(self) -> int:
        """Data messages applied to the feed natively since the last call (0 without one).

        Counts the thread's applies and `enable_fused`'s, not the messages `on_message` got.
        """
        if self._feed is None:
            return 0
        n = self._reader.applied
        new, self._applied_seen = n - self._applied_seen, n
        return new

    @property
    def messages(self) -> int:
        """Data messages received by the thread."""
        return self._reader.messages

    @property
    def applied(self) -> int:
        """Data messages applied to the feed natively (the thread's and `enable_fused`'s)."""
        return self._reader.applied

    @property
    def last_rx_ns(self) -> int:
        """When the last socket read arrived (`time.monotonic_ns` clock; 0 before any)."""
        return self._reader.last_rx_ns

    def latency(
        self, quantiles: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999)
    ) -> tuple[int, int, list[int | None]]:
        """Receive → applied ns of the messages applied on the thread: (count, max, quantiles)."""
        return self._reader.latency(list(quantiles))


__all__ = ["OnStatus", "PerMessage", "ThreadClient", "ThreadHandshakeError"]
