"""`SimServer` on loopback: venue paths, REST snapshots and every injected fault."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import os
import struct
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.sim.conftest import run
from venuegate.sim.md import Fault, SimServer

BINANCE = {"binance": ["BTCUSDT", "ETHUSDT"]}


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until_closed(ws: ClientConnection, limit: int) -> None:
    for _ in range(limit):
        await asyncio.wait_for(ws.recv(), 5)


async def drain(ws: ClientConnection, n: int) -> list[Any]:
    return [await recv_json(ws) for _ in range(n)]


class RawFrames:
    """A minimal RFC 6455 client that exposes frames (fragments, close frames, EOF)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, path: str) -> RawFrames:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        return cls(reader, writer)

    async def frame(self, timeout: float = 5.0) -> tuple[bool, int, bytes] | None:
        """(fin, opcode, payload), or None at EOF."""
        try:
            b0, b1 = await asyncio.wait_for(self.reader.readexactly(2), timeout)
            size = b1 & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return bool(b0 & 0x80), b0 & 0x0F, await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/", maxsplit=1)[0])


def test_binance_raw_and_combined_streams_and_unknown_path() -> None:
    async def go() -> None:
        async with SimServer(seed=1, symbols=BINANCE) as sim:
            url = sim.ws_url("binance")
            async with (
                connect(url + "/btcusdt@depth") as raw_ws,
                connect(
                    sim.ws_url("binance", "/stream?streams=btcusdt@depth/ethusdt@depth@100ms")
                ) as comb,
            ):
                await sim.wait_connections("binance", 2)
                await sim.step(3)
                raws = await drain(raw_ws, 3)
                assert [m["s"] for m in raws] == ["BTCUSDT"] * 3
                wrapped = await drain(comb, 6)
                assert {m["stream"] for m in wrapped} == {"btcusdt@depth", "ethusdt@depth@100ms"}
                assert [m["data"] for m in wrapped if m["stream"] == "btcusdt@depth"] == raws
            with pytest.raises(InvalidStatus):
                async with connect(sim.ws_url("binance", "/nope")):
                    pass

    run(go())


def test_same_seed_same_wire_bytes() -> None:
    async def capture() -> list[str]:
        async with (
            SimServer(seed=11, symbols={"okx": ["BTC-USDT"]}) as sim,
            connect(sim.ws_url("okx")) as ws,
        ):
            await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
            msgs = [await asyncio.wait_for(ws.recv(), 5) for _ in range(2)]
            await sim.step(20)
            msgs += [await asyncio.wait_for(ws.recv(), 5) for _ in range(20)]
            return [str(m) for m in msgs[1:]]

    assert run(capture()) == run(capture())


def test_binance_rest_depth_limit_and_429() -> None:
    async def go() -> None:
        async with SimServer(seed=1, symbols=BINANCE | {"binanceusdm": ["BTCUSDT"]}) as sim:
            base = sim.rest_url("binance")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/api/v3/depth?symbol=BTCUSDT&limit=5") as r:
                    body = await r.json()
                    assert r.status == 200
                assert len(body["bids"]) == len(body["asks"]) == 5
                assert body["lastUpdateId"] == sim.market.feed("binance", "BTCUSDT").last_id
                async with http.get(f"{base}/api/v3/depth?symbol=BTCUSDT&limit=5000") as r:
                    assert len((await r.json())["bids"]) == len(sim.book("binance", "BTCUSDT")[0])
                sim.inject(Fault.HTTP_429, venue="binance", count=2, retry_after=3)
                for _ in range(2):
                    async with http.get(f"{base}/api/v3/depth?symbol=BTCUSDT") as r:
                        assert r.status == 429
                        assert r.headers["Retry-After"] == "3"
                        assert (await r.json())["code"] == -1003
                async with http.get(f"{base}/api/v3/depth?symbol=BTCUSDT") as r:
                    assert r.status == 200
                async with http.get(f"{base}/api/v3/depth?symbol=NOPE") as r:
                    assert r.status == 400
                    assert (await r.json())["code"] == -1121
                fut = sim.rest_url("binanceusdm")
                async with http.get(f"{fut}/fapi/v1/depth?symbol=BTCUSDT&limit=10") as r:
                    body = await r.json()
                    assert {"lastUpdateId", "E", "T", "bids", "asks"} == set(body)
            with pytest.raises(KeyError):
                sim.rest_url("okx")
            assert sim.stats()["venues"]["binance"]["rest_429"] == 2

    run(go())


