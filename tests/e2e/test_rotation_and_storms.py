"""Connection rotation without a gap (Binance's 24 h cut, shortened) and resync spreading: a mass
disconnect of many books must not turn into a snapshot storm."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from venuegate.feeds import VenueBookFeed
from venuegate.md import BookSession, Instrument
from venuegate.net.thread_ws import ThreadClient
from venuegate.net.ws import Transport, WsClient
from venuegate.sim.md import Fault, SimServer
from venuegate.ws import WsDecoder


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class _Counted:
    """Counts a session's per-message Python calls and records its native fused reads."""

    def __init__(self, session: BookSession) -> None:
        self.on_message_calls = 0
        self.fused_reads: list[object] = []  # the active connection at each fused read
        on_message, on_read = session._on_message, session._on_read

        def counted_on_message(payload: bytes, opcode: int, recv_ns: int) -> None:
            self.on_message_calls += 1
            on_message(payload, opcode, recv_ns)

        def counted_on_read(
            feed: VenueBookFeed, decoder: WsDecoder, data: bytes, recv_ns: int
        ) -> list[tuple[int, bytes]]:
            self.fused_reads.append(session._client)
            return on_read(feed, decoder, data, recv_ns)

        session._on_message = counted_on_message  # type: ignore[method-assign]
        session._on_read = counted_on_read  # type: ignore[method-assign]


async def _assert_rotated_in_is_fused(
    session: BookSession, counted: _Counted, first: object, transport: Transport
) -> None:
    """Watches the current (rotated-in) connection: nothing per message goes through Python."""
    client = session._client
    assert client is not None
    assert client is not first
    calls_before, reads_before = counted.on_message_calls, len(counted.fused_reads)
    messages_before = session.stats.messages
    applied_before = client.applied if isinstance(client, ThreadClient) else 0
    await asyncio.sleep(0.6)
    assert counted.on_message_calls == calls_before
    assert session.stats.messages - messages_before >= 30  # still counted after the rotation
    if transport == "thread":
        # The reader thread applies (fused), the session ticks for it.
        assert isinstance(client, ThreadClient)
        assert client.fused
        assert session._thread_client is client
        assert client.applied - applied_before >= 30
        latency = session.latency()
        assert latency is not None
        assert latency["count"]
    else:
        # Every read of the new connection goes through the fused `_on_read`.
        assert isinstance(client, WsClient)
        new_reads = counted.fused_reads[reads_before:]
        assert len(new_reads) >= 10
        assert all(c is client for c in new_reads)


@pytest.mark.parametrize("transport", ["native", "thread"])
def test_rotation_is_gapless(transport: Transport) -> None:
    async def main() -> None:
        async with SimServer(seed=9, symbols={"binance": ["BTCUSDT"]}, rate_hz=300) as sim:
            session = BookSession(
                "binance",
                [Instrument("BTCUSDT", 2, 5)],
                ws_url=sim.ws_url("binance", ""),
                rest_url=sim.rest_url("binance"),
                max_connection_age=1.0,
                transport=transport,
            )
            counted = _Counted(session)
            session.start()
            await session.wait_synced(10)
            feed = session.feeds["BTCUSDT"]
            snapshots_before = feed.stats()["snapshots"]
            resyncs_before = session.stats.resyncs
            first = session._client
            deadline = time.monotonic() + 20
            while session.stats.rotations < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # No more rotations: watch the rotated-in connection on its own.
            session.max_connection_age = 1e9
            await asyncio.sleep(0.2)
            await _assert_rotated_in_is_fused(session, counted, first, transport)
            sim.pause()
            await asyncio.sleep(0.3)
            want = sim.book("binance", "BTCUSDT")
            got = session.book("BTCUSDT").top(1000)
            await session.stop()
        assert session.stats.rotations >= 3
        assert session.stats.connects == 1 + session.stats.rotations  # each rotation: one new
        assert session.stats.reconnects == 0
        # No gap, no new snapshot, no resync: the next connection bridged the sequence every time.
        assert feed.stats()["gaps"] == 0
        assert feed.stats()["snapshots"] == snapshots_before
        assert session.stats.resyncs == resyncs_before
        assert session.stats.connection_gaps == 0
        assert not feed.stale
        assert got == (want[0][: len(got[0])], want[1][: len(got[1])])
        assert len(got[0]) == len(want[0])

    run(main())


