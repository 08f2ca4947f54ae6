"""The reader-thread transport (`venuegate.net.thread_ws`, `BookSession(transport="thread")`) on
loopback: sync against the simulator, resync after a gap, reconnect after an abrupt disconnect,
ping/pong, close, a malformed message and a malformed frame, TLS with a self-signed certificate
trusted by the test (and refused when not trusted), the per-message and conflated callbacks, and
`watch --json`'s native latency percentiles. (The full fault matrix against the simulator runs in
`test_sessions_vs_sim.py` with `transport="thread"`.)"""

from __future__ import annotations

import asyncio
import io
import logging
import ssl
import threading
from collections.abc import Coroutine
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests._tls import LoopbackTls
from venuegate.feeds import FeedStatus
from venuegate.md import BookSession, BookUpdate, Instrument
from venuegate.md.watch import WatchArgs, watch
from venuegate.net.thread_ws import ThreadClient, ThreadHandshakeError
from venuegate.net.ws import WsOptions
from venuegate.sim.md import Fault, SimServer
from venuegate.ws import ws_parse_request, ws_server_response

SYMBOL = "BTCUSDT"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def _session(sim: SimServer, **kwargs: Any) -> BookSession:
    return BookSession(
        "binance",
        [Instrument(SYMBOL, 2, 5)],
        ws_url=sim.ws_url("binance", ""),
        rest_url=sim.rest_url("binance"),
        backoff=(0.01, 0.2),
        resync_throttle=(0.01, 0.2),
        snapshots_per_second=50,
        transport="thread",
        **kwargs,
    )


async def _converge(session: BookSession, sim: SimServer, what: str) -> None:
    for _ in range(1000):
        if session.synced:
            want = sim.book("binance", SYMBOL, None)
            n = max(len(want[0]), len(want[1]))
            if session.book(SYMBOL).top(n) == (want[0][:n], want[1][:n]):
                return
        await asyncio.sleep(0.01)
    feed = session.feeds[SYMBOL]
    raise AssertionError(f"after {what}: never converged ({feed.state}, {feed.reason})")


def test_session_syncs_resyncs_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> BookSession:
        async with SimServer(seed=11, symbols={"binance": [SYMBOL]}) as sim:
            session = _session(sim, conflate_ms=20)
            session.start()
            try:
                await sim.wait_connections("binance", 1)
                await sim.step(20, venue="binance")
                await _converge(session, sim, "start")
                # A dropped message: the thread reports GAP, the session resyncs from REST.
                sim.inject(Fault.GAP, venue="binance")
                await sim.step(10, venue="binance")
                await _converge(session, sim, "gap")
                # Invalid JSON: MALFORMED, logged with its reason, that stream resynced.
                sim.inject(Fault.MALFORMED, venue="binance")
                await sim.step(10, venue="binance")
                await _converge(session, sim, "malformed")
                # An abrupt disconnect: the thread ends with 1006, the session reconnects.
                sim.inject(Fault.DISCONNECT, venue="binance")
                await sim.step(5, venue="binance")
                await sim.wait_connections("binance", 1, timeout=10)
                await sim.step(10, venue="binance")
                await _converge(session, sim, "disconnect")
            finally:
                await session.stop()
            return session

    session = run(main())
    stats = session.feeds[SYMBOL].stats()
    assert stats["gaps"] >= 1
    assert stats["malformed"] >= 1
    assert session.stats.reconnects >= 1
    assert session.stats.resyncs >= 3
    assert session.stats.messages >= 40
    logged = caplog.text
    assert "MALFORMED" in logged
    assert "binance BTCUSDT" in logged
    assert "GAP" in logged
    latency = session.latency()
    assert latency is not None
    assert latency["count"]
    assert latency["p50"] is not None


def test_per_message_callback_runs_on_the_reader_thread() -> None:
    seen: list[tuple[FeedStatus, bool, int, int]] = []
    threads: set[int] = set()

    def on_update(u: BookUpdate) -> None:
        threads.add(threading.get_ident())
        seen.append((u.status, u.stale, u.recv_ns, u.applied_ns))

    async def main() -> None:
        async with SimServer(seed=12, symbols={"binance": [SYMBOL]}) as sim:
            session = _session(sim, on_update=on_update, conflate_ms=None)
            session.start()
            try:
                await sim.wait_connections("binance", 1)
                await sim.step(20, venue="binance")
                await _converge(session, sim, "start")
                # Synced now: these are applied to a live (not stale) book, whatever the timing
                # of the first snapshot was on a loaded machine.
                await sim.step(15, venue="binance")
                await _converge(session, sim, "synced")
                sim.inject(Fault.GAP, venue="binance")  # a status event: still not on the loop
                await sim.step(10, venue="binance")
                await _converge(session, sim, "gap")
            finally:
                await session.stop()

    run(main())
    assert threading.get_ident() not in threads
    assert any(s[0] is FeedStatus.GAP for s in seen)
    applied = [s for s in seen if s[0] is FeedStatus.APPLIED and not s[1]]
    assert len(applied) >= 10
    assert all(recv <= applied_ns for _, _, recv, applied_ns in applied)


