"""Session matrix: Logon variants and failures (acceptor and initiator side)."""

from __future__ import annotations

import asyncio

import pytest

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
from venuegate.fix.session import FixAcceptor, SessionState
from venuegate.fix.store import MemoryStore


@pytest.mark.parametrize("begin", ["FIX.4.2", "FIX.4.4", "FIXT.1.1"])
def test_acceptor_logon_answers_with_heartbeat_interval(begin: str) -> None:
    async def main() -> None:
        settings = make_settings(begin_string=begin)
        async with acceptor_and_peer(settings, logon=False) as (_, session, peer, app):
            peer.logon(hb=7)
            answer = await peer.expect("A")
            assert answer.begin_string == begin
            assert answer.get(108) == "7"
            assert answer.get(98) == "0"
            assert answer.seq_num == 1
            assert answer.get(49) == US
            assert answer.get(56) == PEER
            assert (answer.get(1137) == "9") is (begin == "FIXT.1.1")
            assert session.state is SessionState.LOGGED_ON
            assert session.logged_on.is_set()
            assert session.heartbeat_interval_s == 7
            assert app.logons == 1
            assert (session.next_sender_seq, session.next_target_seq) == (2, 2)

    run(main())


def test_initiator_logon_fields() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False, heartbeat_interval_s=5) as (ini, s, peer, app):
            logon = await peer.expect("A")
            assert logon.get(108) == "5"
            assert logon.get(98) == "0"
            assert not logon.has(141)
            assert s.state is SessionState.LOGON_SENT
            peer.logon(hb=5)
            assert await ini.wait_logged_on(2.0)
            assert app.logons == 1

    run(main())


def test_initiator_fixt_logon_has_default_appl_ver_id() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False, begin_string="FIXT.1.1") as (_, _s, peer, _a):
            logon = await peer.expect("A")
            assert logon.begin_string == "FIXT.1.1"
            assert logon.get(1137) == "9"

    run(main())


def test_initiator_reset_on_logon_sends_141_and_seq_1() -> None:
    async def main() -> None:
        store = MemoryStore()
        store.next_sender_seq, store.next_target_seq = 40, 30
        async with initiator_and_peer(logon=False, store=store, reset_on_logon=True) as (
            ini,
            s,
            peer,
            _,
        ):
            logon = await peer.expect("A")
            assert logon.get(141) == "Y"
            assert logon.seq_num == 1
            peer.logon(reset=True)
            assert await ini.wait_logged_on(2.0)
            assert (s.next_sender_seq, s.next_target_seq) == (2, 2)

    run(main())


def test_acceptor_accepts_reset_flag_and_answers_with_it() -> None:
    async def main() -> None:
        store = MemoryStore()
        store.next_sender_seq, store.next_target_seq = 12, 9
        async with acceptor_and_peer(store=store, logon=False) as (_, session, peer, _a):
            peer.logon(reset=True)
            answer = await peer.expect("A")
            assert answer.get(141) == "Y"
            assert answer.seq_num == 1
            assert (session.next_sender_seq, session.next_target_seq) == (2, 2)

    run(main())


def test_peer_resets_mid_session_and_initiator_reset_seq_nums() -> None:
    async def main() -> None:
        async with initiator_and_peer() as (_, session, peer, app):
            peer.send("D", [(11, "1")])
            await session.send("D", [(11, "2")])
            await app.wait_app(1)
            # Our side asks for a reset while logged on.
            await session.reset_seq_nums()
            logon = await peer.expect("A", skip=frozenset("0D"))
            assert logon.get(141) == "Y"
            assert logon.seq_num == 1
            peer.seq = 1
            peer.logon(reset=True)
            await wait_for(lambda: session.next_target_seq == 2)
            assert session.next_sender_seq == 2
            assert session.is_logged_on
            # The peer asks for a reset: we answer with 141=Y at seq 1.
            peer.seq = 1
            peer.logon(reset=True)
            answer = await peer.expect("A")
            assert answer.get(141) == "Y"
            assert answer.seq_num == 1

    run(main())


def test_unknown_comp_id_refused_by_acceptor() -> None:
    async def main() -> None:
        acceptor = FixAcceptor([make_settings()], RecordingApp())
        await acceptor.start()
        peer = Peer(sender="STRANGER")
        try:
            await peer.connect(acceptor.port)
            peer.logon()
            assert await peer.drain_until_closed() == []
            assert all(not s.is_logged_on for s in acceptor.sessions.values())
        finally:
            await peer.close()
            await acceptor.stop()

    run(main())


def test_wrong_comp_id_in_logon_answer_rejected_with_reason_9() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False) as (_, session, peer, app):
            await peer.expect("A")
            peer.encoder = type(peer.encoder)("FIX.4.4", "SOMEONE", US)
            peer.logon()
            reject = await peer.expect("3")
            assert reject.get(373) == "9"
            assert reject.get(45) == "1"
            assert reject.get(371) == "49"
            await peer.expect("5")
            assert await peer.closed()
            assert app.logons == 0
            assert session.state in (SessionState.DISCONNECTED, SessionState.CONNECTING)

    run(main())


