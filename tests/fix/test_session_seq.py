"""Session matrix: sequence numbers, gaps, resends, PossDup, resets, garbled and bad headers."""

from __future__ import annotations

import re

import pytest

from tests.fix.conftest import (
    RecordingApp,
    acceptor_and_peer,
    initiator_and_peer,
    limit_order,
    make_settings,
    run,
    wait_for,
)
from venuegate.fix.codec import encode_message, parse_utc_timestamp, utc_timestamp
from venuegate.fix.session import BusinessReject, SessionReject, SessionState


def test_in_order_app_messages_delivered_once() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            for i in range(5):
                peer.send("D", [(11, f"o{i}")])
            await app.wait_app(5)
            assert app.app_seqs == [2, 3, 4, 5, 6]
            assert [m.get(11) for m in app.app_msgs] == [f"o{i}" for i in range(5)]
            assert session.next_target_seq == 7

    run(main())


def test_gap_queues_later_messages_and_applies_them_once_in_order() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            sent = {}
            for seq in range(2, 7):
                sent[seq] = peer.build("D", [(11, f"o{seq}")])
            peer.send_raw(sent[2])
            await app.wait_app(1)
            peer.send_raw(sent[4])  # 3 lost
            rr = await peer.expect("2")
            assert (rr.get(7), rr.get(16)) == ("3", "0")
            assert session.state is SessionState.RESENDING
            peer.send_raw(sent[5])
            peer.send_raw(sent[6])
            # Only one ResendRequest for the gap while it is pending.
            await wait_for(lambda: session.stats.queued == 3)
            assert session.stats.resend_requests_sent == 1
            assert app.app_seqs == [2]
            # The peer replays 3..6 (PossDup); 3 fills the gap, the queue drains, 4..6 replays
            # are duplicates and ignored.
            for seq in range(3, 7):
                peer.send(
                    "D",
                    [(11, f"o{seq}")],
                    seq=seq,
                    poss_dup=True,
                    orig_sending_time=utc_timestamp(),
                )
            await app.wait_app(5)
            await wait_for(lambda: session.stats.duplicates_ignored == 3)
            assert app.app_seqs == [2, 3, 4, 5, 6]
            assert [m.get(11) for m in app.app_msgs] == [f"o{s}" for s in range(2, 7)]
            assert session.state is SessionState.LOGGED_ON
            assert session.next_target_seq == 7

    run(main())


def test_queue_behind_a_gap_is_bounded() -> None:
    """A peer that keeps sending past a gap it never fills: at `max_queued` messages held the
    session logs out and disconnects instead of growing without bound (what was queued comes
    back by resend after the next logon: the expected seq never moved past the gap)."""

    async def main() -> None:
        async with acceptor_and_peer(max_queued=3) as (_, session, peer, app):
            peer.send("D", [(11, "o2")])
            await app.wait_app(1)
            for seq in range(4, 9):  # 3 lost, never resent
                peer.send("D", [(11, f"o{seq}")], seq=seq)
            logout = await peer.expect("5", skip=frozenset("2"))
            assert "queued behind a sequence gap" in (logout.get(58) or "")
            assert await session.wait_disconnected(2.0)
            assert app.app_seqs == [2]
            assert session.next_target_seq == 3

    run(main())


def test_gap_filled_by_gap_fill_then_queue_drains() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.seq = 5
            peer.send("D", [(11, "five")])
            rr = await peer.expect("2")
            assert rr.get(7) == "2"
            peer.send(
                "4", [(123, "Y"), (36, 5)], seq=2, poss_dup=True, orig_sending_time=utc_timestamp()
            )
            await app.wait_app(1)
            assert app.app_seqs == [5]
            assert session.stats.gap_fills_received == 1
            assert session.state is SessionState.LOGGED_ON

    run(main())


def test_seq_too_low_without_poss_dup_logs_out() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.send("D", [(11, "a")])
            await app.wait_app(1)
            peer.send("D", [(11, "again")], seq=2)
            logout = await peer.expect("5")
            assert logout.get(58) == "MsgSeqNum too low, expecting 3 but received 2"
            assert await peer.closed()
            assert app.app_seqs == [2]
            assert app.logouts
            assert "too low" in app.logouts[0]
            assert not session.is_logged_on

    run(main())


def test_poss_dup_below_expected_ignored() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            original = utc_timestamp()
            peer.send("D", [(11, "a")], sending_time=original)
            await app.wait_app(1)
            peer.send("D", [(11, "a")], seq=2, poss_dup=True, orig_sending_time=original)
            peer.send("D", [(11, "b")])
            await app.wait_app(2)
            assert app.app_seqs == [2, 3]
            assert session.stats.duplicates_ignored == 1
            assert session.stats.rejects_sent == 0

    run(main())


