"""Loopback WebSocket receive throughput: the same frames to each client, one run.

    python benches/transport_throughput.py [--messages 200000] [--size 238] [--update RESULTS.md]

A server in a child process (so its CPU is not counted) accepts one connection, answers the
handshake, writes N pre-encoded text frames of `--size` bytes as fast as the socket takes them,
then a close frame. Each client counts messages in its receive callback (or iterator) and we
record wall time (first byte to close) and the client process' CPU time per message. Clients:
venuegate native transport, venuegate on picows, venuegate's reader thread delivering every
message to a Python callback, picows itself, aiohttp, websockets. uvloop is used when installed
(as in production).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frames(n: int, size: int) -> bytes:
    payload = (b'{"e":"depthUpdate","s":"BTCUSDT","b":[["67000.01","0.5"]]' + b" " * size)[
        : size - 1
    ] + b"}"
    head = bytes([0x81, 126]) + size.to_bytes(2, "big") if size >= 126 else bytes([0x81, size])
    return (head + payload) * n


async def _serve(n: int, size: int, port_file: str) -> None:
    data = _frames(n, size)
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())  # noqa: S324 - RFC 6455
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        view = memoryview(data)
        for i in range(0, len(data), 1 << 20):
            writer.write(view[i : i + (1 << 20)])
            await writer.drain()
        writer.write(b"\x88\x02\x03\xe8")
        await writer.drain()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(), 10)
        writer.close()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await asyncio.wait_for(done.wait(), 300)


async def _venuegate(url: str, n: int, transport: str) -> int:
    from venuegate.net.ws import connect

    count = 0

    def on_message(payload: bytes, opcode: int, recv_ns: int) -> None:
        nonlocal count
        count += 1

    client = await connect(url, on_message, transport=transport)  # type: ignore[arg-type]
    await client.wait_closed()
    return count


async def _picows(url: str, n: int) -> int:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    class L(WSListener):
        count = 0

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                frame.get_payload_as_bytes()
                self.count += 1
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    transport, listener = await ws_connect(L, url)
    await transport.wait_disconnected()
    return listener.count  # type: ignore[attr-defined, no-any-return]


async def _aiohttp(url: str, n: int) -> int:
    import aiohttp

    count = 0
    async with aiohttp.ClientSession() as s, s.ws_connect(url, max_msg_size=0) as ws:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                count += 1
    return count


async def _websockets(url: str, n: int) -> int:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed

    count = 0
    async with ws_connect(url, compression=None, max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                count += 1
    return count


CLIENTS: dict[str, Callable[[str, int], Awaitable[int]]] = {
    "venuegate (native)": lambda u, n: _venuegate(u, n, "native"),
    "venuegate (picows transport)": lambda u, n: _venuegate(u, n, "picows"),
    # The reader thread handing every message to the Python callback (no feed to apply it to:
    # `watch` fuses instead, see the end-to-end table).
    "venuegate (thread transport)": lambda u, n: _venuegate(u, n, "thread"),
    "picows": _picows,
    "aiohttp": _aiohttp,
    "websockets": _websockets,
}


def _run_one(name: str, n: int, size: int) -> dict[str, object]:
    port_file = f"/tmp/vg-tp-{os.getpid()}-{time.monotonic_ns()}"  # noqa: S108 - loopback bench
    server = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, __file__, "--serve", port_file, "--messages", str(n), "--size", str(size)]
    )
    try:
        deadline = time.monotonic() + 30
        while not Path(port_file).exists() or not Path(port_file).read_text():
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.01)
        url = f"ws://127.0.0.1:{Path(port_file).read_text()}/"
        cpu0, wall0 = time.process_time(), time.perf_counter()
        count = _loop_run(CLIENTS[name](url, n))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        server.wait(60)
        Path(port_file).unlink(missing_ok=True)
    if count != n:
        raise RuntimeError(f"{name}: received {count} of {n} messages")
    return {"client": name, "messages": n, "msgs_per_s": n / wall, "cpu_us_per_msg": cpu / n * 1e6}


def _loop_run(coro: Awaitable[int]) -> int:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type, no-any-return]


def table(rows: list[dict[str, object]], size: int) -> str:
    native = next(r for r in rows if r["client"] == "venuegate (native)")
    lines = [
        f"{rows[0]['messages']} text frames of {size} B, loopback, one client at a time "
        f"(uvloop {'on' if _has_uvloop() else 'off'}):",
        "",
        "| client | msgs/s | client CPU µs/msg | CPU vs venuegate native |",
        "|---|---|---|---|",
    ]
    for r in rows:
        ratio = float(r["cpu_us_per_msg"]) / float(native["cpu_us_per_msg"])  # type: ignore[arg-type]
        lines.append(
            f"| {r['client']} | {float(r['msgs_per_s']) / 1e6:.2f} M | "  # type: ignore[arg-type]
            f"{float(r['cpu_us_per_msg']):.3f} | {ratio:.2f}x |"  # type: ignore[arg-type]
        )
    return "\n".join(lines)


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=238)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--update", type=Path, help="RESULTS.md: rewrite the transport table")
    parser.add_argument("--json", type=Path, help="write the rows as JSON")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.messages, args.size, args.serve))
        return 0
    rows = [_run_one(name, args.messages, args.size) for name in CLIENTS]
    text = table(rows, args.size)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.update:
        sys.path.insert(0, str(Path(__file__).parent))
        from report import replace_between

        replace_between(args.update, "transport", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