def test_mass_disconnect_spreads_snapshots() -> None:
    symbols = [f"S{i:02d}USDT" for i in range(12)]

    async def main() -> tuple[BookSession, list[float]]:
        from decimal import Decimal

        from venuegate.sim.md.book import Instrument as SimInstrument

        insts = [
            SimInstrument(s, Decimal("0.01"), Decimal("0.001"), Decimal(100 + i), Decimal(1))
            for i, s in enumerate(symbols)
        ]
        async with SimServer(seed=2, symbols={"binance": insts}, rate_hz=50) as sim:
            session = BookSession(
                "binance",
                [Instrument(s, 2, 3) for s in symbols],
                ws_url=sim.ws_url("binance", ""),
                rest_url=sim.rest_url("binance"),
                snapshots_per_second=10,
                backoff=(0.01, 0.05),
            )
            times: list[float] = []
            original = session._rest_snapshot

            async def observed(symbol: str) -> None:
                times.append(time.monotonic())
                await original(symbol)

            session._rest_snapshot = observed  # type: ignore[method-assign]
            session.start()
            await session.wait_synced(20)
            times.clear()
            sim.inject(Fault.DISCONNECT, venue="binance")
            deadline = time.monotonic() + 10
            while session.stats.reconnects == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            await session.wait_synced(30)
            await session.stop()
            return session, times

    session, times = run(main())
    assert session.stats.reconnects >= 1
    assert len(times) >= len(symbols)
    # Token bucket at 10/s with a burst of 10: 12 snapshots take at least 0.1 s more than the
    # burst allows, and never more than the burst land within any 100 ms.
    spans = [b - a for a, b in zip(times, times[10:], strict=False)]
    assert all(span >= 0.09 for span in spans), spans


def test_control_messages_respect_the_venue_send_limit() -> None:
    # Bitfinex: one conf plus one subscribe per book, at most max_sends_per_second.
    from venuegate.md.venues import Bitfinex

    symbols = [f"tS{i:02d}USD" for i in range(8)]
    session = BookSession("bitfinex", [Instrument(s, 2, 8) for s in symbols], spec=Bitfinex())

    class Recorder:
        open = True

        def __init__(self) -> None:
            self.sent: list[float] = []

        def send_text(self, data: str | bytes) -> None:
            self.sent.append(time.monotonic())

    async def main() -> list[float]:
        rec = Recorder()
        for msg in session.spec.subscribe(symbols):
            await session._send(rec, msg)  # type: ignore[arg-type]
        return rec.sent

    sent = run(main())
    assert len(sent) == 1 + len(symbols)
    rate = session.spec.max_sends_per_second
    # After the first (burst of one), messages are spaced by at least 1/rate.
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 0.95 / rate, gaps


def test_latency_stamps_are_ordered() -> None:
    updates: list[tuple[int, int, int, int]] = []

    async def main() -> None:
        async with SimServer(seed=4, symbols={"coinbase": ["BTC-USD"]}, rate_hz=200) as sim:
            session = BookSession(
                "coinbase",
                [Instrument("BTC-USD", 2, 8)],
                ws_url=sim.ws_url("coinbase"),
                on_update=lambda u: updates.append(
                    (u.recv_ns, u.decoded_ns, u.applied_ns, u.callback_ns)
                ),
            )
            session.start()
            await session.wait_synced(10)
            await asyncio.sleep(0.5)
            await session.stop()

    run(main())
    assert len(updates) > 20
    assert all(r <= d <= a <= c for r, d, a, c in updates)
    assert any(d > r for r, d, _, _ in updates)


def test_new_connections_share_the_venue_connect_budget() -> None:
    from typing import ClassVar

    from venuegate.md.session import _connect_bucket
    from venuegate.md.venues import Okx

    class Tight(Okx):
        name = "okx-tight"
        connects: ClassVar[tuple[float, float]] = (10.0, 2.0)

    async def main() -> list[float]:
        stamps = []
        for _ in range(6):
            await _connect_bucket(Tight()).take()
            stamps.append(time.monotonic())
        return stamps

    stamps = run(main())
    # A burst of 2, then one per 100 ms: six connects take at least 0.4 s, and the budget is one
    # object shared by every session of the venue.
    assert stamps[-1] - stamps[0] >= 0.35
    assert _connect_bucket(Tight()) is _connect_bucket(Tight())
