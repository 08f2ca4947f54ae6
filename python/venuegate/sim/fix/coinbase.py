"""Coinbase Exchange FIX 5.0 SP2 gateway (FIXT.1.1): the Logon checks and report extras.

Checks as https://docs.cdp.coinbase.com/exchange/fix-api/order-entry-messages/order-entry-messages5
describes them: BeginString FIXT.1.1, DefaultApplVerID 9, Logon MsgSeqNum 1, SenderCompID and
Username (553) = a known API key, Password (554) = its passphrase, RawData (96) = base64
HMAC-SHA256 over SendingTime, MsgType, MsgSeqNum, SenderCompID, TargetCompID, Password joined by
SOH, SendingTime with exactly three fractional digits and within 5 minutes of the venue's clock
(the window is documented for the FIX 4.2 gateway). CancelOrdersOnDisconnect (8013): `Y` cancels
all of the profile's open orders, `S` those placed in the session. Coinbase serves D, F, G, H
and OrderMassCancelRequest (q) "by trading session only" — it cancels the orders this FIX
session placed (https://docs.cloud.coinbase.com/exchange/docs/changelog); no
OrderMassStatusRequest (AF: BusinessMessageReject).
The Logout texts are the simulator's own wording (Coinbase does not publish them).
"""

from __future__ import annotations

import hmac
from typing import Any

from venuegate._native import Hmac
from venuegate.fix.codec import FixError, FixMessage, parse_utc_timestamp
from venuegate.fix.session import RejectLogon
from venuegate.sim.fix.gateway import (
    CodMode,
    Fields,
    FixGateway,
    GatewayApp,
    LogonInfo,
    Report,
    required,
)

__all__ = ["CoinbaseGateway"]

_SOH = "\x01"
WINDOW_MS = 5 * 60 * 1000


class CoinbaseGateway(FixGateway):
    """Coinbase Exchange FIX 5.0 SP2 order entry."""

    venue = "coinbase"
    comp_id = "Coinbase"
    begin_strings = frozenset({"FIXT.1.1"})
    supported = frozenset({"D", "F", "G", "H", "q"})
    max_latency_s = WINDOW_MS / 1000
    keeps_reports = False  # every Logon resets the sequence numbers

    def session_options(self, logon: FixMessage) -> dict[str, Any]:
        """Logon MsgSeqNum is always 1: sequence numbers reset on every Logon."""
        return {"reset_on_logon": True}

    def verify_logon(self, msg: FixMessage) -> LogonInfo:
        """Checks key, passphrase, signature, sequence number and SendingTime."""
        api_key = msg.get(553) or ""
        cred = self.credentials.get(api_key)
        if cred is None or msg.get(49) != api_key:
            self.count("logon_bad_key")
            raise RejectLogon("Invalid API key")
        if msg.get(1137) != "9":
            raise RejectLogon("DefaultApplVerID must be 9")
        if msg.seq_num != 1:
            raise RejectLogon("MsgSeqNum must be 1 on Logon")
        sending_time = msg.get(52) or ""
        _, _, frac = sending_time.partition(".")
        if len(frac) != 3:
            raise RejectLogon("SendingTime must have millisecond precision")
        try:
            sent_ms = parse_utc_timestamp(sending_time) // 1_000_000
        except FixError:
            raise RejectLogon("Invalid SendingTime") from None
        if abs(self.clock_ms() - sent_ms) > WINDOW_MS:
            self.count("logon_stale")
            raise RejectLogon("SendingTime is outside of the allowed window")
        passphrase = msg.get(554) or ""
        if cred.passphrase is None or not hmac.compare_digest(passphrase, cred.passphrase):
            self.count("logon_bad_passphrase")
            raise RejectLogon("Invalid passphrase")
        prehash = _SOH.join(
            (sending_time, "A", msg.get(34) or "", api_key, msg.get(56) or "", passphrase)
        )
        expected = Hmac.from_base64_key("sha256", cred.secret).b64digest(prehash)
        if not hmac.compare_digest((msg.get(96) or "").encode(), expected.encode()):
            self.count("logon_bad_signature")
            raise RejectLogon("Invalid signature")
        cod_flag = msg.get(8013)
        cod: CodMode = {"Y": "all", "S": "session"}.get(cod_flag or "")  # type: ignore[assignment]
        return LogonInfo(
            account=self.account_for(api_key),
            cancel_on_disconnect=cod,
            drop_copy=msg.get(9406) == "Y",
            options={t: v for t in (8013, 9406) if (v := msg.get(t)) is not None},
        )

    def on_mass_cancel(self, app: GatewayApp, info: LogonInfo, msg: FixMessage) -> None:
        """OrderMassCancelRequest (q): cancels the open orders this session placed."""
        cl_ord_id = required(msg, 11)
        kind = msg.get(530) or "7"
        symbol = msg.get(55)
        n = 0
        for cid in sorted(app.session_orders):
            order = self.exchange.find(info.account, client_order_id=cid)
            if order is None or not order.is_open:
                continue
            if kind == "1" and order.symbol != symbol:
                continue
            self.exchange.cancel(info.account, client_order_id=cid)
            n += 1
        app.push("r", self.mass_cancel_report(cl_ord_id, kind, symbol, n))

    def report_extra(self, report: Report) -> Fields:
        """AggressorIndicator (1057) on fills."""
        if report.fill is None:
            return []
        return [(1057, "Y" if report.fill.liquidity == "taker" else "N")]
