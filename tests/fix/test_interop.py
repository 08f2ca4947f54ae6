"""Interoperability with QuickFIX 1.16 (the PyPI `quickfix` package), in both directions.

Our `FixInitiator` against a QuickFIX acceptor, and a QuickFIX initiator against our
`FixAcceptor`; the QuickFIX side runs in a subprocess (`tests/fix/interop/qf_*.py`) with
QuickFIX's own data dictionaries (validation on), FileStore and FileLog. Everything is on
loopback. Any session-level Reject either side sends fails the test, with QuickFIX's log.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import quickfix  # type: ignore[import-untyped]  # noqa: F401 - a missing peer FAILS, never skips

from tests.fix.interop.harness import (
    QfAcceptor,
    Recorder,
    order_fields,
    our_settings,
    quickfix_log,
    run_qf_initiator,
)
from venuegate.fix.codec import utc_timestamp
from venuegate.fix.session import FixAcceptor, FixInitiator

pytestmark = pytest.mark.timeout(30)

BEGIN_STRINGS = ["FIX.4.2", "FIX.4.4", "FIXT.1.1"]


def _clean(summary: dict[str, Any], store: Path) -> None:
    """No session-level reject either way, nothing QuickFIX's application choked on."""
    assert summary["session_rejects_sent"] == [], quickfix_log(store)
    assert summary["session_rejects_received"] == [], quickfix_log(store)
    assert summary["errors"] == [], summary["errors"]


async def _logged_on(initiator: FixInitiator) -> Any:
    await initiator.start()
    await initiator.wait_logged_on(5.0)
    session = initiator.session
    assert session is not None
    return session


