"""Binance FIX gateway: Ed25519 logon (good and bad), orders, other sessions' reports, faults."""

from __future__ import annotations

import base64
import time
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.fix.conftest import limit_order
from tests.fix.conftest import run as _run
from venuegate.fix.codec import utc_timestamp
from venuegate.sim.fix import FixFault, RecordingApp, raw_logon, start_fix_gateway

SYMBOL = "BTCUSDT"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    return _run(coro, timeout)


def order(cl: str, side: str, qty: str, price: str, **extra: str) -> list[tuple[int, Any]]:
    return limit_order(SYMBOL, cl, side, qty, price, **extra)


def logon_fields(key: Any, api_key: str, sender: str, sending_time: str) -> list[tuple[int, Any]]:
    """An independently signed Binance Logon body (cryptography's Ed25519)."""
    payload = "\x01".join(["A", sender, "SPOT", "1", sending_time]).encode()
    sig = base64.b64encode(key.sign(payload)).decode()
    return [
        (95, len(sig)), (96, sig), (98, 0), (108, 30), (141, "Y"), (553, api_key), (25035, 2),
    ]  # fmt: skip


def test_logon_orders_cancel_mass_cancel_and_rejects() -> None:
    async def main() -> None:
        async with await start_fix_gateway("binance") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            await s.send("D", order("b1", "1", "0.001", "40000"))
            ack = await app.report(t11="b1", t150="0")
            assert ack.get(25017) == "0"
            assert ack.get(25018)
            assert len((ack.get(60) or "").split(".")[1]) == 6  # microseconds, as Binance sends
            await s.send("F", [(11, "c1"), (41, "b1"), (55, SYMBOL)])
            await app.report(t11="c1", t150="4", t41="b1")
            await s.send("F", [(11, "c2"), (41, "nope"), (55, SYMBOL)])
            cxl = (await app.wait_for(lambda: app.of_type("9", t11="c2")))[0]
            assert (cxl.get(25016), cxl.get(58)) == ("-2011", "Unknown order sent.")

            await s.send("D", order("b2", "2", "0.001", "40000"))  # marketable sell
            fill = await app.report(t11="b2", t150="F")
            assert fill.get(1003)
            assert fill.get(1057) == "Y"
            assert Decimal(fill.get(25017) or "0") > 0

            for cl in ("r1", "r2"):
                await s.send("D", order(cl, "1", "0.001", "40000"))
                await app.report(t11=cl, t150="0")
            await s.send("q", [(11, "m1"), (55, SYMBOL), (530, "1")])
            report = (await app.wait_for(lambda: app.of_type("r", t11="m1")))[0]
            assert (report.get(531), report.get(533), report.get(37)) == ("1", "2", None)
            await app.report(t11="r2", t150="4")

            await s.send("D", order("dup", "1", "0.001", "40000"))
            await s.send("D", order("dup", "1", "0.001", "40000"))
            rej = await app.report(t11="dup", t150="8")
            assert (rej.get(25016), rej.get(103)) == ("-2010", "6")

            # XCN: cancel "dup" and place "n1" in one request.
            xcn = [(25033, "1"), (41, "dup"), (25034, "cx1"), *order("n1", "1", "0.001", "40001")]
            await s.send("XCN", xcn)
            await app.report(t11="cx1", t150="4", t41="dup")
            await app.report(t11="n1", t150="0")
            stop = [(25033, "1"), (41, "gone"), *order("n2", "1", "0.001", "40001")]
            await s.send("XCN", stop)  # the cancel fails: STOP_ON_FAILURE places nothing
            await app.wait_for(lambda: app.of_type("9", t41="gone"))
            assert (await app.report(t11="n2", t150="8")).get(25016) == "-2011"
            allow = [(25033, "2"), (41, "gone"), *order("n3", "1", "0.001", "40001")]
            await s.send("XCN", allow)
            await app.report(t11="n3", t150="0")

            await s.send("G", [(11, "x"), (41, "dup"), (55, SYMBOL), (54, "1"), (38, "1")])
            reject = await app.wait_for(
                lambda: [m for m in app.admin_messages if m.msg_type == "3"]
            )
            assert reject[0].get(373) == "11"  # Binance has no G: session-level Reject
            await ini.stop()

    run(main())


