"""Generic FIX 4.2 / 4.4 gateway: password logon, the whole order path, mass status, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from tests.fix.conftest import limit_order
from tests.fix.conftest import run as _run
from venuegate.fix.session import NotLoggedOnError
from venuegate.sim.fix import (
    FixFault,
    FixFaultProfile,
    RecordingApp,
    raw_logon,
    start_fix_gateway,
)

SYMBOL = "BTCUSDT"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    return _run(coro, timeout)


def order(cl: str, side: str, qty: str, price: str, **extra: str) -> list[tuple[int, Any]]:
    return limit_order(SYMBOL, cl, side, qty, price, **extra)


@pytest.mark.parametrize("begin_string", ["FIX.4.2", "FIX.4.4"])
def test_order_path(begin_string: str) -> None:
    async def main() -> None:
        async with await start_fix_gateway("generic") as gw:
            app = RecordingApp()
            ini = gw.initiator(app, dialect_options={"begin_string": begin_string})
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            assert s.settings.begin_string == begin_string
            for cl in ("a", "b"):
                await s.send("D", order(cl, "1", "0.01", "40000"))
                await app.report(t11=cl, t150="0")
            await s.send("D", order("t", "1", "0.001", "45000"))
            fill = await app.report(t11="t", t39="2")
            fix42 = begin_string == "FIX.4.2"
            assert fill.get(150) == ("2" if fix42 else "F")
            assert fill.get(20) == ("0" if fix42 else None)
            await s.send("AF", [(584, "ms1"), (585, "7")])
            statuses = await app.wait_for(
                lambda: (found := app.of_type("8", t584="ms1")) and len(found) == 2 and found
            )
            assert [m.get(11) for m in statuses] == ["a", "b"]
            assert [m.get(912) for m in statuses] == [None, "Y"]
            assert {m.get(911) for m in statuses} == {"2"}
            assert {m.get(150) for m in statuses} == {"0" if fix42 else "I"}
            await s.send("q", [(11, "mc"), (530, "1"), (55, SYMBOL)])
            report = (await app.wait_for(lambda: app.of_type("r", t11="mc")))[0]
            assert (report.get(531), report.get(533)) == ("1", "2")
            await s.send("AF", [(584, "ms2"), (585, "7")])
            empty = await app.report(t584="ms2")
            assert (empty.get(911), empty.get(912)) == ("0", "Y")
            await s.send("D", [(11, "x"), (55, SYMBOL), (54, "7"), (38, "1"), (40, "2")])
            reject = await app.wait_for(
                lambda: [m for m in app.admin_messages if m.msg_type == "3"]
            )
            assert (reject[0].get(373), reject[0].get(371)) == ("5", "54")
            await ini.stop()

    run(main())


def test_wrong_password_is_refused() -> None:
    async def main() -> None:
        async with await start_fix_gateway("generic") as gw:
            c = gw.credentials
            answer = await raw_logon(
                gw.host, gw.port, begin_string="FIX.4.4", sender_comp_id=c.sender_comp_id,
                target_comp_id="VENUE", fields=[(98, 0), (108, 30), (553, c.api_key),
                                                (554, "wrong")],
            )  # fmt: skip
            assert [m.get(58) for m in answer if m.msg_type == "5"] == ["Invalid password"]

    run(main())


def test_open_gateway_for_probes() -> None:
    async def main() -> None:
        async with await start_fix_gateway("generic", comp_id="EXEC", require_login=False) as gw:
            answer = await raw_logon(
                gw.host, gw.port, begin_string="FIX.4.2", sender_comp_id="PROBE",
                target_comp_id="EXEC", fields=[(98, 0), (108, 30)], timeout=0.3,
            )  # fmt: skip
            assert [m.msg_type for m in answer][:1] == ["A"]
            assert gw.settings().target_comp_id == "EXEC"

    run(main())


def test_sequence_reset_mid_session() -> None:
    async def main() -> None:
        async with await start_fix_gateway("generic") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            for cl in ("p1", "p2"):
                await s.send("D", order(cl, "1", "0.01", "40000"))
                await app.report(t11=cl, t150="0")
            gw.faults.force(FixFault.SEQ_RESET)
            await s.send("D", order("p3", "1", "0.01", "40000"))
            await app.report(t11="p3", t150="0")
            await app.wait_for(lambda: s.next_sender_seq <= 2)
            await s.send("D", order("p4", "1", "0.01", "40000"))
            await app.report(t11="p4", t150="0")
            assert s.next_target_seq <= 4
            await ini.stop()

    run(main())


def test_stale_heartbeats_trigger_test_requests_and_the_session_survives() -> None:
    async def main() -> None:
        profile = FixFaultProfile("stale", stale_s=1.5)
        async with await start_fix_gateway("generic", faults=profile) as gw:
            app = RecordingApp()
            ini = gw.initiator(app, heartbeat_interval_s=1)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            gw.faults.force(FixFault.STALE_HEARTBEAT)
            await s.send("D", order("h1", "1", "0.01", "40000"))
            await app.report(t11="h1", t150="0")
            await app.wait_for(lambda: s.stats.test_requests_sent >= 1, timeout=5)
            await app.wait_for(lambda: s.stats.messages_in["0"] >= 1, timeout=5)
            assert s.is_logged_on
            assert app.logons == 1
            await ini.stop()

    run(main())


SOAK = FixFaultProfile(
    "soak",
    {
        FixFault.SEQ_GAP: 0.08,
        FixFault.DUPLICATE: 0.08,
        FixFault.GARBLED: 0.05,
        FixFault.RESEND_STORM: 0.05,
        FixFault.DROP_CONNECTION: 0.03,
    },
)
"""Every fault but SEQ_RESET: a mid-session reset discards the sender's store, so a message
lost just before it cannot be resent (FIX's rule; the order layer recovers such reports by
status query). Resets under mixed faults: `test_mid_session_resets_never_wedge_the_session`."""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_order_acknowledged_once_under_mixed_faults(seed: int) -> None:
    async def main() -> None:
        async with await start_fix_gateway("generic", faults=SOAK, seed=seed) as gw:
            app = RecordingApp()
            ini = gw.initiator(app, reconnect_min_s=0.02, reconnect_max_s=0.05)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            ids = [f"o{i}" for i in range(200)]
            for i, cl in enumerate(ids):
                while True:
                    try:
                        await s.send("D", order(cl, "1", "0.01", "40000"))
                        break
                    except NotLoggedOnError:  # dropped by a fault: wait for the reconnect
                        assert await ini.wait_logged_on(5)
                if i % 10 == 9:  # batches of ten, so faults fall between live messages
                    await app.report(t11=cl, t150="0")

            def all_acked() -> bool:
                acked = {m.get(11) for m in app.of_type("8", t150="0")}
                return acked >= set(ids)

            await app.wait_for(all_acked, timeout=10)
            acks = [m.get(11) for m in app.of_type("8", t150="0")]
            assert sorted(acks) == sorted(ids)  # each exactly once
            assert not app.of_type("8", t150="8")  # no order applied twice
            assert len(gw.exchange.open_orders(gw.account)) == len(ids)
            assert gw.faults.counts  # faults did happen (how many depends on TCP batching)
            await ini.stop()

    run(main())


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_mid_session_resets_never_wedge_the_session(seed: int) -> None:
    """Sequence resets mixed with gaps, garbling and resend storms: after each reset both sides
    are back to LOGGED_ON with nothing queued (no ResendRequest left waiting for the old
    numbering), every order reaches the venue exactly once (in-flight messages of the old
    numbering are delivered, not dropped), and the session still works at the end."""
    profile = FixFaultProfile("soak-reset", {**SOAK.p, FixFault.SEQ_RESET: 0.04})

    async def main() -> None:
        async with await start_fix_gateway("generic", faults=profile, seed=seed) as gw:
            app = RecordingApp()
            ini = gw.initiator(app, reconnect_min_s=0.02, reconnect_max_s=0.05)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            ids = [f"o{i}" for i in range(150)]
            for i, cl in enumerate(ids):
                while True:
                    try:
                        await s.send("D", order(cl, "1", "0.01", "40000"))
                        break
                    except NotLoggedOnError:
                        assert await ini.wait_logged_on(5)
                if i % 10 == 9:
                    await asyncio.sleep(0.02)
            gw.faults.profile = FixFaultProfile("calm", {})
            assert await ini.wait_logged_on(5)

            def venue_has_all() -> bool:
                return len(gw.exchange.open_orders(gw.account)) >= len(ids)

            await app.wait_for(venue_has_all, timeout=10)
            assert len(gw.exchange.open_orders(gw.account)) == len(ids)  # each exactly once
            assert gw.faults.counts.get(FixFault.SEQ_RESET, 0) >= 1
            await s.send("D", order("final", "1", "0.01", "40000"))
            await app.report(t11="final", t150="0")  # not wedged: a live round trip
            venue = next(iter(gw.gateway.sessions.values()))
            for side in (s, venue):
                assert side.state.value == "logged_on"
                assert side.next_target_seq > 1
            assert not app.of_type("8", t150="8")  # no order applied twice
            await ini.stop()

    run(main())