@pytest.mark.parametrize("begin_string", BEGIN_STRINGS)
def test_our_initiator_orders_heartbeats_test_request_logout(
    tmp_path: Path, begin_string: str
) -> None:
    """Logon (HeartBtInt=1), 20 orders filled, heartbeats both ways, a TestRequest answered."""
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store, begin_string=begin_string) as peer:

        async def run() -> Recorder:
            app = Recorder()
            settings = our_settings(
                begin_string, port=peer.port, host="127.0.0.1", heartbeat_interval_s=1
            )
            initiator = FixInitiator(settings, app)
            try:
                session = await _logged_on(initiator)
                ids = [f"o{i}" for i in range(20)]
                for cl_ord_id in ids:
                    await session.send("D", order_fields(cl_ord_id, begin_string))
                assert await app.wait_for(lambda: app.filled() == set(ids)), app.reports
                # Heartbeats flow both ways at HeartBtInt=1.
                assert await app.wait_for(
                    lambda: app.admin_in["0"] >= 1 and session.stats.messages_out["0"] >= 1, 4.0
                )
                # Our TestRequest: QuickFIX answers with a Heartbeat echoing 112.
                await session.send("1", [(112, "vg-test-1")])
                assert await app.wait_for(lambda: "vg-test-1" in app.test_req_ids, 3.0)
                # Silence on our side: QuickFIX sends a TestRequest; resuming keeps the session.
                session.pause_heartbeats(True)
                assert await app.wait_for(lambda: app.admin_in["1"] >= 1, 5.0)
                session.pause_heartbeats(False)
                for cl_ord_id in ("after-pause",):
                    await session.send("D", order_fields(cl_ord_id, begin_string))
                assert await app.wait_for(lambda: "after-pause" in app.filled())
                assert session.logged_on.is_set()
                await session.logout("bye")
                assert await app.wait_for(lambda: app.admin_in["5"] >= 1, 3.0)
            finally:
                await initiator.stop()
            return app

        app = asyncio.run(run())
        summary = peer.stop()
    _clean(summary, qf_store)
    assert app.rejects == []
    assert summary["orders_received"] == 21
    assert summary["duplicate_cl_ord_ids"] == []
    assert summary["msgs_in"].get("0", 0) >= 1  # our heartbeats
    # Our TestRequest (echoed above), plus any our session sent on its own when QuickFIX's
    # heartbeat came late on a loaded machine (HeartBtInt=1: that is the protocol working).
    assert summary["msgs_in"].get("1", 0) >= 1
    assert summary["msgs_out"].get("1", 0) >= 1  # QuickFIX's TestRequest, answered
    assert summary["logout_texts_received"] == ["bye"]
    assert summary["logouts"] == 1
    assert summary["resend_requests_sent"] == []


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIXT.1.1"])
def test_our_initiator_sequence_reset_in_session(tmp_path: Path, begin_string: str) -> None:
    """Logon with 141=Y while logged on: both sides restart at 1 and carry on."""
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store, begin_string=begin_string) as peer:

        async def run() -> tuple[int, int]:
            app = Recorder()
            settings = our_settings(begin_string, port=peer.port, host="127.0.0.1")
            initiator = FixInitiator(settings, app)
            try:
                session = await _logged_on(initiator)
                for i in range(5):
                    await session.send("D", order_fields(f"a{i}", begin_string))
                assert await app.wait_for(lambda: len(app.filled()) == 5)
                await session.reset_seq_nums()
                assert await app.wait_for(lambda: session.next_target_seq <= 3)
                for i in range(5):
                    await session.send("D", order_fields(f"b{i}", begin_string))
                assert await app.wait_for(lambda: len(app.filled()) == 10)
                seqs = (session.next_sender_seq, session.next_target_seq)
                await session.logout()
            finally:
                await initiator.stop()
            return seqs

        next_sender, next_target = asyncio.run(run())
        summary = peer.stop()
    _clean(summary, qf_store)
    assert summary["orders_received"] == 10
    # After the reset: our Logon (1), 5 orders (2..6) and the Logout (7); QuickFIX's Logon (1)
    # and 10 reports (2..11).
    assert next_sender == 7
    assert next_target == 12
    assert summary["seqs"]["next_target_seq"] == 8


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIXT.1.1"])
def test_restart_resumes_sequence_numbers_on_both_sides(tmp_path: Path, begin_string: str) -> None:
    """Our store and QuickFIX's FileStore both survive a restart mid-session (no reset, no gap)."""
    qf_store = tmp_path / "qf"
    our_store = str(tmp_path / "vg.store")

    async def session_run(port: int, prefix: str, *, crash: bool) -> tuple[int, int, int]:
        app = Recorder()
        settings = our_settings(begin_string, port=port, host="127.0.0.1", store_path=our_store)
        initiator = FixInitiator(settings, app)
        try:
            session = await _logged_on(initiator)
            start_seq = session.next_sender_seq
            ids = {f"{prefix}{i}" for i in range(5)}
            for cl_ord_id in sorted(ids):
                await session.send("D", order_fields(cl_ord_id, begin_string))
            assert await app.wait_for(lambda: app.filled() == ids)
            if crash:
                session.drop_connection()  # no Logout: a crash as far as the peer can tell
            else:
                await session.logout()
            seqs = (start_seq, session.next_sender_seq, session.next_target_seq)
        finally:
            await initiator.stop()
        assert app.rejects == []
        assert app.admin_in["2"] == 0  # QuickFIX never had to ask for a resend
        return seqs

    with QfAcceptor(qf_store, begin_string=begin_string) as peer:
        port = peer.port
        first = asyncio.run(session_run(port, "r1-", crash=True))
        first_summary = peer.stop()
    # QuickFIX restarts too, from its FileStore, on the same port.
    with QfAcceptor(qf_store, begin_string=begin_string, port=port) as peer:
        second = asyncio.run(session_run(port, "r2-", crash=False))
        second_summary = peer.stop()
    for summary in (first_summary, second_summary):
        _clean(summary, qf_store)
        assert summary["resend_requests_sent"] == []
        assert summary["resend_requests_received"] == []
    assert first[0] == 2  # a fresh store: Logon was 1
    # The second Logon carries the seq after the first run's last message; nothing reset.
    assert second[0] == first[1] + 1
    assert second_summary["orders_received"] == 5
    assert second_summary["seqs"]["next_target_seq"] == second[1]


