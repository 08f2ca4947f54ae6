"""Coinbase Exchange FIX 5.0 SP2 (over FIXT.1.1): order entry and drop copy sessions.

Sources (current Coinbase Developer Platform docs):

- Order entry: https://docs.cdp.coinbase.com/exchange/fix-api/order-entry-messages/order-entry-messages5
  — `tcp+ssl://fix-ord.exchange.coinbase.com:6121` (sandbox
  `fix-ord.sandbox.exchange.coinbase.com:6121`); BeginString `FIXT.1.1`, DefaultApplVerID (1137)
  `9`; SenderCompID = the API key, TargetCompID `Coinbase`; Logon MsgSeqNum always 1 in both
  directions; Username (553) = API key; SendingTime with exactly three fractional digits;
  sequence numbers without leading zeros ("will result in an invalid signature error").
  Supported message types: A, 0, 1, 3, 5; D, F, G, H, j, 8, 9, U4-U7 (batches); and
  OrderMassCancelRequest (q) / OrderMassCancelReport (r) "by trading session only"
  (https://docs.cloud.coinbase.com/exchange/docs/changelog).
- Drop copy: https://docs.cdp.coinbase.com/exchange/fix-api/drop-copy — `fix-dc...:6122`,
  Logon: 553 API key, 554 passphrase, 95/96 signature, 141 Y/N, 1137 = 9, DropCopyFlag (9406)
  must be Y.
- Signature: `venuegate.auth.coinbase.CoinbaseExchangeSigner.fix_logon_raw_data` — base64
  HMAC-SHA256 (base64-decoded secret) over SendingTime, MsgType, MsgSeqNum, SenderCompID,
  TargetCompID, Password joined by SOH, no trailing separator (the prehash as documented for the
  FIX 4.2 gateway, https://docs.cdp.coinbase.com/exchange/changes/archive/order-entry-messages4,
  and kept for FIX 5).
- CancelOrdersOnDisconnect (8013): `S` cancels the open orders placed during the session, `Y`
  all open orders of the profile (FIX 4.2 page above; listed as a Logon option for FIX 5 too —
  see docs/FIX_VENUES.md for what could not be confirmed). SelfTradePrevention (7928) on
  NewOrderSingle: same page.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from venuegate.auth._base import Secret, mask, require
from venuegate.auth.coinbase import CoinbaseExchangeSigner
from venuegate.errors import SigningError
from venuegate.fix.dialects._base import Dialect, DialectApplication
from venuegate.fix.session import Application, FixSession, SessionSettings

__all__ = [
    "DROP_COPY_PORT",
    "HOSTS",
    "ORDER_ENTRY_PORT",
    "TARGET_COMP_ID",
    "CoinbaseApplication",
    "CoinbaseFix",
    "Tag",
]

TARGET_COMP_ID = "Coinbase"
DEFAULT_APPL_VER_ID = "9"  # FIX 5.0 SP2
ORDER_ENTRY_PORT = 6121
DROP_COPY_PORT = 6122
HOSTS: dict[tuple[str, str], str] = {
    ("production", "order_entry"): "fix-ord.exchange.coinbase.com",
    ("sandbox", "order_entry"): "fix-ord.sandbox.exchange.coinbase.com",
    ("production", "drop_copy"): "fix-dc.exchange.coinbase.com",
    ("sandbox", "drop_copy"): "fix-dc.sandbox.exchange.coinbase.com",
}
"""(environment, session type) → host; all TLS (`tcp+ssl://`)."""

type Environment = Literal["production", "sandbox"]
type SessionType = Literal["order_entry", "drop_copy"]
type CancelOnDisconnect = Literal["Y", "S"]


class Tag:
    """Coinbase custom and Logon tags."""

    USERNAME = 553
    PASSWORD = 554
    RAW_DATA_LENGTH = 95
    RAW_DATA = 96
    DEFAULT_APPL_VER_ID = 1137
    SELF_TRADE_PREVENTION = 7928
    CANCEL_ORDERS_ON_DISCONNECT = 8013
    DROP_COPY_FLAG = 9406


def _check_sending_time(sending_time: str) -> None:
    # "Fractional seconds must be specified using exactly three digits."
    _, _, frac = sending_time.partition(".")
    if len(frac) != 3 or not frac.isdigit():
        raise SigningError("Coinbase FIX SendingTime needs exactly three fractional digits")


class CoinbaseApplication(DialectApplication):
    """Adds Coinbase's Logon fields: 553 key, 554 passphrase, 95/96 HMAC signature, options."""

    venue = "coinbase"

    def __init__(
        self,
        signer: CoinbaseExchangeSigner,
        passphrase: Secret,
        app: Application | None = None,
        *,
        cancel_on_disconnect: CancelOnDisconnect | None = None,
        drop_copy_flag: bool | None = None,
    ) -> None:
        super().__init__(app)
        self._signer = signer
        self._passphrase = passphrase
        self.cancel_on_disconnect = cancel_on_disconnect
        self.drop_copy_flag = drop_copy_flag

    def logon_fields(
        self, session: FixSession, seq_num: int, sending_time: str
    ) -> list[tuple[int, Any]]:
        """553, 554, 95, 96 (signed over this Logon's header), 1137, then 8013 and 9406."""
        _check_sending_time(sending_time)
        settings = session.settings
        raw = self._signer.fix_logon_raw_data(
            sending_time=sending_time,
            msg_seq_num=seq_num,
            target_comp_id=settings.target_comp_id,
            sender_comp_id=settings.sender_comp_id,
        )
        fields: list[tuple[int, Any]] = [
            (Tag.USERNAME, self._signer.api_key),
            (Tag.PASSWORD, self._passphrase.reveal()),
            (Tag.RAW_DATA_LENGTH, len(raw)),
            (Tag.RAW_DATA, raw),
            (Tag.DEFAULT_APPL_VER_ID, DEFAULT_APPL_VER_ID),
        ]
        if self.cancel_on_disconnect is not None:
            fields.append((Tag.CANCEL_ORDERS_ON_DISCONNECT, self.cancel_on_disconnect))
        if self.drop_copy_flag is not None:
            fields.append((Tag.DROP_COPY_FLAG, "Y" if self.drop_copy_flag else "N"))
        return fields

    def __repr__(self) -> str:
        return f"CoinbaseApplication(api_key={mask(self._signer.api_key)!r})"


