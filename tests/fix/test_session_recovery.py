"""Session matrix: restart from the store, forced gaps between two of our sessions, reconnect,
fault hooks, TLS, uvloop, schedules and credential hygiene."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import uvloop

from tests._tls import LoopbackTls
from tests.fix.conftest import (
    PEER,
    US,
    Peer,
    RecordingApp,
    acceptor_and_peer,
    initiator_and_peer,
    make_settings,
    run,
    wait_for,
)
from venuegate.fix.schedule import SessionSchedule
from venuegate.fix.session import FixAcceptor, FixInitiator, SessionState
from venuegate.fix.store import JournalStore, MemoryStore, read_store

# -- restart --------------------------------------------------------------------------------


def test_restart_resumes_seq_numbers_and_resends_old_messages(tmp_path: Path) -> None:
    path = str(tmp_path / "us.fixlog")

    async def first_run() -> None:
        async with initiator_and_peer(store_path=path) as (_, session, peer, app):
            await session.send("D", [(11, "c2"), (38, "1")])
            await session.send("D", [(11, "c3"), (38, "2")])
            peer.send("8", [(37, "e2")])
            await app.wait_app(1)
            await peer.expect("D")
            await peer.expect("D")
            assert (session.next_sender_seq, session.next_target_seq) == (4, 3)
        # stop() logged out: our Logout used 4, the peer's answer (not sent) would be 3.

    async def second_run() -> None:
        store = JournalStore(path)
        assert (store.next_sender_seq, store.next_target_seq) == (5, 3)
        async with initiator_and_peer(store=store, logon=False, store_path=path) as (
            ini,
            _session,
            peer,
            app,
        ):
            logon = await peer.expect("A")
            assert logon.seq_num == 5
            peer.seq = 3
            peer.logon()
            assert await ini.wait_logged_on(2.0)
            peer.send("2", [(7, 2), (16, 3)])
            replays = await peer.collect(2)
            assert [(m.msg_type, m.seq_num, m.get(43)) for m in replays] == [
                ("D", 2, "Y"),
                ("D", 3, "Y"),
            ]
            assert [m.get(11) for m in replays] == ["c2", "c3"]
            assert all(m.has(122) for m in replays)
            assert app.app_msgs == []

    run(first_run())
    run(second_run())


def test_restart_of_acceptor_keeps_expected_seq(tmp_path: Path) -> None:
    path = str(tmp_path / "acc.fixlog")

    async def first() -> None:
        async with acceptor_and_peer(store_path=path) as (_, _s, peer, app):
            peer.send("D", [(11, "a")])
            peer.send("D", [(11, "b")])
            await app.wait_app(2)
            peer.writer.transport.abort()  # type: ignore[union-attr]  # crash, no Logout
            await peer.closed()

    async def second() -> None:
        async with acceptor_and_peer(store_path=path, logon=False) as (_, session, peer, app):
            assert session.next_target_seq == 4
            peer.seq = 4
            peer.logon()
            answer = await peer.expect("A")
            assert answer.seq_num == 2
            peer.send("D", [(11, "c")])
            await app.wait_app(1)
            assert app.app_seqs == [5]

    run(first())
    run(second())


# -- two of our own sessions -------------------------------------------------------------------


class Collect(RecordingApp):
    pass


async def _pair(**kw: Any) -> tuple[FixAcceptor, FixInitiator, Collect, Collect]:
    acc_app, ini_app = Collect(), Collect()
    acc_settings = make_settings(sender_comp_id="VENUE", target_comp_id="CLIENT", **kw)
    acceptor = FixAcceptor([acc_settings], acc_app)
    await acceptor.start()
    ini_settings = make_settings(
        sender_comp_id="CLIENT", target_comp_id="VENUE", host="127.0.0.1", port=acceptor.port, **kw
    )
    initiator = FixInitiator(ini_settings, ini_app)
    await initiator.start()
    assert await initiator.wait_logged_on(2.0)
    return acceptor, initiator, acc_app, ini_app


def test_forced_gap_recovered_no_message_lost_or_applied_twice() -> None:
    async def main() -> None:
        acceptor, initiator, _acc_app, ini_app = await _pair()
        try:
            venue = acceptor.sessions["FIX.4.4:VENUE->CLIENT"]
            dropped: list[int] = []

            def drop_some(seq: int, raw: bytes) -> bytes | None:
                if seq in (4, 5, 8) and seq not in dropped:
                    dropped.append(seq)
                    return None
                return raw

            venue.outbound_filter = drop_some
            for i in range(10):
                await venue.send("8", [(37, f"e{i}"), (17, f"x{i}")])
            await ini_app.wait_app(10, timeout=3.0)
            await wait_for(lambda: initiator.session.state is SessionState.LOGGED_ON)
            assert [m.get(37) for m in ini_app.app_msgs] == [f"e{i}" for i in range(10)]
            assert ini_app.app_seqs == list(range(2, 12))
            assert dropped == [4, 5, 8]
            assert initiator.session.stats.resend_requests_sent >= 1
            assert venue.stats.messages_replayed >= 3
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_skip_seq_gap_recovered_by_gap_fill() -> None:
    async def main() -> None:
        acceptor, initiator, _acc_app, ini_app = await _pair()
        try:
            venue = acceptor.sessions["FIX.4.4:VENUE->CLIENT"]
            await venue.send("8", [(37, "a")])
            venue.skip_seq(3)
            await venue.send("8", [(37, "b")])
            await ini_app.wait_app(2)
            assert [m.get(37) for m in ini_app.app_msgs] == ["a", "b"]
            assert ini_app.app_seqs == [2, 6]
            assert venue.stats.gap_fills_sent == 1
            assert initiator.session.stats.gap_fills_received == 1
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_duplicate_without_poss_dup_logs_out_then_recovers_exactly_once() -> None:
    async def main() -> None:
        acceptor, initiator, acc_app, _ini_app = await _pair()
        try:
            doubled: list[int] = []

            def double_seq_3(seq: int, raw: bytes) -> list[bytes]:
                if seq == 3 and not doubled:
                    doubled.append(seq)
                    return [raw, raw]
                return [raw]

            initiator.session.outbound_filter = double_seq_3
            for i in range(3):
                await initiator.session.send("D", [(11, f"c{i}")])
            venue = acceptor.sessions["FIX.4.4:VENUE->CLIENT"]
            # The duplicate (seq 3 again, no PossDup) is "seq too low": Logout, disconnect;
            # the client reconnects and the venue recovers seq 4 by resend.
            await acc_app.wait_app(3, timeout=3.0)
            assert [m.get(11) for m in acc_app.app_msgs] == ["c0", "c1", "c2"]
            assert acc_app.app_seqs == [2, 3, 4]
            assert acc_app.logouts
            assert "too low" in acc_app.logouts[0]
            assert venue.stats.disconnects >= 1
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_drop_connection_reconnects_and_resends_what_was_lost() -> None:
    async def main() -> None:
        acceptor, initiator, _acc_app, ini_app = await _pair()
        try:
            venue = acceptor.sessions["FIX.4.4:VENUE->CLIENT"]
            venue.outbound_filter = lambda seq, raw: None if seq == 3 else raw
            await venue.send("8", [(37, "a")])
            await venue.send("8", [(37, "lost")])  # seq 3 never reaches the client
            await ini_app.wait_app(1)
            venue.outbound_filter = None
            venue.drop_connection()
            await wait_for(lambda: initiator.connects >= 2, timeout=3.0)
            assert await initiator.wait_logged_on(2.0)
            # The venue's Logon (seq 4) reveals the gap: 3 is replayed.
            await ini_app.wait_app(2)
            assert [m.get(37) for m in ini_app.app_msgs] == ["a", "lost"]
            assert ini_app.logouts  # the drop ended the first logged-on period
            assert ini_app.logons == 2
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_initiator_reconnects_with_backoff_until_the_acceptor_appears() -> None:
    async def main() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        settings = make_settings(host="127.0.0.1", port=port)
        initiator = FixInitiator(settings)
        await initiator.start()
        try:
            await wait_for(lambda: initiator.last_error is not None)
            peer = Peer()
            await peer.listen(port)
            await peer.accepted(3.0)
            await peer.expect("A")
            peer.logon()
            assert await initiator.wait_logged_on(2.0)
            await peer.close()
        finally:
            await initiator.stop()

    run(main())


# -- TLS and uvloop ---------------------------------------------------------------------------


def test_tls_initiator_and_acceptor(loopback_tls: LoopbackTls) -> None:
    server_ctx = loopback_tls.server_ctx

    async def main() -> None:
        acc_app, ini_app = Collect(), Collect()
        acceptor = FixAcceptor(
            [make_settings(sender_comp_id="VENUE", target_comp_id="CLIENT")],
            acc_app,
            ssl=server_ctx,
        )
        await acceptor.start()
        settings = make_settings(
            sender_comp_id="CLIENT",
            target_comp_id="VENUE",
            host="127.0.0.1",
            port=acceptor.port,
            ssl=True,
            ssl_verify=False,  # self-signed test certificate; verification is on by default
            server_hostname="localhost",
        )
        initiator = FixInitiator(settings, ini_app)
        await initiator.start()
        try:
            assert await initiator.wait_logged_on(3.0)
            await initiator.session.send("D", [(11, "over-tls")])
            await acc_app.wait_app(1)
            assert acc_app.app_msgs[0].get(11) == "over-tls"
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_tls_verification_on_by_default_refuses_self_signed(loopback_tls: LoopbackTls) -> None:
    server_ctx = loopback_tls.server_ctx

    async def main() -> None:
        acceptor = FixAcceptor(
            [make_settings(sender_comp_id="V", target_comp_id="C")], Collect(), ssl=server_ctx
        )
        await acceptor.start()
        settings = make_settings(
            sender_comp_id="C",
            target_comp_id="V",
            host="127.0.0.1",
            port=acceptor.port,
            ssl=True,
            server_hostname="localhost",
        )
        initiator = FixInitiator(settings)
        await initiator.start()
        try:
            await wait_for(lambda: initiator.last_error is not None, timeout=3.0)
            assert isinstance(initiator.last_error, ssl.SSLError)
            assert not initiator.session.is_logged_on
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main())


def test_round_trip_under_uvloop() -> None:
    async def main() -> None:
        acceptor, initiator, acc_app, ini_app = await _pair()
        try:
            venue = acceptor.sessions["FIX.4.4:VENUE->CLIENT"]
            await initiator.session.send("D", [(11, "uv")])
            await acc_app.wait_app(1)
            await venue.send("8", [(11, "uv"), (39, "0")])
            await ini_app.wait_app(1)
            assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        finally:
            await initiator.stop()
            await acceptor.stop()

    run(main(), loop_factory=uvloop.new_event_loop)


# -- schedules --------------------------------------------------------------------------------


def test_schedule_windows() -> None:
    utc = dt.UTC
    day = SessionSchedule(start_time=dt.time(8), end_time=dt.time(17))
    assert day.is_active(dt.datetime(2026, 1, 5, 12, tzinfo=utc))
    assert not day.is_active(dt.datetime(2026, 1, 5, 18, tzinfo=utc))
    assert day.session_start(dt.datetime(2026, 1, 5, 12, tzinfo=utc)) == dt.datetime(
        2026, 1, 5, 8, tzinfo=utc
    )
    overnight = SessionSchedule(start_time=dt.time(17), end_time=dt.time(16, 59))
    assert overnight.crosses_midnight
    assert overnight.is_active(dt.datetime(2026, 1, 6, 3, tzinfo=utc))
    assert not overnight.is_active(dt.datetime(2026, 1, 6, 16, 59, 30, tzinfo=utc))
    assert overnight.session_start(dt.datetime(2026, 1, 6, 3, tzinfo=utc)) == dt.datetime(
        2026, 1, 5, 17, tzinfo=utc
    )
    weekdays = SessionSchedule(
        start_time=dt.time(0), end_time=dt.time(23, 59), days=(0, 1, 2, 3, 4)
    )
    saturday = dt.datetime(2026, 1, 10, 12, tzinfo=utc)
    assert not weekdays.is_active(saturday)
    assert weekdays.next_start(saturday) == dt.datetime(2026, 1, 12, 0, tzinfo=utc)
    ny = SessionSchedule(
        start_time=dt.time(9, 30), end_time=dt.time(16), timezone="America/New_York"
    )
    assert ny.is_active(dt.datetime(2026, 7, 1, 14, tzinfo=utc))  # 10:00 EDT
    assert not ny.is_active(dt.datetime(2026, 7, 1, 21, tzinfo=utc))  # 17:00 EDT
    assert ny.seconds_until_active(dt.datetime(2026, 7, 1, 13, 0, tzinfo=utc)) == 1800.0
    with pytest.raises(ValueError, match="time zone"):
        SessionSchedule(timezone="Mars/Olympus")


def test_daily_reset_at_session_start() -> None:
    async def main() -> None:
        now = dt.datetime.now(dt.UTC)
        start = (now - dt.timedelta(minutes=30)).time().replace(microsecond=0)
        end = (now + dt.timedelta(minutes=30)).time().replace(microsecond=0)
        schedule = SessionSchedule(start_time=start, end_time=end)
        store = MemoryStore()
        store.next_sender_seq, store.next_target_seq = 50, 60
        store.creation_time_ns = int((now - dt.timedelta(hours=2)).timestamp() * 1e9)
        async with acceptor_and_peer(store=store, schedule=schedule) as (_, session, _p, _a):
            # The store predates this window: reset, the peer's Logon at 1 was accepted.
            assert (session.next_sender_seq, session.next_target_seq) == (2, 2)

    run(main())


def test_session_outside_window_is_logged_out() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _a):
            now = dt.datetime.now(dt.UTC)
            closed = SessionSchedule(
                start_time=(now + dt.timedelta(hours=1)).time().replace(microsecond=0),
                end_time=(now + dt.timedelta(hours=2)).time().replace(microsecond=0),
            )
            session.settings = session.settings.model_copy(update={"schedule": closed})
            logout = await peer.expect("5")
            assert logout.get(58) == "session window closed"
            peer.send("5")
            assert await peer.closed()

    run(main())


@pytest.mark.parametrize(
    ("flag", "when"), [("reset_on_logout", "logout"), ("reset_on_disconnect", "drop")]
)
def test_reset_on_logout_and_disconnect(flag: str, when: str) -> None:
    async def main() -> None:
        async with acceptor_and_peer(**{flag: True}) as (_, session, peer, _a):
            await session.send("8", [(37, "x")])
            assert session.next_sender_seq == 3
            if when == "logout":
                peer.send("5")
            else:
                peer.writer.transport.abort()  # type: ignore[union-attr]
            await wait_for(lambda: session.state is SessionState.DISCONNECTED)
            assert (session.next_sender_seq, session.next_target_seq) == (1, 1)

    run(main())


# -- credentials --------------------------------------------------------------------------------

PASSWORD = "Pw-very-secret-0123456789"
SIGNATURE = b"SIG\x01with-soh-and-secret-bytes=="
USERNAME = "user-key-abcdefghijklmnop"


def test_credentials_never_reach_logs_or_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "creds.fixlog"
    creds: list[tuple[int, Any]] = [
        (553, USERNAME),
        (554, PASSWORD),
        (95, len(SIGNATURE)),
        (96, SIGNATURE),
    ]

    async def main() -> None:
        app = RecordingApp(credentials=creds)
        async with initiator_and_peer(app=app, logon=False, store_path=str(path)) as (
            ini,
            session,
            peer,
            _a,
        ):
            logon = await peer.expect("A")
            assert logon.get(554) == PASSWORD  # on the wire, as the venue needs it
            assert logon.get_bytes(96) == SIGNATURE
            peer.logon()
            assert await ini.wait_logged_on(2.0)
            await session.send("D", [(11, "c1")])
            await peer.expect("D")
            # A resend of the Logon's seq is a gap fill, never the Logon again.
            peer.send("2", [(7, 1), (16, 0)])
            got = await peer.collect(2)
            assert [(m.msg_type, m.seq_num) for m in got] == [("4", 1), ("D", 2)]

    caplog.set_level(logging.DEBUG, logger="venuegate.fix")
    run(main())
    text = caplog.text
    assert "35=A" in text  # the Logon was logged (masked)
    for secret in (PASSWORD, "with-soh-and-secret-bytes", USERNAME):
        assert secret not in text
    stored = path.read_bytes()
    for secret in (PASSWORD.encode(), b"with-soh-and-secret-bytes", USERNAME.encode()):
        assert secret not in stored
    export = read_store(path)
    assert [seq for seq, _, _ in export["messages"]] == [2]
    assert PASSWORD not in repr(export)


def test_settings_repr_round_trip() -> None:
    settings = make_settings(validate=False)
    assert settings.session_id == f"FIX.4.4:{US}->{PEER}"
    assert settings.validate is False
    with pytest.raises(ValueError, match="default_appl_ver_id"):
        make_settings(begin_string="FIXT.1.1", default_appl_ver_id=None)
    with pytest.raises(ValueError, match="dictionary"):
        make_settings(validate=True)