@pytest.mark.parametrize("begin_string", ["FIX.4.2", "FIX.4.4", "FIXT.1.1"])
def test_forced_gap_is_recovered_by_resend_and_gap_fill(tmp_path: Path, begin_string: str) -> None:
    """We skip 3 outbound seqs: QuickFIX asks for a resend, gets a gap fill, loses nothing."""
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store, begin_string=begin_string) as peer:

        async def run() -> Recorder:
            app = Recorder()
            settings = our_settings(begin_string, port=peer.port, host="127.0.0.1")
            initiator = FixInitiator(settings, app)
            try:
                session = await _logged_on(initiator)
                ids = [f"g{i}" for i in range(8)]
                for cl_ord_id in ids[:4]:
                    await session.send("D", order_fields(cl_ord_id, begin_string))
                session.skip_seq(3)
                for cl_ord_id in ids[4:]:
                    await session.send("D", order_fields(cl_ord_id, begin_string))
                assert await app.wait_for(lambda: app.filled() == set(ids)), app.reports
                assert await app.wait_for(lambda: app.admin_in["2"] >= 1)
                await session.logout()
            finally:
                await initiator.stop()
            return app

        app = asyncio.run(run())
        summary = peer.stop()
    _clean(summary, qf_store)
    assert len(summary["resend_requests_sent"]) >= 1
    assert summary["gap_fills_received"] >= 1
    assert summary["cl_ord_ids"] == [f"g{i}" for i in range(8)]  # all, in order, once
    assert summary["duplicate_cl_ord_ids"] == []
    assert all(statuses.count("2") == 1 for statuses in app.reports.values()), app.reports


@pytest.mark.parametrize("begin_string", BEGIN_STRINGS)
def test_quickfix_initiator_against_our_acceptor(tmp_path: Path, begin_string: str) -> None:
    """A QuickFIX initiator logs on, its orders are answered, its ResendRequest is served."""
    qf_store = tmp_path / "qf"

    async def run() -> tuple[int, dict[str, Any], Recorder]:
        app = Recorder(echo=True, skip_on_logon=2)  # a gap in our first messages to QuickFIX
        settings = our_settings(begin_string, store_path=str(tmp_path / "vg.store"))
        acceptor = FixAcceptor([settings], app, host="127.0.0.1", port=0)
        await acceptor.start()
        try:
            status, summary = await run_qf_initiator(
                qf_store,
                acceptor.port,
                begin_string=begin_string,
                orders=25,
                extra=["--heartbeat", "1", "--hold", "1.5"],
            )
        finally:
            await acceptor.stop()
            await app.close()
        return status, summary, app

    status, summary, app = asyncio.run(run())
    _clean(summary, qf_store)
    assert status == 0, summary
    assert summary["logged_on"]
    assert summary["acknowledged"] == 25
    assert summary["filled"] == 25
    assert len(summary["resend_requests_sent"]) >= 1  # QuickFIX saw our gap ...
    assert summary["gap_fills_received"] >= 1  # ... and we filled it
    assert summary["logout_clean"]
    assert app.orders == [f"qf-{i}" for i in range(1, 26)]  # each order applied once, in order
    assert app.admin_in["0"] >= 1  # QuickFIX's heartbeats at HeartBtInt=1


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIXT.1.1"])
def test_our_initiator_recovers_a_gap_in_quickfix_messages(
    tmp_path: Path, begin_string: str
) -> None:
    """QuickFIX's outbound seq jumps by 5 across its restart: we ResendRequest, it gap-fills."""
    qf_store = tmp_path / "qf"
    our_store = str(tmp_path / "vg.store")

    async def session_run(port: int, prefix: str) -> tuple[Recorder, dict[str, Any]]:
        app = Recorder()
        settings = our_settings(begin_string, port=port, host="127.0.0.1", store_path=our_store)
        initiator = FixInitiator(settings, app)
        try:
            session = await _logged_on(initiator)
            ids = {f"{prefix}{i}" for i in range(5)}
            for cl_ord_id in sorted(ids):
                await session.send("D", order_fields(cl_ord_id, begin_string))
            assert await app.wait_for(lambda: app.filled() == ids), app.reports
            await session.logout()
            stats = session.stats.as_dict()
        finally:
            await initiator.stop()
        assert app.rejects == []
        return app, stats

    with QfAcceptor(qf_store, begin_string=begin_string) as peer:
        port = peer.port
        asyncio.run(session_run(port, "a"))
        _clean(peer.stop(), qf_store)
    # QuickFIX's FileStore: "<next sender seq> : <next target seq>"; its sender seq jumps by 5.
    (seqnums,) = qf_store.glob("*.seqnums")
    sender, target = (int(part) for part in seqnums.read_text().split(":"))
    seqnums.write_text(f"{sender + 5:020d} : {target:020d}")
    with QfAcceptor(qf_store, begin_string=begin_string, port=port) as peer:
        app, stats = asyncio.run(session_run(port, "b"))
        summary = peer.stop()
    _clean(summary, qf_store)
    assert stats["resend_requests_sent"] >= 1
    assert stats["gap_fills_received"] >= 1
    assert len(summary["resend_requests_received"]) >= 1
    assert summary["orders_received"] == 5
    assert all(statuses.count("2") == 1 for statuses in app.reports.values()), app.reports


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIXT.1.1"])
def test_quickfix_initiator_reconnects_then_resets(tmp_path: Path, begin_string: str) -> None:
    """Two QuickFIX runs resume the stored seqs on both sides; a third logs on with 141=Y."""
    qf_store = tmp_path / "qf"

    async def run() -> tuple[list[dict[str, Any]], Recorder, int]:
        app = Recorder(echo=True)
        settings = our_settings(begin_string, store_path=str(tmp_path / "vg.store"))
        acceptor = FixAcceptor([settings], app, host="127.0.0.1", port=0)
        await acceptor.start()
        summaries: list[dict[str, Any]] = []
        try:
            for extra in ([], [], ["--reset-seq"]):
                status, summary = await run_qf_initiator(
                    qf_store,
                    acceptor.port,
                    begin_string=begin_string,
                    orders=5,
                    extra=["--prefix", f"run{len(summaries)}", *extra],
                )
                assert status == 0, summary
                summaries.append(summary)
            (session,) = acceptor.sessions.values()
            next_target = session.next_target_seq
        finally:
            await acceptor.stop()
            await app.close()
        return summaries, app, next_target

    summaries, app, next_target = asyncio.run(run())
    for summary in summaries:
        _clean(summary, qf_store)
        assert summary["resend_requests_sent"] == []
        assert summary["resend_requests_received"] == []
        assert summary["filled"] == 5
    # Each run: Logon, 5 orders, Logout = 7 messages from QuickFIX.
    assert summaries[0]["seqs"]["next_sender_seq"] == 8
    assert summaries[1]["seqs"]["next_sender_seq"] == 15
    assert summaries[2]["seqs"]["next_sender_seq"] == 8  # reset at Logon
    assert next_target == 8
    assert len(app.orders) == 15 == len(set(app.orders))


