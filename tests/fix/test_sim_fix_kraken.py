"""Kraken FIX gateway: HMAC-SHA512 password and nonce, orders, cancel-on-disconnect, reconnects."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from tests.fix.conftest import limit_order
from tests.fix.conftest import run as _run
from venuegate.sim.fix import FixFault, RecordingApp, raw_logon, start_fix_gateway
from venuegate.sim.trade.server import TradeSim

SYMBOL = "BTC/USD"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    return _run(coro, timeout)


def order(cl: str, side: str, qty: str, price: str, **extra: str) -> list[tuple[int, Any]]:
    return limit_order(SYMBOL, cl, side, qty, price, **extra)


def logon_fields(creds: Any, nonce: int, secret: str | None = None) -> list[tuple[int, Any]]:
    """A Logon body signed as Kraken's documented Python snippet does."""
    soh = "\x01"
    message_input = (
        f"35=A{soh}34=1{soh}49={creds.sender_comp_id}{soh}56=KRAKEN-TRD{soh}"
        f"553={creds.api_key}{soh}"
    )
    digest = hashlib.sha256((message_input + str(nonce)).encode()).digest()
    mac = hmac.new(base64.b64decode(secret or creds.secret), digest, hashlib.sha512)
    password = base64.b64encode(mac.digest()).decode()
    return [(98, 0), (108, 60), (553, creds.api_key), (554, password), (5025, str(nonce))]


def test_logon_orders_replace_status_mass_cancel() -> None:
    async def main() -> None:
        async with await start_fix_gateway("kraken") as gw:
            app = RecordingApp()
            ini = gw.initiator(app)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            _, ask = gw.exchange.touch(SYMBOL)
            await s.send("D", order("k1", "1", "5", str(ask)))  # takes the ask level only
            part = await app.report(t11="k1", t150="F")
            filled = Decimal(part.get(14) or "")
            assert part.get(39) == "1"
            assert 0 < filled < 5
            await s.send("D", order("k2", "2", "0.2", "30000"))  # marketable sell
            await app.report(t11="k2", t39="2")
            # Replace the partly filled k1: the cumulative quantity carries over.
            await s.send("G", [*order("k1b", "1", "6", str(ask - Decimal(1))), (41, "k1")])
            rep = await app.report(t11="k1b", t150="5")
            assert (rep.get(41), rep.get(38), rep.get(39)) == ("k1", "6", "1")
            assert Decimal(rep.get(14) or "") == filled
            assert Decimal(rep.get(151) or "") == 6 - filled
            assert not app.of_type("8", t11="k1", t150="4")  # no separate cancel report
            await s.send("H", [(11, "k1b"), (55, SYMBOL), (54, "1")])
            assert (await app.report(t11="k1b", t150="I")).get(39) == "1"
            await s.send("G", [*order("k1c", "1", "0.1", "40000"), (41, "gone")])
            cxl = (await app.wait_for(lambda: app.of_type("9", t11="k1c")))[0]
            assert (cxl.get(434), cxl.get(102)) == ("2", "1")
            await s.send("q", [(11, "mc"), (530, "7")])
            report = (await app.wait_for(lambda: app.of_type("r", t11="mc")))[0]
            assert (report.get(531), report.get(533)) == ("7", "1")
            await app.report(t11="k1b", t150="4")
            await s.send("AF", [(584, "ms"), (585, "7")])
            assert (await app.wait_for(lambda: app.of_type("j")))[0].get(380) == "3"
            await ini.stop()

    run(main())


def test_bad_password_stale_and_replayed_nonce() -> None:
    async def main() -> None:
        async with await start_fix_gateway("kraken") as gw:
            c = gw.credentials

            async def attempt(fields: list[tuple[int, Any]], timeout: float = 3.0) -> list[Any]:
                return await raw_logon(
                    gw.host, gw.port, begin_string="FIX.4.4", sender_comp_id=c.sender_comp_id,
                    target_comp_id="KRAKEN-TRD", fields=fields, timeout=timeout,
                )  # fmt: skip

            def text(answer: list[Any]) -> str:
                assert not [m for m in answer if m.msg_type == "A"]
                return next(m for m in answer if m.msg_type == "5").get(58) or ""

            now = time.time_ns() // 1_000_000
            wrong = base64.b64encode(b"k" * 64).decode()
            assert text(await attempt(logon_fields(c, now, wrong))) == "Invalid signature"
            assert "window" in text(await attempt(logon_fields(c, now - 60_000)))
            good = await attempt(logon_fields(c, now), timeout=0.5)
            assert good[0].msg_type == "A"
            await asyncio.sleep(0.05)  # the gateway notices the close
            replay = [*logon_fields(c, now), (141, "Y")]  # 141=Y: past the seq check
            assert "increasing" in text(await attempt(replay))

    run(main())