def test_conflated_updates_carry_the_latest_book() -> None:
    updates: list[BookUpdate] = []

    async def main() -> None:
        async with SimServer(seed=13, symbols={"binance": [SYMBOL]}) as sim:
            session = _session(sim, on_update=updates.append, conflate_ms=50)
            session.start()
            try:
                await sim.wait_connections("binance", 1)
                await sim.step(30, venue="binance")
                await _converge(session, sim, "start")
                await sim.step(30, venue="binance")
                await _converge(session, sim, "more")
                await asyncio.sleep(0.15)
                count = len(updates)
                await asyncio.sleep(0.2)  # no messages: no conflated updates
                assert len(updates) == count
            finally:
                await session.stop()
            assert session.stats.messages >= 60

    run(main())
    # Far fewer callbacks than messages; every one on the loop's thread.
    assert 1 <= len(updates) < 30
    assert updates[-1].status is FeedStatus.APPLIED


async def _raw_server(behaviour: bytes) -> tuple[asyncio.Server, int]:
    """A WebSocket server that completes the handshake, then writes `behaviour` raw."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        parsed = ws_parse_request(head)
        assert parsed is not None
        writer.write(ws_server_response(parsed[2]))
        writer.write(behaviour)
        await writer.drain()
        await reader.read(1024)  # the client's close frame
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_ping_pong_text_and_close() -> None:
    got: list[bytes] = []
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)  # answered by the reader thread
        received.append(str(await ws.recv()))
        await ws.close(1001, "going away")

    async def main() -> tuple[int, str]:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1] if server.sockets else 0
            client = await ThreadClient.connect(
                f"ws://127.0.0.1:{port}/", lambda p, _op, _ns: got.append(p)
            )
            assert client.open
            client.send_text('{"op":"subscribe"}')
            closed = await asyncio.wait_for(client.wait_closed(), 10)
            assert not client.open
            return closed

    assert run(main()) == (1001, "going away")
    assert got == [b"hello"]
    assert received == ['{"op":"subscribe"}']


def test_coalesced_reads_deliver_every_message() -> None:
    got: list[bytes] = []

    async def handler(ws: ServerConnection) -> None:
        for i in range(50):
            await ws.send(f"m{i}")
            if i % 10 == 0:
                await asyncio.sleep(0.002)
        await ws.close()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1] if server.sockets else 0
            client = await ThreadClient.connect(
                f"ws://127.0.0.1:{port}/", lambda p, _op, _ns: got.append(p), coalesce=0.005
            )
            await asyncio.wait_for(client.wait_closed(), 10)

    run(main())
    assert got == [f"m{i}".encode() for i in range(50)]


def test_client_close_handshake() -> None:
    async def handler(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async def main() -> tuple[int, str]:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1] if server.sockets else 0
            client = await ThreadClient.connect(f"ws://127.0.0.1:{port}/", lambda *_: None)
            return await client.close(1000, "bye")

    assert run(main())[0] == 1000


def test_malformed_frame_closes_with_1002(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> tuple[int, str]:
        server, port = await _raw_server(b"\x83\x00")  # reserved opcode 0x3
        async with server:
            client = await ThreadClient.connect(f"ws://127.0.0.1:{port}/", lambda *_: None)
            return await asyncio.wait_for(client.wait_closed(), 10)

    code, reason = run(main())
    assert code == 1002
    assert "opcode" in reason
    assert "protocol violation" in caplog.text


def test_tls_against_a_self_signed_certificate(loopback_tls: LoopbackTls) -> None:
    pem, server_ctx = loopback_tls.cert_pem, loopback_tls.server_ctx
    got: list[bytes] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b'{"secure":true}')
        await ws.send(str(await ws.recv()))
        async for _ in ws:
            pass

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, ssl=server_ctx) as server:
            port = server.sockets[0].getsockname()[1] if server.sockets else 0
            url = f"wss://localhost:{port}/"
            # Verification is on: an untrusted certificate is refused.
            with pytest.raises(ThreadHandshakeError, match="certificate"):
                await ThreadClient.connect(url, lambda *_: None)
            # Trusted by the test: it connects, and traffic flows both ways over TLS.
            client = await ThreadClient.connect(
                url, lambda p, _op, _ns: got.append(p), options=WsOptions(ca_pem=pem)
            )
            client.send_text("echo")
            for _ in range(500):
                if len(got) == 2:
                    break
                await asyncio.sleep(0.01)
            await client.close()

    run(main())
    assert got == [b'{"secure":true}', b"echo"]


def test_thread_transport_refuses_an_ssl_context() -> None:
    async def main() -> None:
        await ThreadClient.connect(
            "wss://localhost:1/",
            lambda *_: None,
            options=WsOptions(ssl=ssl.create_default_context()),
        )

    with pytest.raises(ValueError, match="ca_pem"):
        run(main())


def test_watch_json_reports_native_latency() -> None:
    async def main() -> dict[str, object]:
        async with SimServer(seed=3, symbols={"binance": [SYMBOL]}, rate_hz=200) as sim:
            return await watch(
                WatchArgs(
                    venue="binance",
                    symbol=SYMBOL,
                    ws_url=sim.ws_url("binance", ""),
                    rest_url=sim.rest_url("binance"),
                    seconds=2.5,
                    json=True,
                    price_precision=2,
                    size_precision=5,
                ),
                out=io.StringIO(),
            )

    summary = run(main())
    assert summary["transport"] == "thread"
    assert summary["synced"] is True
    latency = summary["latency_ns"]
    assert isinstance(latency, dict)
    assert latency["count"]
    assert latency["p50"]
    assert latency["p99"]
    assert latency["p50"] <= latency["p99"] <= latency["max"]