def test_poss_dup_without_orig_sending_time_rejected() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.send("D", [(11, "a")])
            await app.wait_app(1)
            peer.send("D", [(11, "a")], seq=2, poss_dup=True)
            reject = await peer.expect("3")
            assert (reject.get(45), reject.get(373), reject.get(371)) == ("2", "1", "122")
            assert session.is_logged_on
            assert app.app_seqs == [2]

    run(main())


def test_poss_dup_orig_sending_time_after_sending_time_logs_out() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, _s, peer, app):
            peer.send("D", [(11, "a")])
            await app.wait_app(1)
            now_ns = parse_utc_timestamp(utc_timestamp())
            later = utc_timestamp(now_ns + 60_000_000_000)
            peer.send("D", [(11, "a")], seq=2, poss_dup=True, orig_sending_time=later)
            reject = await peer.expect("3")
            assert (reject.get(373), reject.get(371)) == ("10", "122")
            await peer.expect("5")
            assert await peer.closed()

    run(main())


def test_resend_request_answered_with_replay_and_gap_fills() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _app):
            # Ours: 1 Logon (admin), 2 app, 3 app, 4 TestRequest answer (admin), 5 app.
            await session.send("8", [(37, "e2"), (17, "x2")])
            await session.send("8", [(37, "e3"), (17, "x3")])
            peer.send("1", [(112, "ping")])
            hb = await peer.expect("0", skip=frozenset("8"))
            assert hb.get(112) == "ping"
            await session.send("8", [(37, "e5"), (17, "x5")])
            await wait_for(lambda: sum(m.msg_type == "8" for m in peer.received) == 3)
            first_sent = [m for m in peer.received if m.msg_type == "8"]
            assert [m.seq_num for m in first_sent] == [2, 3, 5]
            while not peer.inbox.empty():
                peer.inbox.get_nowait()
            peer.send("2", [(7, 1), (16, 0)])
            answer = await peer.collect(5)
            kinds = [(m.msg_type, m.seq_num) for m in answer]
            assert kinds == [("4", 1), ("8", 2), ("8", 3), ("4", 4), ("8", 5)]
            gap1, gap2 = answer[0], answer[3]
            assert (gap1.get(123), gap1.get(36), gap1.get(43)) == ("Y", "2", "Y")
            assert (gap2.get(123), gap2.get(36)) == ("Y", "5")
            for replay, orig in zip([answer[1], answer[2], answer[4]], first_sent, strict=True):
                assert replay.get(43) == "Y"
                assert replay.get(122) == orig.get(52)
                assert replay.get(37) == orig.get(37)
                assert replay.get(17) == orig.get(17)
            assert session.stats.messages_replayed == 3
            assert session.stats.gap_fills_sent == 2
            # Replays do not consume sequence numbers.
            assert await session.send("8", [(37, "e6")]) == 6

    run(main())


def test_message_the_application_withholds_is_gap_filled_not_replayed() -> None:
    """`Application.may_resend` False (an order whose outcome the order layer is resolving by
    query) turns the replay of that one message into a gap fill."""

    class Withholding(RecordingApp):
        def may_resend(self, seq_num: int, msg_type: str) -> bool:
            return seq_num != 3

    async def main() -> None:
        async with acceptor_and_peer(app=Withholding()) as (_, session, peer, _app):
            for n in (2, 3, 4):
                await session.send("8", [(37, f"e{n}"), (17, f"x{n}")])
            await wait_for(lambda: sum(m.msg_type == "8" for m in peer.received) == 3)
            while not peer.inbox.empty():
                peer.inbox.get_nowait()
            peer.send("2", [(7, 2), (16, 0)])
            answer = await peer.collect(3)
            assert [(m.msg_type, m.seq_num) for m in answer] == [("8", 2), ("4", 3), ("8", 4)]
            assert (answer[1].get(123), answer[1].get(36)) == ("Y", "4")
            assert session.stats.messages_replayed == 2

    run(main())


def test_resend_request_with_end_beyond_last_sent_is_clamped() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _app):
            await session.send("8", [(37, "e2")])
            await peer.expect("8")
            peer.send("2", [(7, 2), (16, 99)])
            replay = await peer.expect("8")
            assert (replay.seq_num, replay.get(43)) == (2, "Y")
            peer.send("1", [(112, "after")])
            hb = await peer.expect("0")
            assert hb.get(112) == "after"  # nothing else was replayed in between
            assert session.next_sender_seq == 4

    run(main())