def test_callable_settings_acceptor_creates_sessions_on_demand() -> None:
    async def main() -> None:
        seen: list[str] = []

        def lookup(msg):  # type: ignore[no-untyped-def]
            seen.append(msg.get(49))
            return make_settings(target_comp_id=msg.get(49)) if msg.get(49) == "DYN" else None

        app = RecordingApp()
        acceptor = FixAcceptor(lookup, lambda: app)
        await acceptor.start()
        good, bad = Peer(sender="DYN"), Peer(sender="NOPE")
        try:
            await good.connect(acceptor.port)
            await bad.connect(acceptor.port)
            good.logon()
            bad.logon()
            assert (await good.expect("A")).get(56) == "DYN"
            assert await bad.drain_until_closed() == []
            assert list(acceptor.sessions) == ["FIX.4.4:US->DYN"]
            assert app.created == [acceptor.sessions["FIX.4.4:US->DYN"]]
        finally:
            await good.close()
            await bad.close()
            await acceptor.stop()
        assert sorted(seen) == ["DYN", "NOPE"]

    run(main())


def test_bad_credentials_rejected_by_from_admin() -> None:
    async def main() -> None:
        app = RecordingApp(reject_logon="invalid signature")
        async with acceptor_and_peer(app=app, logon=False) as (_, session, peer, _a):
            peer.logon()
            logout = await peer.expect("5")
            assert logout.get(58) == "invalid signature"
            assert await peer.closed()
            assert app.logons == 0
            assert not session.is_logged_on

    run(main())


def test_initiator_sees_logout_instead_of_logon_answer() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False) as (ini, session, peer, app):
            await peer.expect("A")
            peer.send("5", [(58, "bad key")])
            assert await peer.closed()
            await wait_for(lambda: ini.connects >= 1 and not session.is_logged_on)
            assert app.logons == 0
            assert "bad key" in session.last_logout_reason

    run(main())


def test_acceptor_logon_timeout() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False, logon_timeout_s=0.2) as (acc, _s, peer, _a):
            assert await peer.closed(2.0)
            assert not acc.connections

    run(main())


def test_initiator_logon_timeout() -> None:
    async def main() -> None:
        async with initiator_and_peer(logon=False, logon_timeout_s=0.2) as (_ini, s, peer, _a):
            await peer.expect("A")
            assert await peer.closed(2.0)
            assert s.last_logout_reason == "logon timeout"

    run(main())


@pytest.mark.parametrize("first", ["0", "D", "1"])
def test_first_message_not_logon_disconnects(first: str) -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (_, session, peer, _a):
            peer.send(first, [(112, "x")] if first == "1" else [])
            assert await peer.drain_until_closed() == []
            assert not session.is_logged_on

    run(main())


def test_logon_seq_too_low_logs_out() -> None:
    async def main() -> None:
        store = MemoryStore()
        store.next_target_seq = 5
        async with acceptor_and_peer(store=store, logon=False) as (_, session, peer, app):
            peer.logon()  # seq 1 while 5 is expected, no reset
            logout = await peer.expect("5")
            assert "MsgSeqNum too low, expecting 5 but received 1" in (logout.get(58) or "")
            assert await peer.closed()
            assert app.logons == 0
            assert not session.is_logged_on

    run(main())


def test_logon_seq_too_high_logs_on_then_resend_requests() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (_, session, peer, app):
            peer.seq = 4
            peer.logon()
            await peer.expect("A")
            rr = await peer.expect("2")
            assert (rr.get(7), rr.get(16)) == ("1", "0")
            assert session.state is SessionState.RESENDING
            # The peer fills 1..3 (its admin messages) with a gap fill, then goes on.
            peer.send("4", [(123, "Y"), (36, 5)], seq=1, poss_dup=True, orig_sending_time=None)
            await wait_for(lambda: session.next_target_seq == 5)
            assert session.state is SessionState.LOGGED_ON
            peer.send("D", [(11, "after")])
            await app.wait_app(1)
            assert app.app_seqs == [5]

    run(main())


def test_logon_outside_schedule_refused() -> None:
    async def main() -> None:
        import datetime as dt

        from venuegate.fix.schedule import SessionSchedule

        now = dt.datetime.now(dt.UTC)
        start = (now + dt.timedelta(hours=2)).time().replace(microsecond=0)
        end = (now + dt.timedelta(hours=3)).time().replace(microsecond=0)
        schedule = SessionSchedule(start_time=start, end_time=end)
        assert not schedule.is_active(now)
        async with acceptor_and_peer(logon=False, schedule=schedule) as (_, session, peer, _a):
            peer.logon()
            assert await peer.drain_until_closed() == []
            assert not session.is_logged_on

    run(main())


def test_second_connection_for_a_logged_on_session_refused() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (acc, session, _peer, _a):
            other = Peer()
            await other.connect(acc.port)
            other.logon()
            assert await other.drain_until_closed() == []
            await other.close()
            assert session.is_logged_on

    run(main())


def test_logon_missing_heart_bt_int_rejected() -> None:
    async def main() -> None:
        async with acceptor_and_peer(logon=False) as (_, _s, peer, app):
            peer.send("A", [(98, 0)])
            reject = await peer.expect("3")
            assert (reject.get(373), reject.get(371)) == ("1", "108")
            await peer.expect("5")
            assert await peer.closed()
            assert app.logons == 0

    run(main())


def test_sessions_survive_concurrent_peers() -> None:
    async def main() -> None:
        settings = [make_settings(target_comp_id=f"P{i}") for i in range(3)]
        acceptor = FixAcceptor(settings, RecordingApp)
        await acceptor.start()
        peers = [Peer(sender=f"P{i}") for i in range(3)]
        try:
            for p in peers:
                await p.connect(acceptor.port)
                p.logon()
            answers = await asyncio.gather(*(p.expect("A") for p in peers))
            assert [a.get(56) for a in answers] == ["P0", "P1", "P2"]
            apps = {id(s.app) for s in acceptor.sessions.values()}
            assert len(apps) == 3  # a factory: one Application per session
        finally:
            for p in peers:
                await p.close()
            await acceptor.stop()

    run(main())
