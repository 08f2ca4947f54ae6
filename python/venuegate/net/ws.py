"""WebSocket client transport on asyncio (works under uvloop), framed by the native codec.

Each socket read goes to the native `WsDecoder` once; every message it completes is handed to the
`on_message` callback with the read's receive time (monotonic ns), inside `data_received`: no
queue, no task switch per message. Pings are answered, close handshakes completed, and protocol
violations close the connection with the RFC 6455 code the codec reports.

    client = await WsClient.connect("wss://stream.binance.com:9443/ws/btcusdt@depth", on_message)
    client.send_text('{"method":"SUBSCRIBE",...}')
    await client.wait_closed()

TLS verification is on by default (`ssl.create_default_context()`); pass `ssl=` to change it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from venuegate.errors import ProtocolError
from venuegate.ws import (
    CloseCode,
    Opcode,
    WsDecoder,
    new_client_key,
    new_mask,
    parse_close,
    ws_client_request,
    ws_encode_close,
    ws_encode_frame,
    ws_parse_response,
)

log = logging.getLogger("venuegate.net.ws")

type OnMessage = Callable[[bytes, int, int], None]
"""`on_message(payload, opcode, recv_ns)`: opcode 1 (text) or 2 (binary)."""
type OnRead = Callable[[WsDecoder, bytes, int], list[tuple[int, bytes]]]
"""`on_read(decoder, data, recv_ns) -> control frames`: takes over a whole socket read (the fused
path: e.g. `VenueBookFeed.apply_ws`), returning the control frames it did not handle."""
type OnClose = Callable[[int, str], None]
"""`on_close(code, reason)`: called once when the connection ends (1006: no close frame)."""

_MAX_HANDSHAKE = 64 * 1024


@dataclass(frozen=True, slots=True)
class WsOptions:
    """Connection options.

    Attributes:
        max_message: the largest message accepted (bigger closes with 1009).
        permessage_deflate: offer permessage-deflate (RFC 7692).
        open_timeout: seconds for TCP + TLS + handshake.
        close_timeout: seconds to wait for the peer's close frame.
        headers: extra handshake headers.
        ssl: an SSL context for wss (default: verifying), or False to refuse wss.
        ca_pem: PEM certificates trusted in addition to the system's (a private CA, a test's
            self-signed one); the thread transport's only way to add trust.
    """

    max_message: int = 16 * 1024 * 1024
    permessage_deflate: bool = False
    open_timeout: float = 10.0
    close_timeout: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict)
    ssl: ssl_module.SSLContext | bool | None = None
    ca_pem: bytes | None = None


def tls_context(url: str, options: WsOptions) -> ssl_module.SSLContext | None:
    """The TLS context for `url`.

    None for ws://; for wss:// the given context, or a verifying default one. Refuses wss://
    with `ssl=False`.
    """
    if not url.startswith("wss://"):
        return None
    if options.ssl is False:
        raise ValueError("wss:// needs TLS but ssl=False was given")
    if isinstance(options.ssl, ssl_module.SSLContext):
        return options.ssl
    ctx = ssl_module.create_default_context()
    if options.ca_pem is not None:
        ctx.load_verify_locations(cadata=options.ca_pem.decode())
    return ctx


class WsHandshakeError(ProtocolError):
    """The server did not complete a valid WebSocket opening handshake."""


class _Protocol(asyncio.Protocol):
    def __init__(
        self,
        key: str,
        options: WsOptions,
        on_message: OnMessage,
        on_close: OnClose | None,
        opened: asyncio.Future[None],
    ) -> None:
        self.key = key
        self.options = options
        self.on_message = on_message
        self.on_read: OnRead | None = None
        self.on_close = on_close
        self.opened = opened
        self.closed: asyncio.Future[tuple[int, str]] = opened.get_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.decoder: WsDecoder | None = None
        self.handshake = bytearray()
        self.close_sent = False
        self.close_code: int = CloseCode.ABNORMAL
        self.close_reason = ""

    # asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (asyncio's or uvloop's, which does not subclass asyncio.Transport).
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        recv_ns = time.monotonic_ns()
        decoder = self.decoder
        if decoder is None:
            decoder = self._handshake(data)
            if decoder is None:
                return
            data = bytes(self.handshake)
            self.handshake.clear()
            if not data:
                return
        try:
            # Data messages go straight from native code to the callback; only control frames
            # come back here.
            if self.on_read is not None:
                controls = self.on_read(decoder, data, recv_ns)
            else:
                controls = decoder.feed_call(data, self.on_message, recv_ns)
        except ProtocolError as exc:
            for op, payload in getattr(exc, "messages", []):
                self._dispatch(op, payload, recv_ns)
            code = int(getattr(exc, "close_code", CloseCode.PROTOCOL_ERROR))
            log.warning("websocket protocol violation (%s): %s; closing %d", self.key, exc, code)
            self._fail(code, str(exc))
            return
        for op, payload in controls:
            self._dispatch(op, payload, recv_ns)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(
                ConnectionError(f"connection lost during the handshake: {exc}")
            )
        if not self.closed.done():
            self.closed.set_result((int(self.close_code), self.close_reason))
            if self.on_close is not None:
                self.on_close(int(self.close_code), self.close_reason)

    # internals ---------------------------------------------------------------------------------
    def _handshake(self, data: bytes) -> WsDecoder | None:
        self.handshake += data
        try:
            parsed = ws_parse_response(
                bytes(self.handshake), self.key, self.options.permessage_deflate
            )
        except ProtocolError as exc:
            self.opened.set_exception(WsHandshakeError(f"handshake refused: {exc}"))
            self._abort()
            return None
        if parsed is None:
            if len(self.handshake) > _MAX_HANDSHAKE:
                self.opened.set_exception(WsHandshakeError("handshake response too large"))
                self._abort()
            return None
        consumed, _headers, deflate = parsed
        del self.handshake[:consumed]
        self.decoder = WsDecoder(
            "client",
            max_message=self.options.max_message,
            deflate=deflate is not None,
            no_context_takeover=bool(deflate and deflate[0]),
        )
        if not self.opened.done():
            self.opened.set_result(None)
        return self.decoder

    def _dispatch(self, op: int, payload: bytes, recv_ns: int) -> None:
        if op in (Opcode.TEXT, Opcode.BINARY):
            self.on_message(payload, op, recv_ns)
        elif op == Opcode.PING:
            self.write(Opcode.PONG, payload)
        elif op == Opcode.CLOSE:
            code, reason = parse_close(payload)
            self.close_code = code
            self.close_reason = reason
            if not self.close_sent:
                # Echo the code (RFC 6455 §5.5.1: 1000 when none was given), then drop TCP.
                self.close_sent = True
                echo = CloseCode.NORMAL if code == CloseCode.NO_STATUS else code
                self._write_raw(ws_encode_close(echo, "", mask=new_mask()))
            if self.transport is not None:
                self.transport.close()

    def _write_raw(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def write(self, opcode: int, payload: bytes) -> None:
        self._write_raw(ws_encode_frame(opcode, payload, mask=new_mask()))

    def _fail(self, code: int, reason: str) -> None:
        self.close_code = code
        self.close_reason = reason
        if not self.close_sent:
            self.close_sent = True
            # Close reasons are at most 123 bytes (RFC 6455 §5.5): cut on a UTF-8 boundary.
            short = reason.encode()[:120].decode("utf-8", "ignore")
            self._write_raw(ws_encode_close(code, short, mask=new_mask()))
        if self.transport is not None:
            self.transport.close()

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class WsClient:
    """One WebSocket client connection (see module docs)."""

    __slots__ = ("_protocol", "url")

    def __init__(self, url: str, protocol: _Protocol) -> None:
        self.url = url
        self._protocol = protocol

    @classmethod
    async def connect(
        cls,
        url: str,
        on_message: OnMessage,
        *,
        on_close: OnClose | None = None,
        options: WsOptions | None = None,
        on_read: OnRead | None = None,
    ) -> WsClient:
        """Opens a connection: TCP (+ TLS for wss), then the opening handshake.

        Raises:
            WsHandshakeError: the server refused or garbled the handshake.
            OSError, TimeoutError: the connection could not be made in `open_timeout`.
        """
        opts = options or WsOptions()
        parts = urlsplit(url)
        hostname = parts.hostname
        if parts.scheme not in ("ws", "wss") or not hostname:
            raise ValueError(f"not a ws:// or wss:// URL: {url!r}")
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        ssl_ctx = tls_context(url, opts)
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()
        key = new_client_key()
        proto = _Protocol(key, opts, on_message, on_close, opened)
        proto.on_read = on_read
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        host_header = hostname if parts.port is None else f"{hostname}:{parts.port}"

        async def open_() -> None:
            transport, _ = await loop.create_connection(lambda: proto, hostname, port, ssl=ssl_ctx)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                import socket  # noqa: PLC0415 - only for the option constant

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = ws_client_request(
                host_header, path, key, dict(opts.headers), opts.permessage_deflate
            )
            transport.write(request)
            await opened

        try:
            await asyncio.wait_for(open_(), opts.open_timeout)
        except BaseException:
            proto._abort()
            raise
        return cls(url, proto)

    @property
    def open(self) -> bool:
        """True until a close starts or the connection drops."""
        p = self._protocol
        return not p.close_sent and not p.closed.done()

    def send_text(self, data: str | bytes) -> None:
        """Sends a text message."""
        self._protocol.write(Opcode.TEXT, data.encode() if isinstance(data, str) else data)

    def send_binary(self, data: bytes) -> None:
        """Sends a binary message."""
        self._protocol.write(Opcode.BINARY, data)

    def ping(self, payload: bytes = b"") -> None:
        """Sends a ping (the pong is consumed silently)."""
        self._protocol.write(Opcode.PING, payload)

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> tuple[int, str]:
        """Starts the close handshake and waits for it (or `close_timeout`), then drops TCP."""
        p = self._protocol
        if not p.closed.done():
            if not p.close_sent:
                p.close_sent = True
                p._write_raw(ws_encode_close(code, reason, mask=new_mask()))
            try:
                await asyncio.wait_for(asyncio.shield(p.closed), p.options.close_timeout)
            except TimeoutError:
                p._abort()
        return await p.closed

    def abort(self) -> None:
        """Drops the connection at once, without a close handshake."""
        self._protocol._abort()

    async def wait_closed(self) -> tuple[int, str]:
        """Waits for the connection to end; returns (close code, reason)."""
        return await self._protocol.closed


class Connection(Protocol):
    """What sessions need of a connection; `WsClient` and `PicowsClient` both provide it."""

    @property
    def open(self) -> bool:
        """True until a close starts or the connection drops."""

    def send_text(self, data: str | bytes) -> None:
        """Sends a text message."""

    def ping(self, payload: bytes = b"") -> None:
        """Sends a ping."""

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> tuple[int, str]:
        """Close handshake."""

    def abort(self) -> None:
        """Drops the connection."""

    async def wait_closed(self) -> tuple[int, str]:
        """Waits for the end."""


type Transport = Literal["native", "picows", "thread"]
DEFAULT_TRANSPORT: Transport = "native"
"""The transport sessions use unless told otherwise: the faster in benches/RESULTS.md. `thread`
(`venuegate.net.thread_ws`: a native reader thread) spends the least CPU per message at low
message rates, where each message is alone in its socket read; `venuegate watch` defaults to
it."""


async def connect(
    url: str,
    on_message: OnMessage,
    *,
    on_close: OnClose | None = None,
    options: WsOptions | None = None,
    transport: Transport = DEFAULT_TRANSPORT,
) -> Connection:
    """Opens a connection on the chosen transport (same callbacks, same semantics)."""
    if transport == "picows":
        from venuegate.net.picows_ws import PicowsClient  # noqa: PLC0415 - optional speed path

        return await PicowsClient.connect(url, on_message, on_close=on_close, options=options)
    if transport == "thread":
        from venuegate.net.thread_ws import ThreadClient  # noqa: PLC0415 - imports feeds

        return await ThreadClient.connect(url, on_message, on_close=on_close, options=options)
    return await WsClient.connect(url, on_message, on_close=on_close, options=options)


__all__ = [
    "DEFAULT_TRANSPORT",
    "Connection",
    "OnClose",
    "OnMessage",
    "OnRead",
    "Transport",
    "WsClient",
    "WsHandshakeError",
    "WsOptions",
    "connect",
    "tls_context",
]