class CoinbaseFix(Dialect):
    """Coinbase Exchange FIX 5.0 SP2 for one API key.

    Args:
        api_key: the Exchange API key (also the SenderCompID).
        secret: its base64 secret (kept in a native HMAC key).
        passphrase: its passphrase (sent in 554; kept in a `Secret`).
        environment: `production` or `sandbox` (picks the host).
        session_type: `order_entry` (port 6121) or `drop_copy` (port 6122, DropCopyFlag=Y).
        cancel_on_disconnect: 8013 — `S` (this session's orders), `Y` (all the profile's
            orders) or None (not sent).
    """

    venue = "coinbase"
    extension: ClassVar[str | None] = "coinbase.xml"

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        passphrase: str,
        environment: Environment = "production",
        session_type: SessionType = "order_entry",
        cancel_on_disconnect: CancelOnDisconnect | None = None,
    ) -> None:
        self._passphrase = require(passphrase, "passphrase", "coinbase-exchange")
        self._signer = CoinbaseExchangeSigner(api_key=api_key, secret=secret, passphrase=passphrase)
        self.environment = environment
        self.session_type = session_type
        self.cancel_on_disconnect = cancel_on_disconnect

    @property
    def api_key(self) -> str:
        """The API key (an identifier, not a secret)."""
        return self._signer.api_key

    def settings(self, **overrides: Any) -> SessionSettings:
        """FIXT.1.1 / DefaultApplVerID 9, SenderCompID = key, TargetCompID `Coinbase`, TLS.

        ResetSeqNumFlag is sent on every Logon (Logon MsgSeqNum is always 1).
        """
        port = ORDER_ENTRY_PORT if self.session_type == "order_entry" else DROP_COPY_PORT
        host = HOSTS[(self.environment, self.session_type)]
        base: dict[str, Any] = {
            "begin_string": "FIXT.1.1",
            "sender_comp_id": self.api_key,
            "target_comp_id": TARGET_COMP_ID,
            "default_appl_ver_id": DEFAULT_APPL_VER_ID,
            "heartbeat_interval_s": 30,
            "reset_on_logon": True,
            "host": host,
            "port": port,
            "ssl": True,
            "server_hostname": host,
            "dictionary": "FIXT11.xml",
            "app_dictionary": "FIX50SP2.xml",
            "extra_dictionaries": self.extension_dictionaries(),
        }
        return self._merge(base, overrides)

    def application(self, app: Application | None = None) -> CoinbaseApplication:
        """Wraps `app`; drop copy sessions send DropCopyFlag=Y."""
        return CoinbaseApplication(
            self._signer,
            self._passphrase,
            app,
            cancel_on_disconnect=self.cancel_on_disconnect,
            drop_copy_flag=True if self.session_type == "drop_copy" else None,
        )

    def __repr__(self) -> str:
        return (
            f"CoinbaseFix(api_key={mask(self.api_key)!r}, environment={self.environment!r}, "
            f"session_type={self.session_type!r})"
        )