@pytest.mark.parametrize("begin_string", BEGIN_STRINGS)
def test_our_initiator_cancel_and_status(tmp_path: Path, begin_string: str) -> None:
    """Resting order → OrderStatusRequest → OrderCancelRequest (Canceled) → cancel again (9)."""
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store, begin_string=begin_string, mode="rest") as peer:

        async def run() -> Recorder:
            app = Recorder()
            settings = our_settings(begin_string, port=peer.port, host="127.0.0.1")
            initiator = FixInitiator(settings, app)
            try:
                session = await _logged_on(initiator)
                await session.send("D", order_fields("rest-1", begin_string))
                assert await app.wait_for(lambda: app.reports["rest-1"] == ["0"])
                await session.send("H", [(11, "rest-1"), (55, "BTC-USD"), (54, "1")])
                assert await app.wait_for(lambda: len(app.reports["rest-1"]) == 2)
                cancel = [
                    (41, "rest-1"),
                    (11, "cxl-1"),
                    (55, "BTC-USD"),
                    (54, "1"),
                    (60, utc_timestamp()),
                    (38, Decimal("0.5")),
                ]
                await session.send("F", cancel)
                assert await app.wait_for(lambda: app.reports["cxl-1"] == ["4"])
                await session.send("F", [(11, "cxl-2"), *cancel[:1], *cancel[2:]])
                assert await app.wait_for(lambda: app.app_in["9"] == 1)
                await session.logout()
            finally:
                await initiator.stop()
            return app

        app = asyncio.run(run())
        summary = peer.stop()
    _clean(summary, qf_store)
    assert app.rejects == []
    assert app.reports["rest-1"] == ["0", "0"]  # the ack, then the status report (still New)
    assert summary["msgs_in"]["F"] == 2
    assert summary["msgs_in"]["H"] == 1
    assert summary["msgs_out"]["9"] == 1
