"""The same client interface as `venuegate.net.ws.WsClient`, on picows (a Cython WebSocket client).

picows parses frames in Cython and hands each frame to a listener; this adapter reassembles
fragmented messages, answers pings (picows' auto-pong), and reports the close code. Choose it with
`BookSession(..., transport="picows")` or `connect(..., transport="picows")`; benchmarks compare
both (see benches/RESULTS.md) and the default is the faster one.
"""

from __future__ import annotations

import asyncio
import time

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from venuegate.net.ws import OnClose, OnMessage, WsOptions, tls_context
from venuegate.ws import CloseCode


class _Listener(WSListener):
    def __init__(self, on_message: OnMessage, on_close: OnClose | None) -> None:
        super().__init__()
        self.on_message = on_message
        self.on_close = on_close
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self.parts: list[bytes] = []
        self.part_type = WSMsgType.TEXT
        self.code = int(CloseCode.ABNORMAL)
        self.reason = ""

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = time.monotonic_ns()
        t = frame.msg_type
        if t == WSMsgType.TEXT or t == WSMsgType.BINARY:  # noqa: PLR1714 - Cython enum
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes(), t.value, recv_ns)
            else:
                self.part_type = t
                self.parts = [frame.get_payload_as_bytes()]
        elif t == WSMsgType.CONTINUATION:
            self.parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                payload = b"".join(self.parts)
                self.parts = []
                self.on_message(payload, self.part_type.value, recv_ns)
        elif t == WSMsgType.CLOSE:
            self.code = frame.get_close_code().value
            message = frame.get_close_message()
            self.reason = message.decode("utf-8", "replace") if message else ""
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result((self.code, self.reason))
            if self.on_close is not None:
                self.on_close(self.code, self.reason)


class PicowsClient:
    """A picows-backed connection with `WsClient`'s interface."""

    __slots__ = ("_listener", "_transport", "url")

    def __init__(self, url: str, transport: WSTransport, listener: _Listener) -> None:
        self.url = url
        self._transport = transport
        self._listener = listener

    @classmethod
    async def connect(
        cls,
        url: str,
        on_message: OnMessage,
        *,
        on_close: OnClose | None = None,
        options: WsOptions | None = None,
    ) -> PicowsClient:
        """Opens a connection (TLS verified by default for wss)."""
        opts = options or WsOptions()
        ssl_ctx = tls_context(url, opts)
        transport, listener = await asyncio.wait_for(
            ws_connect(
                lambda: _Listener(on_message, on_close),
                url,
                ssl_context=ssl_ctx,
                max_frame_size=opts.max_message,
                extra_headers=dict(opts.headers) or None,
                websocket_handshake_timeout=opts.open_timeout,
            ),
            opts.open_timeout,
        )
        assert isinstance(listener, _Listener)  # noqa: S101 - built by our factory
        return cls(url, transport, listener)

    @property
    def open(self) -> bool:
        """True until the connection ends."""
        return not self._transport.is_disconnected and not self._transport.is_close_frame_sent

    def send_text(self, data: str | bytes) -> None:
        """Sends a text message."""
        self._transport.send(WSMsgType.TEXT, data.encode() if isinstance(data, str) else data)

    def send_binary(self, data: bytes) -> None:
        """Sends a binary message."""
        self._transport.send(WSMsgType.BINARY, data)

    def ping(self, payload: bytes = b"") -> None:
        """Sends a ping."""
        self._transport.send_ping(payload)

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> tuple[int, str]:
        """Close handshake, then disconnect."""
        if not self._transport.is_disconnected:
            self._transport.send_close(WSCloseCode(code), reason.encode())
            self._transport.disconnect()
        return await self._listener.closed

    def abort(self) -> None:
        """Drops the connection at once."""
        self._transport.disconnect(graceful=False)

    async def wait_closed(self) -> tuple[int, str]:
        """Waits for the connection to end; returns (close code, reason)."""
        return await self._listener.closed


__all__ = ["PicowsClient"]
