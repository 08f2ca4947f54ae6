"""Coinbase FIX gateway: our dialect logs on (good and bad credentials), trades, faults recover."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from tests.fix.conftest import limit_order
from tests.fix.conftest import run as _run
from venuegate.fix.codec import utc_timestamp
from venuegate.sim.fix import FixFault, RecordingApp, raw_logon, start_fix_gateway

SYMBOL = "BTC-USD"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    return _run(coro, timeout)


def order(cl: str, side: str, qty: str, price: str, **extra: str) -> list[tuple[int, Any]]:
    return limit_order(SYMBOL, cl, side, qty, price, **extra)


def signed_logon_fields(
    creds: Any, sending_time: str, *, passphrase: str | None = None, secret: str | None = None
) -> list[tuple[int, Any]]:
    """An independently signed Coinbase Logon body (stdlib hmac)."""
    pp = passphrase if passphrase is not None else creds.passphrase
    prehash = "\x01".join([sending_time, "A", "1", creds.api_key, "Coinbase", pp])
    mac = hmac.new(base64.b64decode(secret or creds.secret), prehash.encode(), hashlib.sha256)
    sig = base64.b64encode(mac.digest()).decode()
    return [
        (98, 0), (108, 30), (141, "Y"), (553, creds.api_key), (554, pp), (95, len(sig)),
        (96, sig), (1137, "9"),
    ]  # fmt: skip


def test_logon_orders_cancel_replace_status_and_fills() -> None:
    async def main() -> None:
        async with await start_fix_gateway("coinbase") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            assert s.settings.begin_string == "FIXT.1.1"

            await s.send("D", order("o1", "1", "0.01", "40000"))
            ack = await app.report(t11="o1", t150="0")
            assert (ack.get(39), ack.get(14), ack.get(151)) == ("0", "0", "0.01")
            assert ack.get(37)

            await s.send("G", order("o2", "1", "0.02", "40000.5", t41="o1"))
            rep = await app.report(t11="o2", t150="5")
            assert (rep.get(41), rep.get(38), rep.get(44), rep.get(151)) == (
                "o1",
                "0.02",
                "40000.5",
                "0.02",
            )
            await s.send("H", [(11, "o2"), (55, SYMBOL), (54, "1"), (790, "st-1")])
            status = await app.report(t11="o2", t150="I")
            assert (status.get(39), status.get(790)) == ("0", "st-1")

            await s.send("F", [(11, "c1"), (41, "o2"), (55, SYMBOL), (54, "1"), (38, "0.02")])
            canceled = await app.report(t11="c1", t150="4")
            assert (canceled.get(41), canceled.get(39), canceled.get(151)) == ("o2", "4", "0")

            await s.send("F", [(11, "c2"), (41, "o2"), (55, SYMBOL), (54, "1"), (38, "0.02")])
            cxl_rej = (await app.wait_for(lambda: app.of_type("9", t11="c2")))[0]
            assert (cxl_rej.get(434), cxl_rej.get(102)) == ("1", "0")

            await s.send("D", order("t1", "1", "1", "45000"))  # marketable: several levels
            done = await app.report(t11="t1", t39="2")
            fills = app.of_type("8", t11="t1", t150="F")
            assert len(fills) >= 2
            assert sum(Decimal(f.get(32) or "0") for f in fills) == Decimal(1)
            assert Decimal(done.get(14) or "") == 1
            assert Decimal(done.get(6) or "0") > 0
            assert all(f.get(1057) == "Y" for f in fills)
            exec_ids = [m.get(17) for m in app.of_type("8")]
            assert len(exec_ids) == len(set(exec_ids))

            await s.send("D", order("bad", "1", "0.001", "1.001"))  # off-tick price
            rej = await app.report(t11="bad", t150="8")
            assert rej.get(39) == "8"

            await s.send("D", order("rest", "1", "0.01", "40000"))
            await app.report(t11="rest", t150="0")
            await s.send("q", [(11, "m1"), (530, "7")])  # this session's orders
            report = (await app.wait_for(lambda: app.of_type("r", t11="m1")))[0]
            assert (report.get(531), report.get(533)) == ("7", "1")
            await app.report(t11="rest", t150="4")
            await s.send("AF", [(584, "ms"), (585, "7")])  # not served by Coinbase
            bmr = await app.wait_for(lambda: app.of_type("j"))
            assert bmr[0].get(380) == "3"
            await ini.stop()
            assert gw.exchange.stats["fill"] >= 2

    run(main())


def test_bad_credentials_are_refused_with_a_logout() -> None:
    async def main() -> None:
        async with await start_fix_gateway("coinbase") as gw:
            c = gw.credentials
            now = utc_timestamp()

            async def attempt(fields: list[tuple[int, Any]], sending_time: str = now) -> str:
                answer = await raw_logon(
                    gw.host, gw.port, begin_string="FIXT.1.1", sender_comp_id=c.api_key,
                    target_comp_id="Coinbase", fields=fields, sending_time=sending_time,
                )  # fmt: skip
                logouts = [m for m in answer if m.msg_type == "5"]
                assert logouts, [m.msg_type for m in answer]
                assert not [m for m in answer if m.msg_type == "A"]
                return logouts[0].get(58) or ""

            wrong_secret = base64.b64encode(b"x" * 64).decode()
            assert await attempt(signed_logon_fields(c, now, secret=wrong_secret)) == (
                "Invalid signature"
            )
            assert await attempt(signed_logon_fields(c, now, passphrase="nope")) == (
                "Invalid passphrase"
            )
            stale = "20200101-00:00:00.000"
            assert "window" in await attempt(signed_logon_fields(c, stale), stale)
            unknown = [(553, "someone-else") if t == 553 else (t, v) for t, v in
                       signed_logon_fields(c, now)]  # fmt: skip
            assert await attempt(unknown) == "Invalid API key"
            # The independently signed Logon is accepted.
            good = await raw_logon(
                gw.host, gw.port, begin_string="FIXT.1.1", sender_comp_id=c.api_key,
                target_comp_id="Coinbase", fields=signed_logon_fields(c, now),
                sending_time=now, timeout=0.5,
            )  # fmt: skip
            assert [m.msg_type for m in good][:1] == ["A"]
            assert gw.gateway.stats["logon_bad_signature"] == 1

    run(main())


def test_cancel_on_disconnect_session_orders() -> None:
    async def main() -> None:
        async with await start_fix_gateway("coinbase") as gw:
            app = RecordingApp()
            ini = gw.initiator(app, dialect_options={"cancel_on_disconnect": "S"})
            await ini.start()
            assert await ini.wait_logged_on(5)
            await ini.session.send("D", order("r1", "1", "0.01", "40000"))
            await app.report(t11="r1", t150="0")
            account = gw.credentials.api_key
            assert [o.client_order_id for o in gw.exchange.open_orders(account)] == ["r1"]
            await ini.stop()
            await app.wait_for(lambda: not gw.exchange.open_orders(account))
            assert gw.exchange.find(account, client_order_id="r1").status == "canceled"

    run(main())


def test_faults_gap_garbled_and_duplicate_are_recovered() -> None:
    async def main() -> None:
        async with await start_fix_gateway("coinbase") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            gw.faults.force(FixFault.SEQ_GAP)
            await s.send("D", order("g1", "1", "0.01", "40000"))
            await app.report(t11="g1", t150="0")
            gw.faults.force(FixFault.GARBLED)
            await s.send("D", order("g2", "1", "0.01", "40000"))
            gw.faults.force(FixFault.DUPLICATE)
            await s.send("D", order("g3", "1", "0.01", "40000"))
            for cl in ("g2", "g3"):
                await app.report(t11=cl, t150="0")
            assert s.stats.resend_requests_sent >= 2
            assert s.stats.garbled == 1
            assert s.stats.duplicates_ignored >= 1
            assert s.stats.gap_fills_received >= 1
            acks = [m.get(11) for m in app.of_type("8", t150="0")]
            assert acks == ["g1", "g2", "g3"]  # each exactly once, in order
            await ini.stop()

    run(main())