def test_bad_credentials_are_refused() -> None:
    async def main() -> None:
        async with await start_fix_gateway("binance") as gw:
            c = gw.credentials
            key = load_pem_private_key(c.secret.encode(), password=None)

            async def attempt(fields: list[tuple[int, Any]], sending_time: str) -> str:
                answer = await raw_logon(
                    gw.host, gw.port, begin_string="FIX.4.4", sender_comp_id=c.sender_comp_id,
                    target_comp_id="SPOT", fields=fields, sending_time=sending_time,
                )  # fmt: skip
                assert not [m for m in answer if m.msg_type == "A"]
                return next(m for m in answer if m.msg_type == "5").get(58) or ""

            now = utc_timestamp()
            other = Ed25519PrivateKey.generate()
            assert await attempt(logon_fields(other, c.api_key, c.sender_comp_id, now), now) == (
                "Signature for this request is not valid."
            )
            stale = utc_timestamp((time.time_ns() // 1_000_000 - 6000) * 1_000_000)
            assert await attempt(logon_fields(key, c.api_key, c.sender_comp_id, stale), stale) == (
                "Timestamp for this request is outside of the recvWindow."
            )
            assert await attempt(logon_fields(key, "unknown", c.sender_comp_id, now), now) == (
                "Invalid API-key, IP, or permissions for action."
            )
            no_reset = [
                (t, "N" if t == 141 else v)
                for t, v in logon_fields(key, c.api_key, c.sender_comp_id, now)
            ]
            assert "141" in await attempt(no_reset, now)
            ok = await raw_logon(
                gw.host, gw.port, begin_string="FIX.4.4", sender_comp_id=c.sender_comp_id,
                target_comp_id="SPOT", fields=logon_fields(key, c.api_key, c.sender_comp_id, now),
                sending_time=now, timeout=0.5,
            )  # fmt: skip
            assert ok
            assert ok[0].msg_type == "A"
            assert ok[0].get(25037)  # the Logon response's UUID

    run(main())


def test_reports_of_other_sessions_and_only_acks() -> None:
    async def main() -> None:
        async with await start_fix_gateway("binance") as gw:
            a, b, c, dc = RecordingApp(), RecordingApp(), RecordingApp(), RecordingApp()
            ini_a = gw.initiator(a)
            ini_b = gw.initiator(b, sender_comp_id="VGSIM2")
            ini_c = gw.initiator(c, sender_comp_id="VGSIM3", dialect_options={"response_mode": 2})
            ini_dc = gw.initiator(
                dc, sender_comp_id="VGSIMDC", dialect_options={"session_type": "drop_copy"}
            )
            for ini in (ini_a, ini_b, ini_c, ini_dc):
                await ini.start()
                assert await ini.wait_logged_on(5)
            await ini_b.session.send("D", order("from-b", "1", "0.001", "40000"))
            await b.report(t11="from-b", t150="0")
            await a.report(t11="from-b", t150="0")  # every session gets the account's reports
            await ini_c.session.send("D", order("from-c", "1", "0.001", "40000"))
            await c.report(t11="from-c", t150="0")
            await a.report(t11="from-c", t150="0")
            assert not c.of_type("8", t11="from-b")  # ONLY_ACKS: own orders only
            await dc.report(t11="from-b", t150="0")  # drop copy: every report, no orders
            await ini_dc.session.send("D", order("from-dc", "1", "0.001", "40000"))
            bmr = await dc.wait_for(lambda: dc.of_type("j"))
            assert bmr[0].get(380) == "6"
            for ini in (ini_a, ini_b, ini_c, ini_dc):
                await ini.stop()

    run(main())


def test_resend_storm_is_answered_and_trading_goes_on() -> None:
    async def main() -> None:
        async with await start_fix_gateway("binance") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            gw.faults.force(FixFault.RESEND_STORM)
            await s.send("D", order("s1", "1", "0.001", "40000"))
            await app.report(t11="s1", t150="0")
            await app.wait_for(lambda: s.stats.resend_requests_received == 3)
            await s.send("D", order("s2", "1", "0.001", "40000"))
            await app.report(t11="s2", t150="0")
            gw_session = next(iter(gw.gateway.sessions.values()))
            assert gw_session.stats.duplicates_ignored == 3  # the replays were recognised
            assert [o.client_order_id for o in gw.exchange.open_orders(gw.credentials.api_key)] == [
                "s1", "s2"
            ]  # fmt: skip
            await ini.stop()

    run(main())