def test_gap_duplicate_reorder_faults() -> None:
    async def go() -> None:
        async with (
            SimServer(seed=1, symbols={"binance": ["BTCUSDT"]}) as sim,
            connect(sim.ws_url("binance") + "/btcusdt@depth") as ws,
        ):
            await sim.wait_connections("binance")
            await sim.step(1)
            (first,) = await drain(ws, 1)
            assert sim.inject(Fault.GAP, venue="binance") == 1
            await sim.step(2)
            (after_gap,) = await drain(ws, 1)
            assert after_gap["U"] > first["u"] + 1  # one event missing
            sim.inject(Fault.DUPLICATE, venue="binance")
            await sim.step(1)
            a, b = await drain(ws, 2)
            assert a == b
            sim.inject(Fault.REORDER, venue="binance")
            await sim.step(2)
            x, y = await drain(ws, 2)
            assert x["U"] == y["u"] + 1  # second sent first
            stats = sim.stats()["venues"]["binance"]
            assert (stats["dropped"], stats["duplicated"], stats["reordered"]) == (1, 1, 1)

    run(go())


def test_malformed_and_oversized_frames() -> None:
    async def go() -> None:
        async with (
            SimServer(seed=1, symbols={"binance": ["BTCUSDT"]}, max_frame=2**16) as sim,
            connect(sim.ws_url("binance") + "/btcusdt@depth", max_size=2**16) as ws,
        ):
            await sim.wait_connections("binance")
            sim.inject(Fault.MALFORMED, venue="binance")
            await sim.step(1)
            bad = await asyncio.wait_for(ws.recv(), 5)
            with pytest.raises(json.JSONDecodeError):
                json.loads(bad)
            good = await recv_json(ws)
            assert good["e"] == "depthUpdate"
            sim.inject(Fault.OVERSIZED, venue="binance")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.sent is not None
            assert closed.value.sent.code == 1009

    run(go())


def test_fragmented_frames_disconnect_and_rotation() -> None:
    async def go() -> None:
        async with SimServer(seed=1, symbols={"binance": ["BTCUSDT"]}) as sim:
            port = port_of(sim.ws_url("binance"))
            client = await RawFrames.open(port, "/ws/btcusdt@depth")
            try:
                await sim.wait_connections("binance")
                sim.inject(Fault.FRAGMENT, venue="binance", pieces=4)
                await sim.step(1)
                frames: list[tuple[bool, int, bytes]] = []
                while not frames or not frames[-1][0]:
                    frame = await client.frame()
                    assert frame is not None
                    frames.append(frame)
                # a text frame then continuations (websockets ends with an empty final one)
                assert [op for _, op, _ in frames] == [1] + [0] * (len(frames) - 1)
                assert sum(1 for _, _, data in frames if data) == 4
                assert json.loads(b"".join(data for _, _, data in frames))["e"] == "depthUpdate"
                sim.inject(Fault.DISCONNECT, venue="binance")
                assert await client.frame() is None  # EOF, no close frame
            finally:
                await client.close()

            client = await RawFrames.open(port, "/ws/btcusdt@depth")
            try:
                await sim.wait_connections("binance")
                sim.inject(Fault.ROTATE, venue="binance")
                rotated = await client.frame()
                assert rotated is not None
                assert rotated[1] == 8
                assert struct.unpack("!H", rotated[2][:2])[0] == 1001
            finally:
                await client.close()
            stats = sim.stats()["venues"]["binance"]
            assert stats["disconnects"] == stats["rotations"] == stats["fragmented"] == 1

    run(go())


