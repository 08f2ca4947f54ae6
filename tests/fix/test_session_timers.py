"""Session matrix: heartbeats, TestRequest on silence, timeouts, logout in every state."""

from __future__ import annotations

import asyncio

import pytest

from tests.fix.conftest import (
    Peer,
    acceptor_and_peer,
    initiator_and_peer,
    make_settings,
    run,
    wait_for,
)
from venuegate.fix.session import FixInitiator, NotLoggedOnError, SessionState


def test_heartbeat_sent_after_interval_of_our_silence() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False, heartbeat_interval_s=1) as (ini, s, peer, _a):
            await peer.expect("A")
            peer.logon(hb=1)
            assert await ini.wait_logged_on(2.0)

            # Keep the peer talking so no TestRequest is due; our side must heartbeat.
            async def chatter() -> None:
                while True:
                    peer.send("0")
                    await asyncio.sleep(0.2)

            task = asyncio.create_task(chatter())
            try:
                hb = await peer.expect("0", timeout=2.5, skip=frozenset())
            finally:
                task.cancel()
            assert not hb.has(112)
            assert s.is_logged_on
            assert s.stats.test_requests_sent == 0

    run(main())


def test_test_request_on_silence_then_disconnect_when_unanswered() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (_, session, peer, app):
            peer.logon(hb=1)
            await peer.expect("A")
            tr = await peer.expect("1", timeout=2.5)  # ~1.2 s of silence
            assert tr.get(112)
            assert session.stats.test_requests_sent == 1
            # Unanswered: disconnected after ~2.4 s of silence in all.
            assert await peer.closed(2.5)
            assert session.stats.heartbeat_timeouts == 1
            assert app.logouts == ["heartbeat timeout"]

    run(main())


def test_test_request_answered_keeps_session() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (_, session, peer, _a):
            peer.logon(hb=1)
            await peer.expect("A")
            tr = await peer.expect("1", timeout=2.5)
            peer.send("0", [(112, tr.get(112))])
            await wait_for(lambda: session._test_req_id is None)
            assert session.is_logged_on

    run(main())


def test_pause_heartbeats_stops_answers_to_test_requests() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _a):
            session.pause_heartbeats(True)
            peer.send("1", [(112, "t1")])
            peer.send("D", [(11, "x")])
            await wait_for(lambda: session.next_target_seq == 4)
            session.pause_heartbeats(False)
            peer.send("1", [(112, "t2")])
            hb = await peer.expect("0", skip=frozenset())
            assert hb.get(112) == "t2"

    run(main())


# -- logout in every state ---------------------------------------------------------------------


def test_logout_when_logged_on_handshake_answered() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            task = asyncio.create_task(session.logout("end of day"))
            logout = await peer.expect("5")
            assert logout.get(58) == "end of day"
            assert session.state is SessionState.LOGOUT_SENT
            with pytest.raises(NotLoggedOnError):
                await session.send("D", [(11, "late")])
            peer.send("5")
            await task
            assert await peer.closed()
            assert session.state is SessionState.DISCONNECTED
            assert app.logouts == ["end of day"]

    run(main())


def test_logout_when_logged_on_unanswered_times_out() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logout_timeout_s=0.2) as (_, session, peer, _a):
            await session.logout("bye")
            await peer.expect("5")
            assert await peer.closed()
            assert session.state is SessionState.DISCONNECTED
            assert session.last_logout_reason == "bye"

    run(main())


def test_logout_received_is_answered_then_disconnected() -> None:
    async def main() -> None:
        async with initiator_and_peer() as (ini, _session, peer, app):
            peer.send("5", [(58, "maintenance")])
            answer = await peer.expect("5")
            assert answer.seq_num == 2
            assert await peer.closed()
            await wait_for(lambda: app.logouts != [])
            assert "maintenance" in app.logouts[0]
            assert ini.session.next_target_seq == 3

    run(main())


def test_logout_while_logon_sent_disconnects() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False) as (ini, session, peer, app):
            await peer.expect("A")
            assert session.state is SessionState.LOGON_SENT
            await session.logout()
            assert await peer.closed()
            assert session.state is SessionState.DISCONNECTED
            assert not session.enabled
            assert app.logouts == []  # never logged on
            connects = ini.connects
            await asyncio.sleep(0.2)
            assert ini.connects == connects  # no reconnect after logout()

    run(main())


def test_connection_without_logon_closed_on_acceptor_stop() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (acc, session, peer, _a):
            await wait_for(lambda: len(acc.connections) == 1)
            await session.logout()  # not bound to this connection yet: nothing to do
            assert session.state is SessionState.DISCONNECTED
            await acc.stop()
            assert await peer.closed()

    run(main())


def test_logout_while_disconnected_is_a_no_op() -> None:
    async def main() -> None:
        settings = make_settings(host="127.0.0.1", port=9)
        ini = FixInitiator(settings)
        session = ini.session
        assert session.state is SessionState.DISCONNECTED
        await session.logout("nothing to do")
        assert session.state is SessionState.DISCONNECTED
        assert not session.enabled
        with pytest.raises(NotLoggedOnError):
            await session.send("D", [(11, "x")])

    run(main())


def test_logout_while_resending() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _a):
            peer.seq = 5
            peer.send("D", [(11, "x")])
            await peer.expect("2")
            assert session.state is SessionState.RESENDING
            task = asyncio.create_task(session.logout("stop"))
            logout = await peer.expect("5")
            assert logout.get(58) == "stop"
            peer.send("5", seq=6)
            await task
            assert await peer.closed()

    run(main())


def test_logout_twice_while_logout_sent() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logout_timeout_s=0.3) as (_, session, peer, _a):
            first = asyncio.create_task(session.logout("one"))
            await peer.expect("5")
            assert session.state is SessionState.LOGOUT_SENT
            await session.logout("two")  # no second Logout; waits for the first to finish
            await first
            rest = await peer.drain_until_closed()
            assert [m.msg_type for m in rest if m.msg_type != "0"] == []

    run(main())


def test_logout_in_awaiting_logon_state_of_bound_session() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (acc, session, peer, _a):
            # Bind by hand: a session attached, its Logon not processed yet.
            peer.logon()
            await peer.expect("A")
            session.state = SessionState.AWAITING_LOGON
            session._received_logon = False
            await session.logout()
            assert await peer.closed()
            assert session.state is SessionState.DISCONNECTED
            del acc

    run(main())


def test_initiator_stop_logs_out() -> None:
    async def main() -> None:
        peer = Peer()
        port = await peer.listen()
        ini = FixInitiator(make_settings(host="127.0.0.1", port=port))
        await ini.start()
        try:
            await peer.accepted()
            await peer.expect("A")
            peer.logon()
            assert await ini.wait_logged_on(2.0)
            stop = asyncio.create_task(ini.stop())
            await peer.expect("5")
            peer.send("5")
            await stop
            assert await peer.closed()
            assert ini.session.state is SessionState.DISCONNECTED
        finally:
            await peer.close()

    run(main())
