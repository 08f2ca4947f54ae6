"""A generic FIX 4.2 / 4.4 venue gateway: optional Username/Password (553/554) Logon check.

The reference counterparty for `venuegate.fix.dialects.generic.GenericFix`: CompID `VENUE`,
every order-path message (D, F, G, H, q, AF), optional cancel-on-disconnect of the session's
orders.
"""

from __future__ import annotations

import hmac

from venuegate.fix.codec import FixMessage
from venuegate.fix.session import RejectLogon
from venuegate.sim.fix.gateway import CodMode, FixGateway, LogonInfo

__all__ = ["GenericGateway"]


class GenericGateway(FixGateway):
    """FIX 4.2 / 4.4 gateway; `cancel_on_disconnect` cancels a session's orders when it ends."""

    venue = "generic"
    comp_id = "VENUE"
    begin_strings = frozenset({"FIX.4.2", "FIX.4.4"})
    cancel_on_disconnect_default = False

    def verify_logon(self, msg: FixMessage) -> LogonInfo:
        """Checks 553/554 against the configured users (no password configured: 553 only).

        With no credentials configured every Logon is accepted (account = SenderCompID).
        """
        sender = msg.get(49) or ""
        if not self.credentials:
            return LogonInfo(account=self.account_for(sender), cancel_on_disconnect=self._cod())
        cred = self.credentials.get(msg.get(553) or "")
        if cred is None or cred.sender_comp_id not in ("", sender):
            self.count("logon_bad_key")
            raise RejectLogon("Unknown user")
        if cred.secret and not hmac.compare_digest(
            (msg.get(554) or "").encode(), cred.secret.encode()
        ):
            self.count("logon_bad_signature")
            raise RejectLogon("Invalid password")
        return LogonInfo(account=self.account_for(cred.api_key), cancel_on_disconnect=self._cod())

    def _cod(self) -> CodMode:
        return "session" if self.cancel_on_disconnect_default else None
