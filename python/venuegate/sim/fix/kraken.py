"""Kraken FIX 4.4 gateway: the Logon checks and cancel-on-disconnect.

Checks as https://docs.kraken.com/api/docs/fix-api/logon-fix and
https://docs.kraken.com/api/docs/guides/spot-fix-auth describe them: TargetCompID `KRAKEN-TRD`,
UserName (553) a known key, Nonce (5025) in epoch milliseconds, close to the venue's clock
(`NONCE_WINDOW_MS`; Kraken documents five seconds for its drop copy sessions and 60 s in UAT)
and strictly increasing per key, Password (554) =
base64(HMAC-SHA512(base64-decoded secret, SHA256(`35=A|34=seq|49=sender|56=target|553=key|` +
nonce))) with SOH after each field, recomputed from the Logon's own fields.
CancelOrdersOnDisconnect (8674): `0` (the default) cancels the session's open orders when it
ends, `1` cancels none. Served: D, F, G, H, q (no AF: BusinessMessageReject). The Logout texts
are the simulator's own wording.
"""

from __future__ import annotations

import hmac

from venuegate._native import Hmac, sha256
from venuegate.fix.codec import FixMessage
from venuegate.fix.session import RejectLogon
from venuegate.sim.fix.gateway import FixGateway, LogonInfo

__all__ = ["KrakenGateway"]

_SOH = "\x01"
NONCE_WINDOW_MS = 5000


class KrakenGateway(FixGateway):
    """Kraken FIX 4.4 spot trading session."""

    venue = "kraken"
    comp_id = "KRAKEN-TRD"
    begin_strings = frozenset({"FIX.4.4"})
    supported = frozenset({"D", "F", "G", "H", "q"})

    def verify_logon(self, msg: FixMessage) -> LogonInfo:
        """Checks key, nonce and the HMAC-SHA512 password."""
        api_key = msg.get(553) or ""
        cred = self.credentials.get(api_key)
        if cred is None:
            self.count("logon_bad_key")
            raise RejectLogon("Invalid API key")
        nonce_text = msg.get(5025) or ""
        if not nonce_text.isdigit():
            raise RejectLogon("Invalid nonce")
        nonce = int(nonce_text)
        if abs(self.clock_ms() - nonce) > NONCE_WINDOW_MS:
            self.count("logon_stale")
            raise RejectLogon("Invalid nonce: outside of the accepted window")
        if nonce <= self.last_nonce.get(api_key, 0):
            self.count("logon_stale")
            raise RejectLogon("Invalid nonce: not increasing")
        message_input = "".join(
            f"{tag}={value}{_SOH}"
            for tag, value in (
                ("35", "A"),
                ("34", msg.get(34) or ""),
                ("49", msg.get(49) or ""),
                ("56", msg.get(56) or ""),
                ("553", api_key),
            )
        )
        expected = Hmac.from_base64_key("sha512", cred.secret).b64digest(
            sha256(message_input, nonce_text)
        )
        if not hmac.compare_digest((msg.get(554) or "").encode(), expected.encode()):
            self.count("logon_bad_signature")
            raise RejectLogon("Invalid signature")
        self.last_nonce[api_key] = nonce
        cod = msg.get(8674) or "0"
        if cod not in ("0", "1"):
            raise RejectLogon("CancelOrdersOnDisconnect(8674) must be 0 or 1")
        return LogonInfo(
            account=self.account_for(api_key),
            cancel_on_disconnect="session" if cod == "0" else None,
            options={8674: cod},
        )