def test_stall_holds_then_delivers() -> None:
    async def go() -> None:
        async with (
            SimServer(seed=1, symbols={"binance": ["BTCUSDT"]}) as sim,
            connect(sim.ws_url("binance") + "/btcusdt@depth") as ws,
        ):
            await sim.wait_connections("binance")
            sim.inject(Fault.STALL, venue="binance", seconds=0.5)
            stepping = asyncio.create_task(sim.step(1))  # queued behind the stall
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.15)
            await stepping
            assert (await recv_json(ws))["e"] == "depthUpdate"

    run(go())


def test_bad_checksum_on_okx_kraken_bitfinex() -> None:
    async def go() -> None:
        async with (
            SimServer(seed=1, symbols={"okx": ["BTC-USDT"], "coinbase": ["BTC-USD"]}) as sim,
            connect(sim.ws_url("okx")) as ws,
        ):
            await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
            await drain(ws, 2)
            await sim.step(1)
            good = (await recv_json(ws))["data"][0]["checksum"]
            sim.inject(Fault.BAD_CHECKSUM, venue="okx")
            await sim.step(1)
            bad = (await recv_json(ws))["data"][0]["checksum"]
            session = sim.session(sim.connections("okx")[0])
            assert session.bad_checksums == 0
            assert good != 0
            assert bad != 0
            with pytest.raises(ValueError, match="no checksum"):
                sim.inject(Fault.BAD_CHECKSUM, venue="coinbase")
            with pytest.raises(ValueError, match="no simulated REST"):
                sim.inject(Fault.HTTP_429, venue="okx")

    run(go())


def test_text_pings_and_heartbeats() -> None:
    async def go() -> None:
        syms = {
            "okx": ["BTC-USDT"],
            "kraken": ["BTC/USD"],
            "bitfinex": ["tBTCUSD"],
            "htx": ["btcusdt"],
        }
        async with SimServer(seed=1, symbols=syms, heartbeat_s=0.05, htx_ping_s=0.05) as sim:
            async with connect(sim.ws_url("okx")) as okx:
                await okx.send("ping")
                assert await asyncio.wait_for(okx.recv(), 5) == "pong"
            async with connect(sim.ws_url("kraken")) as kraken:
                assert (await recv_json(kraken))["channel"] == "status"
                await kraken.send('{"method":"ping","req_id":1}')
                assert (await recv_json(kraken))["method"] == "pong"
            async with connect(sim.ws_url("bitfinex")) as bfx:
                assert (await recv_json(bfx))["event"] == "info"
                await bfx.send('{"event":"subscribe","channel":"book","symbol":"tBTCUSD"}')
                msgs = await drain(bfx, 3)
                assert msgs[2][1] == "hb"
            async with connect(sim.ws_url("htx")) as htx:  # answers pings: stays open
                for _ in range(4):
                    msg = json.loads(gzip.decompress(await asyncio.wait_for(htx.recv(), 5)))
                    await htx.send(json.dumps({"pong": msg["ping"]}))
            async with connect(sim.ws_url("htx", "/feed")) as mute:  # ignores pings: dropped
                with pytest.raises(ConnectionClosed):
                    await recv_until_closed(mute, 10)

    run(go())


def test_timed_pushes_and_slow_consumer() -> None:
    async def go() -> None:
        syms = {"coinbase": ["BTC-USD"]}
        async with SimServer(seed=1, symbols=syms, rate_hz=500, max_queue=50) as sim:
            ws = await connect(sim.ws_url("coinbase"))
            try:
                await ws.send('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}')
                msgs = await drain(ws, 20)
                assert [m["sequence_num"] for m in msgs] == list(range(20))
                sim.inject(Fault.STALL, venue="coinbase", seconds=2)
                with pytest.raises(ConnectionClosed):
                    await recv_until_closed(ws, 10_000)
            finally:
                await ws.close()
            assert sim.stats()["venues"]["coinbase"]["slow_consumer_drops"] == 1
            assert sim.stats()["steps"] > 20

    run(go())
