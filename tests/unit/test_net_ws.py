"""venuegate.net.ws against an independent server (the `websockets` library) and raw sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from venuegate.net.ws import Transport, WsClient, WsHandshakeError, WsOptions, connect


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


async def _server(handler: Callable[[ServerConnection], Awaitable[None]]) -> tuple[Any, str]:
    server = await serve(handler, "127.0.0.1", 0, compression=None)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/path?x=1"


@pytest.mark.parametrize("transport", ["native", "picows"])
def test_messages_fragments_pings_and_close(transport: Transport) -> None:
    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        assert ws.request.path == "/path?x=1"
        await ws.send("hello")
        await ws.send(b"\x00\x01binary")
        await ws.send(["frag", "mented"])  # a fragmented text message
        await ws.ping(b"p")
        echo = await ws.recv()
        await ws.send(f"echo:{echo}")
        await ws.close(4001, "bye")

    async def main() -> None:
        server, url = await _server(handler)
        got: list[tuple[bytes, int]] = []
        async with server:
            client = await connect(url, lambda p, op, _ns: got.append((p, op)), transport=transport)
            while len(got) < 3:
                await asyncio.sleep(0.01)
            client.send_text("ping?")
            code, reason = await client.wait_closed()
        assert got == [
            (b"hello", 1),
            (b"\x00\x01binary", 2),
            (b"fragmented", 1),
            (b"echo:ping?", 1),
        ]
        assert (code, reason) == (4001, "bye")

    run(main())


def test_permessage_deflate_with_an_independent_server() -> None:
    big = "x" * 10_000 + "y" * 10_000

    async def handler(ws: ServerConnection) -> None:
        await ws.send(big)
        await ws.send(big[::-1])
        await ws.wait_closed()

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0)  # websockets negotiates deflate
        port = server.sockets[0].getsockname()[1]
        got: list[bytes] = []
        async with server:
            client = await WsClient.connect(
                f"ws://127.0.0.1:{port}/",
                lambda p, _op, _ns: got.append(p),
                options=WsOptions(permessage_deflate=True),
            )
            while len(got) < 2:
                await asyncio.sleep(0.01)
            await client.close()
        assert got == [big.encode(), big[::-1].encode()]

    run(main())


async def _raw_server(reply: bytes) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/"


def test_handshake_refused() -> None:
    async def main() -> None:
        server, url = await _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        async with server:
            with pytest.raises(WsHandshakeError):
                await WsClient.connect(url, lambda *_: None)

    run(main())


def test_protocol_violation_closes_with_the_rfc_code() -> None:
    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(b":", 1)[1].strip().decode()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            from venuegate.ws import ws_server_response

            writer.write(ws_server_response(key))
            # A valid message, then a masked server frame: forbidden (RFC 6455 §5.1).
            writer.write(
                b"\x81\x02ok" + b"\x81\x82abcd" + bytes([ord("h") ^ 0x61, ord("i") ^ 0x62])
            )
            await writer.drain()
            frames = await reader.read(100)
            writer.close()
            closes.append(frames)

        closes: list[bytes] = []
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        got: list[bytes] = []
        async with server:
            client = await WsClient.connect(f"ws://127.0.0.1:{port}/", lambda p, *_: got.append(p))
            code, _ = await client.wait_closed()
            await asyncio.sleep(0.05)
        assert got == [b"ok"]
        assert code == 1002
        # The client sent a masked close frame with 1002 (0x03ea) before dropping TCP.
        assert closes
        assert closes[0][0] == 0x88
        frame = closes[0]
        mask = frame[2:6]
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(frame[6:]))
        assert body[:2] == (1002).to_bytes(2, "big")

    run(main())


def test_wss_verifies_certificates_by_default() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="ssl=False"):
            await WsClient.connect(
                "wss://127.0.0.1:1/", lambda *_: None, options=WsOptions(ssl=False)
            )
        with pytest.raises(ValueError, match="not a ws"):
            await WsClient.connect("http://127.0.0.1/", lambda *_: None)

    run(main())
