"""The private order-update stream session: connect, log in, subscribe, keep alive, reconnect.

Generic over a venue's `PrivateStream` protocol object. Every (re)connection that reaches
`ready` calls `on_ready` (the order manager reconciles then: whatever happened while the stream
was down is found by query), and every decoded report goes to `on_reports`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiohttp

from venuegate.errors import AuthError, VenuegateError
from venuegate.net.backoff import Backoff
from venuegate.oms.types import VenueReport
from venuegate.venues.base import RestCaller, VenueAdapter

__all__ = ["PrivateStreamSession"]

log = logging.getLogger("venuegate.oms.stream")


class PrivateStreamSession:
    """Keeps one venue's private stream up.

    Args:
        adapter: the venue adapter (`private_stream` builds the protocol object).
        rest: makes the REST calls the protocol needs (listen key, token).
        symbols: instruments of interest (venues that subscribe per symbol).
        on_reports: called with every batch of decoded reports, in order.
        on_ready: awaited after each successful login + subscribe (reconcile here).
        on_down: called when the stream drops.
        ssl: TLS verification (True by default).
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        rest: RestCaller,
        symbols: Sequence[str],
        *,
        on_reports: Callable[[list[VenueReport]], None],
        on_ready: Callable[[], Coroutine[Any, Any, None]] | None = None,
        on_down: Callable[[], None] | None = None,
        ssl: bool | _ssl.SSLContext = True,
        backoff: Backoff | None = None,
    ) -> None:
        self.adapter = adapter
        self.rest = rest
        self.symbols = tuple(symbols)
        self.on_reports = on_reports
        self.on_ready = on_ready
        self.on_down = on_down
        self._ssl = ssl
        self._backoff = backoff or Backoff(0.05, 2.0)
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.connects = 0
        self.messages = 0
        self._closing = False
        self._side: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Starts the session task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.adapter.venue}-private")

    async def stop(self) -> None:
        """Stops the session."""
        self._closing = True
        for side in list(self._side):
            side.cancel()
        for side in list(self._side):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await side
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while not self._closing:
                try:
                    await self._connect_once(http)
                    self._backoff.reset()
                except asyncio.CancelledError:
                    raise
                except AuthError as exc:
                    log.error("%s private stream: login refused: %s", self.adapter.venue, exc)
                except (aiohttp.ClientError, OSError, TimeoutError, VenuegateError) as exc:
                    log.warning(
                        "%s private stream dropped: %s", self.adapter.venue, type(exc).__name__
                    )
                finally:
                    if self.ready.is_set():
                        self.ready.clear()
                        if self.on_down is not None:
                            self.on_down()
                if not self._closing:
                    await asyncio.sleep(self._backoff.next())

    async def _connect_once(self, http: aiohttp.ClientSession) -> None:
        proto = self.adapter.private_stream(self.symbols)
        await proto.prepare(self.rest)
        async with http.ws_connect(
            proto.url(), ssl=self._ssl, heartbeat=None, autoping=True, max_msg_size=1 << 24
        ) as ws:
            self.connects += 1
            for m in proto.open_messages():
                await ws.send_str(m)
            keep = asyncio.create_task(self._keepalive(ws, proto.keepalive, proto.keepalive_s))
            try:
                async for msg in ws:
                    if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
                        continue
                    self.messages += 1
                    ev = proto.on_message(msg.data)
                    for reply in ev.replies:
                        await ws.send_str(reply)
                    if ev.error is not None:
                        raise ev.error
                    if ev.ready and not self.ready.is_set():
                        self.ready.set()
                        if self.on_ready is not None:
                            # Reconcile beside the stream: reports keep flowing meanwhile.
                            t: asyncio.Task[None] = asyncio.create_task(self.on_ready())
                            self._side.add(t)
                            t.add_done_callback(self._side.discard)
                    if ev.reports:
                        self.on_reports(ev.reports)
            finally:
                keep.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await keep

    @staticmethod
    async def _keepalive(
        ws: aiohttp.ClientWebSocketResponse,
        make: Callable[[], str | None],
        every: float,
    ) -> None:
        while True:
            await asyncio.sleep(every)
            msg = make()
            if msg is not None:
                await ws.send_str(msg)