def test_resend_request_ending_with_admin_messages_gap_fills_to_next() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, _s, peer, _app):
            peer.send("1", [(112, "a")])
            await peer.expect("0")
            peer.send("1", [(112, "b")])
            await peer.expect("0")
            peer.send("2", [(7, 1), (16, 0)])
            gap = await peer.expect("4", skip=frozenset())
            assert (gap.seq_num, gap.get(36), gap.get(123)) == (1, "4", "Y")

    run(main())


def test_sequence_reset_reset_accepted_without_seq_check() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.send("4", [(36, 20)], seq=999)  # Reset mode: MsgSeqNum is not checked
            await wait_for(lambda: session.next_target_seq == 20)
            assert session.stats.sequence_resets_received == 1
            peer.seq = 20
            peer.send("D", [(11, "x")])
            await app.wait_app(1)
            assert app.app_seqs == [20]

    run(main())


@pytest.mark.parametrize("gap_fill", [False, True])
def test_sequence_reset_to_lower_seq_rejected(gap_fill: bool) -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, _app):
            for _ in range(3):
                peer.send("0")
            await wait_for(lambda: session.next_target_seq == 5)
            fields = [(123, "Y"), (36, 2)] if gap_fill else [(36, 2)]
            peer.send("4", fields, seq=5)
            reject = await peer.expect("3")
            assert (reject.get(45), reject.get(373), reject.get(371)) == ("5", "5", "36")
            assert reject.get(372) == "4"
            assert session.next_target_seq == 5
            assert session.is_logged_on

    run(main())


def test_gap_fill_advances_expected_seq() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.send("4", [(123, "Y"), (36, 10)])
            await wait_for(lambda: session.next_target_seq == 10)
            peer.seq = 10
            peer.send("D", [(11, "x")])
            await app.wait_app(1)
            assert app.app_seqs == [10]
            assert session.stats.resend_requests_sent == 0

    run(main())


def _short(match: re.Match[bytes]) -> bytes:
    return b"\x019=" + match.group(1) + b"\x01"


@pytest.mark.parametrize(
    "garble",
    [
        pytest.param(lambda raw: raw[:-4] + b"000\x01", id="bad-checksum"),
        pytest.param(
            lambda raw: re.sub(rb"\x019=(\d+)\d\x01", _short, raw, count=1), id="short-body-length"
        ),
        pytest.param(lambda raw: raw.replace(b"\x0135=D", b"\x01xx=D", 1), id="bad-tag"),
    ],
)
def test_garbled_messages_ignored_without_seq_increment(garble) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            good = peer.build("D", [(11, "real")])
            peer.send_raw(garble(good))
            peer.send_raw(good)  # same seq: accepted, no gap, no reject
            await app.wait_app(1)
            assert app.app_seqs == [2]
            assert session.stats.garbled == 1
            assert session.stats.rejects_sent == 0
            assert session.stats.resend_requests_sent == 0

    run(main())


def test_header_out_of_order_is_garbled_at_codec_level() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            # 35 must be the third field: a message with 49 before 35 is garbled.
            bad = peer.build("D", [(11, "x")], seq=2).replace(b"\x0135=D", b"", 1)
            bad = bad.replace(b"\x0149=", b"\x0135=D\x0149=", 1)
            bad = bad.replace(b"8=FIX.4.4\x01", b"8=FIX.4.4\x0149=PEER\x01", 1)
            peer.send_raw(bad)
            peer.send("D", [(11, "ok")])
            await app.wait_app(1)
            assert session.stats.garbled == 1
            assert app.app_seqs == [2]

    run(main())


def _raw(fields: list[tuple[int, object]]) -> bytes:
    return encode_message("FIX.4.4", fields)  # type: ignore[arg-type]


def test_header_field_after_body_rejected_when_validating() -> None:
    async def main() -> None:
        settings = make_settings(validate=True, dictionary="FIX44.xml")
        async with acceptor_and_peer(settings) as (_, session, peer, _app):
            now = utc_timestamp()
            msg = _raw([(35, "0"), (49, "PEER"), (56, "US"), (34, 2), (112, "x"), (52, now)])
            peer.send_raw(msg)
            reject = await peer.expect("3")
            assert reject.get(45) == "2"
            assert reject.get(373) == "14"
            assert session.next_target_seq == 3

    run(main())


