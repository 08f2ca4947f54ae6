"""Binance spot FIX API gateway (FIX 4.4): the Logon checks and report extras.

Checks as https://developers.binance.com/docs/binance-spot-api-docs/fix-api describes them:
TargetCompID `SPOT`, SenderCompID `^[a-zA-Z0-9-_]{1,8}$`, Username (553) a known Ed25519 API key,
RawData (96) a valid Ed25519 signature (verified with the key's public half, as the venue holds
it) over MsgType, SenderCompID, TargetCompID, MsgSeqNum, SendingTime joined by SOH,
ResetSeqNumFlag (141) `Y`, MessageHandling (25035) 1 or 2, HeartBtInt (108) in [5, 60], and the
timing rule `SendingTime < serverTime + 1 s and serverTime - SendingTime <= RecvWindow`
(RecvWindow 25000 defaults to 5000 ms on Logon). Error texts are Binance's error-code messages
(https://developers.binance.com/docs/binance-spot-api-docs/errors): -1022, -1021, -2015.
Served: D, F, q and XCN (cancel + new order, STOP_ON_FAILURE / ALLOW_FAILURE); E, XAK and
XLQ are not simulated; G, H and AF get a Reject (3), as Binance rejects unknown message types.
Reports carry ErrorCode (25016), CumQuoteQty (25017), OrderCreationTime (25018), TradeID (1003)
and AggressorIndicator (1057); timestamps in microseconds as Binance sends them. ResponseMode
(25036) ONLY_ACKS limits pushed reports to the session's own orders.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from venuegate.fix.codec import FixError, FixMessage, parse_utc_timestamp
from venuegate.fix.messages import SessionRejectReason
from venuegate.fix.session import RejectLogon, SessionReject
from venuegate.sim.fix.gateway import Fields, FixGateway, LogonInfo, Report
from venuegate.sim.trade.exchange import RejectReason

__all__ = ["BinanceGateway"]

_SOH = "\x01"
_COMP_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,8}$")
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000

ERRORS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
    RejectReason.ORDER_CLOSED: (-2011, "Unknown order sent."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.DUPLICATE_CLIENT_ID: (-2010, "Duplicate order sent."),
    RejectReason.BAD_QUANTITY: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.BAD_PRICE: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.POST_ONLY_WOULD_TAKE: (-2010, "Order would immediately match and take."),
    RejectReason.MAINTENANCE: (-1016, "This service is no longer available."),
}


class BinanceGateway(FixGateway):
    """Binance spot FIX order entry (and drop copy with DropCopyFlag=Y)."""

    venue = "binance"
    comp_id = "SPOT"
    begin_strings = frozenset({"FIX.4.4"})
    supported = frozenset({"D", "F", "q", "XCN"})
    unsupported_as_session_reject = True
    timestamp_precision = "us"
    max_latency_s = MAX_RECV_WINDOW_MS / 1000
    instance_uuid = str(uuid.UUID(int=0x5EED_F1C5))
    keeps_reports = False  # 141=Y on every Logon; no ResendRequest support

    def session_options(self, logon: FixMessage) -> dict[str, Any]:
        """141=Y is required: sequence numbers reset on every Logon."""
        return {"reset_on_logon": True}

    def verify_logon(self, msg: FixMessage) -> LogonInfo:
        """Checks key, Ed25519 signature, timing, 141, 25035 and 108."""
        sender = msg.get(49) or ""
        if not _COMP_ID.match(sender):
            raise RejectLogon("SenderCompID must match ^[a-zA-Z0-9-_]{1,8}$")
        cred = self.credentials.get(msg.get(553) or "")
        if cred is None:
            self.count("logon_bad_key")
            raise RejectLogon("Invalid API-key, IP, or permissions for action.")
        sending_time = msg.get(52) or ""
        try:
            sent_ms = parse_utc_timestamp(sending_time) // 1_000_000
            recv_window = float(msg.get(25000) or DEFAULT_RECV_WINDOW_MS)
        except (FixError, ValueError):
            raise RejectLogon("Timestamp for this request is outside of the recvWindow.") from None
        now = self.clock_ms()
        if not (sent_ms < now + 1000 and now - sent_ms <= min(recv_window, MAX_RECV_WINDOW_MS)):
            self.count("logon_stale")
            raise RejectLogon("Timestamp for this request is outside of the recvWindow.")
        payload = _SOH.join(("A", sender, msg.get(56) or "", msg.get(34) or "", sending_time))
        try:
            signature = base64.b64decode(msg.get(96) or "", validate=True)
            Ed25519PublicKey.from_public_bytes(cred.ed25519_public_key()).verify(
                signature, payload.encode()
            )
        except (InvalidSignature, binascii.Error, ValueError):
            self.count("logon_bad_signature")
            raise RejectLogon("Signature for this request is not valid.") from None
        if msg.get(141) != "Y":
            raise RejectLogon("ResetSeqNumFlag(141) must be Y.")
        if msg.get(25035) not in ("1", "2"):
            raise RejectLogon("MessageHandling(25035) must be 1 or 2.")
        heartbeat = msg.get(108) or ""
        if not heartbeat.isdigit() or not 5 <= int(heartbeat) <= 60:
            raise RejectLogon("HeartBtInt(108) must be within [5, 60].")
        return LogonInfo(
            account=self.account_for(cred.api_key),
            drop_copy=msg.get(9406) == "Y",
            only_acks=msg.get(25036) == "2",
            options={t: v for t in (25035, 25036, 9406) if (v := msg.get(t)) is not None},
        )

    def check_sending_time(self, msg: FixMessage) -> None:
        """Binance checks RecvWindow (25000) only on requests that carry it (Logon aside)."""
        window = msg.get(25000)
        if window is None:
            return
        try:
            sent_ms = parse_utc_timestamp(msg.get(52) or "") // 1_000_000
            window_ms = min(float(window), MAX_RECV_WINDOW_MS)
        except (FixError, ValueError):
            raise SessionReject(
                SessionRejectReason.INCORRECT_DATA_FORMAT, "Invalid RecvWindow", 25000
            ) from None
        now = self.clock_ms()
        if not (sent_ms < now + 1000 and now - sent_ms <= window_ms):
            raise SessionReject(
                SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM,
                "Timestamp for this request is outside of the recvWindow.",
                52,
            )

    def logon_response_fields(self) -> Fields:
        """UUID (25037) of the FIX API instance serving the session (Logon response)."""
        return [(25037, self.instance_uuid)]

    def reject_text(self, reason: RejectReason, detail: str) -> str:
        """Binance's error message for `reason`."""
        return ERRORS.get(reason, (-1013, "Filter failure"))[1]

    def report_extra(self, report: Report) -> Fields:
        """25016 on rejects; 25017, 25018; 1003 and 1057 on fills."""
        out: Fields = []
        if report.reject is not None:
            out.append((25016, ERRORS.get(report.reject, (-1013, ""))[0]))
            return out
        order = report.order
        out.append((25017, order.notional.normalize() if order.notional else Decimal(0)))
        out.append((25018, self.timestamp(order.created_ms)))
        if report.fill is not None:
            out.append((1003, report.fill.trade_id))
            out.append((1057, "Y" if report.fill.liquidity == "taker" else "N"))
        return out

    def cancel_reject_extra(self, reason: RejectReason | None) -> Fields:
        """ErrorCode (25016)."""
        return [(25016, ERRORS.get(reason, (-1013, ""))[0])] if reason is not None else []

    def mass_cancel_report(
        self, cl_ord_id: str, kind: str, symbol: str | None, affected: int | None
    ) -> Fields:
        """Binance's OrderMassCancelReport: Symbol, ClOrdID, 530, 531, 533 (no OrderID)."""
        fields = super().mass_cancel_report(cl_ord_id, kind, symbol, affected)
        return [(t, v) for t, v in fields if t != 37]