def test_cancel_on_disconnect_default_and_opt_out() -> None:
    async def main() -> None:
        async with await start_fix_gateway("kraken") as gw:
            account = gw.credentials.api_key
            for cod, cl in ((None, "cod-default"), (False, "cod-off")):
                app = RecordingApp()
                ini = gw.initiator(  # a fresh client store: reset the numbers (141=Y)
                    app, dialect_options={"cancel_on_disconnect": cod}, reset_on_logon=True
                )
                await ini.start()
                assert await ini.wait_logged_on(5)
                await ini.session.send("D", order(cl, "1", "0.1", "40000"))
                await app.report(t11=cl, t150="0")
                await ini.stop()
                assert await ini.session.wait_disconnected(2)
            await asyncio.sleep(0.05)
            assert gw.exchange.find(account, client_order_id="cod-default").status == "canceled"
            assert gw.exchange.find(account, client_order_id="cod-off").status == "new"

    run(main())


def test_dropped_connection_reconnects_and_resumes_sequence() -> None:
    async def main() -> None:
        async with await start_fix_gateway("kraken") as gw:
            app = RecordingApp()
            ini = gw.initiator(
                app, dialect_options={"cancel_on_disconnect": False}, reconnect_min_s=0.05,
                reconnect_max_s=0.1,
            )  # fmt: skip
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            gw.faults.force(FixFault.DROP_CONNECTION)
            await s.send("D", order("d1", "1", "0.1", "40000"))
            await app.report(t11="d1", t150="0")
            await app.wait_for(lambda: app.logons == 2)
            assert s.next_sender_seq > 2  # no reset: the session resumed its numbers
            await s.send("H", [(11, "d1"), (55, SYMBOL), (54, "1")])
            assert (await app.report(t11="d1", t150="I")).get(39) == "0"
            await ini.stop()

    run(main())


def test_shares_the_rest_simulators_book_and_account() -> None:
    async def main() -> None:
        async with TradeSim(["kraken"], step_hz=0) as sim:
            rest_account = sim.credentials("kraken").api_key
            exchange = sim.exchange("kraken")
            async with await start_fix_gateway(
                "kraken", exchange=exchange, account=rest_account
            ) as gw:
                assert gw.account == rest_account
                app = RecordingApp()
                ini = gw.initiator(app)
                await ini.start()
                assert await ini.wait_logged_on(5)
                await ini.session.send("D", order("via-fix", "1", "0.1", "40000"))
                await app.report(t11="via-fix", t150="0")
                assert [o.client_order_id for o in exchange.open_orders(rest_account)] == [
                    "via-fix"
                ]
                # An order the REST API places on the same account is reported over FIX too.
                exchange.place(
                    rest_account, symbol=SYMBOL, side="sell", type="limit",
                    quantity=Decimal("0.1"), price=Decimal("50000"), client_order_id="via-rest",
                )  # fmt: skip
                await app.report(t11="via-rest", t150="0")
                await ini.stop()

    run(main())


def test_reports_made_while_disconnected_are_recovered_by_resend() -> None:
    async def main() -> None:
        async with await start_fix_gateway("kraken") as gw:
            app = RecordingApp()
            ini = gw.initiator(app, reconnect_min_s=0.05, reconnect_max_s=0.1)
            await ini.start()
            assert await ini.wait_logged_on(5)
            s = ini.session
            gw.faults.force(FixFault.DROP_CONNECTION)
            await s.send("D", order("cod", "1", "0.1", "40000"))
            await app.report(t11="cod", t150="0")
            # The drop cancels the session's order (8674 default 0) while it is disconnected:
            # the report is stored and replayed after the next Logon.
            canceled = await app.report(t11="cod", t150="4")
            assert canceled.get(43) == "Y"
            assert app.logons == 2
            assert gw.gateway.stats["reports_stored_offline"] == 1
            assert s.stats.resend_requests_sent >= 1
            await ini.stop()

    run(main())