def test_validation_rejects_missing_required_field() -> None:
    async def main() -> None:
        settings = make_settings(validate=True, dictionary="FIX44.xml")
        async with acceptor_and_peer(settings) as (_, session, peer, app):
            peer.send("D", [(11, "x")])  # NewOrderSingle without 54, 60, 40 ...
            reject = await peer.expect("3")
            assert (reject.get(45), reject.get(373), reject.get(372)) == ("2", "1", "D")
            assert app.app_msgs == []
            assert session.next_target_seq == 3

    run(main())


def test_unsupported_message_type_business_rejected_when_validating() -> None:
    async def main() -> None:
        settings = make_settings(validate=True, dictionary="FIX44.xml")
        async with acceptor_and_peer(settings) as (_, session, peer, app):
            peer.send("ZZ", [(58, "custom")])
            answer = await peer.recv()
            assert answer is not None
            assert answer.msg_type in ("j", "3")
            if answer.msg_type == "j":
                assert (answer.get(45), answer.get(372), answer.get(380)) == ("2", "ZZ", "3")
            else:
                assert answer.get(373) == "11"
            assert app.app_msgs == []
            assert session.next_target_seq == 3

    run(main())


def test_from_app_business_reject_sends_35_j() -> None:
    async def main() -> None:
        app = RecordingApp(app_raises=BusinessReject(3, "no such thing", ref_id="cl-1"))
        async with acceptor_and_peer(app=app) as (_, session, peer, _a):
            peer.send("U1", [(11, "cl-1")])
            bmr = await peer.expect("j")
            assert bmr.get(45) == "2"
            assert bmr.get(372) == "U1"
            assert bmr.get(379) == "cl-1"
            assert bmr.get(380) == "3"
            assert bmr.get(58) == "no such thing"
            assert session.stats.business_rejects_sent == 1
            assert session.next_target_seq == 3

    run(main())


def test_from_app_session_reject_sends_35_3() -> None:
    async def main() -> None:
        app = RecordingApp(app_raises=SessionReject(5, "bad side", tag=54))
        async with acceptor_and_peer(app=app) as (_, _s, peer, _a):
            peer.send("D", [(11, "a"), (54, "9")])
            reject = await peer.expect("3")
            assert (reject.get(45), reject.get(371), reject.get(372)) == ("2", "54", "D")
            assert (reject.get(373), reject.get(58)) == ("5", "bad side")

    run(main())


def test_comp_id_mismatch_mid_session_rejected_reason_9_and_logout() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            wrong = type(peer.encoder)("FIX.4.4", "PEER", "NOTUS")
            peer.send_raw(wrong.encode("D", peer.seq, [(11, "x")]))
            reject = await peer.expect("3")
            assert (reject.get(373), reject.get(371)) == ("9", "56")
            await peer.expect("5")
            assert await peer.closed()
            assert app.app_msgs == []
            assert not session.is_logged_on

    run(main())


def test_sending_time_accuracy_rejected_reason_10_and_logout() -> None:
    async def main() -> None:
        async with acceptor_and_peer(max_latency_s=5.0) as (_, _s, peer, app):
            stale = utc_timestamp(parse_utc_timestamp(utc_timestamp()) - 60_000_000_000)
            peer.send("D", [(11, "x")], sending_time=stale)
            reject = await peer.expect("3")
            assert (reject.get(373), reject.get(371)) == ("10", "52")
            logout = await peer.expect("5")
            assert "SendingTime" in (logout.get(58) or "")
            assert await peer.closed()
            assert app.app_msgs == []

    run(main())


def test_sending_time_not_checked_when_disabled() -> None:
    async def main() -> None:
        async with acceptor_and_peer(check_latency=False) as (_, _s, peer, app):
            stale = utc_timestamp(parse_utc_timestamp(utc_timestamp()) - 3600_000_000_000)
            peer.send("D", [(11, "x")], sending_time=stale)
            await app.wait_app(1)

    run(main())


def test_wrong_begin_string_logs_out() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, _s, peer, app):
            other = type(peer.encoder)("FIX.4.2", "PEER", "US")
            peer.send_raw(other.encode("D", peer.seq, [(11, "x")]))
            logout = await peer.expect("5")
            assert "BeginString" in (logout.get(58) or "")
            assert await peer.closed()
            assert app.app_msgs == []

    run(main())


def test_test_request_answered_with_its_id() -> None:
    async def main() -> None:
        async with initiator_and_peer() as (_, session, peer, _a):
            peer.send("1", [(112, "are-you-there")])
            hb = await peer.expect("0", skip=frozenset())
            assert hb.get(112) == "are-you-there"
            assert session.stats.messages_in["1"] == 1

    run(main())


def test_peer_reject_counted_and_seq_advanced() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.send("3", [(45, 1), (373, 99), (58, "meh")])
            peer.send("D", [(11, "x")])
            await app.wait_app(1)
            assert session.stats.rejects_received == 1
            assert app.app_seqs == [3]

    run(main())


def test_resend_request_while_we_have_a_gap_is_still_answered() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            await session.send("8", [(37, "e2")])
            await peer.expect("8")
            peer.seq = 4  # the peer skipped 2 and 3
            peer.send("2", [(7, 2), (16, 0)])
            got = await peer.collect(2)
            kinds = sorted((m.msg_type, m.seq_num, m.get(43)) for m in got)
            assert ("8", 2, "Y") in kinds  # the replay
            assert any(t == "2" for t, _, _ in kinds)  # and our own ResendRequest for 2..
            peer.send(
                "4", [(123, "Y"), (36, 5)], seq=2, poss_dup=True, orig_sending_time=utc_timestamp()
            )
            await wait_for(lambda: session.next_target_seq == 5)
            peer.send("D", [(11, "x")])
            await app.wait_app(1)
            assert app.app_seqs == [5]

    run(main())


def test_gap_fill_over_live_queued_messages_delivers_them() -> None:
    """A venue that answers a ResendRequest with one GapFill to its next seq (no replay): the
    messages received live behind the gap are delivered, not skipped over."""

    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.seq = 3  # 2 lost
            peer.send("8", limit_order("X", "c3", "1", "1", "1"))
            peer.send("8", limit_order("X", "c4", "1", "1", "1"))
            rr = await peer.expect("2")
            assert rr.get(7) == "2"
            peer.send(
                "4", [(123, "Y"), (36, 5)], seq=2, poss_dup=True, orig_sending_time=utc_timestamp()
            )
            peer.send("8", limit_order("X", "c5", "1", "1", "1"))  # seq 5
            await app.wait_app(3)
            assert [m.get(11) for m in app.app_msgs] == ["c3", "c4", "c5"]
            assert session.next_target_seq == 6
            assert session.stats.delivered_past_reset == 2
            assert session.state is SessionState.LOGGED_ON

    run(main())


def test_sequence_reset_over_live_queued_messages_delivers_them() -> None:
    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.seq = 3
            peer.send("8", limit_order("X", "c3", "1", "1", "1"))
            await peer.expect("2")
            peer.send("4", [(36, 10)], seq=9)  # SequenceReset-Reset: no seq check
            peer.seq = 10
            peer.send("8", limit_order("X", "c10", "1", "1", "1"))
            await app.wait_app(2)
            assert [m.get(11) for m in app.app_msgs] == ["c3", "c10"]
            assert session.next_target_seq == 11

    run(main())


def test_our_reset_during_a_pending_resend_delivers_nothing_twice() -> None:
    """We reset while a resend is pending; the peer's replay of the old range was already on
    its way: queued messages are delivered once (at the reset), replays of them are not."""

    async def main() -> None:
        async with acceptor_and_peer() as (_, session, peer, app):
            peer.seq = 3
            peer.send("8", limit_order("X", "c3", "1", "1", "1"))
            peer.send("8", limit_order("X", "c4", "1", "1", "1"))
            await peer.expect("2")
            await wait_for(lambda: session.stats.queued == 2)
            await session.reset_seq_nums()
            await peer.expect("A")
            for n in (2, 3, 4):  # the replay, sent before the peer saw our reset
                peer.send(
                    "8",
                    limit_order("X", f"c{n}", "1", "1", "1"),
                    seq=n,
                    poss_dup=True,
                    orig_sending_time=utc_timestamp(),
                )
            peer.seq = 1
            peer.logon(reset=True)
            await wait_for(lambda: session.next_target_seq == 2)
            got = [m.get(11) for m in app.app_msgs]
            assert sorted(got) == sorted(set(got)), got  # nothing delivered twice
            assert {"c3", "c4"} <= set(got)

    run(main())


def test_unanswered_mid_session_reset_logs_out() -> None:
    """A peer that ignores (or rejects) our mid-session 141=Y Logon: after the logon timeout
    the session logs out instead of dropping every message as pre-reset for ever."""

    async def main() -> None:
        async with acceptor_and_peer(logon_timeout_s=0.5) as (_, session, peer, _app):
            await session.reset_seq_nums()
            await peer.expect("A")
            peer.seq = 1
            peer.send("3", [(45, 1), (373, 99), (58, "mid-session logon not supported")])
            logout = await peer.expect("5", skip=frozenset("0"))
            assert "sequence reset not answered" in (logout.get(58) or "")
            assert await session.wait_disconnected(3.0)

    run(main())
